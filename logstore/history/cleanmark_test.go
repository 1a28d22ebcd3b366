package history

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCleanMark: an Open after a clean Close of the unchanged file skips
// the check of the job buckets; after any change to the file (even at once,
// in place, same size), a crash (no Close) or with the mark used up, the
// file is checked again.
func TestCleanMark(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	open := func(wantUnchecked bool) *Store {
		t.Helper()
		s, o, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if o.Unchecked != wantUnchecked {
			t.Errorf("opened %+v, want Unchecked %v", o, wantUnchecked)
		}
		if _, err := os.Stat(path + cleanMarkSuffix); !os.IsNotExist(err) {
			t.Errorf("the mark is left after Open: %v", err)
		}
		return s
	}
	closeIt := func(s *Store) {
		t.Helper()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	s := open(false) // created
	if err := s.Write([]Put{run("a", 1, "success", t0, 1), run("b", 1, "failed", t0, 2)}); err != nil {
		t.Fatal(err)
	}
	closeIt(s)
	s = open(true)
	recs, err := s.Runs(Query{Kind: "job", Job: "a"})
	if err != nil || len(recs) != 1 {
		t.Fatalf("records after an unchecked open: %v, %v", recs, err)
	}
	closeIt(s)

	// Written in place right after the close, same size.
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := f.Stat()
	if _, err := f.WriteAt([]byte{0}, fi.Size()-1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if fi2, _ := os.Stat(path); fi2.Size() != fi.Size() {
		t.Fatal("size changed")
	}
	s = open(false)
	closeIt(s)

	// A crash: the mark of an earlier clean close was used up.
	s = open(true)
	s.db.Close() // no Close: no mark
	closeIt(open(false))

	// Replaced by a copy of itself.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	closeIt(open(false))
}
