package logstore

import (
	"path/filepath"
	"testing"
)

// BenchmarkSaveAlerts measures the write of a job's alert state after a
// run (no fsync), beside WriteAtomic of the same bytes (the durable write
// the state file uses), in one run.
func BenchmarkSaveAlerts(b *testing.B) {
	data := []byte(`{"watching_since":"2026-01-02T03:00:00Z","last_success":"2026-01-02T04:00:00Z","failures":0,"streak_notified":false,"counter":42}` + "\n")
	s, err := New(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.PrepareBase(); err != nil {
		b.Fatal(err)
	}
	b.Run("SaveAlerts", func(b *testing.B) {
		for range b.N {
			if err := s.SaveAlerts(KindJob, "j", data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("WriteAtomic", func(b *testing.B) {
		p := filepath.Join(s.Base(), "var", "lib", "karajo", "job", "j.durable")
		for range b.N {
			if err := WriteAtomic(p, data); err != nil {
				b.Fatal(err)
			}
		}
	})
}
