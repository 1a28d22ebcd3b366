package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// This file tests JobHttp jobs from the outside (SPEC 1.3, 2.6, 4.4.6-4.4.8,
// 6, Appendix A): the requests they send, the outcome of their runs, their
// logs, the JobHttp API and their state across restarts.

// jhView is a JobHttp as the API shows it (Appendix A).
type jhView struct {
	HeaderSign      string   `json:"header_sign"`
	HTTPMethod      string   `json:"http_method"`
	HTTPURL         string   `json:"http_url"`
	HTTPRequestType string   `json:"http_request_type"`
	HTTPHeaders     []string `json:"http_headers"`
	LastRun         string   `json:"last_run"`
	NextRun         string   `json:"next_run"`
	ID              string   `json:"id"`
	Name            string   `json:"name"`
	Description     string   `json:"description"`
	Status          string   `json:"status"`
	Schedule        string   `json:"schedule"`
	NotifOnSuccess  []string `json:"notif_on_success"`
	NotifOnFailed   []string `json:"notif_on_failed"`
	Logs            []logRef `json:"logs"`
	Interval        int64    `json:"interval"`
	LogRetention    int      `json:"log_retention"`
	HTTPTimeout     int64    `json:"http_timeout"`
	HTTPInsecure    bool     `json:"http_insecure"`
}

// jhHeader is the standard [karajo] table plus extra keys of that table.
func jhHeader(dir, extra string) string {
	return configHeader(dir) + extra + "\n"
}

// jhStart starts a server whose [karajo] table has the extra keys.
func jhStart(t *testing.T, extra, jobs string) *server {
	t.Helper()
	dir := t.TempDir()
	writeConfig(t, dir, jhHeader(dir, extra)+"\n"+jobs)
	return startDir(t, dir)
}

// jhGet fetches GET /karajo/api/job_http?id= and requires 200.
func (s *server) jhGet(t *testing.T, id string) jhView {
	t.Helper()
	r := s.get(t, "/karajo/api/job_http?id="+url.QueryEscape(id))
	env := wantEnvelope(t, r, http.StatusOK)
	var j jhView
	if err := json.Unmarshal(env.Data, &j); err != nil {
		t.Fatalf("job_http %s: %v: %s", id, err, r)
	}
	return j
}

// jhWaitRun waits until run #counter of JobHttp id has a final log status
// and returns it.
func (s *server) jhWaitRun(t *testing.T, id string, counter int64, timeout time.Duration) string {
	t.Helper()
	var got string
	waitFor(t, timeout, fmt.Sprintf("job_http %s run #%d finished", id, counter), func() bool {
		j := s.jhGet(t, id)
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

// jhLog fetches GET /karajo/api/job_http/log and requires 200.
func (s *server) jhLog(t *testing.T, id string, counter int64) jobLog {
	t.Helper()
	r := s.get(t, fmt.Sprintf("/karajo/api/job_http/log?id=%s&counter=%d", url.QueryEscape(id), counter))
	env := wantEnvelope(t, r, http.StatusOK)
	var l jobLog
	if err := json.Unmarshal(env.Data, &l); err != nil {
		t.Fatalf("job_http log %s #%d: %v: %s", id, counter, err, r)
	}
	return l
}

// jhLogDir is the log directory of JobHttp id.
func (s *server) jhLogDir(id string) string {
	return filepath.Join(s.dir, "var", "log", "karajo", "job_http", id)
}

// jhLines checks the JobHttp prefix (SPEC 7.3, IMP-27) on every line of a
// log and returns the lines without prefix and without a trailing CR.
func jhLines(t *testing.T, id string, content []byte) []string {
	t.Helper()
	text := string(content)
	if !strings.HasSuffix(text, "\n") {
		t.Errorf("log of %s does not end with a newline: %q", id, tail(text, 200))
	}
	re := regexp.MustCompile(`^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC job_http: ` + regexp.QuoteMeta(id) + `: `)
	var out []string
	for i, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		loc := re.FindStringIndex(line)
		if loc == nil {
			t.Errorf("log of %s, line %d lacks the prefix `YYYY-MM-DD HH:MM:SS UTC job_http: %s: `: %q", id, i+1, id, line)
			out = append(out, strings.TrimSuffix(line, "\r"))
			continue
		}
		out = append(out, strings.TrimSuffix(line[loc[1]:], "\r"))
	}
	return out
}

// jhHas reports whether one of lines equals s.
func jhHas(lines []string, s string) bool {
	for _, l := range lines {
		if l == s {
			return true
		}
	}
	return false
}

// jhLast is the last element of lines ("" if none).
func jhLast(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	return lines[len(lines)-1]
}

// jhRequest is one request received by a jhRecorder.
type jhRequest struct {
	method string
	target string // request target as sent (path and raw query)
	header http.Header
	body   []byte
	at     time.Time
}

// jhRecorder is an HTTP server on 127.0.0.1 that records every request
// and answers through a per-path handler (200 "reply <path>" by default).
type jhRecorder struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs map[string][]jhRequest // by URL path
}

func jhNewRecorder(t *testing.T, tlsServer bool, answer func(w http.ResponseWriter, r *http.Request) bool) *jhRecorder {
	t.Helper()
	rec := &jhRecorder{reqs: map[string][]jhRequest{}}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := new(bytes.Buffer)
		body.ReadFrom(r.Body)
		rec.mu.Lock()
		rec.reqs[r.URL.Path] = append(rec.reqs[r.URL.Path], jhRequest{
			method: r.Method, target: r.RequestURI, header: r.Header.Clone(), body: body.Bytes(), at: time.Now(),
		})
		rec.mu.Unlock()
		if answer != nil && answer(w, r) {
			return
		}
		w.Header().Set("X-Reply", "yes")
		fmt.Fprintf(w, "reply %s\n", r.URL.Path)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rec.srv = &httptest.Server{Listener: ln, Config: &http.Server{Handler: h, ErrorLog: log.New(io.Discard, "", 0)}}
	if tlsServer {
		rec.srv.StartTLS()
	} else {
		rec.srv.Start()
	}
	t.Cleanup(func() {
		rec.srv.CloseClientConnections()
		rec.srv.Close()
	})
	return rec
}

// got returns the requests received on path.
func (rec *jhRecorder) got(path string) []jhRequest {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]jhRequest(nil), rec.reqs[path]...)
}

// jhDeadAddr is a 127.0.0.1 address that was listened on and closed.
func jhDeadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// jhVersion is the version printed by `karajo version`.
func jhVersion(t *testing.T) string {
	t.Helper()
	out, err := exec.Command(binPath, "version").Output()
	if err != nil {
		t.Fatalf("karajo version: %v", err)
	}
	return strings.TrimSpace(strings.TrimPrefix(string(out), "karajo version "))
}

var jhEpochRe = regexp.MustCompile(`^_karajo_epoch=([0-9]+)$`)

// TestJobHTTPRequest checks what a JobHttp sends (SPEC 6.1-6.4, IMP-23,
// IMP-24, IMP-25) for each request type and several methods, and what its
// run records (6.6, 4.4.6, 4.4.7).
func TestJobHTTPRequest(t *testing.T) {
	t.Parallel()
	big := bytes.Repeat([]byte("0123456789abcdef"), 3<<20/16) // 3 MiB
	rec := jhNewRecorder(t, false, func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/hook/big" {
			w.Write(big)
			return true
		}
		return false
	})
	ts := rec.srv.URL

	tests := []struct {
		name, id string
		toml     string // keys of the table, besides interval
		dropIn   bool   // defined in job_http.d
		method   string // expected request method
		path     string // expected URL path (the recorder's key)
		query    string // expected raw query; "{}" stands for the _karajo_epoch parameter
		bodyKind string // "", "form" or "json": where the epoch is
		signHdr  string // header carrying the signature; "" = unsigned
		secret   string
		headers  map[string]string // expected request headers
		ua       string            // expected User-Agent; "" = karajo/<version>
	}{{
		name: "Query get", id: "query_get",
		toml:   `http_method = "GET"` + "\n" + `http_request_type = "query"` + "\n" + `secret = "k-query"` + "\n" + `http_url = "` + ts + `/hook/q-get/?y=2"`,
		method: "GET", path: "/hook/q-get/", query: "y=2&{}", signHdr: "X-Karajo-Sign", secret: "k-query",
	}, {
		name: "Query post default", id: "query_post_default",
		toml:   `http_method = " post "` + "\n" + `secret = "k-qpost"` + "\n" + `header_sign = "X-My-Sign"` + "\n" + `http_url = "` + ts + `/hook/q-post"`,
		method: "POST", path: "/hook/q-post", query: "{}", signHdr: "X-My-Sign", secret: "k-qpost",
	}, {
		name: "Form put", id: "form_put",
		toml: `http_method = "PUT"` + "\n" + `http_request_type = "FORM"` + "\n" + `secret = "k-form"` + "\n" +
			`http_url = "` + ts + `/hook/form-put/?y=2"` + "\n" + `http_headers = ["Content-Type: text/plain", "X-A: b", "X-Multi :  c : d  "]`,
		method: "PUT", path: "/hook/form-put/", query: "y=2", bodyKind: "form", signHdr: "X-Karajo-Sign", secret: "k-form",
		headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded", "X-A": "b", "X-Multi": "c : d"},
	}, {
		name: "Form get", id: "form_get",
		toml:   `http_request_type = "form"` + "\n" + `secret = "k-fget"` + "\n" + `http_url = "` + ts + `/hook/form-get/"`,
		method: "GET", path: "/hook/form-get/", bodyKind: "form", signHdr: "X-Karajo-Sign", secret: "k-fget",
		headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
	}, {
		name: "Json post", id: "json_post",
		toml: `http_method = "POST"` + "\n" + `http_request_type = "json"` + "\n" + `secret = "k-json"` + "\n" +
			`http_url = "` + ts + `/hook/json-post/"` + "\n" + `http_headers = ["Content-Type: text/xml", "X-Karajo-Sign: forged"]`,
		method: "POST", path: "/hook/json-post/", bodyKind: "json", signHdr: "X-Karajo-Sign", secret: "k-json",
		headers: map[string]string{"Content-Type": "application/json"},
	}, {
		name: "Json delete unsigned", id: "json_delete_unsigned", dropIn: true,
		toml:   `http_method = "delete"` + "\n" + `http_request_type = "json"` + "\n" + `http_url = "` + ts + `/hook/json-delete"` + "\n" + `http_headers = ["User-Agent: mine/1.0"]`,
		method: "DELETE", path: "/hook/json-delete", bodyKind: "json", ua: "mine/1.0",
		headers: map[string]string{"Content-Type": "application/json"},
	}, {
		name: "Query unsigned", id: "query_unsigned", dropIn: true,
		toml:   `http_url = "` + ts + `/hook/q-unsigned?a=1&b=%2F"`,
		method: "GET", path: "/hook/q-unsigned", query: "a=1&b=%2F&{}",
	}}

	var mainJobs, dropJobs strings.Builder
	for _, tt := range tests {
		b := &mainJobs
		if tt.dropIn {
			b = &dropJobs
		}
		fmt.Fprintf(b, "[job_http.%q]\ninterval = \"1m\"\n%s\n\n", tt.name, tt.toml)
	}
	fmt.Fprintf(&mainJobs, "[job_http.Big]\ninterval = \"1m\"\nhttp_url = %q\n\n", ts+"/hook/big")

	dir := t.TempDir()
	writeConfig(t, dir, configHeader(dir)+"\n"+mainJobs.String())
	dropDir := filepath.Join(dir, "etc", "karajo", "job_http.d")
	if err := os.MkdirAll(dropDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dropDir, "more.toml"), []byte(dropJobs.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startDir(t, dir)
	version := jhVersion(t)

	for _, tt := range tests {
		if st := s.jhWaitRun(t, tt.id, 1, 60*time.Second); st != "success" {
			t.Errorf("%s: run #1 = %q, want success", tt.id, st)
		}
	}
	if st := s.jhWaitRun(t, "big", 1, 60*time.Second); st != "success" {
		t.Errorf("big: run #1 = %q, want success", st)
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reqs := rec.got(tt.path)
			if len(reqs) != 1 {
				t.Fatalf("%d requests on %s, want 1", len(reqs), tt.path)
			}
			req := reqs[0]
			if req.method != tt.method {
				t.Errorf("method = %q, want %q", req.method, tt.method)
			}

			// Locate the epoch parameter.
			var param string
			switch tt.bodyKind {
			case "":
				if len(req.body) != 0 {
					t.Errorf("body = %q, want none for type query", req.body)
				}
				if ct := req.header.Get("Content-Type"); ct != "" {
					t.Errorf("Content-Type = %q, want none for type query", ct)
				}
				q := strings.TrimPrefix(strings.TrimPrefix(req.target, tt.path), "?")
				pre, post, _ := strings.Cut(tt.query, "{}")
				if !strings.HasPrefix(req.target, tt.path+"?") || !strings.HasPrefix(q, pre) || !strings.HasSuffix(q, post) {
					t.Fatalf("request target = %q, want %s?%s (IMP-23, IMP-25)", req.target, tt.path, tt.query)
				}
				param = strings.TrimSuffix(strings.TrimPrefix(q, pre), post)
			case "form":
				param = string(req.body)
			case "json":
				m := regexp.MustCompile(`^\{"_karajo_epoch":([0-9]+)\}$`).FindSubmatch(req.body)
				if m == nil {
					t.Fatalf(`body = %q, want {"_karajo_epoch":<decimal>}`, req.body)
				}
				param = "_karajo_epoch=" + string(m[1])
			}
			if tt.bodyKind != "" {
				want := tt.path
				if tt.query != "" {
					want += "?" + tt.query
				}
				if req.target != want {
					t.Errorf("request target = %q, want %q (IMP-23: path as configured)", req.target, want)
				}
			}
			m := jhEpochRe.FindStringSubmatch(param)
			if m == nil {
				t.Fatalf("epoch parameter = %q, want _karajo_epoch=<decimal> (IMP-24)", param)
			}
			epoch, _ := strconv.ParseInt(m[1], 10, 64)
			if d := req.at.Unix() - epoch; d < -5 || d > 5 {
				t.Errorf("_karajo_epoch = %d, received at %d: off by %ds", epoch, req.at.Unix(), d)
			}

			// Signature over the exact payload (SPEC 6.3).
			payload := []byte(param)
			if tt.bodyKind != "" {
				payload = req.body
			}
			if tt.signHdr != "" {
				if got, want := req.header.Get(tt.signHdr), sign(tt.secret, payload); got != want {
					t.Errorf("%s = %q, want HMAC-SHA256(%q, %q) = %q", tt.signHdr, got, tt.secret, payload, want)
				}
				if len(req.header.Values(tt.signHdr)) != 1 {
					t.Errorf("%s sent %d times: %q", tt.signHdr, len(req.header.Values(tt.signHdr)), req.header.Values(tt.signHdr))
				}
			} else if got := req.header.Get("X-Karajo-Sign"); got != "" {
				t.Errorf("X-Karajo-Sign = %q on a JobHttp without secret, want none", got)
			}
			for k, v := range tt.headers {
				if got := req.header.Values(k); len(got) != 1 || got[0] != v {
					t.Errorf("header %s = %q, want [%q]", k, got, v)
				}
			}
			wantUA := tt.ua
			if wantUA == "" {
				wantUA = "karajo/" + version
			}
			if got := req.header.Get("User-Agent"); got != wantUA {
				t.Errorf("User-Agent = %q, want %q", got, wantUA)
			}

			// The API: job, log ref and log content.
			j := s.jhGet(t, tt.id)
			wantRef := []logRef{{JobID: tt.id, Name: tt.id + ".1.success", Status: "success", Counter: 1}}
			if j.Status != "success" || !reflect.DeepEqual(j.Logs, wantRef) {
				t.Errorf("job_http %s: status %q logs %+v, want success %+v", tt.id, j.Status, j.Logs, wantRef)
			}
			if j.Name != tt.name || j.ID != tt.id {
				t.Errorf("name/id = %q/%q, want %q/%q", j.Name, j.ID, tt.name, tt.id)
			}
			if j.LastRun == "0001-01-01T00:00:00Z" {
				t.Errorf("last_run is zero after a run")
			}
			l := s.jhLog(t, tt.id, 1)
			if l.JobID != tt.id || l.Name != tt.id+".1.success" || l.Status != "success" || l.Counter != 1 {
				t.Errorf("log = {%q %q %q %d}, want {%s %s.1.success success 1}", l.JobID, l.Name, l.Status, l.Counter, tt.id, tt.id)
			}
			lines := jhLines(t, tt.id, l.Content)
			reqLine := tt.method + " " + req.target + " HTTP/1.1"
			for _, want := range []string{"=== BEGIN", "--- HTTP request:", reqLine, "--- HTTP response:", "HTTP/1.1 200 OK", "X-Reply: yes", "reply " + tt.path, "=== DONE"} {
				if !jhHas(lines, want) {
					t.Errorf("log lacks the line %q:\n%s", want, l.Content)
				}
			}
			if tt.bodyKind != "" && !jhHas(lines, string(req.body)) {
				t.Errorf("log lacks the request body %q:\n%s", req.body, l.Content)
			}
			if got, want := jhLast(lines), "=== job_http: "+tt.id+": finished."; got != want {
				t.Errorf("last log line = %q, want %q", got, want)
			}
			onDisk, err := os.ReadFile(filepath.Join(s.jhLogDir(tt.id), tt.id+".1.success"))
			if err != nil {
				t.Errorf("log file: %v", err)
			} else if !bytes.Equal(onDisk, l.Content) {
				t.Errorf("log file differs from the API content:\n%s\n---\n%s", onDisk, l.Content)
			}
		})
	}

	// The log endpoint lower-cases the id and takes a trailing slash
	// (SPEC 4.4.5, 4.4.7).
	r := s.get(t, "/karajo/api/job_http/log/?id=JSON_POST&counter=1")
	env := wantEnvelope(t, r, http.StatusOK)
	var l jobLog
	if err := json.Unmarshal(env.Data, &l); err != nil || l.Name != "json_post.1.success" || len(l.Content) == 0 {
		t.Errorf("GET job_http/log/?id=JSON_POST&counter=1: %v %+v", err, l)
	}

	// IMP-26: the response body kept in the log is capped.
	lb := s.jhLog(t, "big", 1)
	if n := len(lb.Content); n < 1<<20 || n > 1<<20+64<<10 {
		t.Errorf("log of a 3 MiB answer is %d bytes, want about 1 MiB (IMP-26)", n)
	}
	if !bytes.Contains(lb.Content, []byte("=== job_http: big: finished.")) {
		t.Errorf("log of big lacks the finished line: %q", tail(string(lb.Content), 300))
	}
}

// TestJobHTTPFailures checks the outcome of runs that do not get a 200
// (SPEC 6.5, 6.6): timeouts, error statuses, refused connections, TLS.
func TestJobHTTPFailures(t *testing.T) {
	t.Parallel()
	slow := func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasPrefix(r.URL.Path, "/slow") {
			return false
		}
		select {
		case <-time.After(3 * time.Second):
		case <-r.Context().Done():
		}
		return false
	}
	rec := jhNewRecorder(t, false, func(w http.ResponseWriter, r *http.Request) bool {
		switch r.URL.Path {
		case "/e500":
			http.Error(w, "boom-500", http.StatusInternalServerError)
		case "/c201":
			w.WriteHeader(http.StatusCreated)
			fmt.Fprint(w, "created-201")
		case "/redirect":
			http.Redirect(w, r, "/landed", http.StatusFound)
		default:
			return slow(w, r)
		}
		return true
	})
	tlsRec := jhNewRecorder(t, true, nil)
	dead := jhDeadAddr(t)
	ts := rec.srv.URL

	// The jobs that are not about timeouts wait up to 30 s, so a TLS
	// handshake on a loaded machine does not turn into a timeout.
	const slack = `http_timeout = "30s"` + "\n"
	tests := []struct {
		name, id, toml string
		status         string
		last           *regexp.Regexp // last log line without prefix
		has            []string       // other lines of the log
	}{{
		name: "Timeout", id: "timeout",
		toml:   `http_timeout = "1s"` + "\n" + `http_url = "` + ts + `/slow1"`,
		status: "failed",
		last:   regexp.MustCompile(`^!!! job_http: timeout: execute: Do: .*(Client\.Timeout exceeded|deadline exceeded)`),
	}, {
		// http_timeout "0s" inherits the env http_timeout of 1s.
		name: "Timeout env", id: "timeout_env",
		toml:   `http_timeout = "0s"` + "\n" + `http_url = "` + ts + `/slow2"`,
		status: "failed",
		last:   regexp.MustCompile(`^!!! job_http: timeout_env: execute: Do: .*(Client\.Timeout exceeded|deadline exceeded)`),
	}, {
		// A negative http_timeout means none: the 3 s answer arrives.
		name: "No timeout", id: "no_timeout",
		toml:   `http_timeout = "-1s"` + "\n" + `http_url = "` + ts + `/slow3"`,
		status: "success",
		last:   regexp.MustCompile(`^=== job_http: no_timeout: finished\.$`),
	}, {
		name: "Error 500", id: "error_500",
		toml:   slack + `http_url = "` + ts + `/e500"`,
		status: "failed",
		last:   regexp.MustCompile(`^!!! job_http: error_500: execute: 500 Internal Server Error$`),
		has:    []string{"HTTP/1.1 500 Internal Server Error", "boom-500"},
	}, {
		name: "Created 201", id: "created_201",
		toml:   slack + `http_method = "POST"` + "\n" + `http_url = "` + ts + `/c201"`,
		status: "failed",
		last:   regexp.MustCompile(`^!!! job_http: created_201: execute: 201 Created$`),
		has:    []string{"HTTP/1.1 201 Created", "created-201"},
	}, {
		name: "Refused", id: "refused",
		toml:   slack + `http_url = "http://` + dead + `/x"`,
		status: "failed",
		last:   regexp.MustCompile(`^!!! job_http: refused: execute: Do: .*connection refused`),
	}, {
		name: "Redirect", id: "redirect",
		toml:   slack + `http_url = "` + ts + `/redirect"`,
		status: "success",
		last:   regexp.MustCompile(`^=== job_http: redirect: finished\.$`),
		has:    []string{"reply /landed"},
	}, {
		name: "TLS insecure", id: "tls_insecure",
		toml:   slack + `http_insecure = true` + "\n" + `http_url = "` + tlsRec.srv.URL + `/tls1"`,
		status: "success",
		last:   regexp.MustCompile(`^=== job_http: tls_insecure: finished\.$`),
		has:    []string{"reply /tls1"},
	}, {
		name: "TLS verified", id: "tls_verified",
		toml:   slack + `http_url = "` + tlsRec.srv.URL + `/tls2"`,
		status: "failed",
		last:   regexp.MustCompile(`^!!! job_http: tls_verified: execute: Do: .*certificate`),
	}}
	var jobs strings.Builder
	for _, tt := range tests {
		fmt.Fprintf(&jobs, "[job_http.%q]\ninterval = \"1m\"\n%s\n\n", tt.name, tt.toml)
	}
	s := jhStart(t, `http_timeout = "1s"`, jobs.String())

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if st := s.jhWaitRun(t, tt.id, 1, 60*time.Second); st != tt.status {
				t.Errorf("run #1 = %q, want %q", st, tt.status)
			}
			if j := s.jhGet(t, tt.id); j.Status != tt.status {
				t.Errorf("job status = %q, want %q", j.Status, tt.status)
			}
			l := s.jhLog(t, tt.id, 1)
			lines := jhLines(t, tt.id, l.Content)
			if !tt.last.MatchString(jhLast(lines)) {
				t.Errorf("last log line = %q, want it to match %s\nlog:\n%s", jhLast(lines), tt.last, l.Content)
			}
			for _, want := range tt.has {
				if !jhHas(lines, want) {
					t.Errorf("log lacks the line %q:\n%s", want, l.Content)
				}
			}
			if tt.status == "failed" && strings.Contains(jhLast(lines), "execute: Do:") && jhHas(lines, "--- HTTP response:") {
				t.Errorf("transport error, yet the log has a response section:\n%s", l.Content)
			}
		})
	}
}

// TestJobHTTPSelfCall checks a JobHttp whose relative http_url targets an
// exec job's webhook on this server (SPEC 1.3, 6.1, 6.3).
func TestJobHTTPSelfCall(t *testing.T) {
	t.Parallel()
	s := start(t, `
[job."Self target"]
path = "/self-target"
secret = "hook-secret-9"
commands = ["echo self run $KARAJO_JOB_COUNTER"]

[job_http."Self call"]
interval = "1m"
http_method = "POST"
http_url = "/karajo/api/job_exec/run/self-target"
http_request_type = "json"
secret = "hook-secret-9"

# The query type signs the parameter, not the (empty) body: the webhook
# refuses it (SPEC 6.3).
[job_http."Self query"]
interval = "1m"
http_method = "POST"
http_url = "/karajo/api/job_exec/run/self-target"
secret = "hook-secret-9"
`)
	if st := s.jhWaitRun(t, "self_call", 1, 60*time.Second); st != "success" {
		t.Errorf("self_call #1 = %q, want success", st)
	}
	if st := s.waitRun(t, "Self target", 1, 60*time.Second); st != "success" {
		t.Errorf("Self target #1 = %q, want success", st)
	}
	lines := logLines(t, "self_target", s.logOf(t, "self_target", 1).Content)
	if !jhHas(lines, "self run 1") {
		t.Errorf("exec log lacks `self run 1`: %q", lines)
	}
	hl := s.jhLog(t, "self_call", 1)
	hlines := jhLines(t, "self_call", hl.Content)
	if !jhHas(hlines, "POST /karajo/api/job_exec/run/self-target HTTP/1.1") || !jhHas(hlines, "HTTP/1.1 200 OK") {
		t.Errorf("self_call log lacks the request or the 200 answer:\n%s", hl.Content)
	}
	if !bytes.Contains(hl.Content, []byte(`"message":"OK"`)) {
		t.Errorf("self_call log lacks the webhook's answer body:\n%s", hl.Content)
	}
	if st := s.jhWaitRun(t, "self_query", 1, 60*time.Second); st != "failed" {
		t.Errorf("self_query #1 = %q, want failed", st)
	}
	ql := jhLines(t, "self_query", s.jhLog(t, "self_query", 1).Content)
	if got, want := jhLast(ql), "!!! job_http: self_query: execute: 403 Forbidden"; got != want {
		t.Errorf("self_query last line = %q, want %q", got, want)
	}
	// The refused call did not run the exec job a second time.
	time.Sleep(500 * time.Millisecond)
	if j := s.job(t, "Self target"); len(j.Logs) != 1 {
		t.Errorf("Self target has %d logs, want 1: %+v", len(j.Logs), j.Logs)
	}
}

// jhControl POSTs to /karajo/api/job_http/<action>?<query> with the given
// signature header (empty: none), content type and body.
func (s *server) jhControl(t *testing.T, action, query, sig, contentType string, body []byte) response {
	t.Helper()
	hdr := map[string]string{}
	if sig != "" {
		hdr["X-Karajo-Sign"] = sig
	}
	if contentType != "" {
		hdr["Content-Type"] = contentType
	}
	target := "/karajo/api/job_http/" + action
	if query != "" {
		target += "?" + query
	}
	return s.raw(t, http.MethodPost, target, hdr, body)
}

// jhAct performs a correctly signed pause/resume as the web UI does and
// requires 200 with the JobHttp in the answer.
func (s *server) jhAct(t *testing.T, action, id string) jhView {
	t.Helper()
	q := fmt.Sprintf("_karajo_epoch=%d&id=%s", time.Now().Unix(), id)
	r := s.jhControl(t, action, q, sign(testSecret, []byte(q)), "", nil)
	env := wantEnvelope(t, r, http.StatusOK)
	var j jhView
	if err := json.Unmarshal(env.Data, &j); err != nil {
		t.Fatalf("%s %s: %v: %s", action, id, err, r)
	}
	return j
}

// TestJobHTTPControl checks GET job_http, GET job_http/log and the signed
// pause/resume endpoints (SPEC 4.4.6-4.4.8, IMP-16, IMP-18).
func TestJobHTTPControl(t *testing.T) {
	t.Parallel()
	rec := jhNewRecorder(t, false, nil)
	s := start(t, `
[job_http."Ping json"]
http_method = "POST"
http_url = "/nowhere"
http_request_type = "json"

[job_http."Other"]
http_url = "/nowhere"

[job_http."Ticker"]
interval = "1m"
http_url = "`+rec.srv.URL+`/tick"
`)
	status := func(id string) string { return s.jhGet(t, id).Status }
	if got := status("ping_json"); got != "started" {
		t.Fatalf("ping_json status = %q, want started", got)
	}

	// GET job_http: exact id (SPEC 4.4.6).
	wantError(t, s.get(t, "/karajo/api/job_http?id=PING_JSON"), 400, "invalid or empty job id: PING_JSON", "ERR_INVALID_JOB_ID")
	wantError(t, s.get(t, "/karajo/api/job_http?id=nope"), 400, "invalid or empty job id: nope", "ERR_INVALID_JOB_ID")
	wantError(t, s.get(t, "/karajo/api/job_http?id="), 400, "invalid or empty job id: ", "ERR_INVALID_JOB_ID")
	if r := s.get(t, "/karajo/api/job_http?id=ping_json"); r.header.Get("Content-Encoding") != "" {
		t.Errorf("job_http answer is encoded %q", r.header.Get("Content-Encoding"))
	}

	// GET job_http/log (SPEC 4.4.7).
	wantError(t, s.get(t, "/karajo/api/job_http/log?id=nope&counter=1"), 400, "invalid or empty job id: nope", "ERR_INVALID_JOB_ID")
	wantError(t, s.get(t, "/karajo/api/job_http/log/?id=NoPe&counter=1"), 400, "invalid or empty job id: nope", "ERR_INVALID_JOB_ID")
	wantError(t, s.get(t, "/karajo/api/job_http/log?id=ping_json"), 404, "log # not found", "")
	wantError(t, s.get(t, "/karajo/api/job_http/log?id=ping_json&counter=x1"), 404, "log #x1 not found", "")
	wantError(t, s.get(t, "/karajo/api/job_http/log?id=ping_json&counter=3"), 404, "log #3 not found", "")

	now := time.Now().Unix()
	q := func(epoch int64, id string) string { return fmt.Sprintf("_karajo_epoch=%d&id=%s", epoch, id) }
	good := q(now, "ping_json")
	refused := []struct {
		name, action, query, sig, ct string
		body                         []byte
		status                       int
		message, errName             string
	}{
		{"no signature", "pause", good, "", "", nil, 401, "empty or invalid signature", ""},
		{"wrong secret", "pause", good, sign("nope", []byte(good)), "", nil, 401, "empty or invalid signature", ""},
		{"uppercase hex", "pause", good, strings.ToUpper(sign(testSecret, []byte(good))), "", nil, 401, "empty or invalid signature", ""},
		{"query extended after signing", "pause", good + "&x=1", sign(testSecret, []byte(good)), "", nil, 401, "empty or invalid signature", ""},
		{"signed body, no query", "pause", "", sign(testSecret, []byte(good)), "application/x-www-form-urlencoded", []byte(good), 401, "empty or invalid signature", ""},
		{"stale epoch", "pause", q(now-600, "ping_json"), sign(testSecret, []byte(q(now-600, "ping_json"))), "", nil, 401, "stale or invalid _karajo_epoch", ""},
		{"future epoch", "pause", q(now+600, "ping_json"), sign(testSecret, []byte(q(now+600, "ping_json"))), "", nil, 401, "stale or invalid _karajo_epoch", ""},
		{"non-decimal epoch", "pause", "_karajo_epoch=soon&id=ping_json", sign(testSecret, []byte("_karajo_epoch=soon&id=ping_json")), "", nil, 401, "stale or invalid _karajo_epoch", ""},
		{"unknown id", "pause", q(now, "nope"), sign(testSecret, []byte(q(now, "nope"))), "", nil, 400, "invalid or empty job id: nope", "ERR_INVALID_JOB_ID"},
		{"id case differs", "pause", q(now, "PING_JSON"), sign(testSecret, []byte(q(now, "PING_JSON"))), "", nil, 400, "invalid or empty job id: PING_JSON", "ERR_INVALID_JOB_ID"},
		{"stale resume", "resume", q(now-600, "ping_json"), sign(testSecret, []byte(q(now-600, "ping_json"))), "", nil, 401, "stale or invalid _karajo_epoch", ""},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			r := s.jhControl(t, tt.action, tt.query, tt.sig, tt.ct, tt.body)
			wantError(t, r, tt.status, tt.message, tt.errName)
			if got := status("ping_json"); got != "started" {
				t.Errorf("status after a refused %s = %q, want started", tt.action, got)
			}
		})
	}

	// IMP-18: the signature of the empty query plus an unsigned form body
	// `id=ping_json` must not act on ping_json.
	for _, tt := range []struct{ name, query string }{{"empty query", ""}, {"query without id", fmt.Sprintf("_karajo_epoch=%d", now)}} {
		r := s.jhControl(t, "pause", tt.query, sign(testSecret, []byte(tt.query)), "application/x-www-form-urlencoded", []byte("id=ping_json"))
		if r.status == http.StatusOK {
			t.Errorf("IMP-18 (%s): pause with id only in the unsigned body answered 200: %s", tt.name, r)
		} else if _, err := checkEnvelope(r); err != nil {
			t.Errorf("IMP-18 (%s): %v", tt.name, err)
		}
		if got := status("ping_json"); got != "started" {
			t.Errorf("IMP-18 (%s): status = %q after pause with id in the unsigned body, want started", tt.name, got)
		}
	}

	// Good: as the web UI (with epoch) and as the Go client (id only).
	if j := s.jhAct(t, "pause", "ping_json"); j.Status != "paused" || j.ID != "ping_json" || j.Name != "Ping json" {
		t.Errorf("pause answered status/id/name %q/%q/%q, want paused/ping_json/Ping json", j.Status, j.ID, j.Name)
	}
	if got := status("ping_json"); got != "paused" {
		t.Errorf("status after pause = %q, want paused", got)
	}
	if got := status("other"); got != "started" {
		t.Errorf("pausing ping_json changed other: %q", got)
	}
	r := s.jhControl(t, "resume", "id=ping_json", sign(testSecret, []byte("id=ping_json")), "", nil)
	env := wantEnvelope(t, r, http.StatusOK)
	var j jhView
	if err := json.Unmarshal(env.Data, &j); err != nil || j.Status != "started" {
		t.Errorf("resume (Go client form) answered %v %q, want started: %s", err, j.Status, r)
	}
	if got := status("ping_json"); got != "started" {
		t.Errorf("status after resume = %q, want started", got)
	}
	// Pause twice, resume twice: idempotent.
	s.jhAct(t, "pause", "other")
	if j := s.jhAct(t, "pause", "other"); j.Status != "paused" {
		t.Errorf("second pause: %q", j.Status)
	}
	s.jhAct(t, "resume", "other")
	if j := s.jhAct(t, "resume", "other"); j.Status != "started" {
		t.Errorf("second resume: %q", j.Status)
	}
	// The exec control endpoints do not know JobHttp ids.
	cb := controlBody("ticker")
	if r := s.control(t, "pause", "", cb, sign(testSecret, []byte(cb))); r.status != http.StatusNotFound {
		t.Errorf("job_exec/pause of a JobHttp id: %s, want 404", r)
	}

	// Pausing a JobHttp during its first run keeps the pause (IMP-3) and
	// the run's log gets its real result.
	if st := s.jhWaitRun(t, "ticker", 1, 60*time.Second); st != "success" {
		t.Errorf("ticker #1 = %q, want success", st)
	}
	s.jhAct(t, "pause", "ticker")
	time.Sleep(300 * time.Millisecond)
	if j := s.jhGet(t, "ticker"); j.Status != "paused" || len(j.Logs) != 1 {
		t.Errorf("ticker after pause: status %q logs %+v, want paused with 1 log", j.Status, j.Logs)
	}
}

// TestJobHTTPRestart checks the state of JobHttps across restarts
// (SPEC 1.8, 3.3, IMP-8, IMP-10, IMP-17): counters continue from the logs,
// the paused flag is kept, logs are listed, and a paused job's timer
// records nothing.
func TestJobHTTPRestart(t *testing.T) {
	t.Parallel()
	rec := jhNewRecorder(t, false, nil)
	dir := t.TempDir()
	writeConfig(t, dir, configHeader(dir)+fmt.Sprintf(`
[job_http."Keeper"]
interval = "1m"
http_url = "%s/keeper"

[job_http."Sleeper"]
interval = "1m"
http_url = "%s/sleeper"
`, rec.srv.URL, rec.srv.URL))
	// Seed logs as an older server left them: keeper's last run (#7) and
	// sleeper's paused no-op run (#3) both an hour ago, plus a stray file.
	old := time.Now().Add(-time.Hour)
	seed := func(id, name, content string) {
		d := filepath.Join(dir, "var", "log", "karajo", "job_http", id)
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(d, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	seed("keeper", "keeper.7.success", "2026-01-01 00:00:00 UTC job_http: keeper: old\n")
	seed("keeper", "README", "not a log\n")
	seed("sleeper", "sleeper.3.paused", "")

	s := startDir(t, dir)
	// keeper is due (its last run is an hour old): it runs at once as #8.
	if st := s.jhWaitRun(t, "keeper", 8, 60*time.Second); st != "success" {
		t.Errorf("keeper #8 = %q, want success", st)
	}
	keeperLogs := []logRef{
		{JobID: "keeper", Name: "keeper.7.success", Status: "success", Counter: 7},
		{JobID: "keeper", Name: "keeper.8.success", Status: "success", Counter: 8},
	}
	if j := s.jhGet(t, "keeper"); !reflect.DeepEqual(j.Logs, keeperLogs) {
		t.Errorf("keeper logs = %+v, want %+v", j.Logs, keeperLogs)
	}
	// sleeper comes back paused (its highest log is .paused) and, although
	// due, records nothing (IMP-17).
	sleeperLogs := []logRef{{JobID: "sleeper", Name: "sleeper.3.paused", Status: "paused", Counter: 3}}
	time.Sleep(time.Second)
	if j := s.jhGet(t, "sleeper"); j.Status != "paused" || !reflect.DeepEqual(j.Logs, sleeperLogs) {
		t.Errorf("sleeper: status %q logs %+v, want paused %+v", j.Status, j.Logs, sleeperLogs)
	}
	if n := len(rec.got("/sleeper")); n != 0 {
		t.Errorf("paused sleeper sent %d requests, want 0", n)
	}

	s.jhAct(t, "pause", "keeper")
	s.jhAct(t, "resume", "sleeper")
	s.stop()
	if _, err := os.Stat(filepath.Join(dir, "var", "log", "karajo", "job_http", "keeper", "README")); err != nil {
		t.Errorf("stray file in the log dir: %v (IMP-10: ignore, do not delete)", err)
	}
	for _, id := range []string{"keeper", "sleeper"} {
		if _, err := os.Stat(filepath.Join(dir, "var", "lib", "karajo", "job_http", id+".state")); err != nil {
			t.Errorf("state file of %s: %v (IMP-8)", id, err)
		}
	}
	// Make keeper due again: were it not paused, it would run at start.
	for _, name := range []string{"keeper.7.success", "keeper.8.success"} {
		p := filepath.Join(s.jhLogDir("keeper"), name)
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}

	s = startDir(t, dir)
	time.Sleep(1500 * time.Millisecond)
	j := s.jhGet(t, "keeper")
	if j.Status != "paused" || !reflect.DeepEqual(j.Logs, keeperLogs) {
		t.Errorf("keeper after restart: status %q logs %+v, want paused %+v", j.Status, j.Logs, keeperLogs)
	}
	if n := len(rec.got("/keeper")); n != 1 {
		t.Errorf("keeper sent %d requests in total, want 1 (paused across the restart)", n)
	}
	// sleeper was resumed before the stop and is due (last run an hour
	// ago): it runs at start as #4.
	if st := s.jhWaitRun(t, "sleeper", 4, 60*time.Second); st != "success" {
		t.Errorf("sleeper #4 after resume and restart = %q, want success", st)
	}
	sleeperLogs = append(sleeperLogs, logRef{JobID: "sleeper", Name: "sleeper.4.success", Status: "success", Counter: 4})
	if sj := s.jhGet(t, "sleeper"); sj.Status != "success" || !reflect.DeepEqual(sj.Logs, sleeperLogs) {
		t.Errorf("sleeper after restart: status %q logs %+v, want success %+v", sj.Status, sj.Logs, sleeperLogs)
	}
	if n := len(rec.got("/sleeper")); n != 1 {
		t.Errorf("sleeper sent %d requests, want 1", n)
	}
	if _, err := os.Stat(filepath.Join(s.jhLogDir("keeper"), "keeper.9.paused")); err == nil {
		t.Errorf("paused keeper wrote keeper.9.paused (IMP-17)")
	}

	// Resumed and due: keeper runs again as #9 after another restart.
	s.jhAct(t, "resume", "keeper")
	s.stop()
	s = startDir(t, dir)
	if st := s.jhWaitRun(t, "keeper", 9, 60*time.Second); st != "success" {
		t.Errorf("keeper #9 = %q, want success", st)
	}
	if n := len(rec.got("/keeper")); n != 2 {
		t.Errorf("keeper sent %d requests in total, want 2", n)
	}
	names, _ := os.ReadDir(s.jhLogDir("keeper"))
	var got []string
	for _, e := range names {
		got = append(got, e.Name())
	}
	want := []string{"README", "keeper.7.success", "keeper.8.success", "keeper.9.success"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("keeper log dir = %q, want %q", got, want)
	}
}

// TestJobHTTPEnvironment checks the http_jobs map of the environment and
// the JobHttp object (SPEC 2.6, 4.4.2, Appendix A).
func TestJobHTTPEnvironment(t *testing.T) {
	t.Parallel()
	dead := jhDeadAddr(t)
	const jobSecret = "jhSecretZq81"
	s := jhStart(t, `http_timeout = "7s"`, fmt.Sprintf(`
[notif.ops]
kind = "email"
smtp_server = "smtp://%s"
from = "karajo@example.com"
to = ["ops@example.com"]

[job_http."Ping json"]
description = "Ping <b>it</b>"
secret = %q
header_sign = "X-Sig"
schedule = "daily@03:00"
interval = "2m"
http_method = "post"
http_url = "/karajo/api/job_exec/run/none"
http_request_type = "json"
http_headers = ["X-A: b", "X-C:d"]
http_timeout = "10s"
http_insecure = true
log_retention = 3
notif_on_success = ["ops"]
notif_on_failed = ["ops"]

[job_http."Zero timeout"]
http_url = "https://example.invalid/x"
http_request_type = "FORM"
http_timeout = "0s"

[job_http."Negative timeout"]
http_url = "/y"
http_timeout = "-5s"

[job_http."Default timeout"]
http_url = "/z"
http_request_type = ""
`, dead, jobSecret))

	r := s.get(t, "/karajo/api/environment")
	env := wantEnvelope(t, r, http.StatusOK)
	for _, secret := range []string{testSecret, jobSecret} {
		if bytes.Contains(r.body, []byte(secret)) {
			t.Errorf("environment leaks secret %q", secret)
		}
	}
	var data struct {
		HTTPJobs map[string]json.RawMessage `json:"http_jobs"`
	}
	if err := json.Unmarshal(env.Data, &data); err != nil {
		t.Fatal(err)
	}
	if len(data.HTTPJobs) != 4 {
		t.Errorf("http_jobs has %d entries, want 4", len(data.HTTPJobs))
	}

	zero := "0001-01-01T00:00:00Z"
	tests := []struct {
		name string
		keys []string // expected keys, in order
		want jhView
	}{{
		name: "Ping json",
		keys: []string{"header_sign", "http_method", "http_url", "http_request_type", "http_headers", "last_run", "next_run", "id", "name", "description", "status", "schedule", "notif_on_success", "notif_on_failed", "log_retention", "http_timeout", "http_insecure"},
		want: jhView{HeaderSign: "X-Sig", HTTPMethod: "post", HTTPURL: "/karajo/api/job_exec/run/none", HTTPRequestType: "json",
			HTTPHeaders: []string{"X-A: b", "X-C:d"}, LastRun: zero, ID: "ping_json", Name: "Ping json", Description: "Ping <b>it</b>",
			Status: "started", Schedule: "daily@03:00", NotifOnSuccess: []string{"ops"}, NotifOnFailed: []string{"ops"},
			LogRetention: 3, HTTPTimeout: 10e9, HTTPInsecure: true},
	}, {
		name: "Zero timeout",
		keys: []string{"header_sign", "http_method", "http_url", "http_request_type", "last_run", "next_run", "id", "name", "status", "log_retention", "http_timeout"},
		want: jhView{HeaderSign: "X-Karajo-Sign", HTTPMethod: "GET", HTTPURL: "https://example.invalid/x", HTTPRequestType: "FORM",
			LastRun: zero, NextRun: zero, ID: "zero_timeout", Name: "Zero timeout", Status: "started", LogRetention: 5, HTTPTimeout: 7e9},
	}, {
		name: "Negative timeout",
		keys: []string{"header_sign", "http_method", "http_url", "http_request_type", "last_run", "next_run", "id", "name", "status", "log_retention", "http_timeout"},
		want: jhView{HeaderSign: "X-Karajo-Sign", HTTPMethod: "GET", HTTPURL: "/y", HTTPRequestType: "",
			LastRun: zero, NextRun: zero, ID: "negative_timeout", Name: "Negative timeout", Status: "started", LogRetention: 5, HTTPTimeout: 0},
	}, {
		name: "Default timeout",
		keys: []string{"header_sign", "http_method", "http_url", "http_request_type", "last_run", "next_run", "id", "name", "status", "log_retention", "http_timeout"},
		want: jhView{HeaderSign: "X-Karajo-Sign", HTTPMethod: "GET", HTTPURL: "/z", HTTPRequestType: "",
			LastRun: zero, NextRun: zero, ID: "default_timeout", Name: "Default timeout", Status: "started", LogRetention: 5, HTTPTimeout: 7e9},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, ok := data.HTTPJobs[tt.name]
			if !ok {
				t.Fatalf("http_jobs lacks %q (keyed by name)", tt.name)
			}
			if keys := jhKeys(t, raw); !reflect.DeepEqual(keys, tt.keys) {
				t.Errorf("keys = %q, want %q (Appendix A)", keys, tt.keys)
			}
			var got jhView
			if err := json.Unmarshal(raw, &got); err != nil {
				t.Fatal(err)
			}
			if tt.want.NextRun == "" {
				// A schedule job: next_run is the next 03:00 UTC.
				n, err := time.Parse(time.RFC3339, got.NextRun)
				if err != nil || n.Hour() != 3 || n.Minute() != 0 || n.Second() != 0 || !n.After(time.Now()) || time.Until(n) > 24*time.Hour {
					t.Errorf("next_run = %q, want the next 03:00:00Z", got.NextRun)
				}
				tt.want.NextRun = got.NextRun
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("JobHttp =\n%+v\nwant\n%+v", got, tt.want)
			}
			// GET job_http answers the same object.
			r := s.get(t, "/karajo/api/job_http?id="+tt.want.ID)
			env := wantEnvelope(t, r, http.StatusOK)
			if !bytes.Equal(bytes.TrimSpace(env.Data), bytes.TrimSpace(raw)) {
				t.Errorf("GET job_http?id=%s =\n%s\nwant the environment's\n%s", tt.want.ID, env.Data, raw)
			}
		})
	}
	if !bytes.Contains(r.body, []byte(`"Ping \u003cb\u003eit\u003c/b\u003e"`)) {
		t.Errorf("description not escaped the encoding/json way")
	}
	for _, key := range []string{`"secret"`, `"smtp_server"`, `"kind"`} {
		if bytes.Contains(r.body, []byte(key)) {
			t.Errorf("environment contains key %s", key)
		}
	}
}

// jhKeys lists the keys of a JSON object in order.
func jhKeys(t *testing.T, raw json.RawMessage) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %s", raw)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}
