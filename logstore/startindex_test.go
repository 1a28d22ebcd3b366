package logstore

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// shortMargin makes the start index's margin small for a test: the stamps
// of files just written are trusted after it has passed.
func shortMargin(t *testing.T) {
	t.Helper()
	old := startIndexMargin
	startIndexMargin = 50 * time.Millisecond
	t.Cleanup(func() { startIndexMargin = old })
}

func TestStampOldBy(t *testing.T) {
	at := time.Unix(1000, 0)
	ns := func(d time.Duration) int64 { return at.Add(d).UnixNano() }
	m := startIndexMargin
	tests := []struct {
		name string
		f    fileStamp
		want bool
	}{
		{"absent", fileStamp{}, true},
		{"both old", fileStamp{ino: 1, mtime: ns(-m - time.Nanosecond), ctime: ns(-m - time.Second)}, true},
		{"mtime at the margin", fileStamp{ino: 1, mtime: ns(-m), ctime: ns(-m - time.Second)}, false},
		{"ctime recent", fileStamp{ino: 1, mtime: ns(-time.Hour), ctime: ns(-time.Millisecond)}, false},
		{"in the future", fileStamp{ino: 1, mtime: ns(time.Hour), ctime: ns(time.Hour)}, false},
		{"whole seconds, past the short margin", fileStamp{ino: 1, mtime: ns(-time.Second), ctime: ns(-time.Second)}, false},
		{"whole seconds, past the coarse margin", fileStamp{ino: 1, mtime: ns(-startIndexCoarseMargin - time.Second), ctime: ns(-startIndexCoarseMargin - time.Second)}, true},
		{"one time with nanoseconds", fileStamp{ino: 1, mtime: ns(-time.Second + time.Nanosecond), ctime: ns(-time.Second)}, true},
	}
	for _, tt := range tests {
		if got := tt.f.oldBy(at); got != tt.want {
			t.Errorf("%s: oldBy = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestStartIndexEncodeParse(t *testing.T) {
	cursor := time.Date(2026, 12, 3, 4, 5, 6, 7, time.FixedZone("x", 3600))
	entries := []indexEntry{
		{id: "a", logs: fileStamp{dev: 1, ino: 2, mode: 040700, size: 4096, mtime: 5, ctime: 6},
			rec: Recovered{Logs: []LogRef{}}},
		{id: "b-2", logs: fileStamp{dev: 1, ino: 3, mode: 040700, size: 4096, mtime: 7, ctime: 8},
			state: fileStamp{dev: 1, ino: 9, mode: 0100600, size: 29, mtime: 10, ctime: 11},
			rec: Recovered{Logs: []LogRef{{JobID: "b-2", Counter: 4, Status: "success", Name: "b-2.4.success"},
				{JobID: "b-2", Counter: 5, Status: "paused", Name: "b-2.5.paused"}},
				Counter: 7, StateCounter: 7, Status: "paused", Paused: true,
				LastRun: time.Unix(1700000000, 0).UTC(), LastSuccess: time.Unix(1690000000, 0).UTC(), Cursor: cursor}},
	}
	written := time.Unix(0, 1764700000123456789)
	data := encodeStartIndex(KindJob, written, entries)
	gotAt, got, err := parseStartIndex(data, KindJob)
	if err != nil {
		t.Fatal(err)
	}
	if !gotAt.Equal(written) || len(got) != len(entries) {
		t.Fatalf("written %v, %d entries; want %v, %d", gotAt, len(got), written, len(entries))
	}
	for i := range entries {
		w, g := entries[i], got[i]
		if !g.rec.Cursor.Equal(w.rec.Cursor) {
			t.Errorf("%s: cursor %v, want %v", w.id, g.rec.Cursor, w.rec.Cursor)
		}
		g.rec.Cursor, w.rec.Cursor = time.Time{}, time.Time{}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("entry %d:\n got %+v\nwant %+v", i, g, w)
		}
	}

	bad := map[string][]byte{
		"empty":         nil,
		"other kind":    encodeStartIndex(KindJobHTTP, written, entries),
		"other version": []byte(strings.Replace(string(data), startIndexHeader, "karajo-start-index 2", 1)),
		"truncated":     data[:len(data)-10],
		"no trailer":    data[:strings.Index(string(data), "end ")],
		"flipped byte":  []byte(strings.Replace(string(data), "b-2.5.paused", "b-2.6.paused", 1)),
	}
	for name, d := range bad {
		if _, _, err := parseStartIndex(d, KindJob); err == nil {
			t.Errorf("%s: parsed without an error", name)
		}
	}
}

// indexJobs fills the jobs of the start index tests: logs and a state file
// each, written long enough ago for the index (see shortMargin).
func indexJobs(t *testing.T, s *Store, ids []string) {
	t.Helper()
	for _, id := range ids {
		if err := s.Prepare(KindJob, id); err != nil {
			t.Fatal(err)
		}
		fill(t, s, KindJob, id, logs(id, "success", "failed", "success"), nil, nil)
		if err := s.SaveState(KindJob, id, State{Counter: 3, Cursor: t0}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Prepare(KindJob, "nolog"); err != nil { // a job without logs or state file
		t.Fatal(err)
	}
	time.Sleep(2 * startIndexMargin)
}

// checkRecovered compares RecoverIn with a fresh census (the index) to
// Recover without one (the files) after it, and whether the index was
// used. It returns RecoverIn's warnings (the files' second read has none
// of what the first changed: a finalised run).
func checkRecovered(t *testing.T, s *Store, id string, wantIndexed bool) []string {
	t.Helper()
	c := s.TakeCensus(KindJob)
	defer c.Close()
	_, indexed := c.fromIndex(id, DefaultRetention)
	got, err := s.RecoverIn(c, KindJob, id, DefaultRetention)
	if err != nil {
		t.Fatal(err)
	}
	want, err := s.Recover(KindJob, id, DefaultRetention)
	if err != nil {
		t.Fatal(err)
	}
	if indexed != wantIndexed {
		t.Errorf("%s: from the index = %v, want %v", id, indexed, wantIndexed)
	}
	warnings := got.Warnings
	got.Warnings, want.Warnings = nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: with the index\n got %+v\nwant %+v (from the files)", id, got, want)
	}
	return warnings
}

func writeIndex(t *testing.T, s *Store, ids []string) StartIndexStats {
	t.Helper()
	st, err := s.WriteStartIndex(context.Background(), KindJob, ids)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestStartIndexSeesChanges: after the index is written, a job whose log
// directory or state file changed is recovered from its files, every other
// job from the index, with the same result either way.
func TestStartIndexSeesChanges(t *testing.T) {
	shortMargin(t)
	s := newStore(t, nil, KindJob, "nolog")
	ids := []string{"same", "newlog", "renamed", "pruned", "state", "statenew", "inprogress", "gone"}
	indexJobs(t, s, ids)
	all := append(ids, "nolog", "unknown")
	if st := writeIndex(t, s, all); st.Jobs != len(all) || st.Scanned != st.Jobs { // "unknown": no files, an entry all the same
		t.Fatalf("first index: %+v", st)
	}
	for _, id := range append(ids, "nolog") {
		checkRecovered(t, s, id, true)
	}

	dir := func(id string) string { return s.LogDir(KindJob, id) }
	write := func(p string) {
		if err := os.WriteFile(p, []byte("x\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(dir("newlog"), "newlog.4.success"))
	if err := os.Rename(filepath.Join(dir("renamed"), "renamed.3.success"), filepath.Join(dir("renamed"), "renamed.3.failed")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir("pruned"), "pruned.1.success")); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveState(KindJob, "state", State{Counter: 3, Paused: true, Cursor: t0}); err != nil {
		t.Fatal(err)
	}
	write(s.StatePath(KindJob, "nolog"))
	write(s.StatePath(KindJob, "nolog")) // no state before: now a corrupt one
	if err := os.WriteFile(s.StatePath(KindJob, "statenew"), []byte(`{"counter":9,"paused":true}`), 0o600); err != nil {
		t.Fatal(err) // rewritten in place, same inode
	}
	write(filepath.Join(dir("inprogress"), "inprogress.4")) // a run a kill -9 interrupted
	if err := os.RemoveAll(dir("gone")); err != nil {
		t.Fatal(err)
	}
	checkRecovered(t, s, "same", true)
	for _, id := range []string{"newlog", "renamed", "pruned", "state", "statenew", "nolog", "gone"} {
		checkRecovered(t, s, id, false)
	}
	if w := checkRecovered(t, s, "inprogress", false); len(w) != 1 || !strings.Contains(w[0], `"inprogress.4" finalised`) {
		t.Errorf("inprogress: warnings %q, want the run finalised", w)
	}

	// The next index reuses the unchanged entry and reads the rest.
	time.Sleep(2 * startIndexMargin)
	st := writeIndex(t, s, all)
	if st.Reused != 2 || st.Scanned != len(ids)-1 || st.Left != 1 { // "nolog" (corrupt state) left out
		t.Errorf("second index: %+v", st)
	}
	for _, id := range ids {
		checkRecovered(t, s, id, true)
	}
	checkRecovered(t, s, "nolog", false)
}

// TestStartIndexRecentChange: a job changed just before the index is
// written is read again once the margin has passed, so its entry holds the
// change; when the deadline does not leave that time, it is left out.
func TestStartIndexRecentChange(t *testing.T) {
	shortMargin(t)
	s := newStore(t, nil, KindJob, "nolog")
	indexJobs(t, s, []string{"a", "b"})
	if err := s.SaveState(KindJob, "a", State{Counter: 8, Paused: true}); err != nil {
		t.Fatal(err)
	}
	st := writeIndex(t, s, []string{"a", "b"})
	if st.Jobs != 2 || st.Left != 0 {
		t.Errorf("index: %+v", st)
	}
	checkRecovered(t, s, "a", true)

	if err := s.SaveState(KindJob, "b", State{Counter: 9}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startIndexMargin/2)
	defer cancel()
	st, err := s.WriteStartIndex(ctx, KindJob, []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	if st.Jobs != 1 || st.Left != 1 {
		t.Errorf("index under a short deadline: %+v", st)
	}
	checkRecovered(t, s, "b", false)
}

// TestStartIndexIgnored: a corrupt index, one of another version, and an
// entry holding more logs than the retention are not used.
func TestStartIndexIgnored(t *testing.T) {
	shortMargin(t)
	s := newStore(t, nil, KindJob, "nolog")
	indexJobs(t, s, []string{"a"})
	writeIndex(t, s, []string{"a"})
	c := s.TakeCensus(KindJob)
	if _, ok := c.fromIndex("a", 2); ok {
		t.Error("an entry with 3 logs used for retention 2")
	}
	c.Close()
	if _, ok := c.fromIndex("a", DefaultRetention); ok {
		t.Error("index used after Close")
	}
	data, err := os.ReadFile(s.StartIndexPath(KindJob))
	if err != nil {
		t.Fatal(err)
	}
	for name, d := range map[string][]byte{
		"corrupt":       append(data[:len(data)/2:len(data)/2], 'x', '\n'),
		"other version": []byte(strings.Replace(string(data), startIndexHeader, "karajo-start-index 0", 1)),
	} {
		if err := os.WriteFile(s.StartIndexPath(KindJob), d, 0o600); err != nil {
			t.Fatal(err)
		}
		checkRecovered(t, s, "a", false)
		_ = name
	}
	got, err := s.Recover(KindJob, "a", 2) // the slow path prunes
	if err != nil || len(got.Logs) != 2 {
		t.Errorf("retention 2: %v logs, err %v", len(got.Logs), err)
	}
}
