package logstore

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// BenchmarkRecoverIn recovers jobs that have five logs each (a restart
// with full history). "fstatat" is the listing and stats of RecoverIn
// alone (the logs stat'ed relative to the open log directory),
// "lstat-path" the same done as before (os.ReadDir, then os.Lstat of each
// whole path): the baseline of the same run.
func BenchmarkRecoverIn(b *testing.B) {
	const jobs = 200
	s, err := New(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.PrepareBase(); err != nil {
		b.Fatal(err)
	}
	ids := make([]string, jobs)
	for i := range ids {
		ids[i] = "job" + strconv.Itoa(i)
		dir := s.LogDir(KindJob, ids[i])
		if err := os.MkdirAll(dir, 0o700); err != nil {
			b.Fatal(err)
		}
		for c := 1; c <= 5; c++ {
			name := fmt.Sprintf("%s.%d.success", ids[i], c)
			if err := os.WriteFile(filepath.Join(dir, name), []byte("ok\n"), 0o600); err != nil {
				b.Fatal(err)
			}
		}
	}
	census := s.TakeCensus(KindJob)
	b.Run("RecoverIn", func(b *testing.B) {
		for b.Loop() {
			for _, id := range ids {
				if rec, err := s.RecoverIn(census, KindJob, id, 5); err != nil || len(rec.Logs) != 5 {
					b.Fatal(err, len(rec.Logs))
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*jobs), "ns/job")
	})
	// The listing and stats alone, the new way and the old way.
	b.Run("fstatat", func(b *testing.B) {
		for b.Loop() {
			for _, id := range ids {
				d, entries, err := openLogDir(s.LogDir(KindJob, id))
				if err != nil || len(entries) != 5 {
					b.Fatal(err)
				}
				for _, e := range entries {
					if _, err := mtimeAt(d, e.Name()); err != nil {
						b.Fatal(err)
					}
				}
				d.Close()
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*jobs), "ns/job")
	})
	b.Run("lstat-path", func(b *testing.B) {
		for b.Loop() {
			for _, id := range ids {
				dir := s.LogDir(KindJob, id)
				entries, err := os.ReadDir(dir)
				if err != nil || len(entries) != 5 {
					b.Fatal(err)
				}
				for _, e := range entries {
					if _, err := os.Lstat(filepath.Join(dir, e.Name())); err != nil {
						b.Fatal(err)
					}
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*jobs), "ns/job")
	})
}
