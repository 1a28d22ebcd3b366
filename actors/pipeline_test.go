package actors

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/karajo/karajo/config"
	"github.com/karajo/karajo/logstore"
)

// TestFlushQueueOrder: flushing runs are reported oldest first, a run
// whose log became durable before an older one's waits for it, and a
// report for an unknown counter is told apart.
func TestFlushQueueOrder(t *testing.T) {
	tests := []struct {
		name    string
		push    []int64
		durable []int64   // reports, in arrival order
		ready   [][]int64 // what each report releases
		left    []int64
	}{
		{"in order", []int64{1, 2}, []int64{1, 2}, [][]int64{{1}, {2}}, nil},
		{"newer first waits", []int64{1, 2, 3}, []int64{2, 3, 1}, [][]int64{nil, nil, {1, 2, 3}}, nil},
		{"middle first", []int64{4, 5, 6}, []int64{5, 4}, [][]int64{nil, {4, 5}}, []int64{6}},
		{"unknown", []int64{7}, []int64{9}, [][]int64{nil}, []int64{7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var q flushQueue
			for _, c := range tt.push {
				q.push(&flushRun{counter: c})
			}
			for i, c := range tt.durable {
				ready, known := q.durable(c, &runFinished{counter: c})
				if want := slices.Contains(tt.push, c); known != want {
					t.Errorf("durable(%d): known = %v, want %v", c, known, want)
				}
				var got []int64
				for _, r := range ready {
					if r.fin == nil || r.fin.counter != r.counter {
						t.Errorf("durable(%d): run %d released without its own report", c, r.counter)
					}
					got = append(got, r.counter)
				}
				if !slices.Equal(got, tt.ready[i]) {
					t.Errorf("durable(%d) released %v, want %v", c, got, tt.ready[i])
				}
			}
			if got := q.counters(); !slices.Equal(got, tt.left) {
				t.Errorf("left flushing: %v, want %v", got, tt.left)
			}
		})
	}
}

// TestNextRunStartsWhileLogFlushes holds the group commit's data flush and
// checks the pipeline: the next run's command runs while the previous
// run's log is not durable; neither run is reported finished (log status,
// last_run, job status) before its log is durable; a third run waits
// (at most maxFlushing runs flush behind a running one); once the flush
// goes, the runs are reported in counter order and every log is final.
func TestNextRunStartsWhileLogFlushes(t *testing.T) {
	if maxFlushing != 1 {
		t.Skipf("written for maxFlushing 1 (is %d)", maxFlushing)
	}
	marks := t.TempDir()
	started := filepath.Join(marks, "started")
	e, store := startEngine(t, 1, &config.Job{ID: "p", Path: "/p", LogRetention: 10,
		Commands: []string{`echo "$KARAJO_JOB_COUNTER" >> ` + started}})
	getJob(t, e, "p")
	entered, release := make(chan struct{}, 16), make(chan struct{})
	var once sync.Once
	store.SetFlushHook(func(what string, _ int) {
		if what == "data" {
			once.Do(func() { entered <- struct{}{} }) // the first data flush only
			<-release
		}
	})
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	sub := e.Subscribe(1024)
	defer sub.Close()

	trigger := func(want int64) {
		t.Helper()
		v, err := ask[*JobView](t, e, "p", &Trigger{})
		if err != nil || v.RunCounter != want {
			t.Fatalf("trigger: counter %v, %v; want %d", v, err, want)
		}
	}
	ran := func() []string {
		b, _ := os.ReadFile(started)
		return strings.Fields(string(b))
	}
	trigger(1)
	<-entered // run 1 ended its command; its log's flush is held
	v := getJob(t, e, "p")
	if !v.Running || v.Status != StatusRunning || !v.LastRun.IsZero() || v.Logs[0].Status != StatusRunning {
		t.Fatalf("run 1 reported before its log is durable: running=%v status=%q last_run=%v log=%+v",
			v.Running, v.Status, v.LastRun, v.Logs[0])
	}
	trigger(2)
	waitFor(t, "run 2's command while run 1's log flushes", func() bool { return slices.Equal(ran(), []string{"1", "2"}) })
	v = waitJob(t, e, "p", "run 2 to end its command", func(v JobView) bool {
		return slices.Equal(v.InProgress, []int64{1, 2}) && v.Attempt == 0
	})
	for _, l := range v.Logs {
		if l.Status != StatusRunning {
			t.Errorf("log %+v reported final while run 1's flush is held", l)
		}
	}
	if !v.LastRun.IsZero() || v.Status != StatusRunning {
		t.Errorf("last_run %v, status %q while run 1's flush is held", v.LastRun, v.Status)
	}
	// Two runs flush: the third waits for run 1 to be reported.
	trigger(3)
	time.Sleep(200 * time.Millisecond)
	if got := ran(); len(got) != 2 {
		t.Errorf("commands ran %v while two runs flush, want only 1 and 2", got)
	}
	close(release)
	v = waitJob(t, e, "p", "three runs reported", func(v JobView) bool {
		return idle(v) && len(v.Logs) == 3 && v.Logs[2].Status == StatusSuccess
	})
	for i, l := range v.Logs {
		if l.Counter != int64(i+1) || l.Status != StatusSuccess || l.Name != "p."+string(rune('1'+i))+".success" {
			t.Errorf("log %d = %+v", i, l)
		}
		if _, err := os.Stat(filepath.Join(store.LogDir("job", "p"), l.Name)); err != nil {
			t.Errorf("reported log not on disk: %v", err)
		}
	}
	if got := ran(); !slices.Equal(got, []string{"1", "2", "3"}) {
		t.Errorf("commands ran %v, want 1 2 3", got)
	}
	checkReportOrder(t, sub)
}

// checkReportOrder reads the job views published so far and checks that
// no run was reported finished before an older one, and that last_run was
// set only with a finished run.
func checkReportOrder(t *testing.T, sub *Subscription) {
	t.Helper()
	for {
		select {
		case ev := <-sub.C:
			v := ev.Job
			if v == nil {
				continue
			}
			final := false
			for i := len(v.Logs) - 1; i >= 0; i-- {
				isFinal := v.Logs[i].Status != StatusRunning
				if final && !isFinal {
					t.Errorf("view %+v: a run reported before an older one", v.Logs)
				}
				final = final || isFinal
			}
			if !v.LastRun.IsZero() && !final {
				t.Errorf("view: last_run %v with no finished run: %+v", v.LastRun, v.Logs)
			}
		default:
			return
		}
	}
}

// waitFor polls cond until it holds (at most 10 s).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestStopWaitsForFlushingRun: a graceful stop while a run's log is being
// flushed waits for the run to be reported; the state file written at the
// stop then holds its counter and its log is final.
func TestStopWaitsForFlushingRun(t *testing.T) {
	e, store := startEngine(t, 1, &config.Job{ID: "s", Path: "/s", Commands: []string{"true"}})
	getJob(t, e, "s")
	entered, release := holdFirstDataFlush(store)
	if _, err := ask[*JobView](t, e, "s", &Trigger{}); err != nil {
		t.Fatal(err)
	}
	<-entered // the run's command ended; its log's flush is held
	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		stopped <- e.Shutdown(ctx)
	}()
	select {
	case err := <-stopped:
		t.Fatalf("Shutdown returned (%v) while the run's log was not durable", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	if err := <-stopped; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	st, _, err := store.LoadState(logstore.KindJob, "s")
	if err != nil || st.Counter != 1 {
		t.Errorf("state after the stop = %+v, %v; want counter 1", st, err)
	}
	if _, err := os.Stat(filepath.Join(store.LogDir(logstore.KindJob, "s"), "s.1.success")); err != nil {
		t.Errorf("the run's log is not final after the stop: %v", err)
	}
}

// TestJobHTTPNextRunWhileLogFlushes: a JobHttp pipelines too: with run 1's
// log flush held, run 2's request reaches the server, and both runs are
// reported, in order, once the flush goes.
func TestJobHTTPNextRunWhileLogFlushes(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hits.Add(1) }))
	defer srv.Close()
	env := &config.Env{DirBase: t.TempDir(), MaxJobRunning: 1, Secret: "s3cret", HTTPTimeout: time.Second,
		JobHTTPs: []*config.JobHTTP{{ID: "w", Name: "w", LogRetention: 5, Method: "GET", HTTPURL: srv.URL,
			RequestType: config.RequestQuery, HTTPTimeout: 5 * time.Second}}}
	e, store := startEnv(t, env)
	entered, release := holdFirstDataFlush(store)
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	pid, _ := e.JobHTTP("w")
	trigger := func() {
		t.Helper()
		if _, err := Ask[*JobHTTPView](e.Root(), pid, &Trigger{}, askTimeout); err != nil {
			t.Fatal(err)
		}
	}
	view := func() *JobHTTPView {
		v, err := Ask[*JobHTTPView](e.Root(), pid, &GetJob{}, askTimeout)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	trigger()
	<-entered
	trigger()
	waitFor(t, "run 2's request while run 1's log flushes", func() bool { return hits.Load() == 2 })
	if v := view(); !v.Running || !v.LastRun.IsZero() || v.Logs[0].Status != StatusRunning {
		t.Errorf("run 1 reported before its log is durable: running=%v last_run=%v logs=%+v", v.Running, v.LastRun, v.Logs)
	}
	close(release)
	waitFor(t, "both runs reported", func() bool {
		v := view()
		return !v.Running && len(v.Logs) == 2 && v.Logs[0].Status == StatusSuccess && v.Logs[1].Status == StatusSuccess
	})
}

// holdFirstDataFlush makes the store's first flush of a log's data wait:
// entered is closed when it begins, and it goes on once release is closed.
func holdFirstDataFlush(store *logstore.Store) (entered, release chan struct{}) {
	entered, release = make(chan struct{}), make(chan struct{})
	var once sync.Once
	store.SetFlushHook(func(what string, _ int) {
		if what == "data" {
			once.Do(func() {
				close(entered)
				<-release
			})
		}
	})
	return entered, release
}
