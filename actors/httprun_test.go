package actors

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/karajo/karajo/config"
	"github.com/karajo/karajo/logstore"
)

// seen is one request recorded by the test server.
type seen struct {
	method, target, contentType, sign, ua, extra string
	body                                         []byte
}

// recorder is an HTTP server that records what it receives and answers
// with status.
func recorder(t *testing.T, status int, delay time.Duration) (*httptest.Server, func() []seen) {
	t.Helper()
	var mu sync.Mutex
	var got []seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, seen{r.Method, r.URL.RequestURI(), r.Header.Get("Content-Type"), r.Header.Get("X-Sig"),
			r.Header.Get("User-Agent"), r.Header.Get("X-Extra"), b})
		mu.Unlock()
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
			}
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, "answer body")
	}))
	t.Cleanup(srv.Close)
	return srv, func() []seen {
		mu.Lock()
		defer mu.Unlock()
		return append([]seen(nil), got...)
	}
}

func hmacHex(secret string, b []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(b)
	return hex.EncodeToString(m.Sum(nil))
}

// TestHTTPJobRequests: each request type puts _karajo_epoch where SPEC 6.2
// says, as a decimal (IMP-24), appends it with & to a URL with a query
// (IMP-25), keeps the path as configured (IMP-23), and signs exactly the
// bytes sent (6.3); only a 200 answer is success.
func TestHTTPJobRequests(t *testing.T) {
	tests := []struct {
		name, method, reqType, path, secret string
		status                              int
		wantStatus                          string
	}{
		{"query GET", "GET", config.RequestQuery, "/hook/", "s3cret", 200, StatusSuccess},
		{"query with own query", "POST", config.RequestQuery, "/q/?y=2", "s3cret", 200, StatusSuccess},
		{"form PUT", "PUT", config.RequestForm, "/form", "s3cret", 200, StatusSuccess},
		{"json POST", "POST", config.RequestJSON, "/json/", "s3cret", 200, StatusSuccess},
		{"unsigned", "DELETE", config.RequestJSON, "/nosig", "", 200, StatusSuccess},
		{"500 fails", "GET", config.RequestQuery, "/err", "s3cret", 500, StatusFailed},
		{"201 fails", "POST", config.RequestJSON, "/created", "s3cret", 201, StatusFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, got := recorder(t, tt.status, 0)
			jc := &config.JobHTTP{ID: "h", Name: "h", Interval: time.Hour, Method: tt.method, HTTPMethod: tt.method,
				HTTPURL: srv.URL + tt.path, RequestType: tt.reqType, Secret: tt.secret, HeaderSign: "X-Sig",
				Headers: [][2]string{{"X-Extra", "yes"}}, HTTPTimeout: 5 * time.Second, LogRetention: 5}
			before := time.Now().Unix()
			e, store := startHTTPEngine(t, jc)
			v := waitHTTPJob(t, e, "h", func(v JobHTTPView) bool { return !v.Running && len(v.Logs) == 1 })
			if v.Logs[0].Status != tt.wantStatus {
				t.Fatalf("run status %q, want %q; log:\n%s", v.Logs[0].Status, tt.wantStatus, readLog(t, store, "h", v.Logs[0].Name))
			}
			reqs := got()
			if len(reqs) != 1 {
				t.Fatalf("server got %d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.method != tt.method || r.ua != "karajo/test" || r.extra != "yes" {
				t.Errorf("method %q UA %q X-Extra %q", r.method, r.ua, r.extra)
			}
			var signed []byte
			switch tt.reqType {
			case config.RequestQuery:
				path, q, _ := strings.Cut(tt.path, "?")
				prefix := path + "?"
				if q != "" {
					prefix += q + "&"
				}
				epoch, ok := strings.CutPrefix(r.target, prefix+"_karajo_epoch=")
				if !ok {
					t.Fatalf("target %q, want %s_karajo_epoch=N", r.target, prefix)
				}
				checkEpochNear(t, epoch, before)
				signed = []byte("_karajo_epoch=" + epoch)
				if len(r.body) != 0 || r.contentType != "" {
					t.Errorf("query request has body %q / content type %q", r.body, r.contentType)
				}
			case config.RequestForm:
				epoch, ok := strings.CutPrefix(string(r.body), "_karajo_epoch=")
				if !ok || r.contentType != "application/x-www-form-urlencoded" || r.target != tt.path {
					t.Fatalf("form body %q type %q target %q", r.body, r.contentType, r.target)
				}
				checkEpochNear(t, epoch, before)
				signed = r.body
			case config.RequestJSON:
				epoch, ok := strings.CutPrefix(string(r.body), `{"_karajo_epoch":`)
				if !ok || !strings.HasSuffix(epoch, "}") || r.contentType != "application/json" || r.target != tt.path {
					t.Fatalf("json body %q type %q target %q", r.body, r.contentType, r.target)
				}
				checkEpochNear(t, strings.TrimSuffix(epoch, "}"), before)
				signed = r.body
			}
			switch {
			case tt.secret == "" && r.sign != "":
				t.Errorf("unsigned job sent signature %q", r.sign)
			case tt.secret != "" && r.sign != hmacHex(tt.secret, signed):
				t.Errorf("signature %q, want HMAC of %q", r.sign, signed)
			}
			log := readLog(t, store, "h", v.Logs[0].Name)
			for _, want := range []string{"--- HTTP request:", "--- HTTP response:", "answer body"} {
				if !strings.Contains(log, want) {
					t.Errorf("log lacks %q:\n%s", want, log)
				}
			}
			if tt.wantStatus == StatusSuccess && !strings.HasSuffix(log, "job_http: h: === job_http: h: finished.\n") {
				t.Errorf("success log ends wrong:\n%s", log)
			}
			if tt.wantStatus == StatusFailed && !strings.HasSuffix(log, "!!! job_http: h: execute: "+strconv.Itoa(tt.status)+" "+http.StatusText(tt.status)+"\n") {
				t.Errorf("failed log ends wrong:\n%s", log)
			}
		})
	}
}

// TestHTTPJobTimeout: a slow server makes the run fail with the reason.
func TestHTTPJobTimeout(t *testing.T) {
	srv, _ := recorder(t, 200, 5*time.Second)
	jc := &config.JobHTTP{ID: "slow", Name: "slow", Interval: time.Hour, Method: "GET", HTTPMethod: "GET",
		HTTPURL: srv.URL + "/", RequestType: config.RequestQuery, HTTPTimeout: 300 * time.Millisecond, LogRetention: 5}
	e, store := startHTTPEngine(t, jc)
	v := waitHTTPJob(t, e, "slow", func(v JobHTTPView) bool { return !v.Running && len(v.Logs) == 1 })
	log := readLog(t, store, "slow", v.Logs[0].Name)
	if v.Logs[0].Status != StatusFailed || !strings.Contains(log, "!!! job_http: slow: execute: Do: ") || !strings.Contains(log, "Client.Timeout exceeded") {
		t.Fatalf("status %q, log:\n%s", v.Logs[0].Status, log)
	}
}

// TestHTTPJobResponseCapped (IMP-26): the response body kept in the log
// is capped.
func TestHTTPJobResponseCapped(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, strings.Repeat("x", 3<<20))
	}))
	t.Cleanup(srv.Close)
	jc := &config.JobHTTP{ID: "big", Name: "big", Interval: time.Hour, Method: "GET", HTTPMethod: "GET",
		HTTPURL: srv.URL + "/", RequestType: config.RequestQuery, LogRetention: 5}
	e, store := startHTTPEngine(t, jc)
	v := waitHTTPJob(t, e, "big", func(v JobHTTPView) bool { return !v.Running && len(v.Logs) == 1 })
	log := readLog(t, store, "big", v.Logs[0].Name)
	if n := strings.Count(log, "x"); n < 1<<20 || n > 1<<20+100 || !strings.Contains(log, "[truncated") {
		t.Fatalf("log keeps %d x, want 1 MiB and a truncation marker", n)
	}
	if v.Logs[0].Status != StatusSuccess {
		t.Fatalf("status %q", v.Logs[0].Status)
	}
}

func checkEpochNear(t *testing.T, s string, before int64) {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < before-1 || n > time.Now().Unix()+1 {
		t.Errorf("_karajo_epoch %q is not a decimal near now (%d)", s, before)
	}
}

func startHTTPEngine(t *testing.T, jobs ...*config.JobHTTP) (*Engine, *logstore.Store) {
	t.Helper()
	dir := t.TempDir()
	env := &config.Env{DirBase: dir, MaxJobRunning: 1, JobHTTPs: jobs, Secret: "s3cret"}
	return startEnv(t, env)
}

func waitHTTPJob(t *testing.T, e *Engine, id string, cond func(JobHTTPView) bool) JobHTTPView {
	t.Helper()
	pid, ok := e.JobHTTP(id)
	if !ok {
		t.Fatalf("no JobHttp %q", id)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		v, err := Ask[*JobHTTPView](e.Root(), pid, &GetJob{}, askTimeout)
		if err != nil {
			t.Fatal(err)
		}
		if cond(*v) {
			return *v
		}
		if time.Now().After(deadline) {
			t.Fatalf("JobHttp %s: timed out; last %+v", id, *v)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func readLog(t *testing.T, store *logstore.Store, id, name string) string {
	t.Helper()
	f, err := store.Open(logstore.KindJobHTTP, id, name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, _ := io.ReadAll(f)
	return string(b)
}
