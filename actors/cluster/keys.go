package cluster

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"
)

// keys is the key layout of one cluster, all under /karajo/<name>/:
//
//	shard/<k>/leader/…        the election of shard k (concurrency package)
//	node/<node>               the node's advertise URL, on its session lease
//	jobset/<node>             the sum of the job set the node loaded, on its session lease
//	jobsetlist/<sum>          that job set by job (a hash of each job's settings)
//	state/<kind>/<id>         the job's state (JSON: counter, paused, point)
//	point/<kind>/<id>/<time>  one key per scheduled point taken, on a point lease
//	running/<kind>/<id>/<n>   run n in progress, on the executing node's session lease
//	open/<kind>/<id>/<n>      run n started and not finished (no lease): an open
//	                          key without its running key is a run whose node was lost
//	view/<kind>/<id>          the owner's view of the job (JSON: node, view), on
//	                          the owner's session lease
//
// <kind> is "job" or "job_http". Each sort of key has a prefix of its own
// so that a node watches the states alone, and finding lost runs reads
// two small ranges.
type keys struct{ prefix string }

func newKeys(cluster string) keys { return keys{prefix: "/karajo/" + cluster + "/"} }

func (k keys) shard(n int) string      { return k.prefix + "shard/" + strconv.Itoa(n) + "/leader" }
func (k keys) node(name string) string { return k.prefix + "node/" + name }
func (k keys) jobset(node string) string {
	return k.prefix + "jobset/" + node
}
func (k keys) jobsets() string     { return k.prefix + "jobset/" }
func (k keys) jobsetLists() string { return k.prefix + "jobsetlist/" }
func (k keys) jobsetList(sum string) string {
	return k.jobsetLists() + sum
}
func (k keys) states() string     { return k.prefix + "state/" }
func (k keys) state(j Job) string { return k.states() + j.String() }
func (k keys) running() string    { return k.prefix + "running/" }
func (k keys) views() string      { return k.prefix + "view/" }
func (k keys) view(j Job) string  { return k.views() + j.String() }
func (k keys) opens() string      { return k.prefix + "open/" }
func (k keys) run(j Job, n int64) string {
	return k.running() + j.String() + "/" + strconv.FormatInt(n, 10)
}
func (k keys) open(j Job, n int64) string {
	return k.opens() + j.String() + "/" + strconv.FormatInt(n, 10)
}
func (k keys) point(j Job, t time.Time) string {
	return k.prefix + "point/" + j.String() + "/" + t.UTC().Format(time.RFC3339Nano)
}

// parseStateKey returns the job of a state key.
func (k keys) parseStateKey(key string) (Job, bool) {
	s, found := strings.CutPrefix(key, k.states())
	kind, id, ok := strings.Cut(s, "/")
	if !found || !ok || strings.Contains(id, "/") {
		return Job{}, false
	}
	return Job{Kind: kind, ID: id}, true
}

// parseRunKey splits a running or open key (under base) into its job
// and counter.
func parseRunKey(base, key string) (j Job, n int64, ok bool) {
	s, found := strings.CutPrefix(key, base)
	if !found {
		return Job{}, 0, false
	}
	parts := strings.Split(s, "/")
	if len(parts) != 3 {
		return Job{}, 0, false
	}
	n, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return Job{}, 0, false
	}
	return Job{Kind: parts[0], ID: parts[1]}, n, true
}

// shardOf is the shard of a job: FNV-1a of kind/ID modulo shards.
func shardOf(j Job, shards int) int {
	if shards <= 1 {
		return 0
	}
	h := fnv.New32a()
	h.Write([]byte(j.String()))
	return int(h.Sum32() % uint32(shards))
}

// state is a job's state in etcd. Point is the latest scheduled point a
// run started for (Unix nanoseconds).
type state struct {
	Counter int64 `json:"counter"`
	Paused  bool  `json:"paused,omitempty"`
	Point   int64 `json:"point,omitempty"`
}

func (s state) encode() string {
	b, _ := json.Marshal(s) // plain fields: cannot fail
	return string(b)
}

func decodeState(b []byte) (state, error) {
	var s state
	if len(b) == 0 {
		return s, nil
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return state{}, fmt.Errorf("job state in etcd: %w", err)
	}
	return s, nil
}

// runMarker is the value of a running and of an open key: the run and
// what a node taking it over after a loss needs to run it again.
type runMarker struct {
	Node      string    `json:"node"`
	Counter   int64     `json:"counter"`
	Start     time.Time `json:"start"`
	Attempt   int       `json:"attempt,omitempty"`
	Trigger   string    `json:"trigger,omitempty"`
	Scheduled int64     `json:"scheduled,omitempty"` // Unix nanoseconds
	Payload   bool      `json:"payload,omitempty"`
}

func newRunMarker(node string, counter int64, info RunInfo) runMarker {
	m := runMarker{Node: node, Counter: counter, Start: time.Now().UTC(), Attempt: max(info.Attempt, 1), Trigger: info.Trigger,
		Payload: info.Payload}
	if !info.Scheduled.IsZero() {
		m.Scheduled = info.Scheduled.UnixNano()
	}
	return m
}

// info returns what the marker holds of the run.
func (m runMarker) info() RunInfo {
	ri := RunInfo{Attempt: max(m.Attempt, 1), Trigger: m.Trigger, Payload: m.Payload}
	if m.Scheduled != 0 {
		ri.Scheduled = time.Unix(0, m.Scheduled).UTC()
	}
	return ri
}

func (m runMarker) encode() string {
	b, _ := json.Marshal(m)
	return string(b)
}
