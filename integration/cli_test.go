package integration

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cliResult is what one run of the karajo binary as a client gave.
type cliResult struct {
	out, err string
	code     int
}

func (r cliResult) String() string {
	return fmt.Sprintf("exit %d, stdout %q, stderr %q", r.code, shorten(r.out), r.err)
}

// cli runs the karajo binary with args and the extra environment env
// (KARAJO_URL and KARAJO_SECRET are cleared unless env sets them).
func cli(t *testing.T, env []string, args ...string) cliResult {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Env = append(os.Environ(), "KARAJO_URL=", "KARAJO_SECRET=", "NO_COLOR=")
	cmd.Env = append(cmd.Env, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := cliResult{out: out.String(), err: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("karajo %q: %v", args, err)
	}
	return r
}

// wantCLI requires exit code and that stdout contains every string of out.
func wantCLI(t *testing.T, r cliResult, code int, out ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("want exit %d: %v", code, r)
	}
	for _, s := range out {
		if !strings.Contains(r.out, s) {
			t.Fatalf("stdout lacks %q: %v", s, r)
		}
	}
}

// wantCLIError requires exit code and exactly one line on stderr that
// contains msg, and nothing on stdout.
func wantCLIError(t *testing.T, r cliResult, code int, msg string) {
	t.Helper()
	if r.code != code || r.out != "" || strings.Count(r.err, "\n") != 1 || !strings.Contains(r.err, msg) {
		t.Fatalf("want exit %d and one line with %q on stderr: %v", code, msg, r)
	}
}

const cliJobs = `
[job."Slow"]
commands = ["echo started", "sleep 30"]

[job."Quick"]
commands = ["echo quick $KARAJO_JOB_COUNTER"]

[job."Fails"]
commands = ["echo about to fail", "false"]

[job_http."Ping"]
http_method = "GET"
http_url = "/karajo/api/health"
`

func TestCLIClient(t *testing.T) {
	s := start(t, cliJobs)
	url := "-url=" + s.base
	sec := "-secret=" + testSecret

	// status: a table of every job, and JSON.
	r := cli(t, nil, "status", url)
	wantCLI(t, r, 0, "JOB", "KIND", "STATUS", "LAST RUN", "NEXT RUN", "RUNNING")
	for _, id := range []string{"slow", "quick", "fails", "ping"} {
		if !strings.Contains(r.out, "\n"+id+" ") {
			t.Fatalf("status: no row for %s: %v", id, r)
		}
	}
	if strings.Contains(r.out, "\x1b[") {
		t.Fatalf("status: colour on a pipe: %v", r)
	}
	r = cli(t, nil, "status", url, "-o", "json", "quick", "ping")
	wantCLI(t, r, 0)
	var arr []map[string]any
	if err := json.Unmarshal([]byte(r.out), &arr); err != nil || len(arr) != 2 ||
		arr[0]["id"] != "quick" || arr[0]["kind"] != "job_exec" || arr[1]["id"] != "ping" || arr[1]["kind"] != "job_http" {
		t.Fatalf("status -o json: %v, %v", err, r)
	}
	wantCLIError(t, cli(t, nil, "status", url, "nope"), 3, "job not found: nope")
	wantCLIError(t, cli(t, nil, "status", url, "-o", "yaml"), 2, `-o "yaml"`)

	// run -wait: the log, and the exit code follows the run.
	r = cli(t, nil, "run", url, sec, "-wait", "quick")
	wantCLI(t, r, 0, "quick: run #1 triggered", "quick 1\n", "quick: run #1 ended success")
	r = cli(t, nil, "run", url, sec, "-wait", "fails")
	if r.code != 4 || !strings.Contains(r.out, "about to fail") || !strings.Contains(r.err, "fails: run #1 ended failed") {
		t.Fatalf("run -wait of a failing job: %v", r)
	}
	wantCLI(t, cli(t, nil, "run", url, sec, "-wait", "ping"), 0, "ping: run #1 ended success")
	wantCLIError(t, cli(t, nil, "run", url, sec, "nope"), 3, "job not found: nope")
	wantCLIError(t, cli(t, nil, "run", url, "-secret=wrong", "quick"), 3, "empty or invalid signature")

	// logs: the newest run without COUNTER, or the one asked for.
	wantCLI(t, cli(t, nil, "run", url, sec, "-wait", "quick"), 0, "quick 2\n")
	r = cli(t, nil, "logs", url, "quick")
	wantCLI(t, r, 0, "quick 2\n")
	if strings.Contains(r.out, "quick 1\n") {
		t.Fatalf("logs quick gave an older run: %v", r)
	}
	wantCLI(t, cli(t, nil, "logs", url, "quick", "1"), 0, "quick 1\n")
	wantCLI(t, cli(t, nil, "logs", url, "ping"), 0, "HTTP/1.1 200 OK")
	wantCLIError(t, cli(t, nil, "logs", url, "quick", "99"), 3, "log #99 not found")
	wantCLIError(t, cli(t, nil, "logs", url, "nope"), 3, "nope not found")
	wantCLIError(t, cli(t, nil, "logs", url, "slow"), 3, "slow has no runs yet")
	wantCLIError(t, cli(t, nil, "logs", url, "quick", "x"), 2, `COUNTER "x"`)

	// history: the runs kept, newest first, with start and duration.
	r = cli(t, nil, "history", url, "quick")
	wantCLI(t, r, 0, "RUN", "STATUS", "STARTED", "DURATION", "TRIGGER")
	if lines := strings.Split(strings.TrimSpace(r.out), "\n"); len(lines) != 3 ||
		!strings.HasPrefix(strings.Join(strings.Fields(lines[1]), " "), "#2 success 20") ||
		!strings.HasPrefix(strings.Join(strings.Fields(lines[2]), " "), "#1 success 20") {
		t.Fatalf("history quick: %v", r)
	}
	r = cli(t, nil, "history", url, "-o", "json", "-n", "1", "fails")
	var runs []struct {
		Counter int64     `json:"counter"`
		Status  string    `json:"status"`
		Started time.Time `json:"started"`
	}
	if err := json.Unmarshal([]byte(r.out), &runs); err != nil || len(runs) != 1 || runs[0].Counter != 1 ||
		runs[0].Status != "failed" || time.Since(runs[0].Started) > time.Hour {
		t.Fatalf("history -o json fails: %v, %v", err, r)
	}
	wantCLIError(t, cli(t, nil, "history", url, "nope"), 3, "job not found: nope")

	// pause, resume (both kinds), a paused job refuses to run.
	wantCLI(t, cli(t, nil, "pause", url, sec, "quick"), 0, "quick: paused (status paused)")
	wantCLIError(t, cli(t, nil, "run", url, sec, "quick"), 3, "job is paused")
	wantCLI(t, cli(t, nil, "resume", url, sec, "quick"), 0, "quick: resumed (status started)")
	wantCLI(t, cli(t, nil, "pause", url, sec, "ping"), 0, "ping: paused (status paused)")
	wantCLI(t, cli(t, nil, "resume", url, sec, "ping"), 0, "ping: resumed (status started)")
	wantCLIError(t, cli(t, nil, "pause", url, sec, "nope"), 3, "job not found: nope")
	wantCLIError(t, cli(t, nil, "pause", url, "-secret=wrong", "quick"), 3, "empty or invalid signature")
	wantCLIError(t, cli(t, nil, "cancel", url, sec, "ping"), 2, "only exec jobs")

	// cancel the run in progress.
	wantCLI(t, cli(t, nil, "run", url, sec, "slow"), 0, "slow: run #1 triggered")
	s.waitRunning(t, "slow", 1, "started")
	r = cli(t, nil, "status", url, "slow")
	wantCLI(t, r, 0, "running", "#1")
	wantCLI(t, cli(t, nil, "cancel", url, sec, "slow"), 0, "slow: cancel requested")
	if st := s.waitRun(t, "Slow", 1, 60*time.Second); st == "success" {
		t.Fatalf("canceled run ended %s", st)
	}

	// The environment instead of flags.
	env := []string{"KARAJO_URL=" + s.base, "KARAJO_SECRET=" + testSecret}
	wantCLI(t, cli(t, env, "pause", "quick"), 0, "quick: paused")
	wantCLI(t, cli(t, env, "resume", "quick"), 0, "quick: resumed")
}

func TestCLIBadInput(t *testing.T) {
	// Unreachable: a port nothing listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	for _, args := range [][]string{{"status"}, {"run", "x"}, {"pause", "x"}, {"resume", "x"}, {"cancel", "x"}, {"logs", "x"}, {"history", "x"}} {
		wantCLIError(t, cli(t, nil, append(args, "-url", dead, "-secret", "s")...), 1, "unreachable")
	}
	// Bad flags and arguments: exit 2, one line.
	for _, args := range [][]string{{"status", "-bogus"}, {"run"}, {"run", "a", "b"}, {"pause"}, {"logs"}, {"logs", "a", "1", "2"},
		{"sign"}, {"check", "-bogus"}, {"history"}, {"history", "-n", "0", "x"}, {"status", "-url", "ftp://x"}, {"sign", "body"}} {
		r := cli(t, nil, args...)
		if r.code != 2 || r.out != "" || strings.Count(r.err, "\n") != 1 || !strings.HasPrefix(r.err, "karajo "+args[0]+": ") {
			t.Fatalf("karajo %q: want exit 2 and one line: %v", args, r)
		}
	}
	r := cli(t, nil, "bogus")
	if r.code != 2 || !strings.Contains(r.err, `unknown subcommand or argument "bogus"`) {
		t.Fatalf("karajo bogus: %v", r)
	}
	// A server that answers something that is not an envelope.
	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprint(w, "<html>bad gateway</html>")
	}))
	defer html.Close()
	wantCLIError(t, cli(t, nil, "status", "-url", html.URL), 1, "not a karajo answer")
	wantCLIError(t, cli(t, nil, "pause", "-url", html.URL, "-secret", "s", "x"), 1, "HTTP 502")
}

func TestCLISign(t *testing.T) {
	body := `{"_karajo_epoch":1700000000}`
	want := sign(testSecret, []byte(body)) + "\n"
	wantCLI(t, cli(t, nil, "sign", "-secret", testSecret, body), 0, want)
	wantCLI(t, cli(t, []string{"KARAJO_SECRET=" + testSecret}, "sign", body), 0, want)
	dir := t.TempDir()
	cfg := writeConfig(t, dir, configHeader(dir))
	wantCLI(t, cli(t, nil, "sign", "-config", cfg, body), 0, want)
}

func TestCLIHelp(t *testing.T) {
	for _, arg := range []string{"help", "--help", "-h"} {
		r := cli(t, nil, arg)
		wantCLI(t, r, 0)
		for _, sub := range []string{"serve", "check", "status", "run", "pause", "resume", "cancel", "logs", "history", "sign", "schedule", "hash-password", "version"} {
			if !strings.Contains(r.out, "\n  "+sub+" ") {
				t.Fatalf("karajo %s does not list %s: %v", arg, sub, r)
			}
		}
	}
	r := cli(t, nil, "status", "-h")
	if r.code != 0 || !strings.Contains(r.err, "usage: karajo status") || !strings.Contains(r.err, "-url") {
		t.Fatalf("status -h: %v", r)
	}
}

func TestCLICheck(t *testing.T) {
	dir := t.TempDir()
	good := writeConfig(t, dir, configHeader(dir)+cliJobs)
	wantCLI(t, cli(t, nil, "check", "-config", good), 0, good+": ok: 3 jobs, 1 http job, 0 notifs, 0 users, listening on 127.0.0.1:0")
	if _, err := os.Stat(filepath.Join(dir, "var")); err == nil {
		t.Fatal("check created dir_base's var/: it must not write anything")
	}
	bad := filepath.Join(dir, "bad.toml")
	if err := os.WriteFile(bad, []byte(configHeader(dir)+`
[job."A"]
interval = "5"
commands = ["true"]
[job."B"]
commands = []
`), 0o600); err != nil {
		t.Fatal(err)
	}
	r := cli(t, nil, "check", "-config", bad)
	if r.code != 2 || r.out != "" || !strings.Contains(r.err, bad+`: job."A".interval: invalid duration "5"`) ||
		!strings.Contains(r.err, bad+`: job."B".commands: `) || !strings.Contains(r.err, "invalid configuration (2 problems)") {
		t.Fatalf("check of a bad config: %v", r)
	}
	// The server says the same, once.
	r = cli(t, nil, "serve", "-config", filepath.Join(dir, "none.toml"))
	if r.code != 2 || !strings.Contains(r.err, "none.toml: no such file or directory") ||
		strings.Count(r.err, "invalid configuration") != 1 {
		t.Fatalf("serve with a missing file: %v", r)
	}
	r = cli(t, nil, "check", "-config", filepath.Join(dir, "none.toml"))
	if r.code != 2 || !strings.Contains(r.err, "none.toml: no such file or directory") ||
		strings.Count(r.err, "invalid configuration") != 1 {
		t.Fatalf("check of a missing file: %v", r)
	}
}

// TestCLIServeAndConfig starts the server with `karajo serve -config`,
// talks to it with `-config FILE` (its listen address and secret), and
// with users configured (signed reads).
func TestCLIServeAndConfig(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	hdr := strings.Replace(configHeader(dir), "127.0.0.1:0", addr, 1)
	cfg := writeConfig(t, dir, hdr+cliJobs)
	if err := os.WriteFile(filepath.Join(dir, "etc", "karajo", "user.toml"),
		[]byte("[user.\"alice\"]\npassword = \"$2a$04$0HqcOEn6yJHmNNY3yxSlDOX76pJc2ulMzDS8U.eDO8dC5kU.rMiHi\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := exec.Command(binPath, "serve", "-config", cfg)
	var logb syncBuffer
	srv.Stderr = &logb
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Wait() }()
	defer func() {
		_ = srv.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = srv.Process.Kill()
		}
		if t.Failed() {
			t.Logf("server log:\n%s", tail(logb.String(), 4000))
		}
	}()
	var r cliResult
	waitFor(t, 60*time.Second, "karajo serve answers karajo status -config", func() bool {
		r = cli(t, nil, "status", "-config", cfg)
		return r.code == 0
	})
	wantCLI(t, r, 0, "quick", "ping")
	// With users, a read needs a session or a signature.
	wantCLIError(t, cli(t, nil, "status", "-url", "http://"+addr), 3, "unauthorized")
	wantCLIError(t, cli(t, nil, "status", "-url", "http://"+addr, "-secret", "wrong"), 3, "unauthorized")
	wantCLI(t, cli(t, nil, "run", "-config", cfg, "-wait", "quick"), 0, "quick 1\n")
	wantCLI(t, cli(t, nil, "logs", "-config", cfg, "quick"), 0, "quick 1\n")
}

// TestCLILogsFollow follows a run in progress: lines arrive while the run
// goes, and the command ends with the run, its exit code following it.
func TestCLILogsFollow(t *testing.T) {
	gate := filepath.Join(t.TempDir(), "go")
	s := start(t, fmt.Sprintf(`
[job."Steps"]
commands = ["echo one", "while [ ! -e %s ]; do sleep 0.1; done", "echo two", "test -e %[1]s.ok"]
`, gate))
	url := "-url=" + s.base
	wantCLI(t, cli(t, nil, "run", url, "-secret", testSecret, "steps"), 0, "steps: run #1 triggered")
	s.waitRunning(t, "steps", 1, "one")

	cmd := exec.Command(binPath, "logs", "-f", "steps", url)
	cmd.Env = append(os.Environ(), "KARAJO_URL=", "KARAJO_SECRET=")
	pr, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errb syncBuffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(pr)
	var got strings.Builder
	for !strings.Contains(got.String(), "one\n") {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("logs -f ended before the run: %v; got %q, stderr %q", err, got.String(), errb.String())
		}
		got.WriteString(line)
	}
	// The run is held at the gate: the command must still be following.
	if strings.Contains(got.String(), "two") {
		t.Fatalf("saw the end of a run that cannot have ended: %q", got.String())
	}
	if err := os.WriteFile(gate, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(br)
	got.Write(rest)
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 4 || !strings.Contains(got.String(), "two\n") ||
		!strings.Contains(errb.String(), "steps: run #1 ended failed") {
		t.Fatalf("logs -f of a failing run: %v, stdout %q, stderr %q", err, got.String(), errb.String())
	}

	// A finished run: the whole log at once; run -wait of a good run.
	if err := os.WriteFile(gate+".ok", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	wantCLI(t, cli(t, nil, "run", url, "-secret", testSecret, "-wait", "steps"), 0, "one\n", "two\n", "steps: run #2 ended success")
	wantCLI(t, cli(t, nil, "logs", "-f", url, "steps"), 0, "one\n", "two\n")
	r := cli(t, nil, "logs", "-f", url, "steps", "1")
	if r.code != 4 || !strings.Contains(r.out, "two\n") {
		t.Fatalf("logs -f steps 1: %v", r)
	}
	wantCLIError(t, cli(t, nil, "logs", "-f", url, "nope"), 3, "nope not found")
}

// TestCLIColour runs status on a terminal (util-linux script gives it a
// pty): the status is coloured, unless NO_COLOR is set.
func TestCLIColour(t *testing.T) {
	scriptPath, err := exec.LookPath("script")
	if err != nil {
		t.Skip("no util-linux script(1) to give the command a terminal")
	}
	s := start(t, cliJobs)
	wantCLI(t, cli(t, nil, "run", "-url", s.base, "-secret", testSecret, "-wait", "quick"), 0)
	for _, noColor := range []string{"", "1"} {
		cmd := exec.Command(scriptPath, "-qec", binPath+" status -url "+s.base, "/dev/null")
		cmd.Env = append(os.Environ(), "KARAJO_URL=", "KARAJO_SECRET=", "NO_COLOR="+noColor)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("script: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), "quick") {
			t.Fatalf("NO_COLOR=%q: no table: %q", noColor, out)
		}
		green := strings.Contains(string(out), "\x1b[32msuccess")
		if green != (noColor == "") {
			t.Fatalf("NO_COLOR=%q: coloured %v: %q", noColor, green, out)
		}
	}
}
