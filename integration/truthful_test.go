package integration

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// lastSuccess reads karajo_last_success_timestamp_seconds of an exec job
// from /metrics; ok is false when the job has no sample.
func lastSuccess(t *testing.T, s *server, id string) (float64, bool) {
	t.Helper()
	r := s.get(t, "/metrics")
	if r.status != http.StatusOK {
		t.Fatalf("/metrics: %s", r)
	}
	re := regexp.MustCompile(`(?m)^karajo_last_success_timestamp_seconds\{job="` + regexp.QuoteMeta(id) + `",kind="job"\} (\S+)$`)
	m := re.FindSubmatch(r.body)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatalf("metric value %q: %v", m[1], err)
	}
	return v, true
}

// TestLastSuccessSurvivesRestart (issue 16): the gauge of the last
// success is rebuilt from the logs at start, so a Prometheus rule "no
// success in 25 h" does not fire after every restart. A job that never
// succeeded still has no sample; failures after a success keep its time.
func TestLastSuccessSurvivesRestart(t *testing.T) {
	t.Parallel()
	s := start(t, `
[job.ok]
path = "/ok"
commands = ["test ! -e fail || exit 1"]

[job.never]
path = "/never"
commands = ["false"]
`)
	wantEnvelope(t, s.trigger(t, "ok", testSecret), http.StatusOK)
	if st := s.waitRun(t, "ok", 1, 60*time.Second); st != "success" {
		t.Fatalf("ok #1: %q", st)
	}
	// Then a failure of the same job: the success time stays.
	if err := os.WriteFile(filepath.Join(s.workDir("ok"), "fail"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	wantEnvelope(t, s.trigger(t, "ok", testSecret), http.StatusOK)
	if st := s.waitRun(t, "ok", 2, 60*time.Second); st != "failed" {
		t.Fatalf("ok #2: %q", st)
	}
	wantEnvelope(t, s.trigger(t, "never", testSecret), http.StatusOK)
	if st := s.waitRun(t, "never", 1, 60*time.Second); st != "failed" {
		t.Fatalf("never #1: %q", st)
	}
	before, ok := lastSuccess(t, s, "ok")
	if !ok {
		t.Fatal("no karajo_last_success_timestamp_seconds for ok before the restart")
	}

	s2 := s.restart(t)
	after, ok := lastSuccess(t, s2, "ok")
	if !ok {
		t.Fatalf("no karajo_last_success_timestamp_seconds for ok after the restart")
	}
	if d := after - before; d < -1 || d > 1 {
		t.Errorf("last success after restart %v, before %v: want within 1 s", after, before)
	}
	if v, ok := lastSuccess(t, s2, "never"); ok {
		t.Errorf("a job that never succeeded has a last success %v after the restart", v)
	}
}

// TestReloadAppliesAllButRestartKeys (issue 16): a SIGHUP reload that
// changes listen_address and dir_base applies the rest (a new job, a new
// max_job_running, a notif), says that those two need a restart, keeps
// serving on the old address with logs under the old dir_base, and its
// log line lists every change, global settings and notifs included.
func TestReloadAppliesAllButRestartKeys(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	other := t.TempDir()
	writeConfig(t, dir, configHeader(dir)+`
[job.a]
path = "/a"
commands = ["true"]
`)
	s := startDir(t, dir)
	pid := s.pid()

	next := strings.NewReplacer(
		`listen_address = "127.0.0.1:0"`, `listen_address = "127.0.0.1:1"`,
		fmt.Sprintf("dir_base = %q", dir), fmt.Sprintf("dir_base = %q", other),
		"max_job_running = 4", "max_job_running = 2",
	).Replace(configHeader(dir))
	writeConfig(t, dir, next+`
[notif.ops]
kind = "email"
smtp_server = "smtp://127.0.0.1:1"
from = "k@example.com"
to = ["ops@example.com"]

[job.a]
path = "/a"
commands = ["true"]

[job.b]
path = "/b"
commands = ["echo b"]
notif_on_failed = ["ops"]
`)
	mark := opSIGHUP(t, s)
	var line string
	waitFor(t, 15*time.Second, "configuration reloaded", func() bool {
		opSamePID(t, s, pid, "after SIGHUP")
		for l := range strings.SplitSeq(s.stderr.String()[mark:], "\n") {
			if strings.Contains(l, "configuration reloaded") {
				line = l
				return true
			}
		}
		return false
	})
	for _, want := range []string{"added=[job:b]", "karajo.max_job_running", "karajo.dir_base", "karajo.listen_address",
		"restart_needed=", "notifs_added=[ops]"} {
		if !strings.Contains(line, want) {
			t.Errorf("reload line lacks %q:\n%s", want, line)
		}
	}
	if out := s.stderr.String()[mark:]; !strings.Contains(out, "change only with a restart") || strings.Contains(out, "reload refused") {
		t.Errorf("want a warning naming the restart keys and no refusal:\n%s", out)
	}
	// The rest applied, on the old address, under the old dir_base.
	wantEnvelope(t, s.trigger(t, "b", testSecret), http.StatusOK)
	if st := s.waitRun(t, "b", 1, 60*time.Second); st != "success" {
		t.Fatalf("b #1: %q", st)
	}
	if files := s.logFiles(t, "b"); len(files) != 1 {
		t.Errorf("logs of b under the old dir_base: %v, want one", files)
	}
	if _, err := os.Stat(filepath.Join(other, "var")); err == nil {
		t.Errorf("the new dir_base was used before a restart")
	}
	if got := s.environment(t).MaxJobRunning; got != 2 {
		t.Errorf("max_job_running after reload = %d, want 2", got)
	}
}
