package integration

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// This file tests the webhook and Slack notifs and the alert rules of
// issue 16 against real HTTP receivers on loopback, with the real binary.

// hookRecv is an HTTP receiver on 127.0.0.1 recording every POST. Its
// answers: codes in turn, then 200; each after delay.
type hookRecv struct {
	srv   *httptest.Server
	mu    sync.Mutex
	posts []hookReq
	codes []int
	delay time.Duration
}

// hookReq is one request a hookRecv got, and when its answer was sent.
type hookReq struct {
	header   http.Header
	body     []byte
	answered time.Time
}

// newHookRecv starts a receiver; tls serves https with httptest's
// certificate (the server under test trusts it through SSL_CERT_FILE).
func newHookRecv(t *testing.T, tls bool, delay time.Duration, codes ...int) *hookRecv {
	t.Helper()
	h := &hookRecv{codes: codes, delay: delay}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		code := http.StatusOK
		if len(h.codes) > 0 {
			code, h.codes = h.codes[0], h.codes[1:]
		}
		h.mu.Unlock()
		time.Sleep(h.delay)
		h.mu.Lock()
		h.posts = append(h.posts, hookReq{header: r.Header.Clone(), body: body, answered: time.Now()})
		h.mu.Unlock()
		w.WriteHeader(code)
	})
	if tls {
		h.srv = httptest.NewTLSServer(handler)
	} else {
		h.srv = httptest.NewServer(handler)
	}
	t.Cleanup(h.srv.Close)
	return h
}

// got returns the requests received so far.
func (h *hookRecv) got() []hookReq {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookReq(nil), h.posts...)
}

// docs decodes the bodies received so far as JSON objects.
func (h *hookRecv) docs(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, p := range h.got() {
		var m map[string]any
		if err := json.Unmarshal(p.body, &m); err != nil {
			t.Fatalf("body %q: %v", p.body, err)
		}
		out = append(out, m)
	}
	return out
}

// certFile writes the TLS server's certificate as a PEM file.
func certFile(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ca.pem")
	data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestNotifWebhookAndSlack: a failed run is POSTed to every receiver
// without blocking the job: signed to the webhook (checked here), retried
// after a 500, waited for by a slow receiver while the job runs again,
// given up on a dead one, and posted to Slack over https with the log link.
// Neither the webhook secret nor the Slack URL's path reaches the log.
func TestNotifWebhookAndSlack(t *testing.T) {
	hook := newHookRecv(t, false, 0)
	flaky := newHookRecv(t, false, 0, 500)
	slow := newHookRecv(t, false, 4*time.Second)
	chat := newHookRecv(t, true, 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String() + "/dead"
	ln.Close()
	const hookSecret = "whsec-0123456789"
	dir := t.TempDir()
	writeConfig(t, dir, configHeader(dir)+fmt.Sprintf(`public_url = "https://karajo.example.com/"

[notif.hook]
kind = "webhook"
url = %q
secret = %q

[notif.flaky]
kind = "webhook"
url = %q

[notif.slow]
kind = "webhook"
url = %q

[notif.dead]
kind = "webhook"
url = %q

[notif.chat]
kind = "slack"
url = %q

[job."Nightly Backup"]
path = "/backup"
commands = ["echo one", "echo two", "exit 3"]
notif_on_failed = ["hook", "flaky", "slow", "dead", "chat"]
`, hook.srv.URL+"/in", hookSecret, flaky.srv.URL, slow.srv.URL, dead, chat.srv.URL+"/services/T000/B000/slacktok3n"))
	s := startDirEnv(t, dir, []string{"SSL_CERT_FILE=" + certFile(t, chat.srv)})

	wantEnvelope(t, s.trigger(t, "/backup", testSecret), http.StatusOK)
	if st := s.waitRun(t, "Nightly Backup", 1, 30*time.Second); st != "failed" {
		t.Fatalf("run #1 = %q, want failed", st)
	}
	// The slow receiver holds its POST for 4 s: the job runs again meanwhile.
	wantEnvelope(t, s.trigger(t, "/backup", testSecret), http.StatusOK)
	s.waitRun(t, "Nightly Backup", 2, 30*time.Second)
	run2 := time.Now()

	waitFor(t, 30*time.Second, "webhook POST", func() bool { return len(hook.got()) >= 1 })
	p := hook.got()[0]
	mac := hmac.New(sha256.New, []byte(hookSecret))
	mac.Write(p.body)
	if got := p.header.Get("X-Karajo-Sign"); !hmac.Equal([]byte(got), []byte(hex.EncodeToString(mac.Sum(nil)))) {
		t.Fatalf("X-Karajo-Sign %q is not the hex HMAC-SHA256 of the body", got)
	}
	doc := hook.docs(t)[0]
	for k, v := range map[string]any{"event": "run", "job_id": "nightly_backup", "job_name": "Nightly Backup", "kind": "job",
		"counter": 1.0, "status": "failed", "trigger": "webhook",
		"log_url": "https://karajo.example.com/karajo/job_exec/log/?counter=1&id=nightly_backup"} {
		if doc[k] != v {
			t.Errorf("webhook %s = %v, want %v", k, doc[k], v)
		}
	}
	if _, err := time.Parse(time.RFC3339, fmt.Sprint(doc["started"])); err != nil {
		t.Errorf("started = %v: %v", doc["started"], err)
	}
	if d, ok := doc["duration"].(float64); !ok || d < 0 || d > 30 {
		t.Errorf("duration = %v, want seconds", doc["duration"])
	}
	if lines := fmt.Sprint(doc["log"]); !strings.Contains(lines, "one") || !strings.Contains(lines, "two") {
		t.Errorf("log = %s, want the run's last lines", lines)
	}

	waitFor(t, 30*time.Second, "flaky receiver: 500 then 200", func() bool { return len(flaky.got()) >= 2 })
	waitFor(t, 30*time.Second, "slow receiver", func() bool { return len(slow.got()) >= 1 })
	if first := slow.got()[0].answered; !run2.Before(first) {
		t.Errorf("run #2 ended %v, not before the slow receiver answered #1 (%v): the job waited", run2, first)
	}
	waitFor(t, 30*time.Second, "slack POST", func() bool { return len(chat.got()) >= 1 })
	var msg struct {
		Text        string           `json:"text"`
		Attachments []map[string]any `json:"attachments"`
	}
	if err := json.Unmarshal(chat.got()[0].body, &msg); err != nil || len(msg.Attachments) != 1 {
		t.Fatalf("slack message %s: %v", chat.got()[0].body, err)
	}
	if a := msg.Attachments[0]; a["color"] != "#d50200" || !strings.Contains(msg.Text, "|log>") ||
		!strings.Contains(fmt.Sprint(a["fields"]), "Nightly Backup (nightly_backup)") {
		t.Errorf("slack message %+v", msg)
	}
	waitFor(t, 30*time.Second, "a failed attempt logged for the dead receiver", func() bool {
		return strings.Contains(s.stderr.String(), `msg="notification attempt failed" notif=dead job=nightly_backup`)
	})
	waitFor(t, 30*time.Second, "flaky delivery logged", func() bool {
		return strings.Contains(s.stderr.String(), `msg="notification sent" notif=flaky job=nightly_backup counter=1 event=run attempt=2`)
	})
	metrics := string(s.get(t, "/metrics").body)
	if !strings.Contains(metrics, `karajo_notifications_total{kind="webhook",result="sent"}`) {
		t.Errorf("metrics lack karajo_notifications_total")
	}
	for _, secret := range []string{hookSecret, "slacktok3n", "/services/T000"} {
		if strings.Contains(s.stderr.String(), secret) || strings.Contains(metrics, secret) {
			t.Errorf("%q appears in the log or the metrics", secret)
		}
	}
	if r := s.get(t, "/karajo/api/environment"); strings.Contains(string(r.body), hookSecret) || strings.Contains(string(r.body), "slacktok3n") {
		t.Errorf("the API shows a notif secret")
	}
}

// TestNotifStreakAndRecovered: with notif_on_failed_streak = 2 the webhook
// hears of the second failure in a row only, once per streak, and of the
// first success after it (notif_on_recovered); the metric counts the
// failures in a row.
func TestNotifStreakAndRecovered(t *testing.T) {
	hook := newHookRecv(t, false, 0)
	dir := t.TempDir()
	flag := filepath.Join(dir, "fail")
	writeConfig(t, dir, configHeader(dir)+fmt.Sprintf(`
[notif.hook]
kind = "webhook"
url = %q

[job.flappy]
path = "/flappy"
commands = ["test ! -e %s"]
notif_on_failed = ["hook"]
notif_on_failed_streak = 2
notif_on_recovered = ["hook"]
`, hook.srv.URL, flag))
	s := startDir(t, dir)
	if err := os.WriteFile(flag, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(n int64, want string) {
		t.Helper()
		wantEnvelope(t, s.trigger(t, "/flappy", testSecret), http.StatusOK)
		if st := s.waitRun(t, "flappy", n, 30*time.Second); st != want {
			t.Fatalf("run #%d = %q, want %q", n, st, want)
		}
	}
	run(1, "failed")
	run(2, "failed")
	waitFor(t, 30*time.Second, "streak POST", func() bool { return len(hook.got()) == 1 })
	run(3, "failed")
	if !strings.Contains(string(s.get(t, "/metrics").body), `karajo_job_consecutive_failures{job="flappy",kind="job"} 3`) {
		t.Errorf("metrics lack karajo_job_consecutive_failures 3")
	}
	if err := os.Remove(flag); err != nil {
		t.Fatal(err)
	}
	run(4, "success")
	waitFor(t, 30*time.Second, "recovered POST", func() bool { return len(hook.got()) == 2 })
	run(5, "success")
	time.Sleep(500 * time.Millisecond) // a wrong POST would come now
	docs := hook.docs(t)
	if len(docs) != 2 {
		t.Fatalf("%d POSTs, want 2 (streak, recovered): %v", len(docs), docs)
	}
	if docs[0]["event"] != "failed_streak" || docs[0]["counter"] != 2.0 ||
		!strings.Contains(fmt.Sprint(docs[0]["message"]), "job flappy: failed 2 times in a row since ") {
		t.Errorf("first POST %v, want the streak at run #2", docs[0])
	}
	if docs[1]["event"] != "recovered" || docs[1]["counter"] != 4.0 ||
		!strings.Contains(fmt.Sprint(docs[1]["message"]), "job flappy: recovered: run #4 succeeded after 3 failures in a row since ") {
		t.Errorf("second POST %v, want recovered at run #4", docs[1])
	}
	if !strings.Contains(string(s.get(t, "/metrics").body), `karajo_job_consecutive_failures{job="flappy",kind="job"} 0`) {
		t.Errorf("metrics: consecutive failures not back to 0")
	}
}

// TestNotifDeadMansSwitchAcrossRestart: a job whose last success (in its
// kept logs) is older than alert_if_no_success_within alerts at start,
// once: not again after a restart; a success then is a recovery and
// re-arms the switch, and the next start does not alert.
func TestNotifDeadMansSwitchAcrossRestart(t *testing.T) {
	hook := newHookRecv(t, false, 0)
	dir := t.TempDir()
	writeConfig(t, dir, configHeader(dir)+fmt.Sprintf(`
[notif.hook]
kind = "webhook"
url = %q

[job.nightly]
path = "/nightly"
commands = ["true"]
alert_if_no_success_within = "1h"
notif_on_alert = ["hook"]
notif_on_recovered = ["hook"]
`, hook.srv.URL))
	// What an earlier server left: a success three hours ago.
	logDir := filepath.Join(dir, "var", "log", "karajo", "job", "nightly")
	if err := os.MkdirAll(logDir, 0o700); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(logDir, "nightly.1.success")
	if err := os.WriteFile(old, []byte("2026-01-01 00:00:00 UTC job: nightly: ok\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ended := time.Now().Add(-3 * time.Hour).Truncate(time.Second)
	if err := os.Chtimes(old, ended, ended); err != nil {
		t.Fatal(err)
	}

	s := startDir(t, dir)
	waitFor(t, 30*time.Second, "the alert at start", func() bool { return len(hook.got()) == 1 })
	doc := hook.docs(t)[0]
	want := fmt.Sprintf("job nightly: no successful run within 1h0m0s: the last one ended %s", ended.UTC().Format(time.RFC3339))
	if doc["event"] != "no_success" || doc["message"] != want || doc["job_id"] != "nightly" {
		t.Fatalf("alert %v, want event no_success, message %q", doc, want)
	}

	s = s.restart(t)
	time.Sleep(time.Second) // an alert at start would come now
	if n := len(hook.got()); n != 1 {
		t.Fatalf("%d POSTs after the restart, want still 1: the alert fires once", n)
	}
	wantEnvelope(t, s.trigger(t, "/nightly", testSecret), http.StatusOK)
	s.waitRun(t, "nightly", 2, 30*time.Second)
	waitFor(t, 30*time.Second, "recovered", func() bool { return len(hook.got()) == 2 })
	if d := hook.docs(t)[1]; d["event"] != "recovered" ||
		!strings.Contains(fmt.Sprint(d["message"]), "job nightly: recovered: run #2 succeeded, the first success since "+ended.UTC().Format(time.RFC3339)) {
		t.Fatalf("recovered %v", d)
	}
	s = s.restart(t)
	time.Sleep(time.Second)
	if n := len(hook.got()); n != 2 {
		t.Fatalf("%d POSTs after a recent success and a restart, want 2", n)
	}
	s.stop()
}
