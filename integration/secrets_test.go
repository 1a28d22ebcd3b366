package integration

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The secrets of TestSecretsOutOfSight: one from an env_file (secret by
// default), one from env named by secret_env.
const (
	fileSecret = "tok-s3cr3t-1234"
	envSecret  = "pw-s3cr3t-5678"
)

// sseCollector reads the event stream into a buffer until the test ends.
type sseCollector struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (c *sseCollector) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

// collectEvents subscribes to /karajo/api/events and keeps what arrives.
func (s *server) collectEvents(t *testing.T) *sseCollector {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/karajo/api/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("events: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		cancel()
		t.Fatalf("events: %s", resp.Status)
	}
	c := &sseCollector{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 0, 1<<16), 1<<24)
		for sc.Scan() {
			c.mu.Lock()
			c.buf.WriteString(sc.Text() + "\n")
			c.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		cancel()
		resp.Body.Close()
		<-done
	})
	return c
}

// TestSecretsOutOfSight: a secret from env_file and one named by
// secret_env never appear in the run log (also printed in two pieces),
// the environment API, the event stream, a notification or karajo's own
// output; a variable that is not secret is printed as it is.
func TestSecretsOutOfSight(t *testing.T) {
	t.Parallel()
	smtp := jhNewSMTP(t, "plain", "", "")
	dir := t.TempDir()
	writeEnvFile(t, dir, "secret.env", "TOKEN="+fileSecret+"\n")
	half := len(envSecret) / 2
	writeConfig(t, dir, configHeader(dir)+fmt.Sprintf(`
[notif.mail]
kind = "email"
smtp_server = "smtp://%s"
from = "karajo@example.com"
to = ["ops@example.com"]

[job.secret]
path = "/secret"
env = { DB_PASSWORD = %q, PUBLIC = "visible-value" }
env_file = "secret.env"
secret_env = ["DB_PASSWORD"]
notif_on_success = ["mail"]
commands = [
	"echo token=$TOKEN",
	"printf 'split=%%s' \"$(echo $DB_PASSWORD | cut -c1-%d)\"; sleep 0.3; echo \"$DB_PASSWORD\" | cut -c%d-",
	"echo public=$PUBLIC",
	"env",
]
`, smtp.addr, envSecret, half, half+1))
	s := startDir(t, dir)
	events := s.collectEvents(t)
	wantEnvelope(t, s.trigger(t, "secret", testSecret), http.StatusOK)
	if st := s.waitRun(t, "secret", 1, 60*time.Second); st != "success" {
		t.Fatalf("secret #1: %q\n%s", st, s.logOf(t, "secret", 1).Content)
	}
	_, _, mailBody := jhWaitMail(t, smtp, "job: secret: #1: success")

	disk, err := os.ReadFile(filepath.Join(s.logDir("secret"), "secret.1.success"))
	if err != nil {
		t.Fatal(err)
	}
	lines := logLines(t, "secret", disk)
	for _, want := range []string{"token=***", "split=***", "public=visible-value", "TOKEN=***", "DB_PASSWORD=***", "PUBLIC=visible-value"} {
		if !jhHas(lines, want) {
			t.Errorf("log lacks the line %q:\n%s", want, disk)
		}
	}
	env := s.get(t, "/karajo/api/environment")
	for what, text := range map[string]string{
		"log file":        string(disk),
		"log API":         string(s.logOf(t, "secret", 1).Content),
		"environment API": string(env.body),
		"event stream":    events.String(),
		"notification":    mailBody,
		"karajo's output": s.stderr.String(),
	} {
		for _, secret := range []string{fileSecret, envSecret, envSecret[:half+2], envSecret[half-2:]} {
			if strings.Contains(text, secret) {
				t.Errorf("%s shows secret text %q:\n%s", what, secret, tail(text, 4000))
			}
		}
	}
	if !strings.Contains(events.String(), "secret") {
		t.Errorf("the event stream carried nothing of job secret:\n%s", events.String())
	}
}

// TestJobHTTPExpandAndSuccess: a JobHttp sends a header and URL expanded from
// its environment, its log masks the secret, http_success decides success
// and http_epoch = false sends no _karajo_epoch.
func TestJobHTTPExpandAndSuccess(t *testing.T) {
	t.Parallel()
	rec := jhNewRecorder(t, false, func(w http.ResponseWriter, r *http.Request) bool {
		if strings.HasPrefix(r.URL.Path, "/nocontent") {
			w.WriteHeader(http.StatusNoContent)
			return true
		}
		return false
	})
	dir := t.TempDir()
	writeEnvFile(t, dir, "api.env", "API_TOKEN="+fileSecret+"\n")
	writeConfig(t, dir, configHeader(dir)+fmt.Sprintf(`
env = { API_BASE = %q }

[job_http.auth]
interval = "1m"
env_file = "api.env"
http_url = "${API_BASE}/nocontent/$KARAJO_JOB_ID"
http_headers = ["Authorization: Bearer $API_TOKEN"]
http_success = [200, 204]
http_epoch = false

[job_http.strict]
interval = "1m"
http_url = "$API_BASE/nocontent/strict"
`, rec.srv.URL))
	s := startDir(t, dir)
	if st := s.jhWaitRun(t, "auth", 1, 60*time.Second); st != "success" {
		t.Errorf("auth #1: %q, want success (204 is in http_success)\n%s", st, s.jhLog(t, "auth", 1).Content)
	}
	if st := s.jhWaitRun(t, "strict", 1, 60*time.Second); st != "failed" {
		t.Errorf("strict #1: %q, want failed (204 with the default http_success)", st)
	}
	got := rec.got("/nocontent/auth")
	if len(got) == 0 {
		t.Fatal("no request reached /nocontent/auth")
	}
	if h := got[0].header.Get("Authorization"); h != "Bearer "+fileSecret {
		t.Errorf("Authorization = %q, want the expanded token", h)
	}
	if got[0].target != "/nocontent/auth" {
		t.Errorf("target %q: want no query (http_epoch = false)", got[0].target)
	}
	if st := rec.got("/nocontent/strict"); len(st) == 0 || !strings.Contains(st[0].target, "_karajo_epoch=") {
		t.Errorf("strict: %v, want _karajo_epoch in the query", st)
	}
	content := string(s.jhLog(t, "auth", 1).Content)
	if strings.Contains(content, fileSecret) || !strings.Contains(content, "Authorization: Bearer ***") {
		t.Errorf("JobHttp log does not mask the token:\n%s", content)
	}
	if v := s.jhGet(t, "auth"); v.HTTPURL != "${API_BASE}/nocontent/$KARAJO_JOB_ID" || v.HTTPHeaders[0] != "Authorization: Bearer $API_TOKEN" {
		t.Errorf("API shows %q %q, want the configured text", v.HTTPURL, v.HTTPHeaders)
	}
}
