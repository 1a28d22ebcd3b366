package logstore

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// t0 is the fake clock's start, 2026-11-28 16:40:10.3 UTC (printed as :10).
var t0 = time.Date(2026, 11, 28, 16, 40, 10, 300_000_000, time.UTC)

// fixedClock always returns t.
func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

// stepClock returns t0, t0+1s, t0+2s, ... on successive calls.
func stepClock(start time.Time) func() time.Time {
	n := 0
	return func() time.Time {
		n++
		return start.Add(time.Duration(n-1) * time.Second)
	}
}

// newStore returns a Store in a fresh directory with the job prepared.
func newStore(t testing.TB, now func() time.Time, kind Kind, id string) *Store {
	t.Helper()
	s, err := New(t.TempDir(), now)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Prepare(kind, id); err != nil {
		t.Fatal(err)
	}
	return s
}

// op is one call on a RunLog: Write(s) or, if line, Line(s).
type op struct {
	line bool
	s    string
}

func w(s string) op  { return op{s: s} }
func ln(s string) op { return op{line: true, s: s} }

func TestRunLogWrite(t *testing.T) {
	const p = "2026-11-28 16:40:10 UTC job: j: "
	big := strings.Repeat("x", 3*scratchSize+7)
	many := strings.Repeat("ab\n", scratchSize) // 3 scratch buffers of short lines
	tests := []struct {
		name  string
		clock func() time.Time
		ops   []op
		want  string
	}{
		{"one line", nil, []op{w("hello\n")}, p + "hello\n"},
		{"several lines in one chunk", nil, []op{w("a\nb\nc\n")}, p + "a\n" + p + "b\n" + p + "c\n"},
		{"chunks split mid-line", nil, []op{w("hel"), w("lo\nwor"), w("ld\n")}, p + "hello\n" + p + "world\n"},
		{"empty lines", nil, []op{w("\n\n")}, p + "\n" + p + "\n"},
		{"empty writes", nil, []op{w(""), w("a"), w(""), w("\n"), w("")}, p + "a\n"},
		{"Line continues an unfinished line", nil, []op{w("last"), ln("=== DONE")}, p + "last=== DONE\n"},
		{"Line at the start of a line", nil, []op{ln("=== BEGIN"), ln(""), ln("--- Execute  0: echo one"), w("one\n")},
			p + "=== BEGIN\n" + p + "\n" + p + "--- Execute  0: echo one\n" + p + "one\n"},
		{"Line with newlines", nil, []op{ln("a\nb")}, p + "a\n" + p + "b\n"},
		{"Line empty ends an unfinished line", nil, []op{w("x"), ln(""), ln("y")}, p + "x\n" + p + "y\n"},
		{"line bigger than the scratch buffer", nil, []op{w(big), w("\n")}, p + big + "\n"},
		{"many lines beyond the scratch buffer", nil, []op{w(many)}, strings.Repeat(p+"ab\n", scratchSize)},
		{"clock read once per call", stepClock(t0), []op{w("a\nb\n"), w("c"), w("d\n"), ln("e"), w("f\n")},
			"2026-11-28 16:40:10 UTC job: j: a\n" +
				"2026-11-28 16:40:10 UTC job: j: b\n" +
				"2026-11-28 16:40:11 UTC job: j: cd\n" +
				"2026-11-28 16:40:12 UTC job: j: e\n" +
				"2026-11-28 16:40:13 UTC job: j: f\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := tt.clock
			if clock == nil {
				clock = fixedClock(t0)
			}
			s := newStore(t, clock, KindJob, "j")
			l, err := s.Create(KindJob, "j", 1)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range tt.ops {
				if o.line {
					err = l.Line(o.s)
				} else {
					var n int
					n, err = l.Write([]byte(o.s))
					if n != len(o.s) {
						t.Errorf("Write(%d bytes) = %d", len(o.s), n)
					}
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			// Written before Finish: readers see the progress.
			got, err := os.ReadFile(l.Path())
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("log before Finish = %q, want %q", clip(got), clip([]byte(tt.want)))
			}
			ref, err := l.Finish("success")
			if err != nil {
				t.Fatal(err)
			}
			got, err = os.ReadFile(filepath.Join(s.LogDir(KindJob, "j"), ref.Name))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("log after Finish = %q, want %q", clip(got), clip([]byte(tt.want)))
			}
		})
	}
}

// clip shortens b for error messages.
func clip(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}

func TestRunLogLifecycle(t *testing.T) {
	s := newStore(t, fixedClock(t0), KindJobHTTP, "ping")
	l, err := s.Create(KindJobHTTP, "ping", 3)
	if err != nil {
		t.Fatal(err)
	}
	if l.Name() != "ping.3" || l.Counter() != 3 || l.Path() != filepath.Join(s.LogDir(KindJobHTTP, "ping"), "ping.3") {
		t.Errorf("Name, Counter, Path = %q, %d, %q", l.Name(), l.Counter(), l.Path())
	}
	if want := (LogRef{JobID: "ping", Counter: 3, Name: "ping.3"}); l.Ref() != want {
		t.Errorf("Ref() = %+v, want %+v", l.Ref(), want)
	}
	info, err := os.Stat(l.Path())
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("mode of %s = %v, want 0600", l.Name(), info.Mode().Perm())
	}
	if _, err := s.Create(KindJobHTTP, "ping", 3); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Create of an existing counter: err = %v, want fs.ErrExist", err)
	}
	if err := l.Line("=== BEGIN"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "a.b", "a/b", "x\x00"} {
		if _, err := l.Finish(bad); !errors.Is(err, ErrBadName) {
			t.Errorf("Finish(%q): err = %v, want ErrBadName", bad, err)
		}
	}
	if err := l.Line("=== DONE"); err != nil {
		t.Fatalf("Line after a refused Finish: %v", err)
	}
	ref, err := l.Finish("canceled")
	if err != nil {
		t.Fatal(err)
	}
	if want := (LogRef{JobID: "ping", Counter: 3, Status: "canceled", Name: "ping.3.canceled"}); ref != want {
		t.Errorf("Finish = %+v, want %+v", ref, want)
	}
	if _, err := os.Stat(l.Path()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("in-progress file after Finish: %v, want gone", err)
	}
	f, err := s.Open(KindJobHTTP, "ping", ref.Name)
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	_, err = got.ReadFrom(f)
	f.Close()
	want := "2026-11-28 16:40:10 UTC job_http: ping: === BEGIN\n2026-11-28 16:40:10 UTC job_http: ping: === DONE\n"
	if err != nil || got.String() != want {
		t.Errorf("Open(%s) read %q, %v, want %q", ref.Name, got.String(), err, want)
	}
	if _, err := l.Write([]byte("x")); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Write after Finish: err = %v, want os.ErrClosed", err)
	}
	if _, err := l.Finish("success"); !errors.Is(err, os.ErrClosed) {
		t.Errorf("second Finish: err = %v, want os.ErrClosed", err)
	}
	if err := s.Remove(KindJobHTTP, "ping", ref.Name); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(KindJobHTTP, "ping", ref.Name); err != nil {
		t.Errorf("Remove of a missing file: %v, want nil", err)
	}
}

// memDir returns a directory in /dev/shm if there is one, else t.TempDir.
func memDir(t testing.TB) string {
	t.Helper()
	if d, err := os.MkdirTemp("/dev/shm", "logstore-"); err == nil {
		t.Cleanup(func() { os.RemoveAll(d) })
		return d
	}
	return t.TempDir()
}

// chunk80 returns n bytes of 80-byte lines (79 letters and '\n').
func chunk80(n int) []byte {
	line := "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefg\n"
	return []byte(strings.Repeat(line, n/len(line)+1)[:n])
}

// TestRunLogMemory streams 200 MB through a RunLog and requires the
// allocations to stay far below the output size (IMP-9).
func TestRunLogMemory(t *testing.T) {
	const total, chunkSize = 200 << 20, 32 << 10
	s, err := New(memDir(t), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Prepare(KindJob, "big"); err != nil {
		t.Fatal(err)
	}
	chunk := chunk80(chunkSize)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	l, err := s.Create(KindJob, "big", 1)
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n < total; n += len(chunk) {
		if _, err := l.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	ref, err := l.Finish("success")
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("writing %d MB allocated %d bytes", total>>20, alloc)
	if alloc > 1<<20 {
		t.Errorf("writing %d MB allocated %d bytes, want < 1 MiB", total>>20, alloc)
	}
	info, err := os.Stat(filepath.Join(s.LogDir(KindJob, "big"), ref.Name))
	if err != nil {
		t.Fatal(err)
	}
	if info.Size() < total {
		t.Errorf("log size = %d, want > %d", info.Size(), total)
	}
	if err := s.Remove(KindJob, "big", ref.Name); err != nil {
		t.Fatal(err)
	}
}

func TestBadNames(t *testing.T) {
	s := newStore(t, nil, KindJob, "j")
	for _, name := range []string{"", ".", "..", "a/b", "../j.1.success", "/etc/passwd", "a\x00b"} {
		if f, err := s.Open(KindJob, "j", name); !errors.Is(err, ErrBadName) {
			if f != nil {
				f.Close()
			}
			t.Errorf("Open(%q): err = %v, want ErrBadName", name, err)
		}
		if err := s.Remove(KindJob, "j", name); !errors.Is(err, ErrBadName) {
			t.Errorf("Remove(%q): err = %v, want ErrBadName", name, err)
		}
	}
	jobs := []struct {
		kind Kind
		id   string
	}{{"", "j"}, {"jobs", "j"}, {"../job", "j"}, {KindJob, ""}, {KindJob, "a.b"}, {KindJob, ".."}, {KindJob, "a/b"}, {KindJobHTTP, "a\x00"}}
	for _, j := range jobs {
		if err := s.Prepare(j.kind, j.id); !errors.Is(err, ErrBadName) {
			t.Errorf("Prepare(%q, %q): err = %v, want ErrBadName", j.kind, j.id, err)
		}
		if _, err := s.Create(j.kind, j.id, 1); !errors.Is(err, ErrBadName) {
			t.Errorf("Create(%q, %q): err = %v, want ErrBadName", j.kind, j.id, err)
		}
		if err := s.SaveState(j.kind, j.id, State{}); !errors.Is(err, ErrBadName) {
			t.Errorf("SaveState(%q, %q): err = %v, want ErrBadName", j.kind, j.id, err)
		}
		if _, err := s.Recover(j.kind, j.id, 5); !errors.Is(err, ErrBadName) {
			t.Errorf("Recover(%q, %q): err = %v, want ErrBadName", j.kind, j.id, err)
		}
	}
	if _, err := s.Create(KindJob, "j", -1); !errors.Is(err, ErrBadName) {
		t.Errorf("Create(counter -1): err = %v, want ErrBadName", err)
	}
}

// BenchmarkRunLogWrite measures RunLog.Write with 80-byte lines in 32 KiB
// chunks; the "rawfile" sub-benchmark writes the same chunks to an *os.File
// in the same run, as the baseline of the ratio.
func BenchmarkRunLogWrite(b *testing.B) {
	const chunkSize, rotate = 32 << 10, 256 << 20
	chunk := chunk80(chunkSize)
	b.Run("runlog", func(b *testing.B) {
		s, err := New(memDir(b), time.Now)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Prepare(KindJob, "bench"); err != nil {
			b.Fatal(err)
		}
		var counter int64 = 1
		l, err := s.Create(KindJob, "bench", counter)
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(chunkSize)
		b.ReportAllocs()
		written := 0
		for b.Loop() {
			if _, err := l.Write(chunk); err != nil {
				b.Fatal(err)
			}
			if written += chunkSize; written >= rotate { // keep the file system small
				b.StopTimer()
				ref, err := l.Finish("success")
				if err == nil {
					err = s.Remove(KindJob, "bench", ref.Name)
				}
				counter++
				if err == nil {
					l, err = s.Create(KindJob, "bench", counter)
				}
				if err != nil {
					b.Fatal(err)
				}
				written = 0
				b.StartTimer()
			}
		}
		if _, err := l.Finish("success"); err != nil {
			b.Fatal(err)
		}
	})
	b.Run("rawfile", func(b *testing.B) {
		f, err := os.Create(filepath.Join(memDir(b), "raw"))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		b.SetBytes(chunkSize)
		b.ReportAllocs()
		written := 0
		for b.Loop() {
			if _, err := f.Write(chunk); err != nil {
				b.Fatal(err)
			}
			if written += chunkSize; written >= rotate {
				b.StopTimer()
				if _, err := f.Seek(0, 0); err != nil {
					b.Fatal(err)
				}
				written = 0
				b.StartTimer()
			}
		}
	})
}
