package actors

import (
	"os/exec"
	"testing"
	"time"

	"github.com/karajo/karajo/config"
)

// BenchmarkRunControlWork measures the run control's own work on the way
// from a trigger to the fork, per run: the overlap decision, the run's
// token, its variables and the log's first line.
func BenchmarkRunControlWork(b *testing.B) {
	cfg := &config.Job{ID: "bench", RunControl: config.RunControl{Overlap: config.OverlapQueue, Timeout: time.Minute, Configured: true}}
	p := overlapPolicy{overlap: cfg.Overlap}
	b.ReportAllocs()
	for i := range b.N {
		if p.decide(byTrigger, phaseIdle, 0, false) != actStart {
			b.Fatal("not started")
		}
		tok := runToken("k0123456789ab", cfg.ID, int64(i))
		_ = runVars(runTriggerEnv("webhook"), tok)
		_ = execBegin(duePoint{}, cfg, "webhook")
		_ = newRetryPolicy(cfg.RunControl)
	}
}

// BenchmarkForker compares a fork/exec of "true" through the locked
// forker threads (startCommand, for Pdeathsig) with cmd.Start from the
// caller's goroutine, in alternating blocks of the same run: x-direct is
// the ratio of their times.
func BenchmarkForker(b *testing.B) {
	run := func(start func(*exec.Cmd) error) time.Duration {
		t0 := time.Now()
		cmd := exec.Command("/bin/true")
		if err := start(cmd); err != nil {
			b.Fatal(err)
		}
		_ = cmd.Wait()
		return time.Since(t0)
	}
	var viaForker, direct time.Duration
	for i := range b.N {
		if i%2 == 0 {
			viaForker += run(startCommand)
			direct += run((*exec.Cmd).Start)
		} else {
			direct += run((*exec.Cmd).Start)
			viaForker += run(startCommand)
		}
	}
	b.ReportMetric(float64(viaForker)/float64(direct), "x-direct")
}

// BenchmarkSweepPass measures one pass of the sweep over karajo's own
// children (the subreaper way, with nothing to kill) against one pass over
// all of /proc (the fallback without a PID floor), in turn, each in ns
// per pass.
func BenchmarkSweepPass(b *testing.B) {
	s := newSweeper("kbench", nil)
	none := func(string) bool { return false }
	var kids, scan time.Duration
	for range b.N {
		t0 := time.Now()
		s.sweepChildren(none)
		t1 := time.Now()
		sweepProc(0, 0, none)
		kids, scan = kids+t1.Sub(t0), scan+time.Since(t1)
	}
	b.ReportMetric(float64(kids.Nanoseconds())/float64(b.N), "ns/children-pass")
	b.ReportMetric(float64(scan.Nanoseconds())/float64(b.N), "ns/proc-pass")
}
