package integration

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestWebhookSecretRotation (issue 15): a job whose secret lists the new
// and the old secret accepts a delivery signed by either; once SIGHUP
// reloads a configuration listing only the new one, the old one is
// refused (403) and the new one still runs the job. No answer or log line
// carries a secret.
func TestWebhookSecretRotation(t *testing.T) {
	t.Parallel()
	const newSecret, oldSecret = "rotation-new-secret-x1", "rotation-old-secret-y2"
	dir := t.TempDir()
	header := configHeader(dir)
	job := func(secret string) string {
		return `
[job.deploy]
path = "/deploy"
secret = ` + secret + `
commands = ["echo deployed $KARAJO_JOB_COUNTER"]
`
	}
	writeConfig(t, dir, header+job(`["`+newSecret+`", "`+oldSecret+`"]`))
	s := startDir(t, dir)
	pid := s.pid()

	wantEnvelope(t, s.trigger(t, "deploy", newSecret), http.StatusOK)
	if st := s.waitRun(t, "deploy", 1, 60*time.Second); st != "success" {
		t.Fatalf("deploy #1 (new secret): %q", st)
	}
	wantEnvelope(t, s.trigger(t, "deploy", oldSecret), http.StatusOK)
	if st := s.waitRun(t, "deploy", 2, 60*time.Second); st != "success" {
		t.Fatalf("deploy #2 (old secret): %q", st)
	}
	r := s.trigger(t, "deploy", "not-listed")
	wantEnvelope(t, r, http.StatusForbidden)

	writeConfig(t, dir, header+job(`["`+newSecret+`"]`))
	mark := opSIGHUP(t, s)
	waitFor(t, 15*time.Second, "configuration reloaded", func() bool {
		opSamePID(t, s, pid, "after SIGHUP")
		return strings.Contains(s.stderr.String()[mark:], "configuration reloaded")
	})
	waitFor(t, 15*time.Second, "the old secret refused", func() bool {
		return s.trigger(t, "deploy", oldSecret).status == http.StatusForbidden
	})
	wantEnvelope(t, s.trigger(t, "deploy", newSecret), http.StatusOK)
	if st := s.waitRun(t, "deploy", 3, 60*time.Second); st != "success" {
		t.Fatalf("deploy #3 (new secret after reload): %q", st)
	}
	if j := s.job(t, "deploy"); len(logNames(j)) != 3 {
		t.Errorf("deploy logs %v, want 3 runs (refused deliveries start none)", logNames(j))
	}
	all := s.stderr.String() + string(s.get(t, "/karajo/api/environment").body) + string(r.body)
	for _, secret := range []string{newSecret, oldSecret} {
		if strings.Contains(all, secret) {
			t.Errorf("a secret appears in the server's log or answers")
		}
	}
}

// TestWebhookSecretListRefused (issue 15): an empty secret in a list
// stops the start with exit 2, naming the file, the job, the key with its
// position and the reason, and never the other secrets.
func TestWebhookSecretListRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := writeConfig(t, dir, configHeader(dir)+`
[job."deploy"]
path = "/deploy"
secret = ["kept-secret-value-z9", ""]
commands = ["true"]
`)
	code, stderr := runToExit(t, cfg)
	if code != 2 {
		t.Fatalf("exit %d, want 2; stderr:\n%s", code, stderr)
	}
	for _, w := range []string{cfg, `job.\"deploy\".secret[1]`, "empty secret in the list"} {
		if !strings.Contains(stderr, w) && !strings.Contains(stderr, strings.ReplaceAll(w, `\"`, `"`)) {
			t.Errorf("stderr does not mention %q:\n%s", w, stderr)
		}
	}
	if strings.Contains(stderr, "kept-secret-value-z9") {
		t.Errorf("stderr quotes a secret:\n%s", stderr)
	}
}
