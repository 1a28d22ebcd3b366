package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// benchWithBaseline runs op b.N times, then baseline b.N times outside the
// timer, and reports op's time as a multiple of baseline's ("x-baseline"),
// a ratio that holds on a noisy shared machine where ns/op does not.
func benchWithBaseline(b *testing.B, op, baseline func(i int)) {
	b.Helper()
	start := time.Now()
	for i := range b.N {
		op(i)
	}
	took := time.Since(start)
	b.StopTimer()
	start = time.Now()
	for i := range b.N {
		baseline(i)
	}
	if base := time.Since(start); base > 0 {
		b.ReportMetric(float64(took)/float64(base), "x-baseline")
	}
}

// sinkTime keeps results alive so the compiler cannot drop the calls.
var sinkTime time.Time

// BenchmarkScheduleNext measures Schedule.Next for each kind, over a
// spread of instants (every 7 minutes 13 seconds from 2024-01-31). The
// baseline is the cheapest possible next point: the start of the next
// minute by Truncate and Add.
func BenchmarkScheduleNext(b *testing.B) {
	for _, tt := range []struct{ name, schedule string }{
		{"minutely", "minutely"},
		{"hourly", "hourly@0,15,30,45"},
		{"daily", "daily@06:00,18:30"},
		{"weekly", "weekly@mon,fri@09:00"},
		{"monthly", "monthly@1,15@18:00"},
		{"monthly31", "monthly@31"}, // skips short months: the longest walk
	} {
		b.Run(tt.name, func(b *testing.B) {
			s, err := ParseSchedule(tt.schedule)
			if err != nil {
				b.Fatal(err)
			}
			t0 := time.Date(2024, 1, 31, 10, 15, 30, 0, time.UTC)
			const step = 7*time.Minute + 13*time.Second
			b.ReportAllocs()
			b.ResetTimer()
			benchWithBaseline(b,
				func(i int) { sinkTime = s.Next(t0.Add(time.Duration(i%100000) * step)) },
				func(i int) { sinkTime = t0.Add(time.Duration(i%100000) * step).Truncate(time.Minute).Add(time.Minute) })
		})
	}
}

// BenchmarkParseSchedule measures parsing, done once per job at load.
func BenchmarkParseSchedule(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseSchedule("weekly@mon, wed, fri@09:00,12:30,18:00"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoad measures loading a configuration of n jobs (half on a
// daily schedule, half webhook-only, as karajo-bench's scale scenario),
// spread over job.d files of perFile jobs. It reports ns per job, which
// stays flat when loading is linear in the number of jobs.
func BenchmarkLoad(b *testing.B) {
	for _, tt := range []struct{ n, perFile int }{{1000, 1000}, {10000, 1000}, {10000, 10000}} {
		n, perFile := tt.n, tt.perFile
		b.Run(fmt.Sprintf("jobs=%d/per_file=%d", n, perFile), func(b *testing.B) {
			dir := b.TempDir()
			etc := filepath.Join(dir, "etc", "karajo")
			if err := os.MkdirAll(filepath.Join(etc, "job.d"), 0o700); err != nil {
				b.Fatal(err)
			}
			main := filepath.Join(etc, "karajo.toml")
			if err := os.WriteFile(main, []byte(fmt.Sprintf("[karajo]\ndir_base = %q\nsecret = \"s3cret\"\n", dir)), 0o600); err != nil {
				b.Fatal(err)
			}
			for f := 0; f < n; f += perFile {
				var s strings.Builder
				for i := f; i < min(f+perFile, n); i++ {
					if i%2 == 0 {
						fmt.Fprintf(&s, "[job.\"s%d\"]\nschedule = \"daily@03:00\"\ncommands = [\"true\"]\n\n", i)
					} else {
						fmt.Fprintf(&s, "[job.\"w%d\"]\npath = \"/w%d\"\ncommands = [\"true\"]\n\n", i, i)
					}
				}
				if err := os.WriteFile(filepath.Join(etc, "job.d", fmt.Sprintf("%06d.toml", f)), []byte(s.String()), 0o600); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				env, err := Load(main)
				if err != nil {
					b.Fatal(err)
				}
				if len(env.Jobs) != n {
					b.Fatalf("Load: %d jobs, want %d", len(env.Jobs), n)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/job")
		})
	}
}
