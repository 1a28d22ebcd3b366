package actors

import (
	"testing"
	"time"

	"github.com/karajo/karajo/config"
)

// BenchmarkRunAlerts is BenchmarkRun without and with alert rules
// (notif_on_failed_streak and alert_if_no_success_within), alternated in
// one run: with rules, each run ends with the policy's decision, a durable
// write of the job's .alerts file and the dead-man's timer re-armed. The
// ratio on/off is what the rules cost a run whose command does nothing.
func BenchmarkRunAlerts(b *testing.B) {
	for _, on := range []bool{false, true, false, true, false, true, false, true, false, true} {
		name := "alerts=off"
		if on {
			name = "alerts=on"
		}
		b.Run(name, func(b *testing.B) {
			job := &config.Job{ID: "j", Name: "j", Path: "/j", Commands: []string{"true"}, LogRetention: 2}
			if on {
				job.Alerts = config.Alerts{FailedStreak: 3, NoSuccessWithin: 25 * time.Hour}
			}
			e := startBench(b, b.TempDir(), Options{NoHistory: true}, job)
			sub := e.Subscribe(64)
			defer sub.Close()
			r := &runBench{e: e, sub: sub}
			b.ResetTimer()
			start := time.Now()
			for i := range b.N {
				r.trigger(b)
				r.waitRun(b, int64(i+1))
			}
			b.StopTimer()
			b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(b.N), "ns/run")
		})
	}
}
