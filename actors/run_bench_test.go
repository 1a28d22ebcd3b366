package actors

import (
	"os/exec"
	"testing"
	"time"

	"github.com/karajo/karajo/config"
)

// forkTrue runs /bin/sh -c true n times, one after the other: the floor of
// a run whose command does nothing.
func forkTrue(n int) time.Duration {
	start := time.Now()
	for range n {
		_ = exec.Command("/bin/sh", "-c", "true").Run()
	}
	return time.Since(start)
}

// runBench is an engine with one idle exec job "j" whose command is
// "true", and a subscription to see its runs end.
type runBench struct {
	e   *Engine
	sub *Subscription
}

func newRunBench(b *testing.B) *runBench {
	b.Helper()
	e := benchEngineWith(b, &config.Job{ID: "j", Name: "j", Path: "/j", Commands: []string{"true"}, LogRetention: 2})
	sub := e.Subscribe(64)
	b.Cleanup(sub.Close)
	return &runBench{e: e, sub: sub}
}

// trigger triggers the job.
func (r *runBench) trigger(b *testing.B) {
	b.Helper()
	pid, _ := r.e.Job("j")
	if _, err := Ask[*JobView](r.e.Root(), pid, &Trigger{}, 10*time.Second); err != nil {
		b.Fatal(err)
	}
}

// waitRun waits until run counter has ended and the job is idle again.
func (r *runBench) waitRun(b *testing.B, counter int64) {
	b.Helper()
	for {
		select {
		case ev := <-r.sub.C:
			if v := ev.Job; v != nil && !v.Running && !v.Waiting && len(v.Logs) > 0 && v.Logs[len(v.Logs)-1].Counter == counter {
				return
			}
		case <-time.After(10 * time.Second):
			b.Fatalf("run %d did not finish", counter)
		}
	}
}

// BenchmarkRun measures one whole run of an exec job whose command is
// "true": trigger, slot, log created, command forked and waited for, log
// finished and renamed, view published; against a bare fork/exec of the
// same command ("x-fork"). What karajo adds per run is (x-fork - 1) forks.
func BenchmarkRun(b *testing.B) {
	r := newRunBench(b)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		r.trigger(b)
		r.waitRun(b, int64(i+1))
	}
	reportRatio(b, time.Since(start), forkTrue, "x-fork")
}

// BenchmarkTriggerToStart measures the engine's part of trigger →
// command: from the Trigger message to the moment the run child calls
// fork/exec (startHook), with an idle job and a free slot. It covers the
// job and supervisor actors, the log file's creation, the run child's
// spawn and the first log lines; not HTTP, not the fork itself.
func BenchmarkTriggerToStart(b *testing.B) {
	hit := make(chan time.Time, 1)
	startHook = func() { hit <- time.Now() }
	defer func() { startHook = nil }()
	r := newRunBench(b)
	var took time.Duration
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		r.trigger(b)
		took += (<-hit).Sub(t0)
		r.waitRun(b, int64(i+1)) // the job is idle before the next trigger
	}
	b.StopTimer()
	b.ReportMetric(float64(took.Nanoseconds())/float64(b.N), "ns/trigger")
}
