// Package integration holds the black-box tests of the karajo server: each
// test builds a configuration in a temporary directory, starts the binary
// built once by TestMain (with -race) and talks HTTP to it on 127.0.0.1.
// The expectations come from SPEC.md, never from the server's code.
package integration

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// testSecret is the [karajo] secret of every test configuration.
const testSecret = "s3cret"

// jobPATH is the exact default PATH given to commands: SPEC 7.2's, then
// the standard directories it lacks (issue 12).
const jobPATH = "/usr/local/sbin:/usr/local/bin:/usr/bin:/usr/bin/site_perl:/usr/bin/vendor_perl:/usr/bin/core_perl:/usr/sbin:/sbin:/bin"

// binPath is the karajo binary built by TestMain.
var binPath string

func TestMain(m *testing.M) {
	tmp, err := os.MkdirTemp("", "karajo-it-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration: ", err)
		os.Exit(1)
	}
	binPath = filepath.Join(tmp, "karajo")
	build := exec.Command("go", "build", "-race", "-o", binPath, "./cmd/karajo")
	build.Dir = ".."
	out, err := build.CombinedOutput()
	if err != nil {
		// No skipping: a server that does not build fails the suite.
		fmt.Fprintf(os.Stderr, "integration: go build -race ./cmd/karajo: %v\n%s", err, out)
		os.RemoveAll(tmp)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(tmp)
	os.Exit(code)
}

// syncBuffer is a bytes.Buffer safe for the process's stderr copier and the
// test goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// server is one running karajo process.
type server struct {
	t       *testing.T
	dir     string // dir_base
	cfgPath string
	addr    string // 127.0.0.1:PORT
	base    string // http://127.0.0.1:PORT
	cmd     *exec.Cmd
	stderr  *syncBuffer
	done    chan struct{} // closed when the process has exited
	waitErr error         // valid after done
	stopped bool
	started time.Time // when the process was started
}

// configHeader is the [karajo] table of a test configuration.
func configHeader(dir string) string {
	return fmt.Sprintf(`[karajo]
name = "karajo-it"
listen_address = "127.0.0.1:0"
dir_base = %q
secret = %q
max_job_running = 4
`, dir, testSecret)
}

// writeConfig writes <dir>/etc/karajo/karajo.toml and returns its path.
func writeConfig(t *testing.T, dir, content string) string {
	t.Helper()
	etc := filepath.Join(dir, "etc", "karajo")
	if err := os.MkdirAll(etc, 0o700); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(etc, "karajo.toml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// start writes a configuration made of the standard header plus jobs into a
// fresh temporary dir_base, starts the server and waits until it answers.
func start(t *testing.T, jobs string) *server {
	t.Helper()
	dir := t.TempDir()
	writeConfig(t, dir, configHeader(dir)+"\n"+jobs)
	return startDir(t, dir)
}

// startDir starts the server on the configuration already in dir.
func startDir(t *testing.T, dir string) *server {
	t.Helper()
	return startDirEnv(t, dir, nil)
}

// startDirEnv is startDir with env added to the test's own environment.
func startDirEnv(t *testing.T, dir string, env []string) *server {
	t.Helper()
	return startDirWrapped(t, dir, env, nil)
}

// startDirWrapped is startDirEnv with the binary started through wrap (a
// command that ends by exec'ing its arguments, so the PID stays karajo's).
func startDirWrapped(t *testing.T, dir string, env, wrap []string) *server {
	t.Helper()
	s := &server{
		t:       t,
		dir:     dir,
		cfgPath: filepath.Join(dir, "etc", "karajo", "karajo.toml"),
		stderr:  &syncBuffer{},
		done:    make(chan struct{}),
	}
	args := append(append([]string(nil), wrap...), binPath, "-config", s.cfgPath)
	s.cmd = exec.Command(args[0], args[1:]...)
	if env != nil {
		s.cmd.Env = append(os.Environ(), env...)
	}
	s.cmd.Stderr = s.stderr
	s.cmd.Stdout = s.stderr
	s.cmd.WaitDelay = 5 * time.Second
	s.started = time.Now()
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start karajo: %v", err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		if !s.stopped {
			s.stop()
		}
		if t.Failed() {
			t.Logf("server stderr (pid %d):\n%s", s.cmd.Process.Pid, tail(s.stderr.String(), 8000))
		}
	})

	listening := regexp.MustCompile(`msg="?listening"? .*?addr="?([0-9.]+:[0-9]+)`)
	deadline := time.Now().Add(60 * time.Second)
	for s.addr == "" {
		if m := listening.FindStringSubmatch(s.stderr.String()); m != nil {
			s.addr = m[1]
			break
		}
		select {
		case <-s.done:
			s.stopped = true
			t.Fatalf("karajo exited before listening: %v\nstderr:\n%s", s.waitErr, s.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no 'msg=listening addr=' line within 60s; stderr:\n%s", s.stderr.String())
		}
	}
	s.base = "http://" + s.addr
	// Ready when health says so: it needs no session, even with users.
	waitFor(t, 60*time.Second, "health answers 200", func() bool {
		resp, err := httpClient.Get(s.base + "/karajo/api/health")
		if err != nil {
			return false
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return s
}

// pid is the server's process id.
func (s *server) pid() int { return s.cmd.Process.Pid }

// alive reports whether the process is still running.
func (s *server) alive() bool {
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// stop sends SIGTERM and requires exit code 0 and no data race report. It
// returns the time from the signal to the exit.
func (s *server) stop() time.Duration {
	t := s.t
	t.Helper()
	if s.stopped {
		t.Fatalf("stop: server already stopped")
	}
	s.stopped = true
	t0 := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("SIGTERM: %v", err)
	}
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
		t.Errorf("karajo did not exit within 30s of SIGTERM")
	}
	took := time.Since(t0)
	if code := s.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit code after SIGTERM = %d (%v), want 0", code, s.waitErr)
	}
	if strings.Contains(s.stderr.String(), "DATA RACE") {
		t.Errorf("data race reported by the server:\n%s", s.stderr.String())
	}
	return took
}

// kill9 kills the server with SIGKILL and waits for it to be gone.
func (s *server) kill9() {
	s.t.Helper()
	s.stopped = true
	if err := s.cmd.Process.Kill(); err != nil {
		s.t.Fatalf("kill -9: %v", err)
	}
	<-s.done
	if strings.Contains(s.stderr.String(), "DATA RACE") {
		s.t.Errorf("data race reported by the server:\n%s", s.stderr.String())
	}
}

// restart starts a new server on the same dir_base (the old one must be
// stopped).
func (s *server) restart(t *testing.T) *server {
	t.Helper()
	if !s.stopped {
		s.stop()
	}
	return startDir(t, s.dir)
}

// workDir, logDir and statePath are the on-disk locations of a job.
func (s *server) workDir(id string) string {
	return filepath.Join(s.dir, "var", "lib", "karajo", "job", id)
}
func (s *server) logDir(id string) string {
	return filepath.Join(s.dir, "var", "log", "karajo", "job", id)
}
func (s *server) statePath(id string) string {
	return filepath.Join(s.dir, "var", "lib", "karajo", "job", id+".state")
}

// logFiles lists the names in a job's log directory, sorted.
func (s *server) logFiles(t *testing.T, id string) []string {
	t.Helper()
	ents, err := os.ReadDir(s.logDir(id))
	if err != nil {
		t.Fatalf("read log dir: %v", err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

// ---- HTTP ----

var httpClient = &http.Client{Timeout: 60 * time.Second}

// response is a fully read HTTP answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) String() string {
	return fmt.Sprintf("HTTP %d %s %s", r.status, r.header.Get("Content-Type"), tail(string(r.body), 600))
}

// raw sends one request over a fresh TCP connection exactly as given
// (target is written verbatim into the request line) and reads the answer.
// It sends no Accept-Encoding unless hdr does. The body is written
// concurrently with reading the answer, so a server that answers early
// (413) is seen.
func (s *server) raw(t *testing.T, method, target string, hdr map[string]string, body []byte) response {
	t.Helper()
	conn, err := net.DialTimeout("tcp", s.addr, 10*time.Second)
	if err != nil {
		t.Fatalf("%s %s: dial: %v", method, shorten(target), err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(90 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", method, target, s.addr)
	for k, v := range hdr {
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	if body != nil || method == http.MethodPost || method == http.MethodPut {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n")
	go func() {
		if _, err := io.WriteString(conn, b.String()); err == nil && len(body) > 0 {
			conn.Write(body) // an early answer may cut this short
		}
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("%s %s: read response: %v", method, shorten(target), err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, shorten(target), err)
	}
	if resp.Header.Get("Content-Encoding") == "gzip" {
		if hdr["Accept-Encoding"] == "" {
			t.Errorf("%s %s: gzip answer to a request without Accept-Encoding (IMP-38)", method, shorten(target))
		}
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s %s: gzip: %v", method, shorten(target), err)
		}
		if data, err = io.ReadAll(zr); err != nil {
			t.Fatalf("%s %s: gzip: %v", method, shorten(target), err)
		}
	}
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

func (s *server) get(t *testing.T, target string) response {
	t.Helper()
	return s.raw(t, http.MethodGet, target, nil, nil)
}

// sign is the lowercase hex HMAC-SHA256 of body with secret.
func sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// runBody is a webhook body as the web UI sends it.
func runBody() []byte {
	return []byte(fmt.Sprintf(`{"_karajo_epoch":%d}`, time.Now().Unix()))
}

// trigger POSTs a JSON body signed with secret in X-Karajo-Sign to the run
// endpoint of path (with or without leading slash).
func (s *server) trigger(t *testing.T, path, secret string) response {
	t.Helper()
	body := runBody()
	return s.raw(t, http.MethodPost, "/karajo/api/job_exec/run/"+strings.TrimPrefix(path, "/"),
		map[string]string{"Content-Type": "application/json", "X-Karajo-Sign": sign(secret, body)}, body)
}

// controlBody is `_karajo_epoch=<now>&id=<id>`.
func controlBody(id string) string {
	return fmt.Sprintf("_karajo_epoch=%d&id=%s", time.Now().Unix(), id)
}

// control POSTs body (form) to /karajo/api/job_exec/<action> with the given
// signature (empty: no header).
func (s *server) control(t *testing.T, action, query, body, sig string) response {
	t.Helper()
	hdr := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	if sig != "" {
		hdr["X-Karajo-Sign"] = sig
	}
	target := "/karajo/api/job_exec/" + action
	if query != "" {
		target += "?" + query
	}
	return s.raw(t, http.MethodPost, target, hdr, []byte(body))
}

// act performs a correctly signed control action on job id and requires 200.
func (s *server) act(t *testing.T, action, id string) jobView {
	t.Helper()
	body := controlBody(id)
	r := s.control(t, action, "", body, sign(testSecret, []byte(body)))
	env := wantEnvelope(t, r, http.StatusOK)
	var j jobView
	if err := json.Unmarshal(env.Data, &j); err != nil {
		t.Fatalf("%s %s: data: %v: %s", action, id, err, r)
	}
	return j
}

// ---- JSON ----

// envelope is the API answer wrapper (SPEC 4.3).
type envelope struct {
	Data    json.RawMessage `json:"data"`
	Message string          `json:"message"`
	Name    string          `json:"name"`
	Code    int             `json:"code"`
}

// jobView is an exec job as the API shows it (Appendix A).
type jobView struct {
	Path         string   `json:"path"`
	AuthKind     string   `json:"auth_kind"`
	HeaderSign   string   `json:"header_sign"`
	Commands     []string `json:"commands"`
	LastRun      string   `json:"last_run"`
	NextRun      string   `json:"next_run"`
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	Description  string   `json:"description"`
	Status       string   `json:"status"`
	Schedule     string   `json:"schedule"`
	Logs         []logRef `json:"logs"`
	Interval     int64    `json:"interval"`
	LogRetention int      `json:"log_retention"`
}

// logRef is an entry of a job's logs list.
type logRef struct {
	JobID   string `json:"job_id"`
	Name    string `json:"name"`
	Status  string `json:"status"`
	Counter int64  `json:"counter"`
}

// jobLog is the answer of the log endpoint; Content is base64 in JSON.
type jobLog struct {
	JobID   string `json:"job_id"`
	Name    string `json:"name"`
	Status  string `json:"status"`
	Counter int64  `json:"counter"`
	Content []byte `json:"content"`
}

// envView is the data of GET /karajo/api/environment.
type envView struct {
	Jobs          map[string]jobView `json:"jobs"`
	HTTPJobs      json.RawMessage    `json:"http_jobs"`
	Name          string             `json:"name"`
	ListenAddress string             `json:"listen_address"`
	DirBase       string             `json:"dir_base"`
	DirPublic     string             `json:"dir_public"`
	Version       string             `json:"version"`
	HTTPTimeout   int64              `json:"http_timeout"`
	MaxJobRunning int                `json:"max_job_running"`
	IsDevelopment bool               `json:"is_development"`
}

// wantEnvelope requires HTTP status want, a JSON content type and a body
// that is an envelope whose code equals the status.
func wantEnvelope(t *testing.T, r response, want int) envelope {
	t.Helper()
	if r.status != want {
		t.Fatalf("status %d, want %d: %s", r.status, want, r)
	}
	env, err := checkEnvelope(r)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// checkEnvelope reports whether r is a JSON envelope whose code is its
// HTTP status.
func checkEnvelope(r response) (envelope, error) {
	var env envelope
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return env, fmt.Errorf("Content-Type %q, want application/json: %s", ct, r)
	}
	if err := json.Unmarshal(r.body, &env); err != nil {
		return env, fmt.Errorf("body is not a JSON envelope (%v): %s", err, r)
	}
	if env.Code != r.status {
		return env, fmt.Errorf("envelope code %d != HTTP status %d: %s", env.Code, r.status, r)
	}
	return env, nil
}

// wantError requires an error envelope with exactly this status, message
// and name.
func wantError(t *testing.T, r response, status int, message, name string) {
	t.Helper()
	env := wantEnvelope(t, r, status)
	if env.Message != message || env.Name != name {
		t.Errorf("error = {message:%q name:%q}, want {message:%q name:%q}", env.Message, env.Name, message, name)
	}
	if len(env.Data) != 0 && string(env.Data) != "null" {
		t.Errorf("error envelope carries data: %s", r)
	}
}

// environment fetches the environment through Go's client (gzip on).
func (s *server) environment(t *testing.T) envView {
	t.Helper()
	resp, err := httpClient.Get(s.base + "/karajo/api/environment")
	if err != nil {
		t.Fatalf("GET environment: %v", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET environment: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET environment: HTTP %d: %s", resp.StatusCode, data)
	}
	var env struct {
		Data envView `json:"data"`
		Code int     `json:"code"`
	}
	if err := json.Unmarshal(data, &env); err != nil {
		t.Fatalf("GET environment: %v: %s", err, data)
	}
	return env.Data
}

// job returns the exec job configured under name.
func (s *server) job(t *testing.T, name string) jobView {
	t.Helper()
	j, ok := s.environment(t).Jobs[name]
	if !ok {
		t.Fatalf("job %q not in environment", name)
	}
	return j
}

// logOf fetches GET /karajo/api/job_exec/log and requires 200.
func (s *server) logOf(t *testing.T, id string, counter int64) jobLog {
	t.Helper()
	r := s.get(t, fmt.Sprintf("/karajo/api/job_exec/log?id=%s&counter=%d", id, counter))
	env := wantEnvelope(t, r, http.StatusOK)
	var l jobLog
	if err := json.Unmarshal(env.Data, &l); err != nil {
		t.Fatalf("log %s #%d: %v: %s", id, counter, err, r)
	}
	return l
}

// finished reports whether a log status is a final one.
func finished(status string) bool {
	return status != "" && status != "running"
}

// waitRun waits until the job's log with this counter has a final status
// and the job no longer shows `running`, and returns that log status.
func (s *server) waitRun(t *testing.T, name string, counter int64, timeout time.Duration) string {
	t.Helper()
	var got string
	waitFor(t, timeout, fmt.Sprintf("run #%d of %s finished", counter, name), func() bool {
		j := s.job(t, name)
		for _, l := range j.Logs {
			if l.Counter == counter && finished(l.Status) && j.Status != "running" {
				got = l.Status
				return true
			}
		}
		return false
	})
	return got
}

// waitRunning waits until the job's run #counter is running and its log
// contains substr; it returns that log.
func (s *server) waitRunning(t *testing.T, id string, counter int64, substr string) jobLog {
	t.Helper()
	var l jobLog
	waitFor(t, 60*time.Second, fmt.Sprintf("%s #%d running with %q in its log", id, counter, substr), func() bool {
		r := s.get(t, fmt.Sprintf("/karajo/api/job_exec/log?id=%s&counter=%d", id, counter))
		if r.status != http.StatusOK {
			return false
		}
		var env struct {
			Data jobLog `json:"data"`
		}
		if json.Unmarshal(r.body, &env) != nil {
			return false
		}
		l = env.Data
		return l.Status == "running" && strings.Contains(string(l.Content), substr)
	})
	return l
}

// ---- misc ----

// waitFor polls cond every 50 ms until it holds, failing the test after
// timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for: %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// procsIn lists the processes whose working directory is dir (jobs'
// children, e.g. orphans of a killed server).
func procsIn(dir string) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
		if err == nil && cwd == dir {
			pids = append(pids, pid)
		}
	}
	return pids
}

// killOrphans kills, by pid, the processes left in a job's work dir by a
// server that was killed with SIGKILL.
func killOrphans(dir string) {
	for _, pid := range procsIn(dir) {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

// vmRSS is the resident set size of pid in KiB.
func vmRSS(t *testing.T, pid int) int64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("read /proc status: %v", err)
	}
	n := parseRSS(data)
	if n == 0 {
		t.Fatalf("no VmRSS in /proc/%d/status", pid)
	}
	return n
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

func shorten(s string) string {
	if len(s) <= 120 {
		return s
	}
	return s[:120] + "…"
}

// linePrefix matches the prefix of every line of an exec job's log (SPEC 7.3).
func linePrefix(id string) *regexp.Regexp {
	return regexp.MustCompile(`^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC job: ` + regexp.QuoteMeta(id) + `: `)
}

// logLines splits a log into lines, requires the prefix on every line and
// returns the lines without it.
func logLines(t *testing.T, id string, content []byte) []string {
	t.Helper()
	text := string(content)
	if !strings.HasSuffix(text, "\n") {
		t.Errorf("log of %s does not end with a newline: %q", id, tail(text, 200))
	}
	re := linePrefix(id)
	var out []string
	for i, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		loc := re.FindStringIndex(line)
		if loc == nil {
			t.Errorf("log of %s, line %d has no prefix `YYYY-MM-DD HH:MM:SS UTC job: %s: `: %q", id, i+1, id, line)
			out = append(out, line)
			continue
		}
		out = append(out, line[loc[1]:])
	}
	return out
}
