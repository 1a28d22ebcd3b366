package actors

import (
	"os/exec"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
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

// forkPar runs /bin/sh -c true n times, GOMAXPROCS at a time: the floor
// of many runs on this machine.
func forkPar(n int) time.Duration {
	start := time.Now()
	var wg sync.WaitGroup
	var next atomic.Int64
	for range goruntime.GOMAXPROCS(0) {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				_ = exec.Command("/bin/sh", "-c", "true").Run()
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}

// cpuTime returns the CPU time (user + system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRunParallel measures many runs at once: 8 exec jobs whose
// command is "true", max_job_running 8, each triggered again as soon as
// its run has ended, by its own goroutine. It reports the time per run
// against forks of the same command GOMAXPROCS at a time ("x-forkpar":
// 1 is the machine's limit) and the engine's CPU per run ("cpu-µs/run",
// this process's user+system time, the children's not counted; the fork
// itself is part of it).
func BenchmarkRunParallel(b *testing.B) {
	const jobs = 8
	var cfgs []*config.Job
	for i := range jobs {
		id := "p" + strconv.Itoa(i)
		cfgs = append(cfgs, &config.Job{ID: id, Name: id, Path: "/" + id, Commands: []string{"true"}, LogRetention: 2})
	}
	e := benchEngineMax(b, jobs, cfgs...)
	sub := e.Subscribe(4096)
	b.Cleanup(sub.Close)
	ended := make([]chan int64, jobs) // counters of ended runs, per job
	for i := range ended {
		ended[i] = make(chan int64, 64)
	}
	go func() {
		for ev := range sub.C {
			v := ev.Job
			if v == nil || v.Running || v.Waiting || len(v.Logs) == 0 {
				continue
			}
			i, _ := strconv.Atoi(strings.TrimPrefix(v.ID, "p"))
			ended[i] <- v.Logs[len(v.Logs)-1].Counter
		}
	}()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0, start := cpuTime(), time.Now()
	var wg sync.WaitGroup
	for i := range jobs {
		n := b.N / jobs
		if i < b.N%jobs {
			n++
		}
		wg.Go(func() {
			pid, _ := e.Job("p" + strconv.Itoa(i))
			for c := int64(1); c <= int64(n); c++ {
				if _, err := Ask[*JobView](e.Root(), pid, &Trigger{}, 10*time.Second); err != nil {
					b.Error(err)
					return
				}
				for got := int64(0); got < c; {
					select {
					case got = <-ended[i]:
					case <-time.After(10 * time.Second):
						b.Errorf("run %d of p%d did not end", c, i)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	took, cpu := time.Since(start), cpuTime()-cpu0
	b.StopTimer()
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/run")
	reportRatio(b, took, forkPar, "x-forkpar")
}
