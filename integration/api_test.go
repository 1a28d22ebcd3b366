package integration

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestEnvironment checks GET /karajo/api/environment (SPEC 4.4.2, Appendix A):
// shape, jobs keyed by name, `http_jobs` {}, version, gzip only when
// accepted (IMP-38) and no secret anywhere.
func TestEnvironment(t *testing.T) {
	t.Parallel()
	const jobSecret = "jobSecretQx7Zr2"
	s := start(t, `
[job."Test success"]
description = "A <b>success</b> job."
path = "/test-success"
secret = "`+jobSecret+`"
commands = ["echo hello $KARAJO_JOB_COUNTER", "echo done"]

[job."Webhook github"]
path = "/gh"
auth_kind = "GitHub"
commands = ["true"]

[job."Interval"]
interval = "30s"
commands = ["echo interval"]
`)
	ver, err := exec.Command(binPath, "version").Output()
	if err != nil {
		t.Fatalf("karajo version: %v", err)
	}
	wantVersion := strings.TrimSpace(strings.TrimPrefix(string(ver), "karajo version "))

	// Explicit gzip.
	rz := s.raw(t, http.MethodGet, "/karajo/api/environment", map[string]string{"Accept-Encoding": "gzip"}, nil)
	if rz.status != http.StatusOK {
		t.Fatalf("environment with gzip: %s", rz)
	}
	if got := rz.header.Get("Content-Encoding"); got != "gzip" {
		t.Errorf("Accept-Encoding: gzip → Content-Encoding %q, want gzip", got)
	}
	if !strings.Contains(strings.Join(rz.header.Values("Vary"), ","), "Accept-Encoding") {
		t.Errorf("Vary = %q, want Accept-Encoding (IMP-38)", rz.header.Values("Vary"))
	}
	// Without Accept-Encoding: plain JSON (raw fails on gzip).
	r := s.get(t, "/karajo/api/environment")
	if r.status != http.StatusOK || r.header.Get("Content-Encoding") != "" {
		t.Fatalf("environment without Accept-Encoding: Content-Encoding %q: %s", r.header.Get("Content-Encoding"), r)
	}
	if _, err := checkEnvelope(rz); err != nil {
		t.Errorf("gzip answer: %v", err)
	}
	env := wantEnvelope(t, r, http.StatusOK)
	if len(env.Message) != 0 || env.Name != "" {
		t.Errorf("environment envelope has message/name: %s", r)
	}
	for _, secret := range []string{testSecret, jobSecret} {
		if bytes.Contains(r.body, []byte(secret)) {
			t.Errorf("environment leaks secret %q: %s", secret, r)
		}
	}
	for _, key := range []string{`"secret"`, `"password"`, `"notif"`, `"users"`} {
		if bytes.Contains(r.body, []byte(key)) {
			t.Errorf("environment contains key %s", key)
		}
	}
	if !bytes.Contains(r.body, []byte(`A \u003cb\u003esuccess\u003c/b\u003e job.`)) {
		t.Errorf("description not encoded the encoding/json way (\\u003c): %s", r)
	}

	var data envView
	if err := json.Unmarshal(env.Data, &data); err != nil {
		t.Fatal(err)
	}
	var raw map[string]json.RawMessage
	json.Unmarshal(env.Data, &raw)
	for _, k := range []string{"jobs", "http_jobs", "name", "listen_address", "dir_base", "dir_public", "version", "http_timeout", "max_job_running", "is_development"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("environment data lacks key %q", k)
		}
	}
	if got := strings.TrimSpace(string(data.HTTPJobs)); got != "{}" {
		t.Errorf("http_jobs = %s, want {}", got)
	}
	if data.Version == "" || data.Version != wantVersion {
		t.Errorf("version = %q, want %q (as printed by `karajo version`)", data.Version, wantVersion)
	}
	if data.DirBase != s.dir {
		t.Errorf("dir_base = %q, want %q", data.DirBase, s.dir)
	}
	if data.Name != "karajo-it" || data.HTTPTimeout != 300000000000 || data.MaxJobRunning != 4 || data.IsDevelopment {
		t.Errorf("name/http_timeout/max_job_running/is_development = %q/%d/%d/%v, want karajo-it/300000000000/4/false",
			data.Name, data.HTTPTimeout, data.MaxJobRunning, data.IsDevelopment)
	}
	if len(data.Jobs) != 3 {
		t.Errorf("jobs has %d entries, want 3: %v", len(data.Jobs), data.Jobs)
	}
	ts, ok := data.Jobs["Test success"]
	if !ok {
		t.Fatalf(`jobs not keyed by name: no "Test success" in %s`, env.Data)
	}
	want := jobView{
		Path: "/test-success", AuthKind: "hmac-sha256", HeaderSign: "X-Karajo-Sign",
		Commands: []string{"echo hello $KARAJO_JOB_COUNTER", "echo done"},
		LastRun:  "0001-01-01T00:00:00Z", NextRun: "0001-01-01T00:00:00Z",
		ID: "test_success", Name: "Test success", Description: "A <b>success</b> job.",
		Status: "started", LogRetention: 5,
	}
	if fmt.Sprint(ts) != fmt.Sprint(want) {
		t.Errorf("job Test success =\n%+v\nwant\n%+v", ts, want)
	}
	if gh := data.Jobs["Webhook github"]; gh.ID != "webhook_github" || gh.AuthKind != "github" {
		t.Errorf("Webhook github: id %q auth_kind %q, want webhook_github github", gh.ID, gh.AuthKind)
	}
	iv := data.Jobs["Interval"]
	if iv.Interval != 60000000000 || iv.LogRetention != 5 || iv.Path != "" {
		t.Errorf("Interval: interval %d log_retention %d path %q, want 60000000000 5 \"\"", iv.Interval, iv.LogRetention, iv.Path)
	}
	if _, err := time.Parse(time.RFC3339, iv.NextRun); err != nil || !strings.HasSuffix(iv.NextRun, "Z") {
		t.Errorf("next_run %q is not RFC 3339 UTC", iv.NextRun)
	}

	// An interval job with no logs runs at once at start (SPEC 8.2);
	// next_run is then last_run + interval.
	if st := s.waitRun(t, "Interval", 1, 60*time.Second); st != "success" {
		t.Errorf("Interval #1: %q, want success", st)
	}
	iv = s.job(t, "Interval")
	last, err1 := time.Parse(time.RFC3339, iv.LastRun)
	next, err2 := time.Parse(time.RFC3339, iv.NextRun)
	if err1 != nil || err2 != nil || next.Sub(last) != time.Minute {
		t.Errorf("Interval after its run: last_run %q next_run %q, want next = last + 1m", iv.LastRun, iv.NextRun)
	}

	// Go's client: transparent gzip.
	if got := s.environment(t); got.Version != data.Version {
		t.Errorf("environment through Go's client: version %q", got.Version)
	}
}

// TestWebhookRun checks POST /karajo/api/job_exec/run/<path> (SPEC 4.4.3, 5).
func TestWebhookRun(t *testing.T) {
	t.Parallel()
	const hookSecret = "hookSecret42"
	s := start(t, `
[job.hook]
path = "/hook"
secret = "`+hookSecret+`"
commands = ["true"]

[job.myhdr]
path = "/myhdr"
header_sign = "X-My-Sign"
secret = "`+hookSecret+`"
commands = ["true"]

[job.ci]
path = "/Case/Path"
commands = ["true"]

[job.opaque]
path = "opaque"
commands = ["true"]

[job.gh256p]
path = "/gh256p"
auth_kind = "github"
commands = ["true"]

[job.gh256]
path = "/gh256"
auth_kind = "github"
commands = ["true"]

[job.gh1p]
path = "/gh1p"
auth_kind = "github"
commands = ["true"]

[job.gh1]
path = "/gh1"
auth_kind = "github"
commands = ["true"]

[job.ghbad]
path = "/ghbad"
auth_kind = "github"
commands = ["true"]

[job.slow]
path = "/slow"
commands = ["sleep 3"]

[job.paused]
path = "/paused"
commands = ["true"]
`)
	post := func(path string, hdr map[string]string, body []byte) response {
		t.Helper()
		return s.raw(t, http.MethodPost, "/karajo/api/job_exec/run/"+path, hdr, body)
	}
	okRun := func(name string, r response) {
		t.Helper()
		env := wantEnvelope(t, r, http.StatusOK)
		if env.Message != "OK" {
			t.Errorf("run %s: message %q, want OK", name, env.Message)
		}
		var j jobView
		if err := json.Unmarshal(env.Data, &j); err != nil || j.ID != name {
			t.Errorf("run %s: data is not the job (%v): %s", name, err, r)
		}
		if st := s.waitRun(t, name, 1, 60*time.Second); st != "success" {
			t.Errorf("run %s #1: status %q, want success", name, st)
		}
	}
	forbidden := func(what string, r response) {
		t.Helper()
		t.Run(what, func(t *testing.T) {
			wantError(t, r, http.StatusForbidden, "forbidden", "ERR_JOB_FORBIDDEN")
		})
	}
	body := runBody()
	jsonHdr := func(k, v string) map[string]string {
		return map[string]string{"Content-Type": "application/json", k: v}
	}

	// hmac-sha256 with the job's own secret.
	forbidden("wrong signature", post("hook", jsonHdr("X-Karajo-Sign", sign("nope", body)), body))
	forbidden("uppercase hex", post("hook", jsonHdr("X-Karajo-Sign", strings.ToUpper(sign(hookSecret, body))), body))
	forbidden("env secret instead of job secret", post("hook", jsonHdr("X-Karajo-Sign", sign(testSecret, body)), body))
	forbidden("no signature", post("hook", map[string]string{"Content-Type": "application/json"}, body))
	forbidden("signature of another body", post("hook", jsonHdr("X-Karajo-Sign", sign(hookSecret, body)), append(body, ' ')))
	okRun("hook", post("hook", jsonHdr("X-Karajo-Sign", sign(hookSecret, body)), body))

	// header_sign: only the configured header counts.
	forbidden("sig in X-Karajo-Sign for header_sign X-My-Sign", post("myhdr", jsonHdr("X-Karajo-Sign", sign(hookSecret, body)), body))
	okRun("myhdr", post("myhdr", jsonHdr("x-my-sign", sign(hookSecret, body)), body))

	// Path match: case-insensitive, trailing slash ignored.
	okRun("ci", post("cASE/pATH/", jsonHdr("X-Karajo-Sign", sign(testSecret, body)), body))

	// The run body is opaque: '%' and ';' with the form content type are fine.
	odd := []byte(`{"a":"50%","b":"x;y","c":"%zz"}`)
	okRun("opaque", post("opaque", map[string]string{
		"Content-Type": "application/x-www-form-urlencoded", "X-Karajo-Sign": sign(testSecret, odd)}, odd))

	// github (Appendix B vectors, key s3cret = env secret = default job secret).
	ghBody := []byte(`{"ref":"main"}`)
	const gh256 = "22707867160f8bbefc2d13c33988c27054550701eedfeb41903e23704bd9f679"
	const gh1 = "29851e432407a3b87967d912cc3c14c0bbda16e4"
	if sign(testSecret, ghBody) != gh256 || sha1hex(testSecret, ghBody) != gh1 {
		t.Fatal("Appendix B github vectors do not match the helpers")
	}
	okRun("gh256p", post("gh256p", jsonHdr("X-Hub-Signature-256", "sha256="+gh256), ghBody))
	okRun("gh256", post("gh256", jsonHdr("X-Hub-Signature-256", gh256), ghBody))
	okRun("gh1p", post("gh1p", jsonHdr("X-Hub-Signature", "sha1="+gh1), ghBody))
	okRun("gh1", post("gh1", jsonHdr("X-Hub-Signature", gh1), ghBody))
	forbidden("github wrong sha256", post("ghbad", jsonHdr("X-Hub-Signature-256", "sha256="+sign("x", ghBody)), ghBody))
	forbidden("github sha256 in X-Karajo-Sign", post("ghbad", jsonHdr("X-Karajo-Sign", gh256), ghBody))
	forbidden("github no header", post("ghbad", map[string]string{"Content-Type": "application/json"}, ghBody))
	forbidden("github wrong sha1", post("ghbad", jsonHdr("X-Hub-Signature", "sha1="+sha1hex("x", ghBody)), ghBody))

	// Unknown path.
	t.Run("unknown path", func(t *testing.T) {
		r := post("nope", jsonHdr("X-Karajo-Sign", sign(testSecret, body)), body)
		env := wantEnvelope(t, r, http.StatusNotFound)
		if env.Name != "ERR_JOB_NOT_FOUND" || !strings.HasPrefix(env.Message, "job not found: ") || !strings.Contains(env.Message, "nope") {
			t.Errorf("unknown path: %s, want job not found: …nope, ERR_JOB_NOT_FOUND", r)
		}
	})

	// Paused job: 412, nothing recorded.
	t.Run("paused", func(t *testing.T) {
		if j := s.act(t, "pause", "paused"); j.Status != "paused" {
			t.Errorf("pause: status %q", j.Status)
		}
		r := s.trigger(t, "paused", testSecret)
		wantError(t, r, http.StatusPreconditionFailed, "job is paused", "ERR_JOB_PAUSED")
		if j := s.job(t, "paused"); len(j.Logs) != 0 || j.Status != "paused" {
			t.Errorf("paused job after trigger: status %q logs %v, want paused and none", j.Status, j.Logs)
		}
	})

	// Queue: one run plus one pending trigger; the third is refused.
	t.Run("queue", func(t *testing.T) {
		wantEnvelope(t, s.trigger(t, "slow", testSecret), http.StatusOK)
		s.waitRunning(t, "slow", 1, "--- Execute  0: sleep 3")
		wantEnvelope(t, s.trigger(t, "slow", testSecret), http.StatusOK)
		wantError(t, s.trigger(t, "slow", testSecret), http.StatusTooManyRequests, "job already run", "ERR_JOB_ALREADY_RUN")
		// The queued trigger runs after the first.
		if st := s.waitRun(t, "slow", 2, 60*time.Second); st != "success" {
			t.Errorf("queued run: %q, want success", st)
		}
		if j := s.job(t, "slow"); len(j.Logs) != 2 {
			t.Errorf("slow: logs %v, want exactly #1 and #2", j.Logs)
		}
	})

	// The forbidden attempts recorded nothing.
	if j := s.job(t, "ghbad"); len(j.Logs) != 0 || j.Status != "started" {
		t.Errorf("ghbad after refused triggers: status %q logs %v", j.Status, j.Logs)
	}
	if j := s.job(t, "hook"); len(j.Logs) != 1 {
		t.Errorf("hook: logs %v, want only #1", j.Logs)
	}
}

func sha1hex(secret string, body []byte) string {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// TestControlEndpoints checks exec pause/resume/cancel signatures, the
// epoch window (IMP-16) and id from the signed body only (IMP-18).
func TestControlEndpoints(t *testing.T) {
	t.Parallel()
	s := start(t, `
[job.ctl]
path = "/ctl"
secret = "ctlJobSecret"
commands = ["true"]
`)
	now := time.Now().Unix()
	badSig := func(t *testing.T, r response) {
		t.Helper()
		wantError(t, r, http.StatusUnauthorized, "empty or invalid signature", "")
	}
	stale := func(t *testing.T, r response) {
		t.Helper()
		wantError(t, r, http.StatusUnauthorized, "stale or invalid _karajo_epoch", "")
	}
	status := func(t *testing.T, want string) {
		t.Helper()
		if got := s.job(t, "ctl").Status; got != want {
			t.Errorf("status %q, want %q", got, want)
		}
	}
	body := controlBody("ctl")
	for _, action := range []string{"pause", "resume", "cancel"} {
		t.Run(action+" bad signatures", func(t *testing.T) {
			badSig(t, s.control(t, action, "", body, ""))
			badSig(t, s.control(t, action, "", body, sign("wrong", []byte(body))))
			badSig(t, s.control(t, action, "", body, sign("ctlJobSecret", []byte(body)))) // job secret: not for control
			badSig(t, s.control(t, action, "", body, strings.ToUpper(sign(testSecret, []byte(body)))))
			badSig(t, s.control(t, action, "", body+"x", sign(testSecret, []byte(body))))
			for _, epoch := range []string{fmt.Sprint(now - 3600), fmt.Sprint(now + 3600), "abc", ""} {
				b := "_karajo_epoch=" + epoch + "&id=ctl"
				stale(t, s.control(t, action, "", b, sign(testSecret, []byte(b))))
			}
			status(t, "started")
		})
	}
	t.Run("appendix B control vector", func(t *testing.T) {
		if got := sign(testSecret, []byte("_karajo_epoch=1700000000&id=test_success")); got != "fa3021304c321531cac95a8f119b1a062ac8dd035689c8420dc8f1ecb47dd2f1" {
			t.Fatalf("sign helper disagrees with Appendix B: %s", got)
		}
		// Signed correctly but far in the past: refused under IMP-16.
		b := "_karajo_epoch=1700000000&id=ctl"
		stale(t, s.control(t, "pause", "", b, sign(testSecret, []byte(b))))
		status(t, "started")
	})
	t.Run("id in query ignored", func(t *testing.T) {
		b := fmt.Sprintf("_karajo_epoch=%d", time.Now().Unix())
		r := s.control(t, "pause", "id=ctl", b, sign(testSecret, []byte(b)))
		wantError(t, r, http.StatusNotFound, "job not found: ", "ERR_JOB_NOT_FOUND")
		status(t, "started")
	})
	t.Run("id not read from a non-form body", func(t *testing.T) {
		b := controlBody("ctl")
		r := s.raw(t, http.MethodPost, "/karajo/api/job_exec/pause",
			map[string]string{"Content-Type": "text/plain", "X-Karajo-Sign": sign(testSecret, []byte(b))}, []byte(b))
		wantError(t, r, http.StatusNotFound, "job not found: ", "ERR_JOB_NOT_FOUND")
		status(t, "started")
	})
	t.Run("unknown and case-different id", func(t *testing.T) {
		for _, id := range []string{"nope", "CTL"} {
			b := controlBody(id)
			wantError(t, s.control(t, "pause", "", b, sign(testSecret, []byte(b))), http.StatusNotFound, "job not found: "+id, "ERR_JOB_NOT_FOUND")
		}
		status(t, "started")
	})
	t.Run("pause resume without epoch", func(t *testing.T) {
		b := "id=ctl"
		r := s.control(t, "pause", "", b, sign(testSecret, []byte(b)))
		env := wantEnvelope(t, r, http.StatusOK)
		var j jobView
		json.Unmarshal(env.Data, &j)
		if j.Status != "paused" || j.ID != "ctl" {
			t.Errorf("pause answer: status %q id %q, want paused ctl", j.Status, j.ID)
		}
		status(t, "paused")
		wantError(t, s.trigger(t, "ctl", "ctlJobSecret"), http.StatusPreconditionFailed, "job is paused", "ERR_JOB_PAUSED")
		// The same signed body is valid for every action.
		r = s.control(t, "resume", "", b, sign(testSecret, []byte(b)))
		env = wantEnvelope(t, r, http.StatusOK)
		json.Unmarshal(env.Data, &j)
		if j.Status != "started" {
			t.Errorf("resume answer: status %q, want started (IMP-2)", j.Status)
		}
		status(t, "started")
	})
	t.Run("cancel idle", func(t *testing.T) {
		if j := s.act(t, "cancel", "ctl"); j.Status != "started" {
			t.Errorf("cancel of an idle job: status %q, want started", j.Status)
		}
	})
	t.Run("runs after resume", func(t *testing.T) {
		wantEnvelope(t, s.trigger(t, "ctl", "ctlJobSecret"), http.StatusOK)
		if st := s.waitRun(t, "ctl", 1, 60*time.Second); st != "success" {
			t.Errorf("run after resume: %q", st)
		}
	})
}

// TestCancelRunning cancels a run whose command leaves a child holding the
// output open (IMP-28): the run ends promptly as `canceled`.
func TestCancelRunning(t *testing.T) {
	t.Parallel()
	s := start(t, `
[job.long]
path = "/long"
commands = ["echo start", "sleep 30 & sleep 30", "echo never"]
`)
	wantEnvelope(t, s.trigger(t, "long", testSecret), http.StatusOK)
	s.waitRunning(t, "long", 1, "--- Execute  1: sleep 30 & sleep 30")
	if j := s.job(t, "long"); j.Status != "running" {
		t.Errorf("job status during run %q, want running", j.Status)
	}
	t0 := time.Now()
	s.act(t, "cancel", "long")
	st := s.waitRun(t, "long", 1, 20*time.Second)
	took := time.Since(t0)
	t.Logf("cancel → run ended: %v", took)
	if st != "canceled" {
		t.Errorf("log status %q, want canceled", st)
	}
	if took > 10*time.Second {
		t.Errorf("cancel took %v; the process group must be killed promptly (IMP-28)", took)
	}
	if j := s.job(t, "long"); j.Status != "canceled" {
		t.Errorf("job status %q, want canceled", j.Status)
	}
	l := s.logOf(t, "long", 1)
	if l.Name != "long.1.canceled" || l.Status != "canceled" {
		t.Errorf("log: name %q status %q, want long.1.canceled canceled", l.Name, l.Status)
	}
	lines := logLines(t, "long", l.Content)
	if last := lines[len(lines)-1]; last != "??? CANCELED" {
		t.Errorf("last log line %q, want ??? CANCELED", last)
	}
	if strings.Contains(string(l.Content), "never") {
		t.Errorf("commands after the canceled one ran:\n%s", l.Content)
	}
	disk, err := os.ReadFile(filepath.Join(s.logDir("long"), "long.1.canceled"))
	if err != nil {
		t.Fatalf("log file: %v (files: %v)", err, s.logFiles(t, "long"))
	}
	if !bytes.Equal(disk, l.Content) {
		t.Errorf("file content differs from the API content:\nfile:\n%s\napi:\n%s", disk, l.Content)
	}
	waitFor(t, 10*time.Second, "no process left in the work dir", func() bool { return len(procsIn(s.workDir("long"))) == 0 })
}

// TestPauseDuringRun checks IMP-3: a pause during a run survives the end of
// the run, and a paused running job can still be canceled.
func TestPauseDuringRun(t *testing.T) {
	t.Parallel()
	s := start(t, `
[job.pr]
path = "/pr"
commands = ["echo pr", "sleep 2"]

[job.pc]
path = "/pc"
commands = ["echo pc", "sleep 30"]
`)
	wantEnvelope(t, s.trigger(t, "pr", testSecret), http.StatusOK)
	wantEnvelope(t, s.trigger(t, "pc", testSecret), http.StatusOK)
	s.waitRunning(t, "pr", 1, "--- Execute  1: sleep 2")
	s.waitRunning(t, "pc", 1, "--- Execute  1: sleep 30")
	if j := s.act(t, "pause", "pr"); j.Status != "paused" {
		t.Errorf("pause of a running job: status %q, want paused", j.Status)
	}
	if j := s.act(t, "pause", "pc"); j.Status != "paused" {
		t.Errorf("pause of a running job: status %q, want paused", j.Status)
	}
	s.act(t, "cancel", "pc")
	var pc jobView
	waitFor(t, 20*time.Second, "pc #1 canceled", func() bool {
		pc = s.job(t, "pc")
		return len(pc.Logs) == 1 && pc.Logs[0].Status == "canceled"
	})
	if pc.Status != "paused" {
		t.Errorf("pc after cancel of its run: status %q, want paused (IMP-3)", pc.Status)
	}
	var pr jobView
	waitFor(t, 60*time.Second, "pr #1 finished", func() bool {
		pr = s.job(t, "pr")
		return len(pr.Logs) == 1 && finished(pr.Logs[0].Status)
	})
	if pr.Logs[0].Status != "success" || pr.Status != "paused" {
		t.Errorf("pr after its run: log %q job %q, want success and paused (IMP-3)", pr.Logs[0].Status, pr.Status)
	}
	wantError(t, s.trigger(t, "pr", testSecret), http.StatusPreconditionFailed, "job is paused", "ERR_JOB_PAUSED")
}

// TestGlobalLimit checks max_job_running = 1 (SPEC 7.5): a second job waits
// without a log or counter, keeps its previous status, and runs after.
func TestGlobalLimit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeConfig(t, dir, strings.Replace(configHeader(dir), "max_job_running = 4", "max_job_running = 1", 1)+`
[job.first]
path = "/first"
commands = ["sleep 2"]

[job.second]
path = "/second"
commands = ["echo second"]
`)
	s := startDir(t, dir)
	wantEnvelope(t, s.trigger(t, "first", testSecret), http.StatusOK)
	s.waitRunning(t, "first", 1, "--- Execute  0: sleep 2")
	wantEnvelope(t, s.trigger(t, "second", testSecret), http.StatusOK)
	// While first runs, second waits: no log, previous status.
	for i := 0; i < 5; i++ {
		j := s.environment(t)
		if j.Jobs["first"].Status != "running" {
			break
		}
		if sec := j.Jobs["second"]; sec.Status != "started" || len(sec.Logs) != 0 {
			t.Fatalf("second while first runs (max_job_running 1): status %q logs %v, want started and none", sec.Status, sec.Logs)
		}
		time.Sleep(100 * time.Millisecond) // sampling, not synchronisation
	}
	if st := s.waitRun(t, "second", 1, 60*time.Second); st != "success" {
		t.Errorf("second #1: %q", st)
	}
	if j := s.job(t, "first"); len(j.Logs) != 1 || j.Logs[0].Status != "success" {
		t.Errorf("first: %v, want #1 success (second must not start before first ended)", j.Logs)
	}
}
