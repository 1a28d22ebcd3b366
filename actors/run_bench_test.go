package actors

import (
	"context"
	"io"
	"log/slog"
	"os/exec"
	"testing"
	"time"

	"github.com/karajo/karajo/config"
	"github.com/karajo/karajo/logstore"
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

// BenchmarkRun measures one whole run of an exec job whose command is
// "true": trigger, slot, log created, command forked and waited for, log
// finished and renamed, view published; against a bare fork/exec of the
// same command ("x-fork"). What karajo adds per run is (x-fork - 1) forks.
func BenchmarkRun(b *testing.B) {
	dir := b.TempDir()
	env := &config.Env{DirBase: dir, MaxJobRunning: 1, Secret: "s3cret", Jobs: []*config.Job{
		{ID: "j", Name: "j", Path: "/j", Commands: []string{"true"}, LogRetention: 2},
	}}
	store, err := logstore.New(dir, nil)
	if err != nil {
		b.Fatal(err)
	}
	e, err := Start(env, store, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{ListenAddress: "127.0.0.1:1", Version: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_ = e.Shutdown(ctx)
	}()
	sub := e.Subscribe(64)
	defer sub.Close()
	pid, _ := e.Job("j")
	var counter int64
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if _, err := Ask[*JobView](e.Root(), pid, &Trigger{}, 10*time.Second); err != nil {
			b.Fatal(err)
		}
		counter++
	wait:
		for {
			select {
			case ev := <-sub.C:
				if v := ev.Job; v != nil && !v.Running && !v.Waiting && len(v.Logs) > 0 && v.Logs[len(v.Logs)-1].Counter == counter {
					break wait
				}
			case <-time.After(10 * time.Second):
				b.Fatalf("run %d did not finish", counter)
			}
		}
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
	dir := b.TempDir()
	env := &config.Env{DirBase: dir, MaxJobRunning: 1, Secret: "s3cret", Jobs: []*config.Job{
		{ID: "j", Name: "j", Path: "/j", Commands: []string{"true"}, LogRetention: 2},
	}}
	store, err := logstore.New(dir, nil)
	if err != nil {
		b.Fatal(err)
	}
	e, err := Start(env, store, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{ListenAddress: "127.0.0.1:1", Version: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_ = e.Shutdown(ctx)
	}()
	sub := e.Subscribe(64)
	defer sub.Close()
	pid, _ := e.Job("j")
	var took time.Duration
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		if _, err := Ask[*JobView](e.Root(), pid, &Trigger{}, 10*time.Second); err != nil {
			b.Fatal(err)
		}
		took += (<-hit).Sub(t0)
		for { // the run ends before the next trigger: the job is idle again
			ev := <-sub.C
			if v := ev.Job; v != nil && !v.Running && !v.Waiting && len(v.Logs) > 0 && v.Logs[len(v.Logs)-1].Counter == int64(i+1) {
				break
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(took.Nanoseconds())/float64(b.N), "ns/trigger")
}
