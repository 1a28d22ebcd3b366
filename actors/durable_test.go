package actors

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/karajo/karajo/config"
	"github.com/karajo/karajo/logstore"
)

// TestPauseNotDurable: a pause whose state file cannot be written is
// refused with ErrNotDurable and leaves the job as the disk says
// (unpaused); once the disk works again, the pause is made and saved.
func TestPauseNotDurable(t *testing.T) {
	e, store := startEngine(t, 1, &config.Job{ID: "p", Path: "/p", Commands: []string{"true"}})
	getJob(t, e, "p")
	stateDir := filepath.Dir(store.StatePath(logstore.KindJob, "p"))
	moved := stateDir + ".moved"
	if err := os.Rename(stateDir, moved); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stateDir, nil, 0o600); err != nil { // not a directory: every write fails
		t.Fatal(err)
	}
	for _, msg := range []any{&Pause{}, &Pause{}} {
		if _, err := ask[*JobView](t, e, "p", msg); !errors.Is(err, ErrNotDurable) {
			t.Fatalf("Pause with no state directory: err = %v, want ErrNotDurable", err)
		}
		if v := getJob(t, e, "p"); v.Paused || v.Status == StatusPaused {
			t.Fatalf("after a refused pause: paused=%v status=%q, want unpaused", v.Paused, v.Status)
		}
	}
	if err := os.Remove(stateDir); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(moved, stateDir); err != nil {
		t.Fatal(err)
	}
	v, err := ask[*JobView](t, e, "p", &Pause{})
	if err != nil || !v.Paused {
		t.Fatalf("Pause once the disk works = %+v, %v; want paused", v, err)
	}
	if st, _, err := store.LoadState(logstore.KindJob, "p"); err != nil || !st.Paused {
		t.Fatalf("state file = %+v, %v; want paused", st, err)
	}
	// Resume is refused the same way, and the job stays paused.
	if err := os.Rename(stateDir, moved); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stateDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ask[*JobView](t, e, "p", &Resume{}); !errors.Is(err, ErrNotDurable) {
		t.Fatalf("Resume with no state directory: err = %v, want ErrNotDurable", err)
	}
	if v := getJob(t, e, "p"); !v.Paused || v.Status != StatusPaused {
		t.Fatalf("after a refused resume: paused=%v status=%q, want paused", v.Paused, v.Status)
	}
	_ = os.Remove(stateDir)
	_ = os.Rename(moved, stateDir)
}

// blockLogDir puts a regular file where the job's log directory belongs,
// so that no log of it can be created; the returned func undoes it.
func blockLogDir(t *testing.T, store *logstore.Store, kind logstore.Kind, id string) func() {
	t.Helper()
	d := store.LogDir(kind, id)
	_ = os.RemoveAll(d)
	if err := os.MkdirAll(filepath.Dir(d), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(d, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return func() {
		if err := os.Remove(d); err != nil {
			t.Fatal(err)
		}
	}
}

// TestTriggerLogNotCreated: a trigger whose run cannot create its log is
// refused with ErrLogCreate, the job shows it (status failed, last_error)
// and uses no counter; once the log can be created the next trigger runs
// as run 1 and clears last_error.
func TestTriggerLogNotCreated(t *testing.T) {
	for _, kind := range []logstore.Kind{logstore.KindJob, logstore.KindJobHTTP} {
		t.Run(string(kind), func(t *testing.T) {
			dir := t.TempDir()
			store, err := logstore.New(dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			unblock := blockLogDir(t, store, kind, "w")
			env := &config.Env{DirBase: dir, MaxJobRunning: 1, Secret: "s3cret", HTTPTimeout: time.Second}
			if kind == logstore.KindJob {
				env.Jobs = []*config.Job{{ID: "w", Name: "w", Path: "/w", LogRetention: 5, Commands: []string{"true"}}}
			} else {
				env.JobHTTPs = []*config.JobHTTP{{ID: "w", Name: "w", LogRetention: 5, Method: "GET",
					HTTPURL: "http://127.0.0.1:1/", RequestType: config.RequestQuery, HTTPTimeout: time.Second}}
			}
			e, _ := startEnv(t, env)
			view := func() (status, lastError string, logs int, running bool) {
				if kind == logstore.KindJob {
					v := getJob(t, e, "w")
					return v.Status, v.LastError, len(v.Logs), v.Running || v.Waiting
				}
				pid, _ := e.JobHTTP("w")
				v, err := Ask[*JobHTTPView](e.Root(), pid, &GetJob{}, askTimeout)
				if err != nil {
					t.Fatal(err)
				}
				return v.Status, v.LastError, len(v.Logs), v.Running
			}
			trigger := func() error {
				if kind == logstore.KindJob {
					_, err := ask[*JobView](t, e, "w", &Trigger{Reason: "test"})
					return err
				}
				pid, _ := e.JobHTTP("w")
				_, err := Ask[*JobHTTPView](e.Root(), pid, &Trigger{Reason: "test"}, askTimeout)
				return err
			}
			if err := trigger(); !errors.Is(err, ErrLogCreate) {
				t.Fatalf("Trigger without a log directory: err = %v, want ErrLogCreate", err)
			}
			st, lastErr, logs, running := view()
			if st != StatusFailed || !strings.Contains(lastErr, "run log not created") || logs != 0 || running {
				t.Fatalf("after the refused trigger: status=%q last_error=%q logs=%d running=%v; want failed, the reason, no log, idle",
					st, lastErr, logs, running)
			}
			unblock()
			if err := trigger(); err != nil {
				t.Fatalf("Trigger once the log can be made: %v", err)
			}
			deadline := time.Now().Add(30 * time.Second)
			for {
				st, lastErr, logs, running = view()
				if !running && logs == 1 && st != StatusRunning {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no run: status=%q logs=%d", st, logs)
				}
				time.Sleep(10 * time.Millisecond)
			}
			if lastErr != "" {
				t.Errorf("last_error after a run = %q, want empty", lastErr)
			}
			if _, err := os.Stat(filepath.Join(store.LogDir(kind, "w"), "w.1."+st)); err != nil {
				t.Errorf("the run is not run 1: %v", err)
			}
		})
	}
}

// TestTickLogNotCreated: a timer run that cannot create its log is
// recorded (status failed, last_error) and the job runs again at its next
// due time.
func TestTickLogNotCreated(t *testing.T) {
	dir := t.TempDir()
	store, err := logstore.New(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	unblock := blockLogDir(t, store, logstore.KindJob, "tick")
	e, _ := startEngineIn(t, dir, 1, &config.Job{ID: "tick", Interval: 300 * time.Millisecond, Commands: []string{"true"}})
	v := waitJob(t, e, "tick", "a failed tick", func(v JobView) bool { return v.LastError != "" })
	if v.Status != StatusFailed || len(v.Logs) != 0 || v.NextRun.IsZero() {
		t.Fatalf("after a tick without log: status=%q logs=%d next_run=%v; want failed, no log, a next run", v.Status, len(v.Logs), v.NextRun)
	}
	unblock()
	v = waitJob(t, e, "tick", "a run at the next due time", func(v JobView) bool { return len(v.Logs) >= 1 && idle(v) })
	if v.Logs[0].Counter != 1 || v.LastError != "" {
		t.Errorf("first run: counter %d, last_error %q; want 1 and none", v.Logs[0].Counter, v.LastError)
	}
}

// TestReservedLogDiscarded: a trigger that waits for a slot holds its
// run's log; a pause meanwhile discards it, leaving no file and no counter.
func TestReservedLogDiscarded(t *testing.T) {
	e, store := startEngine(t, 1,
		&config.Job{ID: "busy", Path: "/busy", Commands: []string{"sleep 0.5"}},
		&config.Job{ID: "next", Path: "/next", Commands: []string{"true"}})
	if _, err := ask[*JobView](t, e, "busy", &Trigger{}); err != nil {
		t.Fatal(err)
	}
	waitJob(t, e, "busy", "running", func(v JobView) bool { return v.Running })
	if _, err := ask[*JobView](t, e, "next", &Trigger{}); err != nil {
		t.Fatal(err)
	}
	waitJob(t, e, "next", "waiting", func(v JobView) bool { return v.Waiting })
	if _, err := os.Stat(filepath.Join(store.LogDir(logstore.KindJob, "next"), "next.1")); err != nil {
		t.Fatalf("no reserved log while waiting: %v", err)
	}
	if _, err := ask[*JobView](t, e, "next", &Pause{}); err != nil {
		t.Fatal(err)
	}
	waitJob(t, e, "busy", "run end", idle)
	v := waitJob(t, e, "next", "slot handled", func(v JobView) bool { return !v.Waiting })
	if len(v.Logs) != 0 {
		t.Errorf("logs = %v, want none", v.Logs)
	}
	if ents, _ := os.ReadDir(store.LogDir(logstore.KindJob, "next")); len(ents) != 0 {
		t.Errorf("log directory holds %d entries, want none (the reserved log discarded)", len(ents))
	}
	if _, err := ask[*JobView](t, e, "next", &Resume{}); err != nil {
		t.Fatal(err)
	}
	if _, err := ask[*JobView](t, e, "next", &Trigger{}); err != nil {
		t.Fatal(err)
	}
	v = waitJob(t, e, "next", "its run", func(v JobView) bool { return idle(v) && len(v.Logs) == 1 })
	if v.Logs[0].Counter != 1 {
		t.Errorf("run counter = %d, want 1", v.Logs[0].Counter)
	}
}

// TestMaxLogBytesRun: a run whose output passes max_log_bytes goes on to
// the end; its log holds the output up to the cap, one marker line and the
// run's own closing lines.
func TestMaxLogBytesRun(t *testing.T) {
	const limit = 4096
	e, store := startEngine(t, 1, &config.Job{ID: "loud", Path: "/loud", MaxLogBytes: limit,
		Commands: []string{"yes 0123456789 | head -c 200000", "echo second command ran"}})
	if _, err := ask[*JobView](t, e, "loud", &Trigger{}); err != nil {
		t.Fatal(err)
	}
	v := waitJob(t, e, "loud", "run end", func(v JobView) bool { return idle(v) && len(v.Logs) == 1 && v.Status != StatusRunning })
	if v.Status != StatusSuccess {
		t.Fatalf("status = %q, want success", v.Status)
	}
	b, err := os.ReadFile(filepath.Join(store.LogDir(logstore.KindJob, "loud"), v.Logs[0].Name))
	if err != nil {
		t.Fatal(err)
	}
	log := string(b)
	if n := strings.Count(log, "0123456789\n"); n*11 > limit || n < limit/11-1 {
		t.Errorf("log holds %d output lines, want about %d", n, limit/11)
	}
	if strings.Count(log, logstore.CapMarker(limit)) != 1 {
		t.Errorf("log does not hold the marker once:\n%s", tail(log))
	}
	if n := strings.Count(log, "second command ran"); n != 1 { // the Execute line only
		t.Errorf("%q appears %d times, want once (output past the cap is not logged)", "second command ran", n)
	}
	if !strings.Contains(log, "=== job: loud: finished.") {
		t.Errorf("log lacks the closing lines:\n%s", tail(log))
	}
}

func tail(s string) string {
	if len(s) > 600 {
		return "…" + s[len(s)-600:]
	}
	return s
}
