package actors

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/karajo/karajo/config"
	"github.com/karajo/karajo/logstore"
)

// holdDirPass holds the second part of the directory pass of every engine
// started until the returned function is called (or the test ends).
func holdDirPass(t *testing.T) func() {
	t.Helper()
	gate := make(chan struct{})
	dirPassGate = gate
	released := false
	release := func() {
		if !released {
			released = true
			close(gate)
		}
	}
	t.Cleanup(func() {
		release()
		dirPassGate = nil
	})
	return release
}

func dirExists(t *testing.T, d string) bool {
	t.Helper()
	fi, err := os.Stat(d)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return err == nil && fi.IsDir()
}

// TestDirPrepDueFirst: on a fresh dir_base the jobs due at start (interval
// jobs that never ran) get their directories and their first runs, and
// the pass makes theirs first: the other jobs' directories wait for it.
func TestDirPrepDueFirst(t *testing.T) {
	release := holdDirPass(t)
	e, store := startEngine(t, 2,
		&config.Job{ID: "due1", Interval: time.Hour, Commands: []string{"pwd"}},
		&config.Job{ID: "hook", Path: "/hook", Commands: []string{"true"}},
		&config.Job{ID: "due2", Interval: time.Hour, Commands: []string{"true"}},
		&config.Job{ID: "daily", Schedule: "daily@03:00", Commands: []string{"true"}})
	for _, id := range []string{"due1", "due2"} {
		v := waitJob(t, e, id, "its first run", func(v JobView) bool { return len(v.Logs) == 1 && idle(v) })
		if v.Status != StatusSuccess {
			t.Fatalf("%s: first run %s (%s), want success", id, v.Status, v.LastError)
		}
		for _, d := range []string{store.WorkDir(logstore.KindJob, id), store.LogDir(logstore.KindJob, id)} {
			if !dirExists(t, d) {
				t.Errorf("%s: %s missing after its run", id, d)
			}
		}
	}
	lf, err := ask[*LogFile](t, e, "due1", &GetLog{Counter: 1})
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(lf.File)
	lf.File.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), store.WorkDir(logstore.KindJob, "due1")) {
		t.Errorf("due1's command did not run in its work directory:\n%s", out)
	}
	// The pass has done the jobs due at start and waits before the others.
	deadline := time.Now().Add(30 * time.Second)
	for !e.dirs.done(logstore.KindJob, "due1") || !e.dirs.done(logstore.KindJob, "due2") {
		if time.Now().After(deadline) {
			t.Fatal("the pass did not reach the jobs due at start")
		}
		time.Sleep(5 * time.Millisecond)
	}
	for _, id := range []string{"hook", "daily"} {
		if e.dirs.done(logstore.KindJob, id) {
			t.Errorf("%s is not due at start but counts as made by the first part", id)
		}
		if dirExists(t, store.LogDir(logstore.KindJob, id)) || dirExists(t, store.WorkDir(logstore.KindJob, id)) {
			t.Fatalf("%s: directories made while the pass over the jobs not due is held", id)
		}
	}
	release()
	for _, id := range []string{"hook", "daily"} {
		for !dirExists(t, store.LogDir(logstore.KindJob, id)) || !dirExists(t, store.WorkDir(logstore.KindJob, id)) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: directories not made after the pass was released", id)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// TestDirPrepNotDueWithLogs: after a restart, an interval job that has a
// log directory is not in the first part (its directories exist; its run
// makes them if not).
func TestDirPrepNotDueWithLogs(t *testing.T) {
	dir := t.TempDir()
	store, err := logstore.New(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Prepare(logstore.KindJob, "old"); err != nil {
		t.Fatal(err)
	}
	census := map[logstore.Kind]*logstore.Census{logstore.KindJob: store.TakeCensus(logstore.KindJob)}
	env := &config.Env{Jobs: []*config.Job{
		{ID: "old", Interval: time.Hour},
		{ID: "new", Interval: time.Hour},
		{ID: "hook", Path: "/hook"},
	}}
	p := newDirPrep(env, store, discardLogger(), census)
	if len(p.due) != 1 || p.due[0].id != "new" {
		t.Fatalf("due at start: %v, want only new", p.due)
	}
}

// TestDirPrepFailure: a job due at start whose log directory cannot be
// made reports it as the error of its first run (the other due job runs);
// nothing is lost: no counter is used and, once the directory can be made,
// the job's next run is run 1.
func TestDirPrepFailure(t *testing.T) {
	release := holdDirPass(t)
	defer release()
	dir := t.TempDir()
	store, err := logstore.New(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	unblock := blockLogDir(t, store, logstore.KindJob, "bad")
	e, _ := startEngineIn(t, dir, 1,
		&config.Job{ID: "bad", Interval: 300 * time.Millisecond, Commands: []string{"true"}},
		&config.Job{ID: "good", Interval: time.Hour, Commands: []string{"true"}})
	v := waitJob(t, e, "bad", "a failed first run", func(v JobView) bool { return v.LastError != "" })
	if v.Status != StatusFailed || len(v.Logs) != 0 || !strings.Contains(v.LastError, "run log not created") ||
		!strings.Contains(v.LastError, "not a directory") || !strings.Contains(v.LastError, filepath.Join("job", "bad")) {
		t.Fatalf("bad: status=%q logs=%d last_error=%q; want failed, no log, the directory and the reason", v.Status, len(v.Logs), v.LastError)
	}
	if e.dirs.done(logstore.KindJob, "bad") {
		t.Error("bad: the pass counts a failed directory as made")
	}
	waitJob(t, e, "good", "its first run", func(v JobView) bool { return len(v.Logs) == 1 && idle(v) })
	unblock()
	v = waitJob(t, e, "bad", "a run once its directory can be made", func(v JobView) bool { return len(v.Logs) >= 1 && idle(v) })
	if v.Logs[0].Counter != 1 || v.LastError != "" || v.Status != StatusSuccess {
		t.Errorf("bad: first run counter %d, status %q, last_error %q; want 1, success, none", v.Logs[0].Counter, v.Status, v.LastError)
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
