package logstore

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestGuardCap(t *testing.T) {
	const p = "2026-11-28 16:40:10 UTC job: j: "
	marker := func(n int64) string { return p + CapMarker(n) + "\n" }
	tests := []struct {
		name  string
		limit int64
		ops   []op
		want  string
	}{
		{"no cap", 0, []op{w("abc\n"), w("def\n")}, p + "abc\n" + p + "def\n"},
		{"under the cap", 8, []op{w("abc\n"), w("def\n")}, p + "abc\n" + p + "def\n"},
		{"cut at a line end", 4, []op{w("abc\n"), w("def\n"), w("more\n")}, p + "abc\n" + marker(4)},
		{"cut mid-line", 6, []op{w("abc\n"), w("def\n"), w("more\n")}, p + "abc\n" + p + "de\n" + marker(6)},
		{"cut inside one chunk", 5, []op{w("abc\ndef\nghi\n")}, p + "abc\n" + p + "d\n" + marker(5)},
		{"own lines are not counted", 4, []op{ln("=== BEGIN"), w("abcd"), ln(""), w("x\n"), ln("=== DONE")},
			p + "=== BEGIN\n" + p + "abcd\n" + marker(4) + p + "=== DONE\n"},
		{"exactly the cap", 4, []op{w("abcd")}, p + "abcd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t, fixedClock(t0), KindJob, "j")
			rl, err := s.Create(KindJob, "j", 1)
			if err != nil {
				t.Fatal(err)
			}
			g := rl.Guarded(tt.limit, func(err error) { t.Errorf("onError(%v) without a write error", err) })
			for _, o := range tt.ops {
				if o.line {
					if err := g.Line(o.s); err != nil {
						t.Fatalf("Line(%q) = %v", o.s, err)
					}
				} else if n, err := g.Write([]byte(o.s)); n != len(o.s) || err != nil {
					t.Fatalf("Write(%q) = %d, %v; want %d, nil", o.s, n, err, len(o.s))
				}
			}
			ref, err := g.Finish("success")
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(filepath.Join(s.LogDir(KindJob, "j"), ref.Name))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("log =\n%s\nwant\n%s", got, tt.want)
			}
			if capped := strings.Contains(tt.want, "max_log_bytes"); g.Capped() != capped {
				t.Errorf("Capped() = %v, want %v", g.Capped(), capped)
			}
		})
	}
}

// TestGuardWriteError writes to /dev/full: the first error is kept and
// reported once, later output is dropped without error, and Finish still
// renames the log.
func TestGuardWriteError(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full: %v", err)
	}
	s := newStore(t, fixedClock(t0), KindJob, "j")
	rl, err := s.Create(KindJob, "j", 1)
	if err != nil {
		t.Fatal(err)
	}
	real := rl.f
	rl.f = full
	var reported []error
	g := rl.Guarded(0, func(err error) { reported = append(reported, err) })
	for i := 0; i < 100; i++ {
		if n, err := g.Write([]byte("output\n")); n != 7 || err != nil {
			t.Fatalf("Write = %d, %v; want 7, nil", n, err)
		}
	}
	if err := g.Line("=== DONE"); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("Line after the error = %v, want ENOSPC", err)
	}
	if len(reported) != 1 || !errors.Is(reported[0], syscall.ENOSPC) {
		t.Fatalf("reported %v, want one ENOSPC", reported)
	}
	if !errors.Is(g.Err(), syscall.ENOSPC) {
		t.Errorf("Err() = %v, want ENOSPC", g.Err())
	}
	// The disk has room again: Finish writes the reason to the real file.
	rl.f = real
	full.Close()
	ref, err := g.Finish("failed")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(s.LogDir(KindJob, "j"), ref.Name))
	if err != nil {
		t.Fatal(err)
	}
	if want := "!!! karajo: the log is incomplete: write log"; !strings.Contains(string(got), want) || !strings.Contains(string(got), "no space left on device") {
		t.Errorf("log = %q, want a line %q… naming ENOSPC", got, want)
	}
}

func TestRunLogDiscard(t *testing.T) {
	s := newStore(t, fixedClock(t0), KindJob, "j")
	rl, err := s.Create(KindJob, "j", 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := rl.Discard(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(rl.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after Discard: stat = %v, want not exist", err)
	}
	if err := rl.Discard(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("second Discard = %v, want ErrClosed", err)
	}
	// The counter may be used again.
	if _, err := s.Create(KindJob, "j", 3); err != nil {
		t.Errorf("Create after Discard: %v", err)
	}
}
