package integration

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// ghDelivery posts a signed GitHub delivery of body to /karajo/api/job_exec/run/<path>
// with the event, the delivery id (none when "") and extra headers.
func ghDelivery(t *testing.T, s *server, path, secret, event, id string, body []byte, extra map[string]string) response {
	t.Helper()
	hdr := map[string]string{"Content-Type": "application/json", "X-GitHub-Event": event,
		"X-Hub-Signature-256": "sha256=" + macHexOf(sha256.New, secret, body)}
	if id != "" {
		hdr["X-GitHub-Delivery"] = id
	}
	for k, v := range extra {
		hdr[k] = v
	}
	return s.raw(t, http.MethodPost, "/karajo/api/job_exec/run/"+path, hdr, body)
}

// TestWebhookRequireRules (issue 15): require_delivery_id refuses a
// delivery without its id (400) and takes one with it; require_epoch on
// hmac-sha256 wants a fresh _karajo_epoch in the body (403 without, or
// stale) and refuses the same signed body again (409), while a new epoch
// runs; without require_epoch the same body runs every time (v0.9.3).
func TestWebhookRequireRules(t *testing.T) {
	t.Parallel()
	s := start(t, `
[job.gh]
path = "/gh"
auth_kind = "github"
secret = "gh-secret"
require_delivery_id = true
commands = ["true"]

[job.epoch]
path = "/epoch"
secret = "epoch-secret"
require_epoch = true
commands = ["true"]

[job.plain]
path = "/plain"
secret = "epoch-secret"
commands = ["true"]
`)
	body := []byte(`{"ref":"refs/heads/main"}`)
	wantError(t, ghDelivery(t, s, "gh", "gh-secret", "push", "", body, nil), http.StatusBadRequest,
		"delivery id required (require_delivery_id): header X-GitHub-Delivery missing", "")
	wantEnvelope(t, ghDelivery(t, s, "gh", "gh-secret", "push", "d-1", body, nil), http.StatusOK)
	s.waitRun(t, "gh", 1, 60*time.Second)

	post := func(path string, b []byte) response {
		return s.raw(t, http.MethodPost, "/karajo/api/job_exec/run/"+path,
			map[string]string{"Content-Type": "application/json", "X-Karajo-Sign": macHexOf(sha256.New, "epoch-secret", b)}, b)
	}
	const forbidden = "forbidden: stale or missing _karajo_epoch in the body (require_epoch)"
	wantError(t, post("epoch", []byte(`{}`)), http.StatusForbidden, forbidden, "ERR_JOB_FORBIDDEN")
	stale := []byte(fmt.Sprintf(`{"_karajo_epoch":%d}`, time.Now().Add(-10*time.Minute).Unix()))
	wantError(t, post("epoch", stale), http.StatusForbidden, forbidden, "ERR_JOB_FORBIDDEN")
	fresh := []byte(fmt.Sprintf(`{"_karajo_epoch":%d}`, time.Now().Unix()))
	wantEnvelope(t, post("epoch", fresh), http.StatusOK)
	s.waitRun(t, "epoch", 1, 60*time.Second)
	r := post("epoch", fresh)
	wantEnvelope(t, r, http.StatusConflict)
	if !strings.Contains(string(r.body), "already accepted as run #1") || !strings.Contains(string(r.body), "ERR_REPLAYED") {
		t.Errorf("replayed epoch body: %s", r)
	}
	form := []byte(fmt.Sprintf(`_karajo_epoch=%d&id=x`, time.Now().Unix()+1))
	wantEnvelope(t, post("epoch", form), http.StatusOK)
	s.waitRun(t, "epoch", 2, 60*time.Second)

	for i := int64(1); i <= 2; i++ { // no require_epoch: v0.9.3 runs the same body again
		wantEnvelope(t, post("plain", []byte(`{}`)), http.StatusOK)
		s.waitRun(t, "plain", i, 60*time.Second)
	}
}

// TestWebhookAllowFrom (issue 15): allow_from is checked before the
// signature, on the peer's address, or behind a trusted proxy on the
// first untrusted X-Forwarded-For hop; a hop spoofed in front of it
// changes nothing.
func TestWebhookAllowFrom(t *testing.T) {
	t.Parallel()
	s := start(t, `
[job.local]
path = "/local"
auth_kind = "github"
secret = "s"
allow_from = ["127.0.0.0/8", "::1"]
commands = ["true"]

[job.far]
path = "/far"
auth_kind = "github"
secret = "s"
allow_from = ["192.0.2.0/24"]
commands = ["true"]
`)
	body := []byte(`{}`)
	wantEnvelope(t, ghDelivery(t, s, "local", "s", "push", "", body, nil), http.StatusOK)
	s.waitRun(t, "local", 1, 60*time.Second)
	// Not allowed: refused before the signature is looked at.
	wantError(t, ghDelivery(t, s, "far", "s", "push", "", body, nil), http.StatusForbidden, "forbidden: 127.0.0.1 not in allow_from", "ERR_JOB_FORBIDDEN")
	wantError(t, ghDelivery(t, s, "far", "wrong", "push", "", body, nil), http.StatusForbidden, "forbidden: 127.0.0.1 not in allow_from", "ERR_JOB_FORBIDDEN")
	// The peer is no trusted proxy: its X-Forwarded-For is not believed.
	wantError(t, ghDelivery(t, s, "far", "s", "push", "", body, map[string]string{"X-Forwarded-For": "192.0.2.7"}),
		http.StatusForbidden, "forbidden: 127.0.0.1 not in allow_from", "ERR_JOB_FORBIDDEN")

	dir := t.TempDir()
	writeConfig(t, dir, strings.Replace(configHeader(dir), "[karajo]\n", "[karajo]\ntrusted_proxies = [\"127.0.0.1\"]\n", 1)+`
[job.far]
path = "/far"
auth_kind = "github"
secret = "s"
allow_from = ["192.0.2.0/24"]
commands = ["true"]
`)
	p := startDir(t, dir)
	wantEnvelope(t, ghDelivery(t, p, "far", "s", "push", "", body, map[string]string{"X-Forwarded-For": "192.0.2.7"}), http.StatusOK)
	p.waitRun(t, "far", 1, 60*time.Second)
	wantError(t, ghDelivery(t, p, "far", "s", "push", "", body, map[string]string{"X-Forwarded-For": "192.0.2.7, 203.0.113.9"}),
		http.StatusForbidden, "forbidden: 203.0.113.9 not in allow_from", "ERR_JOB_FORBIDDEN")
	wantError(t, ghDelivery(t, p, "far", "s", "push", "", body, nil),
		http.StatusForbidden, "forbidden: 127.0.0.1 not in allow_from", "ERR_JOB_FORBIDDEN")
	wantError(t, ghDelivery(t, p, "far", "wrong", "push", "", body, map[string]string{"X-Forwarded-For": "192.0.2.7"}),
		http.StatusForbidden, "forbidden", "ERR_JOB_FORBIDDEN")
}

// TestWebhookFilters (issue 15): a verified delivery whose event is not
// in events, or whose JSON ref matches no refs pattern, answers 202
// "ignored: …" and starts nothing; a ping still answers pong; a matching
// one runs; an unsigned one is still 403.
func TestWebhookFilters(t *testing.T) {
	t.Parallel()
	s := start(t, `
[job.deploy]
path = "/deploy"
auth_kind = "github"
secret = "s"
events = ["push", "release"]
refs = ["refs/heads/main", "refs/tags/v*"]
commands = ["echo deploy $KARAJO_JOB_COUNTER"]

[job.gl]
path = "/gl"
auth_kind = "gitlab"
secret = "tok"
events = ["Tag Push Hook"]
commands = ["true"]
`)
	main := []byte(`{"ref":"refs/heads/main","after":"1"}`)
	for _, tt := range []struct {
		event string
		body  string
		want  string
	}{
		{"pull_request", `{"ref":"refs/heads/main"}`, "ignored: event pull_request not in events"},
		{"push", `{"ref":"refs/heads/dev"}`, "ignored: ref refs/heads/dev not in refs"},
		{"push", `{"ref":"refs/tags/x1"}`, "ignored: ref refs/tags/x1 not in refs"},
		{"release", `{"action":"published"}`, "ignored: no ref in the body, refs is set"},
	} {
		r := ghDelivery(t, s, "deploy", "s", tt.event, "", []byte(tt.body), nil)
		env := wantEnvelope(t, r, http.StatusAccepted)
		if env.Message != tt.want {
			t.Errorf("%s %s: message %q, want %q", tt.event, tt.body, env.Message, tt.want)
		}
	}
	wantError(t, ghDelivery(t, s, "deploy", "wrong", "pull_request", "", main, nil), http.StatusForbidden, "forbidden", "ERR_JOB_FORBIDDEN")
	if env := wantEnvelope(t, ghDelivery(t, s, "deploy", "s", "ping", "", []byte(`{"zen":"x"}`), nil), http.StatusOK); env.Message != "pong" {
		t.Errorf("ping: %q", env.Message)
	}
	wantEnvelope(t, ghDelivery(t, s, "deploy", "s", "push", "", main, nil), http.StatusOK)
	s.waitRun(t, "deploy", 1, 60*time.Second)
	wantEnvelope(t, ghDelivery(t, s, "deploy", "s", "push", "", []byte(`{"ref":"refs/tags/v1.2.0"}`), nil), http.StatusOK)
	s.waitRun(t, "deploy", 2, 60*time.Second)

	gl := func(event string) response {
		return s.raw(t, http.MethodPost, "/karajo/api/job_exec/run/gl", map[string]string{"X-Gitlab-Token": "tok", "X-Gitlab-Event": event}, main)
	}
	if env := wantEnvelope(t, gl("Push Hook"), http.StatusAccepted); env.Message != "ignored: event Push Hook not in events" {
		t.Errorf("gitlab push: %q", env.Message)
	}
	wantEnvelope(t, gl("tag push hook"), http.StatusOK)
	s.waitRun(t, "gl", 1, 60*time.Second)
	time.Sleep(300 * time.Millisecond)
	if n := len(logNames(s.job(t, "deploy"))); n != 2 {
		t.Errorf("deploy has %d runs, want 2 (ignored deliveries start none)", n)
	}
}

// TestWebhookRulesRefused (issue 15): a bad CIDR in allow_from, events on
// a kind without an event header, and a bad refs pattern are refused at
// start with exit 2, naming file, job, key and reason.
func TestWebhookRulesRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := writeConfig(t, dir, configHeader(dir)+`
[job."deploy"]
path = "/deploy"
allow_from = ["10.0.0.0/33"]
events = ["push"]
refs = ["refs/heads/["]
commands = ["true"]
`)
	code, stderr := runToExit(t, cfg)
	if code != 2 {
		t.Fatalf("exit %d, want 2; stderr:\n%s", code, stderr)
	}
	for _, w := range []string{cfg, `job."deploy".allow_from[0]`, `"10.0.0.0/33": want an IP address or a CIDR prefix`,
		`job."deploy".events`, `sends no event header`, `job."deploy".refs[0]`, `is not a valid pattern`} {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr does not mention %q:\n%s", w, stderr)
		}
	}
}
