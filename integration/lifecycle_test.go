package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestVersion checks `karajo version` (SPEC 2.9).
func TestVersion(t *testing.T) {
	t.Parallel()
	out, err := exec.Command(binPath, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("karajo version: %v\n%s", err, out)
	}
	if !regexp.MustCompile(`^karajo version \S+\n$`).Match(out) {
		t.Errorf("karajo version printed %q, want `karajo version <v>\\n`", out)
	}
}

// logNames lists the names of a job's logs as the API shows them.
func logNames(j jobView) []string {
	var names []string
	for _, l := range j.Logs {
		names = append(names, l.Name)
	}
	return names
}

// TestRestartKeepsState stops and restarts the server: counters, statuses,
// the paused flag (also of a webhook-only job, IMP-8) and logs survive, and
// the next run takes the next counter.
func TestRestartKeepsState(t *testing.T) {
	t.Parallel()
	s := start(t, `
[job.keep]
path = "/keep"
commands = ["echo keep $KARAJO_JOB_COUNTER"]

[job.kfail]
path = "/kfail"
commands = ["false"]

[job.hookonly]
path = "/hookonly"
commands = ["true"]
`)
	for n := int64(1); n <= 2; n++ {
		wantEnvelope(t, s.trigger(t, "keep", testSecret), http.StatusOK)
		if st := s.waitRun(t, "keep", n, 60*time.Second); st != "success" {
			t.Fatalf("keep #%d: %q", n, st)
		}
	}
	wantEnvelope(t, s.trigger(t, "kfail", testSecret), http.StatusOK)
	if st := s.waitRun(t, "kfail", 1, 60*time.Second); st != "failed" {
		t.Fatalf("kfail #1: %q", st)
	}
	s.act(t, "pause", "hookonly")
	before := s.environment(t)
	keep2 := s.logOf(t, "keep", 2)

	s2 := s.restart(t)
	after := s2.environment(t)
	for _, name := range []string{"keep", "kfail", "hookonly"} {
		b, a := before.Jobs[name], after.Jobs[name]
		if a.Status != b.Status || !reflect.DeepEqual(a.Logs, b.Logs) || !near(a.LastRun, b.LastRun, time.Second) {
			t.Errorf("%s after restart: status %q logs %v last_run %s; before: %q %v %s",
				name, a.Status, a.Logs, a.LastRun, b.Status, b.Logs, b.LastRun)
		}
	}
	if got := after.Jobs["hookonly"].Status; got != "paused" {
		t.Errorf("webhook-only paused job after restart: status %q, want paused (IMP-8)", got)
	}
	if _, err := os.Stat(s2.statePath("hookonly")); err != nil {
		t.Errorf("state file: %v", err)
	}
	wantError(t, s2.trigger(t, "hookonly", testSecret), http.StatusPreconditionFailed, "job is paused", "ERR_JOB_PAUSED")
	if l := s2.logOf(t, "keep", 2); !bytes.Equal(l.Content, keep2.Content) || l.Name != "keep.2.success" {
		t.Errorf("keep #2 after restart: name %q, content\n%s\nwant\n%s", l.Name, l.Content, keep2.Content)
	}

	wantEnvelope(t, s2.trigger(t, "keep", testSecret), http.StatusOK)
	if st := s2.waitRun(t, "keep", 3, 60*time.Second); st != "success" {
		t.Fatalf("keep #3: %q", st)
	}
	if got, want := logNames(s2.job(t, "keep")), []string{"keep.1.success", "keep.2.success", "keep.3.success"}; !reflect.DeepEqual(got, want) {
		t.Errorf("keep logs %v, want %v", got, want)
	}
	if l := s2.logOf(t, "keep", 3); !contains(logLines(t, "keep", l.Content), "keep 3") {
		t.Errorf("keep #3 did not see KARAJO_JOB_COUNTER=3:\n%s", l.Content)
	}
	wantEnvelope(t, s2.trigger(t, "kfail", testSecret), http.StatusOK)
	if st := s2.waitRun(t, "kfail", 2, 60*time.Second); st != "failed" {
		t.Fatalf("kfail #2: %q", st)
	}
	// Resume survives a restart too.
	s2.act(t, "resume", "hookonly")
	s3 := s2.restart(t)
	if got := s3.job(t, "hookonly").Status; got != "started" {
		t.Errorf("hookonly after resume and restart: %q, want started", got)
	}
}

// TestKill9DuringRun kills the server during a run: after restart that run
// is `failed` with the interrupted line (SPEC 3.2, IMP-9) and the next run
// takes the next counter.
func TestKill9DuringRun(t *testing.T) {
	t.Parallel()
	s := start(t, `
[job.k9]
path = "/k9"
commands = ["echo before-kill", "sleep 30"]
`)
	wantEnvelope(t, s.trigger(t, "k9", testSecret), http.StatusOK)
	s.waitRunning(t, "k9", 1, "--- Execute  1: sleep 30")
	s.kill9()
	killOrphans(s.workDir("k9"))

	s2 := startDir(t, s.dir)
	j := s2.job(t, "k9")
	if j.Status != "failed" || !reflect.DeepEqual(logNames(j), []string{"k9.1.failed"}) {
		t.Errorf("after kill -9 and restart: status %q logs %v, want failed [k9.1.failed]", j.Status, logNames(j))
	}
	if files := s2.logFiles(t, "k9"); !reflect.DeepEqual(files, []string{"k9.1.failed"}) {
		t.Errorf("log files %v, want [k9.1.failed]", files)
	}
	data, err := os.ReadFile(filepath.Join(s2.logDir("k9"), "k9.1.failed"))
	if err != nil {
		t.Fatal(err)
	}
	lines := logLines(t, "k9", data)
	if n := len(lines); n == 0 || lines[n-1] != "!!! job: k9: interrupted, server stopped" {
		t.Errorf("last line of k9.1.failed: %q, want `!!! job: k9: interrupted, server stopped`", lines)
	}
	if !contains(lines, "before-kill") {
		t.Errorf("output before the kill was not streamed to disk: %q", lines)
	}
	if l := s2.logOf(t, "k9", 1); l.Status != "failed" || !bytes.Equal(l.Content, data) {
		t.Errorf("API log #1: status %q, content equal to file: %v", l.Status, bytes.Equal(l.Content, data))
	}

	wantEnvelope(t, s2.trigger(t, "k9", testSecret), http.StatusOK)
	l := s2.waitRunning(t, "k9", 2, "before-kill")
	if l.Name != "k9.2" {
		t.Errorf("next run: name %q, want k9.2", l.Name)
	}
	if !contains(logLines(t, "k9", l.Content), "--- Execute  0: echo before-kill") {
		t.Errorf("run #2 log: %s", l.Content)
	}
	// The cleanup's SIGTERM cancels run #2.
}

// TestSIGTERMCancelsRun stops the server while a run is in progress: exit 0
// within 15 s, the run recorded `canceled`, no job process left (IMP-7).
func TestSIGTERMCancelsRun(t *testing.T) {
	t.Parallel()
	s := start(t, `
[job.term]
path = "/term"
commands = ["echo t", "sleep 30 & sleep 30", "echo never"]
`)
	wantEnvelope(t, s.trigger(t, "term", testSecret), http.StatusOK)
	s.waitRunning(t, "term", 1, "--- Execute  1: sleep 30 & sleep 30")
	took := s.stop()
	t.Logf("SIGTERM → exit: %v", took)
	if took >= 15*time.Second {
		t.Errorf("SIGTERM → exit took %v, want < 15s (IMP-7)", took)
	}
	files := s.logFiles(t, "term")
	if !reflect.DeepEqual(files, []string{"term.1.canceled"}) {
		t.Fatalf("log files after SIGTERM %v, want [term.1.canceled]", files)
	}
	data, _ := os.ReadFile(filepath.Join(s.logDir("term"), "term.1.canceled"))
	lines := logLines(t, "term", data)
	if n := len(lines); n == 0 || lines[n-1] != "??? CANCELED" {
		t.Errorf("canceled log lines %q, want last ??? CANCELED", lines)
	}
	waitFor(t, 10*time.Second, "no job process left after shutdown", func() bool { return len(procsIn(s.workDir("term"))) == 0 })

	s2 := startDir(t, s.dir)
	if j := s2.job(t, "term"); j.Status != "canceled" || !reflect.DeepEqual(logNames(j), []string{"term.1.canceled"}) {
		t.Errorf("after restart: status %q logs %v, want canceled [term.1.canceled]", j.Status, logNames(j))
	}
}

// runToExit runs the binary on cfg and waits for it to exit (60 s max),
// returning its exit code and stderr.
func runToExit(t *testing.T, cfg string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, "-config", cfg)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = &stderr
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("karajo did not exit within 60s on %s; stderr:\n%s", cfg, stderr.String())
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("run karajo: %v", err)
	}
	if strings.Contains(stderr.String(), "DATA RACE") {
		t.Errorf("data race:\n%s", stderr.String())
	}
	return cmd.ProcessState.ExitCode(), stderr.String()
}

// TestConfigErrors checks that invalid configurations exit 2, name the file
// and the key, report all errors together and start no job (SPEC 2.8).
func TestConfigErrors(t *testing.T) {
	t.Parallel()
	// marker is a job that would create its file at once if jobs started.
	marker := func(dir string) string {
		return fmt.Sprintf(`
[job.marker]
interval = "1m"
commands = ["touch %s/ran"]
`, dir)
	}
	tests := []struct {
		name        string
		jobs        string            // appended to karajo.toml
		jobD        map[string]string // job.d files
		jobHTTPD    map[string]string // job_http.d files
		wants       []string          // all must appear in stderr (besides the file name)
		file        string            // file name expected in stderr
		noEnvSecret bool              // write secret = "" in [karajo]
	}{
		{name: "webhook without any secret", noEnvSecret: true, jobs: "[job.w]\npath = \"/w\"\nauth_kind = \"github\"\ncommands = [\"true\"]\n", wants: []string{"secret"}, file: "karajo.toml"},
		{name: "unknown key", jobs: "[job.a]\nintervall = \"1m\"\ncommands = [\"true\"]\n", wants: []string{"intervall"}, file: "karajo.toml"},
		{name: "bad schedule", jobs: "[job.a]\nschedule = \"yearly\"\ncommands = [\"true\"]\n", wants: []string{"schedule"}, file: "karajo.toml"},
		{name: "no commands", jobs: "[job.a]\npath = \"/a\"\ncommands = []\n", wants: []string{"commands"}, file: "karajo.toml"},
		{name: "missing commands", jobs: "[job.a]\npath = \"/a\"\n", wants: []string{"commands"}, file: "karajo.toml"},
		{name: "same ID", jobs: "[job.\"A b\"]\ncommands = [\"true\"]\n[job.\"a_b\"]\ncommands = [\"true\"]\n", wants: []string{"A b", "a_b"}, file: "karajo.toml"},
		{name: "bad interval", jobs: "[job.a]\ninterval = \"1 minute\"\ncommands = [\"true\"]\n", wants: []string{"interval"}, file: "karajo.toml"},
		{name: "unknown notif", jobs: "[job.a]\ncommands = [\"true\"]\nnotif_on_failed = [\"nobody\"]\n", wants: []string{"notif_on_failed", "nobody"}, file: "karajo.toml"},
		// Strict means strict (issue 16): nothing is dropped without a word.
		{name: "notif table in job.d", jobD: map[string]string{"n.toml": "[notif.ops]\nkind = \"email\"\nsmtp_server = \"smtp://h\"\n[job.n]\ninterval = \"5m\"\ncommands = [\"true\"]\nnotif_on_failed = [\"ops\"]\n"},
			wants: []string{`table notif."ops" is not read here: [notif] is read from the main file`, "n.toml:1:2"}, file: "n.toml"},
		{name: "karajo table in job.d", jobD: map[string]string{"k.toml": "[karajo]\nmax_job_running = 3\n"},
			wants: []string{"table karajo is not read here"}, file: "k.toml"},
		{name: "job_http table in job.d", jobD: map[string]string{"h.toml": "[job_http.p]\nhttp_url = \"/x\"\n"},
			wants: []string{`table job_http."p" is not read here: [job_http] tables live in the main file or in job_http.d/`}, file: "h.toml"},
		{name: "job table in job_http.d", jobHTTPD: map[string]string{"j.toml": "[job.x]\ncommands = [\"true\"]\n"},
			wants: []string{`table job."x" is not read here: [job] tables live in the main file or in job.d/`}, file: "j.toml"},
		{name: "unknown auth_kind", jobs: "[job.a]\npath = \"/a\"\nauth_kind = \"gihub\"\ncommands = [\"true\"]\n",
			wants: []string{`job."a".auth_kind: unknown kind "gihub"`}, file: "karajo.toml"},
		{name: "log_retention 0", jobs: "[job.a]\ninterval = \"5m\"\nlog_retention = 0\ncommands = [\"true\"]\n",
			wants: []string{`job."a".log_retention: must be at least 1, got 0`}, file: "karajo.toml"},
		{name: "log_retention -1", jobs: "[job_http.a]\ninterval = \"5m\"\nhttp_url = \"/x\"\nlog_retention = -1\n",
			wants: []string{`job_http."a".log_retention: must be at least 1, got -1`}, file: "karajo.toml"},
		{name: "unknown key in job.d", jobD: map[string]string{"x.toml": "[job.b]\ncomands = [\"true\"]\n"}, wants: []string{"comands"}, file: "x.toml"},
		{
			name:  "all validation errors together",
			jobs:  "[job.b]\nschedule = \"yearly\"\ncommands = [\"true\"]\n[job.c]\npath = \"/c\"\ncommands = []\n[job.\"Dup x\"]\ncommands = [\"true\"]\n",
			jobD:  map[string]string{"y.toml": "[job.d]\ninterval = \"abc\"\ncommands = [\"true\"]\n[job.dup_x]\ncommands = [\"true\"]\n"},
			wants: []string{"schedule", "commands", "interval", "y.toml", "Dup x", "dup_x"}, file: "karajo.toml",
		},
		{
			name:  "errors of several files together",
			jobs:  "[job.b]\nschedule = \"yearly\"\ncommands = [\"true\"]\n",
			jobD:  map[string]string{"z.toml": "[job.e]\nbogus_key = 1\ncommands = [\"true\"]\n"},
			wants: []string{"schedule", "bogus_key", "z.toml"}, file: "karajo.toml",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			header := configHeader(dir)
			if tt.noEnvSecret {
				header = strings.Replace(header, fmt.Sprintf("secret = %q", testSecret), `secret = ""`, 1)
			}
			cfg := writeConfig(t, dir, header+marker(dir)+"\n"+tt.jobs)
			for sub, files := range map[string]map[string]string{"job.d": tt.jobD, "job_http.d": tt.jobHTTPD} {
				for name, content := range files {
					jd := filepath.Join(dir, "etc", "karajo", sub)
					os.MkdirAll(jd, 0o700)
					if err := os.WriteFile(filepath.Join(jd, name), []byte(content), 0o600); err != nil {
						t.Fatal(err)
					}
				}
			}
			code, stderr := runToExit(t, cfg)
			if code != 2 {
				t.Errorf("exit code %d, want 2; stderr:\n%s", code, stderr)
			}
			for _, w := range append([]string{tt.file}, tt.wants...) {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not mention %q:\n%s", w, stderr)
				}
			}
			if strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine ") {
				t.Errorf("stderr shows a panic:\n%s", stderr)
			}
			if _, err := os.Stat(filepath.Join(dir, "ran")); err == nil {
				t.Errorf("a job ran although the configuration is invalid")
			}
		})
	}
}

// TestListenPortTaken starts the server on a port that is already bound:
// it must fail clearly (non-zero exit) and run no job (IMP-5).
func TestListenPortTaken(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := t.TempDir()
	cfg := writeConfig(t, dir, fmt.Sprintf(`[karajo]
listen_address = %q
dir_base = %q
secret = %q

[job.marker]
interval = "1m"
commands = ["touch %s/ran"]
`, ln.Addr().String(), dir, testSecret, dir))
	code, stderr := runToExit(t, cfg)
	if code == 0 {
		t.Errorf("exit code 0 on a taken port; stderr:\n%s", stderr)
	}
	if !strings.Contains(stderr, ln.Addr().String()) && !strings.Contains(stderr, "address already in use") {
		t.Errorf("stderr does not name the address or the bind error:\n%s", stderr)
	}
	// A job started before the bind failed would have created the marker
	// right away; give a straggling process a moment before looking.
	time.Sleep(500 * time.Millisecond)
	if _, err := os.Stat(filepath.Join(dir, "ran")); err == nil {
		t.Errorf("a job ran although the listener could not be bound")
	}
}

// near reports whether two RFC 3339 times are at most d apart.
func near(a, b string, d time.Duration) bool {
	ta, err1 := time.Parse(time.RFC3339, a)
	tb, err2 := time.Parse(time.RFC3339, b)
	if err1 != nil || err2 != nil {
		return false
	}
	diff := ta.Sub(tb)
	return diff <= d && diff >= -d
}
