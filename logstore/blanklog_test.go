package logstore

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// names lists the job's log directory.
func names(t *testing.T, s *Store, kind Kind, id string) []string {
	t.Helper()
	des, err := os.ReadDir(s.LogDir(kind, id))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, de := range des {
		out = append(out, de.Name())
	}
	return out
}

// TestBlankLogNamed: a blank leaves nothing in the directory until it is
// named; named, it is the run's log as Create makes it (name, mode,
// content, final name after Finish).
func TestBlankLogNamed(t *testing.T) {
	s := newStore(t, time.Now, KindJob, "j")
	b, err := s.Blank(KindJob, "j")
	if err != nil {
		t.Skipf("no blank logs here: %v", err)
	}
	if got := names(t, s, KindJob, "j"); len(got) != 0 {
		t.Fatalf("a blank log shows in the directory: %v", got)
	}
	rl, err := b.Name(7)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(t, s, KindJob, "j"); !slices.Equal(got, []string{"j.7"}) {
		t.Fatalf("after Name(7): %v, want [j.7]", got)
	}
	if rl.Name() != "j.7" || rl.Counter() != 7 {
		t.Errorf("log %q counter %d, want j.7 and 7", rl.Name(), rl.Counter())
	}
	fi, err := os.Stat(filepath.Join(s.LogDir(KindJob, "j"), "j.7"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != fileMode {
		t.Errorf("mode %v, want %v", fi.Mode().Perm(), os.FileMode(fileMode))
	}
	if err := rl.Line("hello"); err != nil {
		t.Fatal(err)
	}
	ref, err := rl.Finish(statusSuccess)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := os.ReadFile(filepath.Join(s.LogDir(KindJob, "j"), ref.Name))
	if ref.Name != "j.7.success" || !strings.Contains(string(b2), "hello") {
		t.Errorf("finished log %q holds %q", ref.Name, b2)
	}
	b.Discard() // no-op after Name
	if _, err := b.Name(8); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Name after Name: %v, want ErrClosed", err)
	}
}

// TestBlankLogDiscarded: a discarded blank leaves nothing; a blank whose
// name exists is refused as Create refuses it, and stays usable.
func TestBlankLogDiscarded(t *testing.T) {
	s := newStore(t, time.Now, KindJob, "j")
	b, err := s.Blank(KindJob, "j")
	if err != nil {
		t.Skipf("no blank logs here: %v", err)
	}
	b.Discard()
	b.Discard()
	if got := names(t, s, KindJob, "j"); len(got) != 0 {
		t.Fatalf("a discarded blank left %v", got)
	}
	if _, err := b.Name(1); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Name after Discard: %v, want ErrClosed", err)
	}
	if err := os.WriteFile(filepath.Join(s.LogDir(KindJob, "j"), "j.3"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err = s.Blank(KindJob, "j")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Discard()
	if _, err := b.Name(3); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Name over an existing log: %v, want ErrExist", err)
	}
	rl, err := b.Name(4)
	if err != nil {
		t.Fatalf("the blank is not usable after a refused name: %v", err)
	}
	if err := rl.Discard(); err != nil {
		t.Fatal(err)
	}
}

// TestRunLogHold: held lines stay out of the file until Release, then are
// there as written one by one; Seal writes what is still held.
func TestRunLogHold(t *testing.T) {
	s := newStore(t, time.Now, KindJob, "j")
	path := func(name string) string { return filepath.Join(s.LogDir(KindJob, "j"), name) }
	for _, release := range []bool{true, false} {
		rl, err := s.Create(KindJob, "j", map[bool]int64{true: 1, false: 2}[release])
		if err != nil {
			t.Fatal(err)
		}
		rl.Hold()
		for _, l := range []string{"=== BEGIN", "", "--- Execute  0: true"} {
			if err := rl.Line(l); err != nil {
				t.Fatal(err)
			}
		}
		if data, _ := os.ReadFile(path(rl.Name())); len(data) != 0 {
			t.Fatalf("held lines already in the file: %q", data)
		}
		if release {
			if err := rl.Release(); err != nil {
				t.Fatal(err)
			}
			data, _ := os.ReadFile(path(rl.Name()))
			if got := strings.Count(string(data), "\n"); got != 3 || !strings.Contains(string(data), "--- Execute  0: true") {
				t.Fatalf("after Release the file holds %q, want the 3 lines", data)
			}
			if _, err := rl.Write([]byte("out\n")); err != nil { // not held any more
				t.Fatal(err)
			}
			if data, _ := os.ReadFile(path(rl.Name())); !strings.HasSuffix(string(data), "out\n") {
				t.Fatalf("a write after Release waits: %q", data)
			}
		}
		ref, err := rl.Finish(statusSuccess)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(path(ref.Name))
		if !strings.Contains(string(data), "=== BEGIN") || !strings.Contains(string(data), "--- Execute  0: true") {
			t.Errorf("release=%v: the finished log holds %q", release, data)
		}
	}
}
