package actors

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/karajo/karajo/config"
	"github.com/karajo/karajo/logstore"
)

// TestSlotFreedBeforeFlush (start-up burst admission): with
// max_job_running 1, a run whose commands
// have ended gives its slot to the next job while its log's flush is held;
// the run itself is not reported finished (still running, no final name)
// until the flush completes.
func TestSlotFreedBeforeFlush(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(t.TempDir(), "b-ran")
	env := &config.Env{DirBase: dir, MaxJobRunning: 1, Secret: "s3cret", Jobs: []*config.Job{
		{ID: "a", Name: "a", Path: "/a", LogRetention: 5, Commands: []string{"echo a"}},
		{ID: "b", Name: "b", Path: "/b", LogRetention: 5, Commands: []string{"touch " + marker}},
	}}
	e, store := startEnv(t, env)
	entered, release := make(chan struct{}), make(chan struct{})
	first := true
	store.SetFlushHook(func(what string, _ int) {
		if what == "data" && first { // the committer's goroutine only
			first = false
			close(entered)
			<-release
		}
	})
	released := false
	unblock := func() {
		if !released {
			released = true
			close(release)
		}
	}
	defer unblock()
	if _, err := ask[*JobView](t, e, "a", &Trigger{Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-entered:
	case <-time.After(30 * time.Second):
		t.Fatal("a's log was never flushed")
	}
	if _, err := ask[*JobView](t, e, "b", &Trigger{Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat(marker); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("b's command did not run while a's log flush was held: a keeps the slot")
		}
	}
	if v := getJob(t, e, "a"); !v.Running || v.Status != StatusRunning {
		t.Errorf("a reported finished (running=%v status=%q) before its log is durable", v.Running, v.Status)
	}
	if _, err := os.Stat(filepath.Join(store.LogDir(logstore.KindJob, "a"), "a.1.success")); err == nil {
		t.Error("a's log has its final name before its flush")
	}
	unblock()
	for _, id := range []string{"a", "b"} {
		v := waitJob(t, e, id, "its run recorded", func(v JobView) bool { return len(v.Logs) == 1 && idle(v) })
		if v.Status != StatusSuccess {
			t.Errorf("%s: %s (%s), want success", id, v.Status, v.LastError)
		}
	}
	st, err := Ask[*EngineState](e.Root(), e.Supervisor(), &GetEngineState{}, askTimeout)
	if err != nil {
		t.Fatal(err)
	}
	if st.Slots.InUse != 0 || len(st.Queue) != 0 {
		t.Errorf("after both runs: %d slots in use, %d queued; want none", st.Slots.InUse, len(st.Queue))
	}
}

// BenchmarkStartBurst measures the start-up burst inside one process: an
// engine starts on a fresh dir_base with b.N interval jobs that never ran
// (all due at start, command "true", max_job_running 8), and the clock
// stops when every first run's log is durable (the store's group commit
// counts them). It reports the time per run against forks of the same
// command GOMAXPROCS at a time ("x-forkpar": 1 is the machine's limit;
// karajo-bench's drain case measures the same through the real binary)
// and the engine's CPU per run, the directories and the start included.
func BenchmarkStartBurst(b *testing.B) {
	jobs := make([]*config.Job, b.N)
	for i := range jobs {
		id := "d" + strconv.Itoa(i)
		jobs[i] = &config.Job{ID: id, Name: id, Interval: time.Hour, Commands: []string{"true"}, LogRetention: 2}
	}
	dir := b.TempDir()
	env := &config.Env{DirBase: dir, MaxJobRunning: 8, Jobs: jobs, Secret: "s3cret"}
	store, err := logstore.New(dir, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu0, start := cpuTime(), time.Now()
	e, err := Start(env, store, discardLogger(), Options{ListenAddress: "127.0.0.1:1", Version: "bench"})
	if err != nil {
		b.Fatalf("Start: %v", err)
	}
	for deadline := time.Now().Add(5 * time.Minute); store.CommitStats().Logs < int64(b.N); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d first runs ended within 5 minutes", store.CommitStats().Logs, b.N)
		}
	}
	took, cpu := time.Since(start), cpuTime()-cpu0
	b.StopTimer()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.Shutdown(ctx); err != nil {
		b.Errorf("Shutdown: %v", err)
	}
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/run")
	reportRatio(b, took, forkPar, "x-forkpar")
}
