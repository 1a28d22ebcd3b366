package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fdConn opens a connection to s from the loopback address local ("" =
// the default) and writes head; the caller closes it.
func fdConn(t *testing.T, s *server, local, head string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 10 * time.Second}
	if local != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(local)}
	}
	c, err := d.Dial("tcp", s.addr)
	if err != nil {
		t.Fatalf("dial from %q: %v", local, err)
	}
	if head != "" {
		if _, err := io.WriteString(c, head); err != nil {
			c.Close()
			t.Fatalf("write: %v", err)
		}
	}
	return c
}

// fdRead reads one answer from c within d.
func fdRead(c net.Conn, d time.Duration) (*http.Response, string, error) {
	c.SetReadDeadline(time.Now().Add(d))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, string(b), err
}

// TestFrontDoorUnknownPathBeforeBody (issue 14, finding 1): an unknown
// webhook path announcing 32 MiB − 1 and sending 1 KiB is answered 404
// within a second, without waiting for the body.
func TestFrontDoorUnknownPathBeforeBody(t *testing.T) {
	t.Parallel()
	s := start(t, "[job.hook]\npath = \"/hook\"\ncommands = [\"true\"]\n")
	c := fdConn(t, s, "", fmt.Sprintf("POST /karajo/api/job_exec/run/nothing-here HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nX-Karajo-Sign: %s\r\nContent-Length: 33554431\r\n\r\n%s",
		strings.Repeat("0", 64), strings.Repeat("x", 1024)))
	defer c.Close()
	t0 := time.Now()
	resp, body, err := fdRead(c, 5*time.Second)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	if took := time.Since(t0); resp.StatusCode != 404 || took > time.Second {
		t.Fatalf("unknown path: %d %s after %v, want 404 within 1s", resp.StatusCode, body, took)
	}
	wantEnvelope(t, response{status: resp.StatusCode, header: resp.Header, body: []byte(body)}, 404)
}

// TestFrontDoorStalledUploads (finding 1): 30 uploads of 16 MiB to a real
// webhook path, each stalled one byte short, grow the server's RSS by at
// most 64 MB; those past the budget of bodies in flight get a 503
// envelope; the server keeps serving, and a signed trigger passes once
// the stalled ones are cut off by body_timeout.
func TestFrontDoorStalledUploads(t *testing.T) {
	t.Parallel()
	s := start(t, "body_timeout = \"8s\"\n[job.hook]\npath = \"/hook\"\ncommands = [\"true\"]\n")
	const n, size = 30, 16 << 20
	s.get(t, "/karajo/api/health")
	before := vmRSS(t, s.pid())
	chunk := []byte(strings.Repeat("y", 1<<20))
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	conns := make([]net.Conn, n)
	for i := range conns {
		conns[i] = fdConn(t, s, "", fmt.Sprintf("POST /karajo/api/job_exec/run/hook HTTP/1.1\r\nHost: localhost\r\nX-Karajo-Sign: %s\r\nContent-Length: %d\r\n\r\n", strings.Repeat("0", 64), size))
		defer conns[i].Close()
		wg.Add(1)
		go func(c net.Conn) {
			defer wg.Done()
			c.SetWriteDeadline(time.Now().Add(30 * time.Second))
			for sent := 0; sent < size-1; {
				k := min(len(chunk), size-1-sent)
				if _, err := c.Write(chunk[:k]); err != nil {
					return // answered early and closed
				}
				sent += k
			}
		}(conns[i])
	}
	wg.Wait()
	peak := vmRSS(t, s.pid())
	if r := s.get(t, "/karajo/api/health"); r.status != http.StatusOK {
		t.Errorf("health while %d uploads stall: %s", n, r)
	}
	for _, c := range conns {
		resp, _, err := fdRead(c, 20*time.Second)
		mu.Lock()
		if err != nil {
			codes[0]++
		} else {
			codes[resp.StatusCode]++
		}
		mu.Unlock()
	}
	grew := (peak - before) / 1024
	t.Logf("RSS before %d MiB, with %d stalled 16 MiB uploads %d MiB (+%d MiB); answers by status: %v", before/1024, n, peak/1024, grew, codes)
	if grew > 64 {
		t.Errorf("RSS grew by %d MiB with stalled uploads, want ≤ 64", grew)
	}
	if codes[http.StatusServiceUnavailable] == 0 {
		t.Errorf("no upload was refused past max_body_bytes_in_flight: %v", codes)
	}
	for code := range codes {
		if code != http.StatusServiceUnavailable && code != http.StatusRequestTimeout && code != 0 {
			t.Errorf("stalled upload answered %d, want 503 or 408", code)
		}
	}
	wantEnvelope(t, s.trigger(t, "hook", testSecret), http.StatusOK)
}

// TestFrontDoorBodyTimeout (finding 2): a body that stalls is cut off
// after body_timeout with a 408 envelope, and the connection closed.
func TestFrontDoorBodyTimeout(t *testing.T) {
	t.Parallel()
	s := start(t, "body_timeout = \"2s\"\n[job.hook]\npath = \"/hook\"\ncommands = [\"true\"]\n")
	for _, target := range []string{"/karajo/api/job_exec/run/hook", "/karajo/api/job_exec/pause", "/karajo/api/auth/login"} {
		c := fdConn(t, s, "", fmt.Sprintf("POST %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nX-Karajo-Sign: %s\r\nContent-Length: 1000\r\n\r\nid=hook", target, strings.Repeat("0", 64)))
		t0 := time.Now()
		resp, body, err := fdRead(c, 15*time.Second)
		took := time.Since(t0)
		if err != nil {
			t.Errorf("%s: stalled body not answered within 15s: %v", target, err)
			c.Close()
			continue
		}
		if resp.StatusCode != http.StatusRequestTimeout || took < 1500*time.Millisecond || took > 10*time.Second {
			t.Errorf("%s: stalled body: %d %s after %v, want 408 after about 2s", target, resp.StatusCode, body, took)
		}
		wantEnvelope(t, response{status: resp.StatusCode, header: resp.Header, body: []byte(body)}, http.StatusRequestTimeout)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("%s: connection not closed after the 408: %v", target, err)
		}
		c.Close()
	}
}

// TestFrontDoorConnectionsPerClient (finding 2): with
// max_connections_per_client = 10, 50 idle connections from 127.0.0.1 do
// not stop the health check from 127.0.0.2; the connections past the
// limit are closed at once and counted in the metrics.
func TestFrontDoorConnectionsPerClient(t *testing.T) {
	t.Parallel()
	s := start(t, "max_connections_per_client = 10\n")
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 50 {
		conns = append(conns, fdConn(t, s, "127.0.0.1", ""))
	}
	closed := fdClosed(conns, 3*time.Second)
	// The harness may hold one more idle connection from 127.0.0.1.
	if closed < 40 || closed > 41 {
		t.Errorf("%d of 50 idle connections from 127.0.0.1 closed at once, want 40 (41)", closed)
	}
	c := fdConn(t, s, "127.0.0.2", "GET /karajo/api/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
	defer c.Close()
	resp, body, err := fdRead(c, 5*time.Second)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("health from 127.0.0.2 while 127.0.0.1 is at its limit: %v %v %s", resp, err, body)
	}
	for _, c := range conns {
		c.Close()
	}
	conns = nil
	c = fdConn(t, s, "127.0.0.2", "GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
	defer c.Close()
	_, metrics, err := fdRead(c, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`karajo_http_connections_refused_total\{limit="max_connections_per_client"\} (\d+)`).FindStringSubmatch(metrics)
	if m == nil || m[1] != strconv.Itoa(closed) {
		t.Errorf("metrics count %v refused connections, want %d", m, closed)
	}
}

// fdClosed counts the connections the server has closed, waiting up to
// wait for each (in parallel: one that stays open costs wait once).
func fdClosed(conns []net.Conn, wait time.Duration) int {
	var n atomic.Int64
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.SetReadDeadline(time.Now().Add(wait))
			if _, err := c.Read(make([]byte, 1)); err != nil && !isTimeout(err) {
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	return int(n.Load())
}

// isTimeout reports whether err is a timeout.
func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// TestFrontDoorStreams (finding 2): the 11th stream with max_streams = 10
// gets a 503 envelope, and a stream ends after stream_max.
func TestFrontDoorStreams(t *testing.T) {
	t.Parallel()
	s := start(t, "max_streams = 10\nstream_max = \"5s\"\n")
	var conns []net.Conn
	var streams []*http.Response
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range 10 {
		c := fdConn(t, s, "", "GET /karajo/api/events HTTP/1.1\r\nHost: localhost\r\n\r\n")
		conns = append(conns, c)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("stream %d: %v %v", i+1, resp, err)
		}
		streams = append(streams, resp)
	}
	r := s.get(t, "/karajo/api/events")
	wantEnvelope(t, r, http.StatusServiceUnavailable)
	// stream_max ends the streams (5 s), which frees room for new ones.
	t0 := time.Now()
	for i, resp := range streams {
		conns[i].SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			t.Errorf("stream not ended by stream_max: %v", err)
		}
	}
	t.Logf("10 streams ended %v after the 11th was refused (stream_max 5s)", time.Since(t0).Round(time.Millisecond))
	waitFor(t, 5*time.Second, "room for a stream again", func() bool {
		c := fdConn(t, s, "", "GET /karajo/api/events HTTP/1.1\r\nHost: localhost\r\n\r\n")
		defer c.Close()
		resp, _, err := fdHead(c)
		return err == nil && resp.StatusCode == http.StatusOK
	})
}

// fdHead reads the status and headers of one answer.
func fdHead(c net.Conn) (*http.Response, string, error) {
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	return resp, "", err
}

// TestFrontDoorHost (finding 9): a Host that does not name the server
// gets a 421 envelope, on reads and on webhooks; localhost:<port>, the
// listen address and allowed_hosts are served.
func TestFrontDoorHost(t *testing.T) {
	t.Parallel()
	s := start(t, "allowed_hosts = [\"karajo.example.com\"]\n[job.hook]\npath = \"/hook\"\ncommands = [\"true\"]\n")
	_, port, _ := net.SplitHostPort(s.addr)
	for _, tt := range []struct {
		host, target string
		want         int
	}{
		{"attacker.example", "/karajo/api/environment", 421},
		{"attacker.example:" + port, "/karajo/api/job_exec/log?id=hook&counter=1", 421},
		{"attacker.example", "/karajo/api/job_exec/run/hook", 421},
		{"localhost:" + port, "/karajo/api/environment", 200},
		{s.addr, "/karajo/api/environment", 200},
		{"karajo.example.com", "/karajo/api/environment", 200},
	} {
		method := "GET"
		if strings.Contains(tt.target, "/run/") {
			method = "POST"
		}
		c := fdConn(t, s, "", fmt.Sprintf("%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", method, tt.target, tt.host))
		resp, body, err := fdRead(c, 5*time.Second)
		c.Close()
		if err != nil {
			t.Fatalf("Host %s: %v", tt.host, err)
		}
		env := wantEnvelope(t, response{status: resp.StatusCode, header: resp.Header, body: []byte(body)}, tt.want)
		if tt.want == 421 && !strings.Contains(env.Message, "misdirected") {
			t.Errorf("Host %s: 421 message %q", tt.host, env.Message)
		}
	}
}

// TestFrontDoorTrustedProxy: behind a trusted proxy the client is the
// first untrusted hop of X-Forwarded-For; the proxy's own connections are
// not limited per client, its clients are (429 past the limit).
func TestFrontDoorTrustedProxy(t *testing.T) {
	t.Parallel()
	s := start(t, "max_connections_per_client = 3\ntrusted_proxies = [\"127.0.0.1\"]\nbody_timeout = \"5s\"\n[job.hook]\npath = \"/hook\"\ncommands = [\"true\"]\n")
	stalled := func(xff string) net.Conn {
		return fdConn(t, s, "127.0.0.1", fmt.Sprintf("POST /karajo/api/job_exec/run/hook HTTP/1.1\r\nHost: localhost\r\nX-Forwarded-For: %s\r\nX-Karajo-Sign: %s\r\nContent-Length: 100\r\n\r\n{", xff, strings.Repeat("0", 64)))
	}
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 3 { // one client's three stalled requests through the proxy
		conns = append(conns, stalled("1.2.3.4, 203.0.113.9"))
	}
	// All three are in their handlers once their first body byte is
	// charged to the budget.
	waitFor(t, 10*time.Second, "3 body bytes in flight", func() bool {
		c := fdConn(t, s, "127.0.0.2", "GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
		defer c.Close()
		_, m, err := fdRead(c, 5*time.Second)
		return err == nil && strings.Contains(m, "\nkarajo_http_body_bytes_in_flight 3\n")
	})
	c := stalled("9.9.9.9, 203.0.113.9") // the same client, whatever it claims on the left
	resp, body, err := fdRead(c, 3*time.Second)
	c.Close()
	if err != nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("4th request of 203.0.113.9 through the proxy: %v %v %s, want 429", resp, err, body)
	}
	wantEnvelope(t, response{status: resp.StatusCode, header: resp.Header, body: []byte(body)}, http.StatusTooManyRequests)
	// Another client through the same proxy (more than 3 connections from
	// 127.0.0.1) is served.
	c = fdConn(t, s, "127.0.0.1", "GET /karajo/api/health HTTP/1.1\r\nHost: localhost\r\nX-Forwarded-For: 198.51.100.7\r\nConnection: close\r\n\r\n")
	resp, body, err = fdRead(c, 5*time.Second)
	c.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("other client through the proxy: %v %v %s", resp, err, body)
	}
}

// TestFrontDoorJobHTTPRedirect (finding 10): a JobHttp redirected to
// another loopback address does not reach it by default (the run fails
// with the 3xx); a redirect on the same host is followed; with
// http_redirects = "any" the other host is reached without the custom
// headers and the signature.
func TestFrontDoorJobHTTPRedirect(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var reached []http.Header
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("cannot listen on 127.0.0.2: %v", err)
	}
	other := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		reached = append(reached, r.Header.Clone())
		mu.Unlock()
		io.WriteString(w, "other host")
	})}
	go other.Serve(ln)
	defer other.Close()
	otherURL := "http://" + ln.Addr().String() + "/steal"
	rec := jhNewRecorder(t, false, func(w http.ResponseWriter, r *http.Request) bool {
		switch r.URL.Path {
		case "/cross":
			http.Redirect(w, r, otherURL, http.StatusFound)
		case "/same":
			http.Redirect(w, r, "/final", http.StatusFound)
		default:
			return false
		}
		return true
	})
	base := rec.srv.URL
	s := jhStart(t, "", fmt.Sprintf(`
[job_http.cross]
interval = "1h"
http_url = %q
http_headers = ["X-Api-Key: k3y"]
secret = "jobsecret"

[job_http.same]
interval = "1h"
http_url = %q
http_headers = ["X-Api-Key: k3y"]

[job_http.anyhop]
interval = "1h"
http_url = %q
http_headers = ["X-Api-Key: k3y"]
secret = "jobsecret"
http_redirects = "any"
`, base+"/cross", base+"/same", base+"/cross"))
	if st := s.jhWaitRun(t, "cross", 1, 30*time.Second); st != "failed" {
		t.Errorf("cross-host redirect, same-host policy: run = %q, want failed", st)
	}
	if l := s.jhLog(t, "cross", 1); !strings.Contains(string(l.Content), "not followed") || !strings.Contains(string(l.Content), "302 Found") {
		t.Errorf("cross log does not record the 302 not followed:\n%s", l.Content)
	}
	if st := s.jhWaitRun(t, "same", 1, 30*time.Second); st != "success" {
		t.Errorf("same-host redirect: run = %q, want success", st)
	}
	if got := rec.got("/final"); len(got) != 1 || got[0].header.Get("X-Api-Key") != "k3y" {
		t.Errorf("same-host redirect: /final got %d requests (%v), want 1 with X-Api-Key", len(got), got)
	}
	if st := s.jhWaitRun(t, "anyhop", 1, 30*time.Second); st != "success" {
		t.Errorf("http_redirects = any: run = %q, want success", st)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reached) != 1 {
		t.Fatalf("the other host was reached %d times, want once (by anyhop only)", len(reached))
	}
	if h := reached[0]; h.Get("X-Api-Key") != "" || h.Get("X-Karajo-Sign") != "" {
		t.Errorf("the other host got X-Api-Key %q and X-Karajo-Sign %q, want neither", h.Get("X-Api-Key"), h.Get("X-Karajo-Sign"))
	}
}

// TestFrontDoorSignedReadReplay (finding 8): a signed read signs its
// target (path and query); its signature replayed as a pause body, as a
// JobHttp pause query or as a webhook body is refused, and the job stays
// unpaused.
func TestFrontDoorSignedReadReplay(t *testing.T) {
	t.Parallel()
	s := startWithUser(t)
	target := fmt.Sprintf("/karajo/api/job_exec/log?_karajo_epoch=%d&id=h&counter=1", time.Now().Unix())
	sig := sign(testSecret, []byte(target))
	// The read itself passes its authorisation (no log yet: 404).
	if r := s.raw(t, "GET", target, map[string]string{"X-Karajo-Sign": sig}, nil); r.status != http.StatusNotFound {
		t.Fatalf("signed read: %s, want 404 (authorised, no log #1)", r)
	}
	// The old scheme, the raw query signed, no longer authorises.
	_, q, _ := strings.Cut(target, "?")
	if r := s.raw(t, "GET", target, map[string]string{"X-Karajo-Sign": sign(testSecret, []byte(q))}, nil); r.status != http.StatusUnauthorized {
		t.Errorf("read signed over the raw query only: %s, want 401", r)
	}
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "X-Karajo-Sign": sig}
	if r := s.raw(t, "POST", "/karajo/api/job_exec/pause", form, []byte(target)); r.status < 400 || r.status >= 500 {
		t.Errorf("read signature replayed as a pause body: %s, want 4xx", r)
	}
	if r := s.raw(t, "POST", "/karajo/api/job_exec/run/h", map[string]string{"X-Karajo-Sign": sig}, []byte(target)); r.status != http.StatusForbidden {
		t.Errorf("read signature replayed as a webhook body: %s, want 403", r)
	}
	jt := fmt.Sprintf("/karajo/api/job_http?_karajo_epoch=%d&id=h", time.Now().Unix())
	if r := s.raw(t, "POST", "/karajo/api/job_http/pause?"+jt, map[string]string{"X-Karajo-Sign": sign(testSecret, []byte(jt))}, nil); r.status < 400 || r.status >= 500 {
		t.Errorf("read signature replayed as a JobHttp pause query: %s, want 4xx", r)
	}
	env := fmt.Sprintf("/karajo/api/environment?_karajo_epoch=%d", time.Now().Unix())
	r := s.raw(t, "GET", env, map[string]string{"X-Karajo-Sign": sign(testSecret, []byte(env))}, nil)
	if r.status != http.StatusOK || strings.Contains(string(r.body), `"is_paused":true`) {
		t.Errorf("after the replays: %s, want 200 and no job paused", r)
	}
}

// TestFrontDoorIdleAndTotal: an idle keep-alive connection is closed after
// idle_timeout; past max_connections new connections are closed at once,
// while loopback clients still get in on the reserve (a local health
// check answers).
func TestFrontDoorIdleAndTotal(t *testing.T) {
	t.Parallel()
	s := start(t, "idle_timeout = \"1s\"\nmax_connections = 4\nmax_connections_per_client = 100\n")
	c := fdConn(t, s, "", "GET /karajo/api/health HTTP/1.1\r\nHost: localhost\r\n\r\n")
	defer c.Close()
	if resp, _, err := fdRead(c, 5*time.Second); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("health: %v %v", resp, err)
	}
	t0 := time.Now()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("idle keep-alive connection: %v, want closed by the server", err)
	} else if took := time.Since(t0); took > 5*time.Second {
		t.Errorf("idle keep-alive connection closed after %v, idle_timeout is 1s", took)
	}
	// Fill max_connections (4) and the loopback reserve (16) with idle
	// connections; the next ones are closed at once.
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 4 + 16 + 5 {
		conns = append(conns, fdConn(t, s, "", ""))
	}
	closed := fdClosed(conns, 3*time.Second)
	if closed < 4 || closed > 6 { // the harness may hold one more
		t.Errorf("%d of 25 connections closed at once past max_connections 4 + reserve 16, want 5", closed)
	}
	// Connections held within the reserve are loopback ones: free one and
	// the health check gets in.
	conns[0].Close()
	waitFor(t, 10*time.Second, "health on the loopback reserve", func() bool {
		c := fdConn(t, s, "", "GET /karajo/api/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
		defer c.Close()
		resp, _, err := fdRead(c, 2*time.Second)
		return err == nil && resp.StatusCode == http.StatusOK
	})
}
