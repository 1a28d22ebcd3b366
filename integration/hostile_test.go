package integration

// Hostile HTTP clients: slowloris, oversized bodies, connection floods,
// path traversal and secrets in output (issue 5).

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// hoSend sends one request over a fresh connection, with a Content-Length
// or (chunked) a chunked body, writing the body while reading the answer.
// Unlike raw it returns errors instead of failing.
func hoSend(s *server, method, target string, hdr map[string]string, body []byte, chunked bool) (response, error) {
	conn, err := net.DialTimeout("tcp", s.addr, 10*time.Second)
	if err != nil {
		return response{}, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(90 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", method, target, s.addr)
	for k, v := range hdr {
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	if chunked {
		b.WriteString("Transfer-Encoding: chunked\r\n")
	} else {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n")
	go func() {
		w := bufio.NewWriterSize(conn, 64<<10)
		w.WriteString(b.String())
		if !chunked {
			w.Write(body)
		} else {
			for rest := body; len(rest) > 0; {
				n := min(len(rest), 256<<10)
				fmt.Fprintf(w, "%x\r\n", n)
				w.Write(rest[:n])
				w.WriteString("\r\n")
				rest = rest[n:]
			}
			w.WriteString("0\r\n\r\n")
		}
		w.Flush() // an early answer may cut this short
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		return response{}, fmt.Errorf("read response: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, fmt.Errorf("read body: %w", err)
	}
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return response{}, err
		}
		if data, err = io.ReadAll(zr); err != nil {
			return response{}, err
		}
	}
	return response{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

// TestSlowloris: connections that send a header line a byte every 2 s are
// closed by the server after its ReadHeaderTimeout (10 s); other clients
// are served normally meanwhile.
func TestSlowloris(t *testing.T) {
	t.Parallel()
	s := start(t, `
[job.sl]
path = "/sl"
commands = ["true"]
`)
	const slow = 20
	const bound = 20 * time.Second // our own bound; the server's is 10 s
	type result struct {
		took   time.Duration
		closed bool
		err    error
	}
	results := make(chan result, slow)
	t0 := time.Now()
	for i := 0; i < slow; i++ {
		conn, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		defer conn.Close()
		if _, err := io.WriteString(conn, "GET /karajo/api/environment HTTP/1.1\r\nHost: localhost\r\nX-Slow: "); err != nil {
			t.Fatalf("write: %v", err)
		}
		stop := make(chan struct{})
		go func() { // a byte every 2 s, until the server closes
			for {
				select {
				case <-stop:
					return
				case <-time.After(2 * time.Second):
				}
				if _, err := conn.Write([]byte("a")); err != nil {
					return
				}
			}
		}()
		go func() {
			defer close(stop)
			conn.SetReadDeadline(t0.Add(bound))
			_, err := io.Copy(io.Discard, conn)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				results <- result{took: time.Since(t0), err: err}
				return
			}
			results <- result{took: time.Since(t0), closed: true, err: err}
		}()
	}

	// Meanwhile the server serves others promptly.
	fast := &http.Client{Timeout: 3 * time.Second}
	served := 0
	for time.Since(t0) < 12*time.Second {
		t1 := time.Now()
		resp, err := fast.Get(s.base + "/karajo/api/environment")
		if err != nil {
			t.Errorf("GET environment while %d slow clients are connected: %v", slow, err)
		} else {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("GET environment while slow clients are connected: HTTP %d", resp.StatusCode)
			}
			served++
		}
		if d := time.Since(t1); d > 2*time.Second {
			t.Errorf("GET environment took %v while slow clients are connected", d)
		}
		time.Sleep(time.Second)
	}
	wantEnvelope(t, s.trigger(t, "sl", testSecret), http.StatusOK)

	var longest time.Duration
	for i := 0; i < slow; i++ {
		r := <-results
		if !r.closed {
			t.Errorf("slow connection still open after %v (ReadHeaderTimeout should be 10s): %v", r.took.Round(time.Millisecond), r.err)
			continue
		}
		longest = max(longest, r.took)
	}
	t.Logf("%d slow clients closed by the server after at most %v; %d normal requests served meanwhile", slow, longest.Round(time.Millisecond), served)
}

// TestBodyCaps: bodies over the cap (32 MiB webhook, 64 KiB elsewhere) get
// a 413 envelope, with Content-Length and chunked; bodies at the cap pass.
func TestBodyCaps(t *testing.T) {
	t.Parallel()
	s := start(t, `
[job.cap]
path = "/cap"
commands = ["true"]
`)
	const runCap, otherCap = 32 << 20, 64 << 10
	runBodyOf := func(n int) []byte {
		b := bytes.Repeat([]byte("x"), n)
		copy(b, `{"_karajo_epoch":1,"pad":"`)
		return b
	}
	formOf := func(n int) []byte {
		b := []byte(controlBody("cap") + "&pad=")
		return append(b, bytes.Repeat([]byte("a"), n-len(b))...)
	}
	signed := func(ct string, b []byte) map[string]string {
		return map[string]string{"Content-Type": ct, "X-Karajo-Sign": sign(testSecret, b)}
	}
	bigRun := runBodyOf(runCap + 1)
	bigForm := formOf(otherCap + 1)
	tests := []struct {
		name    string
		target  string
		hdr     map[string]string
		body    []byte
		chunked bool
		want    int
	}{
		{"webhook over cap, Content-Length", "/karajo/api/job_exec/run/cap", signed("application/json", bigRun), bigRun, false, 413},
		{"webhook over cap, chunked", "/karajo/api/job_exec/run/cap", signed("application/json", bigRun), bigRun, true, 413},
		{"pause over cap, Content-Length", "/karajo/api/job_exec/pause", signed("application/x-www-form-urlencoded", bigForm), bigForm, false, 413},
		{"pause over cap, chunked", "/karajo/api/job_exec/pause", signed("application/x-www-form-urlencoded", bigForm), bigForm, true, 413},
		{"cancel over cap, chunked", "/karajo/api/job_exec/cancel", signed("application/x-www-form-urlencoded", bigForm), bigForm, true, 413},
		{"login over cap, Content-Length", "/karajo/api/auth/login", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, bigForm, false, 413},
		{"login over cap, chunked", "/karajo/api/auth/login", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, bigForm, true, 413},
		{"webhook at cap", "/karajo/api/job_exec/run/cap", signed("application/json", runBodyOf(runCap)), runBodyOf(runCap), false, 200},
		{"cancel at cap", "/karajo/api/job_exec/cancel", signed("application/x-www-form-urlencoded", formOf(otherCap)), formOf(otherCap), false, 200},
		{"cancel at cap, chunked", "/karajo/api/job_exec/cancel", signed("application/x-www-form-urlencoded", formOf(otherCap)), formOf(otherCap), true, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := hoSend(s, http.MethodPost, tt.target, tt.hdr, tt.body, tt.chunked)
			if err != nil {
				t.Fatalf("POST %s (%d bytes): %v", tt.target, len(tt.body), err)
			}
			env := wantEnvelope(t, r, tt.want)
			if tt.want == 413 && env.Message == "" {
				t.Errorf("413 envelope without a message: %s", r)
			}
		})
	}
	if r := s.get(t, "/karajo/api/health"); r.status != http.StatusOK {
		t.Errorf("server after oversized bodies: %s", r)
	}
}

// hoFDs counts the open file descriptors of pid.
func hoFDs(t *testing.T, pid int) int {
	t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatalf("read /proc/%d/fd: %v", pid, err)
	}
	return len(ents)
}

// TestConnectionFlood opens 1,000 connections at once, each sending a
// request and staying open: the server must answer or close each one, stay
// up, and its file descriptors must return near the baseline.
func TestConnectionFlood(t *testing.T) {
	t.Parallel()
	s := start(t, `
[job.fl]
path = "/fl"
commands = ["true"]
`)
	const n = 1000
	s.get(t, "/karajo/api/health")
	time.Sleep(200 * time.Millisecond)
	base := hoFDs(t, s.pid())

	conns := make([]net.Conn, n)
	var dialErrs atomic.Int64
	var wg sync.WaitGroup
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.DialTimeout("tcp", s.addr, 20*time.Second)
			if err != nil {
				dialErrs.Add(1)
				return
			}
			conns[i] = c
		}()
	}
	wg.Wait()
	if e := dialErrs.Load(); e > 0 {
		t.Errorf("%d of %d dials failed", e, n)
	}
	peakOpen := hoFDs(t, s.pid())

	var answered, refusedStatus, closed, hung atomic.Int64
	var firstBad atomic.Value
	release := make(chan struct{})
	for i, c := range conns {
		if c == nil {
			continue
		}
		target := "/karajo/api/health"
		if i%2 == 1 {
			target = "/karajo/api/environment"
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.SetDeadline(time.Now().Add(60 * time.Second))
			if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n", target); err != nil {
				closed.Add(1)
				return
			}
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			var ne net.Error
			switch {
			case err != nil && errors.As(err, &ne) && ne.Timeout():
				hung.Add(1)
				return
			case err != nil:
				closed.Add(1) // closed without an answer: acceptable
				return
			}
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if errors.As(err, &ne) && ne.Timeout() {
				hung.Add(1)
				return
			}
			if resp.StatusCode == http.StatusOK {
				answered.Add(1)
			} else {
				refusedStatus.Add(1)
				firstBad.CompareAndSwap(nil, fmt.Sprintf("%s → HTTP %d", target, resp.StatusCode))
			}
			<-release // keep the connection open until all are answered
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	// All answered (or closed): count the server's fds with everything open.
	deadline := time.After(70 * time.Second)
	for answered.Load()+refusedStatus.Load()+closed.Load()+hung.Load() < int64(n)-dialErrs.Load() {
		select {
		case <-deadline:
			t.Fatalf("flood: only %d answered, %d closed after 70s", answered.Load(), closed.Load())
		case <-time.After(50 * time.Millisecond):
		}
	}
	peakAnswered := hoFDs(t, s.pid())
	close(release)
	<-done
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
	t.Logf("flood of %d: %d answered 200, %d other status (first: %v), %d closed without answer, %d hung; server fds: baseline %d, after dial %d, all answered %d",
		n, answered.Load(), refusedStatus.Load(), firstBad.Load(), closed.Load(), hung.Load(), base, peakOpen, peakAnswered)
	if h := hung.Load(); h > 0 {
		t.Errorf("%d connections neither answered nor closed within 60s", h)
	}
	if r := refusedStatus.Load(); r > 0 {
		t.Errorf("%d requests got a non-200 answer (first: %v)", r, firstBad.Load())
	}
	if !s.alive() {
		t.Fatalf("server died under the flood: %v", s.waitErr)
	}
	if r := s.get(t, "/karajo/api/health"); r.status != http.StatusOK {
		t.Errorf("health after the flood: %s", r)
	}
	wantEnvelope(t, s.trigger(t, "fl", testSecret), http.StatusOK)
	var now int
	waitFor(t, 20*time.Second, fmt.Sprintf("server fds back near the baseline %d", base), func() bool {
		now = hoFDs(t, s.pid())
		return now <= base+20
	})
	t.Logf("server fds after the flood: %d (baseline %d)", now, base)
}

// hoMarker is the content of every sentinel file: no answer may carry it.
const hoMarker = "sentinel-content-7d1e9a42"

// TestPathTraversal sends ids, counters and webhook paths with `../`,
// encoded dots and slashes, NUL and absolute paths: each gets a 4xx
// envelope and no answer ever carries the content of a file outside the
// log directories.
func TestPathTraversal(t *testing.T) {
	t.Parallel()
	outside := t.TempDir()
	dir := t.TempDir()
	public := filepath.Join(dir, "public")
	os.MkdirAll(public, 0o700)
	os.WriteFile(filepath.Join(public, "index.html"), []byte("<p>public</p>"), 0o600)
	writeConfig(t, dir, configHeader(dir)+fmt.Sprintf("dir_public = %q\n", public)+`
[job.trav]
path = "/trav"
commands = ["echo trav-output"]

[job_http.htrav]
http_url = "/karajo/api/environment"
`)
	s := startDir(t, dir)
	wantEnvelope(t, s.trigger(t, "trav", testSecret), http.StatusOK)
	if st := s.waitRun(t, "trav", 1, 60*time.Second); st != "success" {
		t.Fatalf("trav #1: %q", st)
	}
	// Sentinels everywhere a traversal could land.
	logRoot := filepath.Join(dir, "var", "log", "karajo")
	for _, p := range []string{
		filepath.Join(dir, "SECRET-SENTINEL"),
		filepath.Join(outside, "SECRET-SENTINEL"),
		filepath.Join(logRoot, "SECRET-SENTINEL"),
		filepath.Join(logRoot, "job", "SECRET-SENTINEL"),
		filepath.Join(logRoot, "job_http", "SECRET-SENTINEL"),
		filepath.Join(logRoot, "job", "x.1.success"),
		filepath.Join(logRoot, "x.1.success"),
		filepath.Join(dir, "var", "lib", "karajo", "job", "trav", "SECRET-SENTINEL"),
		filepath.Join(dir, "etc", "karajo", "SECRET-SENTINEL"),
	} {
		if err := os.WriteFile(p, []byte(hoMarker+" "+p+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	abs := url.QueryEscape(filepath.Join(outside, "SECRET-SENTINEL"))
	ids := []string{
		"trav", "htrav", "../trav", "..%2ftrav", "..%2F..%2F..%2FSECRET-SENTINEL", "%2e%2e%2f%2e%2e%2fSECRET-SENTINEL",
		"../../SECRET-SENTINEL", "../../../../../SECRET-SENTINEL", "trav%00", "trav%00.1.success", "%00", "%00..%2f",
		abs, filepath.Join(outside, "SECRET-SENTINEL"), "%2Fetc%2Fpasswd", "trav/../trav", "..", ".", "..%5c..%5cSECRET-SENTINEL",
		"trav%2f..%2f..%2fSECRET-SENTINEL", "x", "job/x",
	}
	counters := []string{
		"1", "../1", "1%2f..%2f..%2fSECRET-SENTINEL", "%2e%2e%2f1", "1%00", "1%00.success", "/1", "-1", "1.success",
		"../../../SECRET-SENTINEL", "99999999999999999999", abs, "1/../1", "+1", "0x1", " 1",
	}
	var answers []response
	for _, ep := range []string{"/karajo/api/job_exec/log", "/karajo/api/job_http/log"} {
		for _, id := range ids {
			for _, c := range counters {
				target := ep + "?id=" + id + "&counter=" + strings.ReplaceAll(c, " ", "%20")
				r, err := hoSend(s, http.MethodGet, target, nil, nil, false)
				if err != nil {
					t.Errorf("GET %s: %v", target, err)
					continue
				}
				answers = append(answers, r)
				if ep == "/karajo/api/job_exec/log" && id == "trav" && c == "1" {
					if r.status != http.StatusOK || !strings.Contains(string(r.body), `"counter":1`) {
						t.Errorf("legit GET %s: %s", target, r)
					}
					continue
				}
				if r.status < 400 || r.status > 499 {
					t.Errorf("GET %s: %s, want a 4xx envelope", target, r)
					continue
				}
				if _, err := checkEnvelope(r); err != nil {
					t.Errorf("GET %s: %v", target, err)
				}
			}
		}
	}
	// Webhook paths, correctly signed for trav's secret.
	for _, p := range []string{
		"../../../../SECRET-SENTINEL", "..%2f..%2f..%2f..%2fSECRET-SENTINEL", "%2e%2e/%2e%2e/%2e%2e/SECRET-SENTINEL",
		"trav%00", "%00", "trav%00/../trav", filepath.Join(outside, "SECRET-SENTINEL")[1:], "/etc/passwd",
		"..", "../..", "trav/../../environment", "%2e%2e%2fenvironment", strings.TrimPrefix(abs, "%2F"),
	} {
		body := runBody()
		target := "/karajo/api/job_exec/run/" + p
		r, err := hoSend(s, http.MethodPost, target, map[string]string{"Content-Type": "application/json", "X-Karajo-Sign": sign(testSecret, body)}, body, false)
		if err != nil {
			t.Errorf("POST %s: %v", target, err)
			continue
		}
		answers = append(answers, r)
		if r.status < 400 || r.status > 499 {
			t.Errorf("POST %s: %s, want a 4xx envelope", target, r)
			continue
		}
		if _, err := checkEnvelope(r); err != nil {
			t.Errorf("POST %s: %v", target, err)
		}
	}
	// Static files: dir_public is inside dir_base, the sentinel one level up.
	for _, target := range []string{
		"/../SECRET-SENTINEL", "/../../SECRET-SENTINEL", "/%2e%2e/SECRET-SENTINEL", "/..%2fSECRET-SENTINEL",
		"/karajo/../../SECRET-SENTINEL", "/karajo/%2e%2e/%2e%2e/SECRET-SENTINEL", "/%2e%2e%2f%2e%2e%2fSECRET-SENTINEL",
		"/./../SECRET-SENTINEL", "/..%5cSECRET-SENTINEL", "/SECRET-SENTINEL%00", "/index.html%00",
		"/" + filepath.Join(outside, "SECRET-SENTINEL")[1:], "//" + filepath.Join(outside, "SECRET-SENTINEL")[1:],
		"/karajo/api/../../SECRET-SENTINEL", "/karajo/api/job_exec/log/../../../../SECRET-SENTINEL",
	} {
		r, err := hoSend(s, http.MethodGet, target, nil, nil, false)
		if err != nil {
			t.Errorf("GET %s: %v", target, err)
			continue
		}
		answers = append(answers, r)
		if r.status >= 500 {
			t.Errorf("GET %s: %s", target, r)
		}
	}
	leaks := 0
	for _, r := range answers {
		if bytes.Contains(r.body, []byte(hoMarker)) || strings.Contains(fmt.Sprint(r.header), hoMarker) || hoContentHas(r, hoMarker) {
			leaks++
			if leaks <= 5 {
				t.Errorf("an answer carries a sentinel file's content: %s", r)
			}
		}
	}
	t.Logf("%d hostile requests, %d answers carried sentinel content", len(answers), leaks)
	if r := s.get(t, "/karajo/api/health"); r.status != http.StatusOK {
		t.Errorf("health after traversal attempts: %s", r)
	}
}

// hoContentHas reports whether a log answer's base64 content contains s.
func hoContentHas(r response, s string) bool {
	var env struct {
		Data struct {
			Content []byte `json:"content"`
		} `json:"data"`
	}
	if json.Unmarshal(r.body, &env) != nil {
		return false
	}
	return bytes.Contains(env.Data.Content, []byte(s))
}

// TestSecretsNotInOutput configures distinctive secrets (env, jobs, JobHttp,
// notif password), exercises the API (good and bad signatures, logs,
// warnings, failing notifications) and requires that no secret appears in
// any HTTP answer or in the server's output.
func TestSecretsNotInOutput(t *testing.T) {
	t.Parallel()
	const (
		envSecret  = "envsecret-Q7vX2pL9mK"
		jobSecret  = "jobsecret-M4nB6yH2cV"
		ghSecret   = "ghsecret-R5tY7uI9oP"
		httpSecret = "httpsecret-P0oI9uY8tR"
		notifPass  = "notifpass-Z8kW3rT1eQ"
	)
	secrets := []string{envSecret, jobSecret, ghSecret, httpSecret, notifPass}
	dir := t.TempDir()
	writeConfig(t, dir, fmt.Sprintf(`[karajo]
name = "karajo-it"
listen_address = "127.0.0.1:0"
dir_base = %q
secret = %q
max_job_running = 4

[notif.ops]
kind = "email"
smtp_server = "smtp://127.0.0.1:1"
smtp_user = "opsuser"
smtp_password = %q
from = "karajo@example.com"
to = ["ops@example.com"]

[job.hook]
path = "/hook"
secret = %q
commands = ["echo hook $KARAJO_JOB_COUNTER", "env", "false"]
notif_on_failed = ["ops"]
notif_on_success = ["ops"]

[job.gh]
path = "/gh"
auth_kind = "github"
secret = %q
commands = ["true"]
notif_on_success = ["ops"]

[job.short]
interval = "30s"
commands = ["true"]

[job_http.ping]
secret = %q
interval = "1m"
http_method = "POST"
http_url = "/karajo/api/job_exec/run/hook"
http_request_type = "json"
`, dir, envSecret, notifPass, jobSecret, ghSecret, httpSecret))
	s := startDir(t, dir)

	var answers []response
	keep := func(r response) response { answers = append(answers, r); return r }
	post := func(target string, hdr map[string]string, body []byte) response {
		r, err := hoSend(s, http.MethodPost, target, hdr, body, false)
		if err != nil {
			t.Fatalf("POST %s: %v", target, err)
		}
		return keep(r)
	}
	gz := map[string]string{"Accept-Encoding": "gzip"}

	// Webhooks: right, wrong, env secret, github good and bad.
	body := runBody()
	badBody := []byte(fmt.Sprintf(`{"_karajo_epoch":%d,"bad":1}`, time.Now().Unix()))
	wantEnvelope(t, post("/karajo/api/job_exec/run/hook", map[string]string{"Content-Type": "application/json", "X-Karajo-Sign": sign(jobSecret, body)}, body), 200)
	wantEnvelope(t, post("/karajo/api/job_exec/run/hook", map[string]string{"Content-Type": "application/json", "X-Karajo-Sign": sign("nope", badBody)}, badBody), 403)
	wantEnvelope(t, post("/karajo/api/job_exec/run/hook", map[string]string{"Content-Type": "application/json", "X-Karajo-Sign": sign(envSecret, badBody)}, badBody), 403)
	wantEnvelope(t, post("/karajo/api/job_exec/run/gh", map[string]string{"Content-Type": "application/json", "X-Hub-Signature-256": "sha256=" + sign(ghSecret, body)}, body), 200)
	wantEnvelope(t, post("/karajo/api/job_exec/run/gh", map[string]string{"Content-Type": "application/json", "X-Hub-Signature-256": "sha256=" + sign("nope", badBody)}, badBody), 403)
	// Valid signatures the server could compute for the refused bodies must
	// not be printed either (they would be usable).
	leakable := []string{sign(jobSecret, badBody), sign(ghSecret, badBody)}

	// Control endpoints: bad signature, stale epoch, good.
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	cb := controlBody("hook")
	wantEnvelope(t, keep(s.control(t, "pause", "", cb, sign("nope", []byte(cb)))), 401)
	stale := "_karajo_epoch=1&id=hook"
	wantEnvelope(t, keep(s.control(t, "pause", "", stale, sign(envSecret, []byte(stale)))), 401)
	leakable = append(leakable, sign(envSecret, []byte(cb)))
	cb2 := controlBody("gh")
	wantEnvelope(t, keep(s.control(t, "pause", "", cb2, sign(envSecret, []byte(cb2)))), 200)
	cb3 := controlBody("gh")
	wantEnvelope(t, keep(s.control(t, "resume", "", cb3, sign(envSecret, []byte(cb3)))), 200)
	wantEnvelope(t, post("/karajo/api/job_http/pause?id=ping", map[string]string{"X-Karajo-Sign": sign("nope", []byte("id=ping"))}, nil), 401)
	leakable = append(leakable, sign(envSecret, []byte("id=ping")))
	post("/karajo/api/auth/login", form, []byte("name=root&password="+envSecret))
	keep(s.get(t, "/karajo/api/nope"))
	keep(s.get(t, "/karajo/api/health"))
	keep(s.get(t, "/metrics"))

	// Runs end (hook fails → notification attempts to a closed port; ping
	// is refused by hook's signature check) and their logs are read.
	if st := s.waitRun(t, "hook", 1, 60*time.Second); st != "failed" {
		t.Errorf("hook #1: %q", st)
	}
	s.waitRun(t, "gh", 1, 60*time.Second)
	waitFor(t, 60*time.Second, "ping's first run finished", func() bool {
		r := s.get(t, "/karajo/api/job_http?id=ping")
		return r.status == 200 && (strings.Contains(string(r.body), `"ping.1.success"`) || strings.Contains(string(r.body), `"ping.1.failed"`))
	})
	keep(s.raw(t, http.MethodGet, "/karajo/api/environment", gz, nil))
	keep(s.get(t, "/karajo/api/environment"))
	keep(s.get(t, "/karajo/api/job_http?id=ping"))
	keep(s.raw(t, http.MethodGet, "/karajo/api/job_exec/log?id=hook&counter=1", gz, nil))
	keep(s.get(t, "/karajo/api/job_exec/log?id=gh&counter=1"))
	keep(s.get(t, "/karajo/api/job_http/log?id=ping&counter=1"))
	// Let the notifier try (and fail) a couple of times.
	time.Sleep(3 * time.Second)
	s.stop()
	stderr := s.stderr.String()

	for _, sec := range secrets {
		for i, r := range answers {
			if strings.Contains(string(r.body), sec) || strings.Contains(fmt.Sprint(r.header), sec) || hoContentHas(r, sec) {
				t.Errorf("answer %d carries secret %q: %s", i, sec, r)
			}
		}
		if strings.Contains(stderr, sec) {
			t.Errorf("server output carries secret %q:\n%s", sec, hoLinesWith(stderr, sec))
		}
	}
	for _, sig := range leakable {
		if strings.Contains(stderr, sig) {
			t.Errorf("server output carries a valid signature of a refused request (%s):\n%s", sig, hoLinesWith(stderr, sig))
		}
	}
	mailLines := 0
	for _, l := range strings.Split(stderr, "\n") {
		if strings.Contains(strings.ToLower(l), "mail") || strings.Contains(strings.ToLower(l), "notif") || strings.Contains(l, "smtp") {
			mailLines++
		}
	}
	t.Logf("%d answers and %d bytes of server output (%d lines about notifications) checked for %d secrets", len(answers), len(stderr), mailLines, len(secrets))
}

// hoLinesWith returns the lines of text containing s.
func hoLinesWith(text, s string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
