package actors

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// snapshotModel is what the views of a supervisor should be: the test's
// own record, kept apart from the supervisor's maps.
type snapshotModel struct {
	views     map[string]JobView
	httpViews map[string]JobHTTPView
}

// want returns what the old snapshot made: json.Marshal of the views keyed
// by name. Of two views with the same name the one with the smallest ID is
// kept (the rule of memberCache; the old code kept either).
func (m *snapshotModel) want(t *testing.T) (jobs, httpJobs []byte) {
	t.Helper()
	jm := make(map[string]*JobView, len(m.views))
	for _, id := range sortedKeysDesc(m.views) {
		v := m.views[id]
		jm[v.Name] = &v
	}
	hm := make(map[string]*JobHTTPView, len(m.httpViews))
	for _, id := range sortedKeysDesc(m.httpViews) {
		v := m.httpViews[id]
		hm[v.Name] = &v
	}
	jobs, err := json.Marshal(jm)
	if err != nil {
		t.Fatal(err)
	}
	httpJobs, err = json.Marshal(hm)
	if err != nil {
		t.Fatal(err)
	}
	return jobs, httpJobs
}

// sortedKeysDesc returns the keys of m, greatest first, so that the
// smallest ID is written last into a map keyed by name.
func sortedKeysDesc[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	slices.Reverse(keys)
	return keys
}

// testNames are job names that make encoding/json work: HTML escaping,
// non-ASCII, U+2028, control bytes, invalid UTF-8 (two names that encode to
// the same key), an empty name, and names whose byte order differs from
// their escaped order.
var testNames = []string{
	"<a&b>", "a", "A", "a b", "a_b", "Job 1", "Job 10", "Job 2", "héllo", "hello", "日本語",
	"line\u2028sep", "tab\tnew\nline", `quote"back\slash`, "\x7f", "\xff", "\xfe", "", "zzz", "~", "é",
}

// randomJobView returns an exec job view with random contents.
func randomJobView(r *rand.Rand, id, name string) JobView {
	now := time.Date(2026, 11, 28, 16, 40, 0, 0, time.UTC)
	v := JobView{ID: id, Name: name, LastRun: now.Add(time.Duration(r.IntN(1000)) * time.Second),
		NextRun: now.Add(time.Hour), Status: []string{"", "started", "success", "failed"}[r.IntN(4)],
		Description: []string{"", "A <b>bench</b> & job.", "ünïcode \u2029"}[r.IntN(3)],
		Running:     r.IntN(2) == 0, Paused: r.IntN(2) == 0}
	if r.IntN(2) == 0 {
		v.Path, v.AuthKind, v.HeaderSign = "/"+id, "hmac-sha256", "X-Karajo-Sign"
		v.Commands = []string{"echo <hello> && true"}
		v.Interval = time.Duration(r.IntN(3)) * time.Minute
	}
	for c := range int64(r.IntN(4)) {
		v.Logs = append(v.Logs, LogRefView{JobID: id, Name: fmt.Sprintf("%s.%d.success", id, c), Status: "success", Counter: c})
	}
	return v
}

// randomHTTPView returns a JobHttp view with random contents.
func randomHTTPView(r *rand.Rand, id, name string) JobHTTPView {
	return JobHTTPView{ID: id, Name: name, HTTPMethod: []string{"GET", "POST"}[r.IntN(2)],
		HTTPURL: "http://127.0.0.1/?a=1&b=<2>", HTTPRequestType: "json", HTTPTimeout: time.Duration(r.IntN(5)) * time.Second,
		HTTPInsecure: r.IntN(2) == 0, Status: []string{"", "success"}[r.IntN(2)], Running: r.IntN(2) == 0}
}

// checkSnapshot compares the supervisor's snapshot with the model's.
func checkSnapshot(t *testing.T, step string, s *supervisor, m *snapshotModel) {
	t.Helper()
	snap, err := s.snapshot()
	if err != nil {
		t.Fatalf("%s: snapshot: %v", step, err)
	}
	jobs, httpJobs := m.want(t)
	if !bytes.Equal(snap.Jobs, jobs) {
		t.Fatalf("%s: jobs\n got %s\nwant %s", step, snap.Jobs, jobs)
	}
	if !bytes.Equal(snap.HTTPJobs, httpJobs) {
		t.Fatalf("%s: http_jobs\n got %s\nwant %s", step, snap.HTTPJobs, httpJobs)
	}
}

// newTestSupervisor returns a supervisor with only what snapshot needs.
func newTestSupervisor() (*supervisor, *snapshotModel) {
	s := &supervisor{views: map[string]JobView{}, httpViews: map[string]JobHTTPView{}}
	m := &snapshotModel{views: map[string]JobView{}, httpViews: map[string]JobHTTPView{}}
	return s, m
}

// TestSnapshotIncrementalRandom applies random sequences of adds,
// changes, renames and removals of both kinds of job, sometimes several
// between two snapshots, and checks after each batch that the incremental
// snapshot is byte for byte json.Marshal of the views keyed by name.
func TestSnapshotIncrementalRandom(t *testing.T) {
	for _, tt := range []struct {
		name     string
		seed     uint64
		ids      int // size of the pool of IDs
		steps    int
		maxBatch int // changes between two snapshots: 1..maxBatch
		unique   bool
	}{
		{"one-at-a-time", 1, 12, 400, 1, true},
		{"batches", 2, 30, 300, 8, true},
		{"big-batches", 3, 200, 60, 150, true},
		{"shared-names", 4, 40, 300, 4, false},
		{"few-ids", 5, 3, 300, 3, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(tt.seed, 42))
			s, m := newTestSupervisor()
			name := func(i int) string {
				if tt.unique { // one name per ID, as the config makes it
					return fmt.Sprintf("%s #%d", testNames[i%len(testNames)], i)
				}
				return testNames[r.IntN(len(testNames))]
			}
			checkSnapshot(t, "empty", s, m)
			for step := range tt.steps {
				for range 1 + r.IntN(tt.maxBatch) {
					i := r.IntN(tt.ids)
					id := fmt.Sprintf("job%03d", i)
					n := name(i)
					if !tt.unique && r.IntN(4) != 0 { // keep the name most times
						if v, ok := m.views[id]; ok {
							n = v.Name
						}
					}
					switch op := r.IntN(10); {
					case op < 4:
						v := randomJobView(r, id, n)
						s.setView(v)
						m.views[id] = v
					case op < 7:
						v := randomHTTPView(r, id, n)
						s.setHTTPView(v)
						m.httpViews[id] = v
					case op < 9:
						s.dropView(id)
						delete(m.views, id)
					default:
						s.dropHTTPView(id)
						delete(m.httpViews, id)
					}
				}
				s.gen++ // as jobChanged does
				checkSnapshot(t, fmt.Sprintf("step %d", step), s, m)
			}
		})
	}
}

// TestSnapshotIncrementalSteps checks named sequences: first add, add
// before and after, change in place, rename across others, remove, re-add,
// a change of nothing but the unencoded fields, and names that need escaping.
func TestSnapshotIncrementalSteps(t *testing.T) {
	type op struct {
		id, name string
		http     bool
		drop     bool
		status   string
	}
	for _, tt := range []struct {
		name string
		ops  [][]op // one batch per snapshot
	}{
		{"add-change-remove", [][]op{
			{{id: "b", name: "B"}},
			{{id: "a", name: "A"}},
			{{id: "c", name: "C"}},
			{{id: "b", name: "B", status: "success"}},
			{{id: "a", drop: true}},
			{{id: "c", drop: true}, {id: "b", drop: true}},
			{{id: "a", name: "A", status: "failed"}},
		}},
		{"rename", [][]op{
			{{id: "a", name: "a"}, {id: "m", name: "m"}, {id: "z", name: "z"}},
			{{id: "a", name: "zz"}},
			{{id: "z", name: "0"}},
			{{id: "m", name: "m2"}, {id: "a", name: "a"}},
		}},
		{"set-then-drop-same-batch", [][]op{
			{{id: "a", name: "A"}, {id: "a", drop: true}},
			{{id: "b", name: "B"}, {id: "b", drop: true}, {id: "b", name: "B2"}},
		}},
		{"drop-unknown", [][]op{
			{{id: "nope", drop: true}, {id: "nope", http: true, drop: true}},
		}},
		{"escaping", [][]op{
			{{id: "x", name: "<a&b>"}, {id: "y", name: "日本"}, {id: "w", name: "a\u2028b"}, {id: "v", name: "\xff"}},
			{{id: "x", name: "<a&b>", http: true}, {id: "y", name: "é", http: true}},
			{{id: "x", name: "<a&b>", status: "success"}},
		}},
		{"shared-name-smallest-id-wins", [][]op{
			{{id: "b", name: "same", status: "b"}},
			{{id: "a", name: "same", status: "a"}},
			{{id: "a", drop: true}},
			{{id: "c", name: "same", status: "c"}, {id: "a", name: "same", status: "a"}},
			{{id: "a", name: "other"}},
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, m := newTestSupervisor()
			for i, batch := range tt.ops {
				for _, o := range batch {
					switch {
					case o.http && o.drop:
						s.dropHTTPView(o.id)
						delete(m.httpViews, o.id)
					case o.http:
						v := JobHTTPView{ID: o.id, Name: o.name, HTTPMethod: "GET", Status: o.status}
						s.setHTTPView(v)
						m.httpViews[o.id] = v
					case o.drop:
						s.dropView(o.id)
						delete(m.views, o.id)
					default:
						v := JobView{ID: o.id, Name: o.name, Status: o.status}
						s.setView(v)
						m.views[o.id] = v
					}
				}
				s.gen++
				checkSnapshot(t, fmt.Sprintf("batch %d", i), s, m)
			}
		})
	}
}

// TestSnapshotUnchangedIsShared checks that a snapshot is built once per
// change: with nothing changed the same *Snapshot comes back, and a drop
// (a job retired) makes a new one.
func TestSnapshotUnchangedIsShared(t *testing.T) {
	s, m := newTestSupervisor()
	v := JobView{ID: "a", Name: "A"}
	s.setView(v)
	m.views["a"] = v
	s.gen++
	first, err := s.snapshot()
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if first != again {
		t.Fatal("snapshot built again without a change")
	}
	jobs := bytes.Clone(first.Jobs)
	s.dropView("a")
	delete(m.views, "a")
	checkSnapshot(t, "after drop", s, m)
	if !bytes.Equal(first.Jobs, jobs) {
		t.Fatal("an earlier snapshot changed")
	}
}

// TestSnapshotEncodeError checks that a view that cannot be encoded fails
// the snapshot, with the job's ID, and leaves the cache as it was: the
// snapshot succeeds again once the view is fixed.
func TestSnapshotEncodeError(t *testing.T) {
	s, m := newTestSupervisor()
	good := JobView{ID: "a", Name: "A"}
	s.setView(good)
	m.views["a"] = good
	s.gen++
	checkSnapshot(t, "good", s, m)
	bad := JobView{ID: "a", Name: "A", LastRun: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)} // time.Time refuses years > 9999
	s.setView(bad)
	s.setView(JobView{ID: "b", Name: "B"})
	s.gen++
	if _, err := s.snapshot(); err == nil || !bytes.Contains([]byte(err.Error()), []byte(`"a"`)) {
		t.Fatalf("snapshot of an unencodable view: err = %v, want an error naming job \"a\"", err)
	}
	s.setView(good)
	m.views["b"] = JobView{ID: "b", Name: "B"}
	s.gen++
	checkSnapshot(t, "fixed", s, m)
}
