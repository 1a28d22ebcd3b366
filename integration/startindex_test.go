package integration

import (
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestStartIndex: a clean stop writes the start index
// (var/lib/karajo/job.start-index); a restart on unchanged files gives the
// jobs exactly as before; files changed while karajo was down (a new log,
// a renamed log, a pruned log, a rewritten state file, an interrupted run)
// are seen at the next start, the index notwithstanding.
func TestStartIndex(t *testing.T) {
	t.Parallel()
	s := start(t, `
[job.newlog]
path = "/newlog"
commands = ["echo newlog"]

[job.renamed]
path = "/renamed"
commands = ["echo renamed"]

[job.pruned]
path = "/pruned"
commands = ["echo pruned"]

[job.state]
path = "/state"
commands = ["echo state"]

[job.crashed]
path = "/crashed"
commands = ["echo crashed"]

[job.same]
path = "/same"
commands = ["echo same"]
`)
	ids := []string{"newlog", "renamed", "pruned", "state", "crashed", "same"}
	for _, id := range ids {
		for n := int64(1); n <= 2; n++ {
			wantEnvelope(t, s.trigger(t, id, testSecret), http.StatusOK)
			if st := s.waitRun(t, id, n, 60*time.Second); st != "success" {
				t.Fatalf("%s #%d: %q", id, n, st)
			}
		}
	}
	s.act(t, "pause", "same")
	before := s.environment(t)
	s.stop()
	index := filepath.Join(s.dir, "var", "lib", "karajo", "job.start-index")
	if _, err := os.Stat(index); err != nil {
		t.Fatalf("no start index after a clean stop: %v\n%s", err, tail(s.stderr.String(), 20))
	}
	if !strings.Contains(s.stderr.String(), `msg="start index written" kind=job jobs=6`) {
		t.Errorf("stop did not index the 6 jobs:\n%s", tail(s.stderr.String(), 20))
	}

	// Unchanged: the same jobs as before the stop.
	s2 := startDir(t, s.dir)
	after := s2.environment(t)
	for _, id := range ids {
		b, a := before.Jobs[id], after.Jobs[id]
		if a.Status != b.Status || !reflect.DeepEqual(a.Logs, b.Logs) || a.LastRun != b.LastRun {
			t.Errorf("%s after a restart on the index: status %q logs %v last_run %s; before: %q %v %s",
				id, a.Status, a.Logs, a.LastRun, b.Status, b.Logs, b.LastRun)
		}
	}
	s2.stop()
	if !strings.Contains(s2.stderr.String(), "reused=6") {
		t.Errorf("second stop did not reuse the 6 entries:\n%s", tail(s2.stderr.String(), 20))
	}

	// Changed while karajo is down.
	write := func(p, content string) {
		t.Helper()
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(s.logDir("newlog"), "newlog.3.failed"), "x\n")
	if err := os.Rename(filepath.Join(s.logDir("renamed"), "renamed.2.success"), filepath.Join(s.logDir("renamed"), "renamed.2.failed")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(s.logDir("pruned"), "pruned.2.success")); err != nil {
		t.Fatal(err)
	}
	write(s.statePath("state"), `{"counter":7,"paused":true}`+"\n")
	write(filepath.Join(s.logDir("crashed"), "crashed.3"), "a run kill -9 interrupted\n")

	s3 := startDir(t, s.dir)
	defer s3.stop()
	got := s3.environment(t)
	check := jobChecker(t, got, "after the change")
	check("newlog", "failed", "newlog.1.success", "newlog.2.success", "newlog.3.failed")
	check("renamed", "failed", "renamed.1.success", "renamed.2.failed")
	check("pruned", "success", "pruned.1.success")
	check("state", "paused", "state.1.success", "state.2.success")
	check("crashed", "failed", "crashed.1.success", "crashed.2.success", "crashed.3.failed")
	check("same", "paused", "same.1.success", "same.2.success")
	wantEnvelope(t, s3.trigger(t, "state", testSecret), http.StatusPreconditionFailed)
	wantEnvelope(t, s3.trigger(t, "newlog", testSecret), http.StatusOK)
	if st := s3.waitRun(t, "newlog", 4, 60*time.Second); st != "success" {
		t.Errorf("newlog #4 (the counter after the added log): %q", st)
	}
	s3.act(t, "resume", "state")
	wantEnvelope(t, s3.trigger(t, "state", testSecret), http.StatusOK)
	if st := s3.waitRun(t, "state", 8, 60*time.Second); st != "success" {
		t.Errorf("state #8 (the counter of the rewritten state file + 1): %q", st)
	}
}

// TestStartIndexKill9: the index of a clean stop stays on disk while the
// next server runs jobs and pauses one, then dies by kill -9 during a run;
// the start after it shows what the files say (runs since the index, the
// interrupted run finalised, the pause), not what the stale index says.
func TestStartIndexKill9(t *testing.T) {
	t.Parallel()
	s := start(t, `
[job.ran]
path = "/ran"
commands = ["echo ran"]

[job.killed]
path = "/killed"
commands = ["echo before-kill", "sleep 30"]

[job.paused]
path = "/paused"
commands = ["true"]

[job.idle]
path = "/idle"
commands = ["echo idle"]
`)
	for _, id := range []string{"ran", "idle"} {
		wantEnvelope(t, s.trigger(t, id, testSecret), http.StatusOK)
		if st := s.waitRun(t, id, 1, 60*time.Second); st != "success" {
			t.Fatalf("%s #1: %q", id, st)
		}
	}
	s.stop() // writes the index
	if !strings.Contains(s.stderr.String(), `msg="start index written" kind=job jobs=4`) {
		t.Fatalf("no index of the 4 jobs:\n%s", tail(s.stderr.String(), 20))
	}

	s2 := startDir(t, s.dir)
	for n := int64(2); n <= 3; n++ {
		wantEnvelope(t, s2.trigger(t, "ran", testSecret), http.StatusOK)
		if st := s2.waitRun(t, "ran", n, 60*time.Second); st != "success" {
			t.Fatalf("ran #%d: %q", n, st)
		}
	}
	s2.act(t, "pause", "paused")
	wantEnvelope(t, s2.trigger(t, "killed", testSecret), http.StatusOK)
	s2.waitRunning(t, "killed", 1, "--- Execute  1: sleep 30")
	s2.kill9()
	killOrphans(s2.workDir("killed"))

	s3 := startDir(t, s.dir)
	defer s3.stop()
	got := s3.environment(t)
	check := jobChecker(t, got, "after kill -9")
	check("ran", "success", "ran.1.success", "ran.2.success", "ran.3.success")
	check("killed", "failed", "killed.1.failed")
	check("paused", "paused")
	check("idle", "success", "idle.1.success")
	wantEnvelope(t, s3.trigger(t, "paused", testSecret), http.StatusPreconditionFailed)
	wantEnvelope(t, s3.trigger(t, "ran", testSecret), http.StatusOK)
	if st := s3.waitRun(t, "ran", 4, 60*time.Second); st != "success" {
		t.Errorf("ran #4: %q", st)
	}
}

// jobChecker returns a check that job id of env has the status and the
// log names given; when says at what point of the test (in the message).
func jobChecker(t *testing.T, env envView, when string) func(id, status string, logs ...string) {
	return func(id, status string, logs ...string) {
		t.Helper()
		j := env.Jobs[id]
		if j.Status != status || !reflect.DeepEqual(logNames(j), logs) {
			t.Errorf("%s %s: status %q logs %v, want %q %v", id, when, j.Status, logNames(j), status, logs)
		}
	}
}
