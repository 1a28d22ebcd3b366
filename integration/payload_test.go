package integration

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// githubPush is a trimmed GitHub push event body.
const githubPush = `{"ref":"refs/heads/main","before":"0000","after":"abc123",` +
	`"repository":{"id":42,"full_name":"octo/hello","private":false},` +
	`"pusher":{"name":"octo"},"size":2,"forced":false,` +
	`"head_commit":{"id":"abc123","message":"fix <b> & 'q'"},` +
	`"commits":[{"id":"c1"},{"id":"abc123"}]}`

// githubTrigger sends body to path signed as GitHub signs it, with the
// event header.
func (s *server) githubTrigger(t *testing.T, path, secret string, body []byte) response {
	t.Helper()
	return s.raw(t, http.MethodPost, "/karajo/api/job_exec/run/"+path, map[string]string{
		"Content-Type":        "application/json",
		"X-GitHub-Event":      "push",
		"X-Hub-Signature-256": "sha256=" + sign(secret, body),
	}, body)
}

// TestPayload: a GitHub push body reaches the commands through each
// pass_payload mode, pass_headers and payload_env; the payload file is
// gone after the run; a 100 KiB body with pass_payload = "env" fails the
// run with its log line.
func TestPayload(t *testing.T) {
	t.Parallel()
	s := start(t, `
[job.viafile]
path = "/p-file"
auth_kind = "github"
secret = "gh"
pass_payload = "file"
pass_headers = ["X-GitHub-Event", "X-Not-Sent"]
payload_env = { REF = "ref", REPO = "repository.full_name", SIZE = "size", FORCED = "forced", HEAD = "head_commit", SECOND = "commits.1.id", NONE = "missing.path" }
commands = [
	"cat \"$KARAJO_PAYLOAD_FILE\"; echo",
	"echo file=$KARAJO_PAYLOAD_FILE",
	"echo event=$KARAJO_HEADER_X_GITHUB_EVENT ref=$REF repo=$REPO size=$SIZE forced=$FORCED second=$SECOND none=${NONE-unset} notsent=${KARAJO_HEADER_X_NOT_SENT-unset}",
	"echo \"head=$HEAD\"",
	"stat -c mode=%a \"$KARAJO_PAYLOAD_FILE\"",
	"echo stdin=$(cat | wc -c) env=${KARAJO_PAYLOAD-unset}",
]

[job.viastdin]
path = "/p-stdin"
auth_kind = "github"
secret = "gh"
pass_payload = "stdin"
commands = ["cat; echo", "echo second=$(wc -c) file=${KARAJO_PAYLOAD_FILE-unset}"]

[job.viaenv]
path = "/p-env"
auth_kind = "github"
secret = "gh"
pass_payload = "env"
commands = ["printf 'env=%s\\n' \"$KARAJO_PAYLOAD\""]

[job.nopayload]
path = "/p-none"
auth_kind = "github"
secret = "gh"
commands = ["echo none=${KARAJO_PAYLOAD-unset}${KARAJO_PAYLOAD_FILE-unset}${KARAJO_HEADER_X_GITHUB_EVENT-unset}"]
`)
	body := []byte(githubPush)
	for _, p := range []string{"p-file", "p-stdin", "p-env", "p-none"} {
		wantEnvelope(t, s.githubTrigger(t, p, "gh", body), http.StatusOK)
	}
	for _, id := range []string{"viafile", "viastdin", "viaenv", "nopayload"} {
		if st := s.waitRun(t, id, 1, 60*time.Second); st != "success" {
			t.Fatalf("%s #1: %q\n%s", id, st, s.logOf(t, id, 1).Content)
		}
	}

	lines := logLines(t, "viafile", s.logOf(t, "viafile", 1).Content)
	for _, want := range []string{
		githubPush,
		"event=push ref=refs/heads/main repo=octo/hello size=2 forced=false second=abc123 none=unset notsent=unset",
		`head={"id":"abc123","message":"fix <b> & 'q'"}`,
		"mode=600",
		"stdin=0 env=unset",
	} {
		if !jhHas(lines, want) {
			t.Errorf("viafile log lacks %q:\n%s", want, strings.Join(lines, "\n"))
		}
	}
	var file string
	for _, l := range lines {
		if f, ok := strings.CutPrefix(l, "file="); ok {
			file = f
		}
	}
	if !filepath.IsAbs(file) || strings.HasPrefix(file, filepath.Join(s.dir, "var", "log")) {
		t.Errorf("payload file %q: want an absolute path outside the log directories", file)
	} else if _, err := os.Stat(file); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("payload file %s after the run: %v, want it gone", file, err)
	}

	lines = logLines(t, "viastdin", s.logOf(t, "viastdin", 1).Content)
	if !jhHas(lines, githubPush) || !jhHas(lines, fmt.Sprintf("second=%d file=unset", len(githubPush))) {
		t.Errorf("viastdin: want the body on both commands' stdin:\n%s", strings.Join(lines, "\n"))
	}
	if lines = logLines(t, "viaenv", s.logOf(t, "viaenv", 1).Content); !jhHas(lines, "env="+githubPush) {
		t.Errorf("viaenv: want KARAJO_PAYLOAD:\n%s", strings.Join(lines, "\n"))
	}
	if lines = logLines(t, "nopayload", s.logOf(t, "nopayload", 1).Content); !jhHas(lines, "none=unsetunsetunset") {
		t.Errorf("nopayload: want no payload variables:\n%s", strings.Join(lines, "\n"))
	}

	t.Run("run now has no payload", func(t *testing.T) {
		form := controlBody("viastdin")
		r := s.raw(t, http.MethodPost, "/karajo/api/job_exec/run_now", map[string]string{
			"Content-Type": "application/x-www-form-urlencoded", "X-Karajo-Sign": sign(testSecret, []byte(form)),
		}, []byte(form))
		wantEnvelope(t, r, http.StatusOK)
		if st := s.waitRun(t, "viastdin", 2, 60*time.Second); st != "success" {
			t.Fatalf("viastdin #2: %q", st)
		}
		if lines := logLines(t, "viastdin", s.logOf(t, "viastdin", 2).Content); !jhHas(lines, "second=0 file=unset") {
			t.Errorf("viastdin #2 (run now): want an empty stdin and no payload file:\n%s", strings.Join(lines, "\n"))
		}
	})

	t.Run("100 KiB with env", func(t *testing.T) {
		big := []byte(`{"pad":"` + strings.Repeat("x", 100<<10) + `"}`)
		wantEnvelope(t, s.githubTrigger(t, "p-env", "gh", big), http.StatusOK)
		if st := s.waitRun(t, "viaenv", 2, 60*time.Second); st != "failed" {
			t.Fatalf("viaenv #2: %q, want failed", st)
		}
		content := s.logOf(t, "viaenv", 2).Content
		want := fmt.Sprintf(`!!! job: viaenv: payload of %d bytes is over 64 KiB: pass_payload = "env" cannot carry it`, len(big))
		if !bytes.Contains(content, []byte(want)) || bytes.Contains(content, []byte("env=")) {
			t.Errorf("viaenv #2 log: want %q and no command run:\n%s", want, tail(string(content), 2000))
		}
	})
}

// TestPayloadFileAfterCrash: the payload file of a run that a SIGKILL of
// the server interrupted is removed at the next start.
func TestPayloadFileAfterCrash(t *testing.T) {
	t.Parallel()
	s := start(t, `
[job.slow]
path = "/slow"
pass_payload = "file"
commands = ["echo \"payload at $KARAJO_PAYLOAD_FILE\"", "sleep 30"]
`)
	t.Cleanup(func() { killOrphans(s.workDir("slow")) })
	wantEnvelope(t, s.trigger(t, "slow", testSecret), http.StatusOK)
	l := s.waitRunning(t, "slow", 1, "payload at /")
	m := regexp.MustCompile(`payload at (/\S+)`).FindSubmatch(l.Content)
	if m == nil {
		t.Fatalf("no payload path in %s", l.Content)
	}
	file := string(m[1])
	if _, err := os.Stat(file); err != nil {
		t.Fatalf("payload file while the run goes: %v", err)
	}
	s.kill9()
	if _, err := os.Stat(file); err != nil {
		t.Fatalf("payload file after SIGKILL: %v, want it still there (nobody removed it)", err)
	}
	s = s.restart(t)
	if _, err := os.Stat(file); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("payload file after the restart: %v, want it gone", err)
	}
	if !strings.Contains(s.stderr.String(), "removed payload files left by a crash") {
		t.Errorf("no log line about the removed payload file:\n%s", s.stderr.String())
	}
}
