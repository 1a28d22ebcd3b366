package actors

import (
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/karajo/karajo/config"
	"github.com/karajo/karajo/config/schedule"
)

// BenchmarkDueBurst measures the engine's pre-fork path of scheduled runs
// (issue 13's lateness): 100 jobs `* * * * * *`, max_job_running 100, all
// due at the same instant every second. At each due instant the clock
// starts; every run's child waits at the fork (startHook) until all 100
// have reached it, so that no fork competes with the path, and the clock
// stops there. It reports the engine's CPU per run from the due instant
// to the fork ("cpu-µs/run": timer, tick, slot, log, environment, run
// child, first log lines) and the time until the last run reached its
// fork ("ms-all-at-fork"). One iteration is one burst (one second).
func BenchmarkDueBurst(b *testing.B) {
	const n = 100
	s, err := schedule.ParseCron("* * * * * *", time.UTC)
	if err != nil {
		b.Fatal(err)
	}
	var mu sync.Mutex
	reached, gate := 0, make(chan struct{})
	all := make(chan time.Time, 1)
	startHook = func() {
		mu.Lock()
		reached++
		g := gate
		if reached == n {
			all <- time.Now()
		}
		mu.Unlock()
		<-g
	}
	defer func() { startHook = nil }()
	jobs := make([]*config.Job, n)
	for i := range jobs {
		id := "b" + strconv.Itoa(i)
		jobs[i] = &config.Job{ID: id, Name: id, Sched: s, Commands: []string{"true"}, LogRetention: 2}
	}
	benchEngineMax(b, n, jobs...)
	var cpu, took time.Duration
	b.ResetTimer()
	for range b.N {
		due := time.Now().Truncate(time.Second).Add(time.Second)
		time.Sleep(time.Until(due.Add(-20 * time.Millisecond)))
		c0 := cpuTime()
		var at time.Time
		select {
		case at = <-all:
		case <-time.After(10 * time.Second):
			b.Fatal("the burst's runs did not all reach their fork")
		}
		cpu += cpuTime() - c0
		took += at.Sub(due)
		mu.Lock()
		reached = 0
		close(gate)
		gate = make(chan struct{})
		mu.Unlock()
	}
	b.StopTimer()
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N*n), "cpu-µs/run")
	b.ReportMetric(float64(took.Microseconds())/1000/float64(b.N), "ms-all-at-fork")
	b.ReportMetric(0, "ns/op")
}
