package integration

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"hash"
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

// macHexOf is the lowercase hex HMAC of body with the hash h.
func macHexOf(h func() hash.Hash, secret string, body []byte) string {
	m := hmac.New(h, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// TestWebhookSenders (issue 15): GitLab, Gitea, Forgejo, hmac-sha1 and
// hmac-sha512 deliveries run their jobs through the real binary; a wrong
// token or signature is refused with a 403 envelope; a GitHub, Gitea or
// GitLab ping answers 200 "pong" and starts no run (but an unsigned ping
// is still 403).
func TestWebhookSenders(t *testing.T) {
	t.Parallel()
	s := start(t, `
[job.gl]
path = "/gl"
auth_kind = "gitlab"
secret = ["gl-token-new", "gl-token-old"]
commands = ["echo gitlab"]

[job.gt]
path = "/gt"
auth_kind = "gitea"
secret = "gitea-secret"
commands = ["echo gitea"]

[job.s1]
path = "/s1"
auth_kind = "hmac-sha1"
secret = "sha1-secret"
commands = ["echo sha1"]

[job.s512]
path = "/s512"
auth_kind = "hmac-sha512"
header_sign = "X-Signature"
secret = "sha512-secret"
commands = ["echo sha512"]

[job.gh]
path = "/gh"
auth_kind = "github"
secret = "gh-secret"
commands = ["echo github"]
`)
	body := []byte(`{"ref":"refs/heads/main"}`)
	post := func(path string, hdr map[string]string) response {
		hdr["Content-Type"] = "application/json"
		return s.raw(t, http.MethodPost, "/karajo/api/job_exec/run/"+path, hdr, body)
	}
	ok := []struct {
		job, path string
		hdr       map[string]string
	}{
		{"gl", "gl", map[string]string{"X-Gitlab-Token": "gl-token-old", "X-Gitlab-Event": "Push Hook"}},
		{"gt", "gt", map[string]string{"X-Gitea-Signature": macHexOf(sha256.New, "gitea-secret", body), "X-Gitea-Event": "push"}},
		{"gt", "gt", map[string]string{"X-Forgejo-Signature": macHexOf(sha256.New, "gitea-secret", body), "X-Forgejo-Event": "push"}},
		{"s1", "s1", map[string]string{"X-Karajo-Sign": "sha1=" + macHexOf(sha1.New, "sha1-secret", body)}},
		{"s512", "s512", map[string]string{"X-Signature": "sha512=" + macHexOf(sha512.New, "sha512-secret", body)}},
		{"s512", "s512", map[string]string{"X-Signature": macHexOf(sha512.New, "sha512-secret", body)}},
	}
	counters := map[string]int64{}
	for _, d := range ok {
		e := wantEnvelope(t, post(d.path, d.hdr), http.StatusOK)
		counters[d.job]++
		if st := s.waitRun(t, d.job, counters[d.job], 60*time.Second); st != "success" {
			t.Errorf("%s #%d: %q (%+v)", d.job, counters[d.job], st, e)
		}
	}
	bad := []struct {
		path string
		hdr  map[string]string
	}{
		{"gl", map[string]string{"X-Gitlab-Token": "gl-token"}},
		{"gl", map[string]string{}},
		{"gt", map[string]string{"X-Gitea-Signature": macHexOf(sha256.New, "other", body)}},
		{"s1", map[string]string{"X-Karajo-Sign": "sha1=" + macHexOf(sha1.New, "other", body)}},
		{"s512", map[string]string{"X-Karajo-Sign": macHexOf(sha512.New, "sha512-secret", body)}}, // wrong header
		{"gh", map[string]string{"X-GitHub-Event": "ping"}},                                       // a ping must be signed too
	}
	for _, d := range bad {
		wantEnvelope(t, post(d.path, d.hdr), http.StatusForbidden)
	}
	pings := []struct {
		job string
		hdr map[string]string
	}{
		{"gh", map[string]string{"X-GitHub-Event": "ping", "X-Hub-Signature-256": "sha256=" + macHexOf(sha256.New, "gh-secret", body)}},
		{"gt", map[string]string{"X-Gitea-Event": "ping", "X-Gitea-Signature": macHexOf(sha256.New, "gitea-secret", body)}},
		{"gl", map[string]string{"X-Gitlab-Event": "ping", "X-Gitlab-Token": "gl-token-new"}},
	}
	for _, p := range pings {
		r := post(p.job, p.hdr)
		e := wantEnvelope(t, r, http.StatusOK)
		if e.Message != "pong" {
			t.Errorf("ping to %s: message %q, want pong: %s", p.job, e.Message, r)
		}
	}
	time.Sleep(500 * time.Millisecond) // a run a ping wrongly started would be listed by now
	for job, n := range map[string]int{"gh": 0, "gt": 2, "gl": 1} {
		if got := len(logNames(s.job(t, job))); got != n {
			t.Errorf("%s has %d runs, want %d (pings and refusals start none)", job, got, n)
		}
	}
	if v := s.job(t, "s512"); v.AuthKind != "hmac-sha512" {
		t.Errorf("s512 auth_kind %q in the API", v.AuthKind)
	}
}

// TestWebhookUnknownAuthKind (issue 15): an unknown auth_kind stops the
// start (exit 2) naming the file, the job, the key and the accepted kinds.
func TestWebhookUnknownAuthKind(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := writeConfig(t, dir, configHeader(dir)+`
[job."deploy"]
path = "/deploy"
auth_kind = "bitbucket"
commands = ["true"]
`)
	code, stderr := runToExit(t, cfg)
	if code != 2 {
		t.Fatalf("exit %d, want 2; stderr:\n%s", code, stderr)
	}
	for _, w := range []string{cfg, `auth_kind`, `deploy`, `unknown kind \"bitbucket\"`, "gitlab, gitea, hmac-sha1, hmac-sha512"} {
		if !strings.Contains(stderr, w) && !strings.Contains(stderr, strings.ReplaceAll(w, `\"`, `"`)) {
			t.Errorf("stderr does not mention %q:\n%s", w, stderr)
		}
	}
}

// TestMetricsToken (issue 15): with [karajo] metrics_token, /metrics
// answers a 401 envelope (WWW-Authenticate: Bearer) without the right
// bearer token, and the metrics with it; the token never shows in the
// log. With users and no token, a warning at start, and /metrics needs a
// session; with neither, it is public (TestMetrics covers that).
func TestMetricsToken(t *testing.T) {
	t.Parallel()
	const token = "prom-scrape-token-4f9a1c"
	dir := t.TempDir()
	writeConfig(t, dir, strings.Replace(configHeader(dir), "[karajo]\n", "[karajo]\nmetrics_token = \""+token+"\"\n", 1)+"\n[job.h]\npath = \"/h\"\ncommands = [\"true\"]\n")
	s := startDir(t, dir)
	for _, hdr := range []map[string]string{nil, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic " + token}, {"Authorization": "Bearer " + token[:10]}} {
		r := s.raw(t, http.MethodGet, "/metrics", hdr, nil)
		wantEnvelope(t, r, http.StatusUnauthorized)
		if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("401 without WWW-Authenticate: Bearer: %v", r.header)
		}
	}
	r := s.raw(t, http.MethodGet, "/metrics", map[string]string{"Authorization": "Bearer " + token}, nil)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), "karajo_") {
		t.Fatalf("GET /metrics with the token: %s", r)
	}
	if strings.Contains(s.stderr.String(), token) {
		t.Error("the metrics token is in the server's log")
	}

	// Users, no token: a session is needed.
	u := startWithUser(t)
	if !strings.Contains(u.stderr.String(), "metrics_token: not set and users are configured") {
		t.Errorf("no warning at start about /metrics needing a session:\n%s", tail(u.stderr.String(), 3000))
	}
	wantEnvelope(t, u.get(t, "/metrics"), http.StatusUnauthorized)
	status, _, ck := u.login(t, httpClient, "alice", "pw")
	if status != http.StatusOK || ck == nil {
		t.Fatalf("login: %d", status)
	}
	r = u.raw(t, http.MethodGet, "/metrics", map[string]string{"Cookie": "karajo=" + ck.Value}, nil)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), "karajo_") {
		t.Fatalf("GET /metrics with a session: %s", r)
	}
}

// TestWebhookReplay (issue 15): the same signed GitHub delivery twice →
// one run and a 409 ERR_REPLAYED naming it; after a restart still 409;
// a new delivery id runs; a delivery without an id is accepted each time
// as in v0.9.3; GitLab's X-Gitlab-Event-UUID is remembered too.
func TestWebhookReplay(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeConfig(t, dir, configHeader(dir)+`
[job.gh]
path = "/gh"
auth_kind = "github"
secret = "gh-secret"
commands = ["echo github $KARAJO_JOB_COUNTER"]

[job.gl]
path = "/gl"
auth_kind = "gitlab"
secret = "gl-token"
replay_window = "1h"
commands = ["true"]
`)
	s := startDir(t, dir)
	body := []byte(`{"ref":"refs/heads/main","after":"4f7d2b1c"}`)
	gh := func(s *server, delivery string) response {
		hdr := map[string]string{"Content-Type": "application/json", "X-GitHub-Event": "push",
			"X-Hub-Signature-256": "sha256=" + macHexOf(sha256.New, "gh-secret", body)}
		if delivery != "" {
			hdr["X-GitHub-Delivery"] = delivery
		}
		return s.raw(t, http.MethodPost, "/karajo/api/job_exec/run/gh", hdr, body)
	}
	const d1 = "72d3162e-cc78-11e3-81ab-4c9367dc0958"
	wantEnvelope(t, gh(s, d1), http.StatusOK)
	if st := s.waitRun(t, "gh", 1, 60*time.Second); st != "success" {
		t.Fatalf("gh #1: %q", st)
	}
	r := gh(s, d1)
	wantError(t, r, http.StatusConflict, "delivery "+d1+" already accepted as run #1", "ERR_REPLAYED")

	wantEnvelope(t, gh(s, "a-second-delivery"), http.StatusOK)
	if st := s.waitRun(t, "gh", 2, 60*time.Second); st != "success" {
		t.Fatalf("gh #2: %q", st)
	}
	for i := 3; i <= 4; i++ { // no delivery id: v0.9.3 accepts every one
		wantEnvelope(t, gh(s, ""), http.StatusOK)
		if st := s.waitRun(t, "gh", int64(i), 60*time.Second); st != "success" {
			t.Fatalf("gh #%d: %q", i, st)
		}
	}
	gl := func(s *server, uuid string) response {
		return s.raw(t, http.MethodPost, "/karajo/api/job_exec/run/gl",
			map[string]string{"X-Gitlab-Token": "gl-token", "X-Gitlab-Event": "Push Hook", "X-Gitlab-Event-UUID": uuid}, body)
	}
	wantEnvelope(t, gl(s, "uuid-gl-1"), http.StatusOK)
	s.waitRun(t, "gl", 1, 60*time.Second)
	wantError(t, gl(s, "uuid-gl-1"), http.StatusConflict, "delivery uuid-gl-1 already accepted as run #1", "ERR_REPLAYED")

	s2 := s.restart(t)
	wantError(t, gh(s2, d1), http.StatusConflict, "delivery "+d1+" already accepted as run #1", "ERR_REPLAYED")
	wantError(t, gh(s2, "a-second-delivery"), http.StatusConflict, "delivery a-second-delivery already accepted as run #2", "ERR_REPLAYED")
	wantError(t, gl(s2, "uuid-gl-1"), http.StatusConflict, "delivery uuid-gl-1 already accepted as run #1", "ERR_REPLAYED")
	time.Sleep(300 * time.Millisecond)
	if n := len(logNames(s2.job(t, "gh"))); n != 4 {
		t.Errorf("gh has %d runs, want 4 (replays start none)", n)
	}
}

// TestJobHTTPSignsWithFirstSecret (issue 15): a JobHttp whose secret is a
// list signs with the first entry only: listed first, the target's
// secret is accepted; listed second, the call is refused (403).
func TestJobHTTPSignsWithFirstSecret(t *testing.T) {
	t.Parallel()
	s := start(t, `
[job."target"]
path = "/target"
secret = "hook-new-secret"
commands = ["echo target $KARAJO_JOB_COUNTER"]

[job_http."first new"]
interval = "1m"
http_method = "POST"
http_url = "/karajo/api/job_exec/run/target"
http_request_type = "json"
secret = ["hook-new-secret", "hook-old-secret"]

[job_http."first old"]
interval = "1m"
http_method = "POST"
http_url = "/karajo/api/job_exec/run/target"
http_request_type = "json"
secret = ["hook-old-secret", "hook-new-secret"]
`)
	if st := s.jhWaitRun(t, "first_new", 1, 60*time.Second); st != "success" {
		t.Errorf("first_new #1 = %q, want success (signed with the first secret)", st)
	}
	if st := s.jhWaitRun(t, "first_old", 1, 60*time.Second); st != "failed" {
		t.Errorf("first_old #1 = %q, want failed (the second secret never signs)", st)
	}
	ql := jhLines(t, "first_old", s.jhLog(t, "first_old", 1).Content)
	if got, want := jhLast(ql), "!!! job_http: first_old: execute: 403 Forbidden"; got != want {
		t.Errorf("first_old last line = %q, want %q", got, want)
	}
	if st := s.waitRun(t, "target", 1, 60*time.Second); st != "success" {
		t.Errorf("target #1 = %q", st)
	}
	all := string(s.jhLog(t, "first_new", 1).Content) + string(s.jhLog(t, "first_old", 1).Content) +
		s.stderr.String() + string(s.get(t, "/karajo/api/environment").body)
	for _, secret := range []string{"hook-new-secret", "hook-old-secret"} {
		if strings.Contains(all, secret) {
			t.Errorf("a listed secret appears in a run log, the server log or the environment")
		}
	}
}
