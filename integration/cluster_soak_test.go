package integration

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestSoakCluster: three real nodes on `karajo etcd-dev` under signed
// webhooks sent to every node, while the owner is killed with -9 and
// restarted, again and again. Invariants: at most one run per scheduled
// point, no counter given twice (to a point or to a webhook), every run
// has its log on some node, no process left behind. It prints the
// failovers (owner killed → next point run elsewhere), against the TTL.
// KARAJO_SOAK_CLUSTER sets its length (make soak-cluster); without it, a
// short version runs two kills.
func TestSoakCluster(t *testing.T) {
	t.Parallel()
	length, kills := time.Duration(0), 2
	if v := os.Getenv("KARAJO_SOAK_CLUSTER"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("KARAJO_SOAK_CLUSTER: %v", err)
		}
		length, kills = d, 1<<30
	}
	ticks := filepath.Join(t.TempDir(), "ticks")
	etcd := startEtcdDev(t, t.TempDir())
	nodes := startNodes(t, etcd.endpoint, 3, fmt.Sprintf(`
[job.tick]
cron = "* * * * * *"
log_retention = 100000
commands = ['echo "$KARAJO_NODE $KARAJO_JOB_COUNTER $KARAJO_SCHEDULED_AT" >> %s']

[job.hook]
path = "/hook"
log_retention = 100000
commands = ["echo hook on $KARAJO_NODE"]
`, ticks))
	var mu sync.Mutex // guards nodes against the load's reads
	live := func(i int) *server {
		mu.Lock()
		defer mu.Unlock()
		return nodes[i%len(nodes)]
	}
	load := startClusterLoad(t, live)
	waitFor(t, 30*time.Second, "first ticks", func() bool { _, _, n := readClusterTicks(t, ticks); return n >= 2 })
	r := rand.New(rand.NewPCG(7, 18))
	var failovers []time.Duration
	start := time.Now()
	for i := 0; i < kills && (length == 0 || time.Since(start) < length); i++ {
		_, owner, n0 := readClusterTicks(t, ticks)
		var o int
		fmt.Sscanf(owner, "n%d", &o)
		victim := nodes[o-1]
		victim.kill9()
		killed := time.Now()
		killOrphans(victim.dir)
		waitFor(t, 30*time.Second, "a point run by another node", func() bool {
			_, last, n := readClusterTicks(t, ticks)
			return n > n0 && last != owner
		})
		failovers = append(failovers, time.Since(killed))
		time.Sleep(time.Duration(r.IntN(1500)) * time.Millisecond)
		next := startDir(t, victim.dir) // restarted: joins as a standby
		mu.Lock()
		nodes[o-1] = next
		mu.Unlock()
	}
	counters := load.stop()
	byNode, _, points := readClusterTicks(t, ticks)
	for _, s := range nodes {
		s.stop()
	}
	checkClusterLogs(t, nodes, ticks, counters)
	for _, s := range nodes {
		if left := procsIn(s.dir); len(left) > 0 {
			t.Errorf("processes left in %s: %v", s.dir, left)
		}
	}
	slices.Sort(failovers)
	t.Logf("cluster soak: %d points run (by node %v), %d webhooks run, %d kills; failover (ttl 2s) p50 %v max %v: %v",
		points, byNode, len(counters), len(failovers), failovers[len(failovers)/2].Round(time.Millisecond),
		failovers[len(failovers)-1].Round(time.Millisecond), failovers)
}

// clusterLoad sends signed webhooks to the live nodes, in turn.
type clusterLoad struct {
	done     chan struct{}
	counters chan []int64
}

func startClusterLoad(t *testing.T, node func(int) *server) *clusterLoad {
	l := &clusterLoad{done: make(chan struct{}), counters: make(chan []int64, 1)}
	client := &http.Client{Timeout: 10 * time.Second}
	go func() {
		var got []int64
		defer func() { l.counters <- got }()
		for i := 0; ; i++ {
			select {
			case <-l.done:
				return
			case <-time.After(200 * time.Millisecond):
			}
			s := node(i)
			if !s.alive() {
				continue
			}
			body := runBody()
			req, _ := http.NewRequest(http.MethodPost, s.base+"/karajo/api/job_exec/run/hook", strings.NewReader(string(body)))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Karajo-Sign", sign(testSecret, body))
			resp, err := client.Do(req)
			if err != nil {
				continue // the node was just killed
			}
			var env struct {
				RunCounter int64 `json:"run_counter"`
			}
			json.NewDecoder(resp.Body).Decode(&env)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && env.RunCounter > 0 {
				got = append(got, env.RunCounter)
			}
		}
	}()
	return l
}

func (l *clusterLoad) stop() []int64 {
	close(l.done)
	return <-l.counters
}

// checkClusterLogs: every tick and every accepted webhook has its log on
// some node, and no counter was given twice. A run lost with its node has
// two logs, both failed: its own on the killed node (finalised as
// interrupted when that node restarts) and the new owner's record.
func checkClusterLogs(t *testing.T, nodes []*server, ticks string, hooks []int64) {
	t.Helper()
	names := map[string][]string{}
	logs := func(id string) map[string]int {
		m := map[string]int{}
		for i, s := range nodes {
			ents, _ := os.ReadDir(s.logDir(id))
			for _, e := range ents {
				parts := strings.SplitN(e.Name(), ".", 3)
				if len(parts) >= 2 {
					m[parts[1]]++
					names[id+parts[1]] = append(names[id+parts[1]], fmt.Sprintf("n%d:%s", i+1, e.Name()))
				}
			}
		}
		return m
	}
	tickLogs := logs("tick")
	b, _ := os.ReadFile(ticks)
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if m := clusterTickLine.FindStringSubmatch(line); m != nil && tickLogs[m[2]] == 0 {
			t.Errorf("tick #%s (%s) has no log on any node", m[2], line)
		}
	}
	for c, n := range tickLogs {
		if n > 1 && !allFailed(names["tick"+c]) {
			t.Errorf("tick counter %s has %d logs: %v", c, n, names["tick"+c])
		}
	}
	hookLogs := logs("hook")
	seen := map[int64]bool{}
	for _, c := range hooks {
		if seen[c] {
			t.Errorf("webhook counter %d answered twice", c)
		}
		seen[c] = true
		if hookLogs[fmt.Sprint(c)] == 0 {
			t.Errorf("webhook run #%d has no log on any node", c)
		}
	}
	for c, n := range hookLogs {
		if n > 1 && !allFailed(names["hook"+c]) {
			t.Errorf("hook counter %s has %d logs: %v", c, n, names["hook"+c])
		}
	}
}

func allFailed(names []string) bool {
	for _, n := range names {
		if !strings.HasSuffix(n, ".failed") {
			return false
		}
	}
	return true
}
