package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

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
