package actors

import (
	"sync"
	"testing"
	"time"

	"github.com/karajo/karajo/config"
)

// BenchmarkRunParallelJob is BenchmarkRunParallel with one job whose
// overlap = "parallel" and max_parallel = 8 instead of 8 jobs: 8
// goroutines each trigger the job again as soon as their run has ended,
// under max_job_running 8. Same metrics: time per run against forks
// GOMAXPROCS at a time ("x-forkpar"), the engine's CPU per run.
func BenchmarkRunParallelJob(b *testing.B) {
	const lanes = 8
	cfg := &config.Job{ID: "pj", Name: "pj", Path: "/pj", Commands: []string{"true"}, LogRetention: 4 * lanes,
		RunControl: config.RunControl{Overlap: config.OverlapParallel, MaxParallel: lanes}}
	e := benchEngineMax(b, lanes, cfg)
	sub := e.Subscribe(4096)
	b.Cleanup(sub.Close)
	var (
		mu    sync.Mutex
		ended = map[int64]chan struct{}{} // by counter, closed when its run has ended
	)
	done := func(c int64) chan struct{} {
		mu.Lock()
		defer mu.Unlock()
		ch, ok := ended[c]
		if !ok {
			ch = make(chan struct{})
			ended[c] = ch
		}
		return ch
	}
	go func() {
		seen := map[int64]bool{}
		for ev := range sub.C {
			if ev.Job == nil {
				continue
			}
			for _, l := range ev.Job.Logs {
				if l.Status != StatusRunning && !seen[l.Counter] {
					seen[l.Counter] = true
					close(done(l.Counter))
				}
			}
		}
	}()
	pid, _ := e.Job("pj")
	b.ReportAllocs()
	b.ResetTimer()
	cpu0, start := cpuTime(), time.Now()
	var wg sync.WaitGroup
	for i := range lanes {
		n := b.N / lanes
		if i < b.N%lanes {
			n++
		}
		wg.Go(func() {
			for range n {
				v, err := Ask[*JobView](e.Root(), pid, &Trigger{}, 10*time.Second)
				if err != nil {
					b.Error(err)
					return
				}
				select {
				case <-done(v.RunCounter):
				case <-time.After(10 * time.Second):
					b.Errorf("run %d did not end", v.RunCounter)
					return
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
