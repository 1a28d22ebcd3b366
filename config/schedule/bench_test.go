package schedule

import (
	"testing"
	"time"
)

// sinkTime keeps results alive so the compiler cannot drop the calls.
var sinkTime time.Time

// BenchmarkNext measures Next for typical expressions over a spread of
// instants (every 7 min 13 s from 2025-01-31), in UTC and in a DST zone.
// The baseline, timed in the same run, is the cheapest possible next
// point: the start of the next minute by Truncate and Add. It reports
// Next's time as a multiple of the baseline ("x-baseline").
func BenchmarkNext(b *testing.B) {
	for _, tt := range []struct{ name, zone, expr string }{
		{"cron-5min-utc", "UTC", "*/5 * * * *"},
		{"cron-weekdays-berlin", "Europe/Berlin", "30 2 * * mon-fri"},
		{"cron-seconds-newyork", "America/New_York", "*/2 * * * * *"},
		{"cron-feb29", "UTC", "0 12 29 2 *"},
		{"karajo-daily-berlin", "Europe/Berlin", "daily@06:00,18:30"},
		{"karajo-monthly31", "UTC", "monthly@31"},
	} {
		b.Run(tt.name, func(b *testing.B) {
			loc, err := LoadZone(tt.zone)
			if err != nil {
				b.Fatal(err)
			}
			s, err := Parse(tt.expr, loc)
			if err != nil {
				b.Fatal(err)
			}
			t0 := time.Date(2025, 1, 31, 10, 15, 30, 0, time.UTC)
			const step = 7*time.Minute + 13*time.Second
			b.ReportAllocs()
			start := time.Now()
			for i := range b.N {
				sinkTime = s.Next(t0.Add(time.Duration(i%100000) * step))
			}
			took := time.Since(start)
			b.StopTimer()
			start = time.Now()
			for i := range b.N {
				sinkTime = t0.Add(time.Duration(i%100000) * step).Truncate(time.Minute).Add(time.Minute)
			}
			if base := time.Since(start); base > 0 {
				b.ReportMetric(float64(took)/float64(base), "x-baseline")
			}
		})
	}
}

// BenchmarkParseCron measures parsing, done once per job at load.
func BenchmarkParseCron(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseCron("0 9,12 * * mon-fri", time.UTC); err != nil {
			b.Fatal(err)
		}
	}
}
