package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"golang.org/x/crypto/bcrypt"
)

// apiCheck validates real answers of a running server against the OpenAPI
// document that server serves, and records which operation answered
// which status, so that the test can require every documented operation
// to have been seen answering success and error.
type apiCheck struct {
	v  validator.Validator
	mu sync.Mutex
	// seen maps "METHOD /template" to the statuses validated.
	seen map[string][]int
	// ops are the documented operations, "METHOD /template".
	ops []string
}

// newAPICheck loads the document from s (GET /karajo/api/openapi.json).
func newAPICheck(t *testing.T, s *server) *apiCheck {
	t.Helper()
	r := s.get(t, "/karajo/api/openapi.json")
	if r.status != http.StatusOK {
		t.Fatalf("openapi.json: %s", r)
	}
	doc, err := libopenapi.NewDocument(r.body)
	if err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("openapi.json: %v", errs)
	}
	var paths struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(r.body, &paths); err != nil {
		t.Fatal(err)
	}
	c := &apiCheck{v: v, seen: map[string][]int{}}
	for p, ops := range paths.Paths {
		for m := range ops {
			c.ops = append(c.ops, strings.ToUpper(m)+" "+p)
		}
	}
	sort.Strings(c.ops)
	return c
}

// call sends a request to s, validates its answer against the document
// and returns it; op is the documented "METHOD /template" it exercises.
func (c *apiCheck) call(t *testing.T, s *server, op, target string, hdr map[string]string, body []byte, want int) response {
	t.Helper()
	method := strings.Fields(op)[0]
	r := s.raw(t, method, target, hdr, body)
	if r.status != want {
		t.Errorf("%s %s: status %d, want %d: %s", method, shorten(target), r.status, want, r)
	}
	c.validate(t, s, op, target, hdr, r)
	return r
}

// validate checks one answer against the document.
func (c *apiCheck) validate(t *testing.T, s *server, op, target string, hdr map[string]string, r response) {
	t.Helper()
	method := strings.Fields(op)[0]
	req, err := http.NewRequest(method, s.base+target, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	h := r.header.Clone()
	h.Del("Content-Encoding") // raw has decoded it
	resp := &http.Response{StatusCode: r.status, Header: h, Body: io.NopCloser(bytes.NewReader(r.body)), Request: req}
	if ok, errs := c.v.ValidateHttpResponse(req, resp); !ok {
		for _, e := range errs {
			t.Errorf("%s %s → %d does not match openapi.json: %s: %s", method, shorten(target), r.status, e.Message, e.Reason)
			for _, se := range e.SchemaValidationErrors {
				t.Errorf("    at %s: %s", se.FieldPath, se.Reason)
			}
		}
	}
	c.mu.Lock()
	c.seen[op] = append(c.seen[op], r.status)
	c.mu.Unlock()
}

// stream reads an event stream's answer up to and including the first
// event named first, then hangs up, and validates what it read.
func (c *apiCheck) stream(t *testing.T, s *server, op, target, first string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.base+target, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", target, err)
	}
	defer resp.Body.Close()
	var got bytes.Buffer
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		got.WriteString(sc.Text() + "\n")
		if sc.Text() == "event: "+first {
			break
		}
	}
	if !strings.Contains(got.String(), "event: "+first) {
		t.Errorf("%s: no %q event in %q", target, first, got.String())
	}
	c.validate(t, s, op, target, nil, response{status: resp.StatusCode, header: resp.Header, body: got.Bytes()})
}

// TestOpenAPIAnswers (issue 16) calls every documented endpoint of a
// running server, for success and for errors, and validates each answer
// against the OpenAPI document the server serves. Every documented
// operation must have been seen answering 2xx and 4xx (but the few that
// never refuse anything), so a new endpoint needs a documented schema and
// a call here.
func TestOpenAPIAnswers(t *testing.T) {
	t.Parallel()
	s := start(t, `
[job."hook"]
path = "/hook"
commands = ["echo hook"]

[job."gh"]
path = "/gh"
auth_kind = "github"
secret = "gh-secret"
events = ["push"]
commands = ["true"]

[job."slow"]
commands = ["sleep 30"]

[job_http."ping"]
interval = "1h"
http_url = "/karajo/api/health"
`)
	c := newAPICheck(t, s)
	if !strings.Contains(s.stderr.String(), `slow\": no schedule, cron, interval or path`) {
		t.Errorf("no warning for a job nothing can start:\n%s", s.stderr.String())
	}
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	signed := func(body string) map[string]string {
		return map[string]string{"Content-Type": "application/x-www-form-urlencoded", "X-Karajo-Sign": sign(testSecret, []byte(body))}
	}
	hook := func(secret string) (map[string]string, []byte) {
		b := runBody()
		return map[string]string{"Content-Type": "application/json", "X-Karajo-Sign": sign(secret, b)}, b
	}
	gh := func(event, delivery string) (map[string]string, []byte) {
		b := []byte(`{"ref":"refs/heads/main"}`)
		return map[string]string{"X-GitHub-Event": event, "X-GitHub-Delivery": delivery,
			"X-Hub-Signature-256": "sha256=" + sign("gh-secret", b)}, b
	}

	// Webhooks: 200 (run, ping), 202, 403, 404, 409, 412, 429.
	const run = "POST /karajo/api/job_exec/run/{path}"
	h, b := hook(testSecret)
	c.call(t, s, run, "/karajo/api/job_exec/run/hook", h, b, 200)
	s.waitRun(t, "hook", 1, time.Minute)
	h, b = hook("wrong")
	c.call(t, s, run, "/karajo/api/job_exec/run/hook", h, b, 403)
	c.call(t, s, run, "/karajo/api/job_exec/run/nope", nil, []byte("{}"), 404)
	h, b = gh("ping", "d-0")
	c.call(t, s, run, "/karajo/api/job_exec/run/gh", h, b, 200)
	h, b = gh("issues", "d-1")
	c.call(t, s, run, "/karajo/api/job_exec/run/gh", h, b, 202)
	h, b = gh("push", "d-2")
	c.call(t, s, run, "/karajo/api/job_exec/run/gh", h, b, 200)
	c.call(t, s, run, "/karajo/api/job_exec/run/gh", h, b, 409)

	// Run now, busy, cancel.
	const runNow = "POST /karajo/api/job_exec/run_now"
	body := controlBody("slow")
	c.call(t, s, runNow, "/karajo/api/job_exec/run_now", signed(body), []byte(body), 200)
	s.waitRunning(t, "slow", 1, "")
	c.call(t, s, runNow, "/karajo/api/job_exec/run_now", signed(body), []byte(body), 200) // queued
	c.call(t, s, runNow, "/karajo/api/job_exec/run_now", signed(body), []byte(body), 429)
	c.call(t, s, runNow, "/karajo/api/job_exec/run_now", signed(body), []byte(body+"x"), 401)
	nb := controlBody("nope")
	c.call(t, s, runNow, "/karajo/api/job_exec/run_now", signed(nb), []byte(nb), 404)
	c.call(t, s, "GET /karajo/api/engine", "/karajo/api/engine", nil, nil, 200)
	c.call(t, s, "GET /karajo/api/engine", "/karajo/api/engine?a=%zz", nil, nil, 400)
	c.call(t, s, "POST /karajo/api/job_exec/cancel", "/karajo/api/job_exec/cancel", signed(body), []byte(body), 200)
	c.call(t, s, "POST /karajo/api/job_exec/cancel", "/karajo/api/job_exec/cancel", form, []byte(body), 401)

	// Pause (then 412 for webhook and run now), resume.
	pb := controlBody("hook")
	c.call(t, s, "POST /karajo/api/job_exec/pause", "/karajo/api/job_exec/pause", signed(pb), []byte(pb), 200)
	c.call(t, s, "POST /karajo/api/job_exec/pause", "/karajo/api/job_exec/pause", signed(nb), []byte(nb), 404)
	h, b = hook(testSecret)
	c.call(t, s, run, "/karajo/api/job_exec/run/hook", h, b, 412)
	c.call(t, s, runNow, "/karajo/api/job_exec/run_now", signed(pb), []byte(pb), 412)
	c.call(t, s, "POST /karajo/api/job_exec/resume", "/karajo/api/job_exec/resume", signed(pb), []byte(pb), 200)
	c.call(t, s, "POST /karajo/api/job_exec/resume", "/karajo/api/job_exec/resume", form, []byte(pb), 401)

	// Reads.
	c.call(t, s, "GET /karajo/api/environment", "/karajo/api/environment", nil, nil, 200)
	c.call(t, s, "GET /karajo/api/environment", "/karajo/api/environment?a;b", nil, nil, 400)
	const log = "GET /karajo/api/job_exec/log"
	c.call(t, s, log, "/karajo/api/job_exec/log?id=hook&counter=1", nil, nil, 200)
	c.call(t, s, log, "/karajo/api/job_exec/log?id=hook&counter=9", nil, nil, 404)
	c.call(t, s, log, "/karajo/api/job_exec/log?id=hook&counter=1&a=%zz", nil, nil, 400)
	c.call(t, s, "GET /karajo/api/job_exec/log/stream", "/karajo/api/job_exec/log/stream?id=hook&counter=1", nil, nil, 200)
	c.call(t, s, "GET /karajo/api/job_exec/log/stream", "/karajo/api/job_exec/log/stream?id=nope&counter=1", nil, nil, 404)
	c.call(t, s, "GET /karajo/api/job_exec/schedule", "/karajo/api/job_exec/schedule?id=slow&n=2", nil, nil, 200)
	c.call(t, s, "GET /karajo/api/job_exec/schedule", "/karajo/api/job_exec/schedule?id=slow&n=0", nil, nil, 400)
	c.call(t, s, "GET /karajo/api/job_exec/deliveries", "/karajo/api/job_exec/deliveries?id=gh", nil, nil, 200)
	c.call(t, s, "GET /karajo/api/job_exec/deliveries", "/karajo/api/job_exec/deliveries?id=nope", nil, nil, 400)
	c.call(t, s, "GET /karajo/api/schedule", "/karajo/api/schedule?cron=0+2+*+*+*&timezone=Europe/Berlin&n=2", nil, nil, 200)
	c.call(t, s, "GET /karajo/api/schedule", "/karajo/api/schedule?cron=yearly", nil, nil, 400)
	c.call(t, s, "GET /karajo/api/health", "/karajo/api/health", nil, nil, 200)
	c.call(t, s, "GET /metrics", "/metrics", nil, nil, 200)
	c.call(t, s, "GET /karajo/api/openapi.json", "/karajo/api/openapi.json", nil, nil, 200)
	c.call(t, s, "GET /karajo/api/auth/session", "/karajo/api/auth/session", nil, nil, 200)
	c.call(t, s, "GET /karajo/api/auth/session", "/karajo/api/auth/session?a;b", nil, nil, 400)
	c.stream(t, s, "GET /karajo/api/events", "/karajo/api/events", "snapshot")
	c.call(t, s, "GET /karajo/api/events", "/karajo/api/events?a=%zz", nil, nil, 400)

	// JobHttp.
	hb := controlBody("ping")
	c.call(t, s, "POST /karajo/api/job_http/run_now", "/karajo/api/job_http/run_now", signed(hb), []byte(hb), 200)
	s.jhWaitRun(t, "ping", 1, time.Minute)
	c.call(t, s, "POST /karajo/api/job_http/run_now", "/karajo/api/job_http/run_now", form, []byte(hb), 401)
	c.call(t, s, "GET /karajo/api/job_http", "/karajo/api/job_http?id=ping", nil, nil, 200)
	c.call(t, s, "GET /karajo/api/job_http", "/karajo/api/job_http?id=nope", nil, nil, 400)
	c.call(t, s, "GET /karajo/api/job_http/log", "/karajo/api/job_http/log?id=ping&counter=1", nil, nil, 200)
	c.call(t, s, "GET /karajo/api/job_http/log", "/karajo/api/job_http/log?id=nope&counter=1", nil, nil, 400)
	c.call(t, s, "GET /karajo/api/job_http/log/stream", "/karajo/api/job_http/log/stream?id=ping&counter=1", nil, nil, 200)
	c.call(t, s, "GET /karajo/api/job_http/log/stream", "/karajo/api/job_http/log/stream?id=ping&counter=7", nil, nil, 404)
	c.call(t, s, "GET /karajo/api/job_http/schedule", "/karajo/api/job_http/schedule?id=ping", nil, nil, 200)
	c.call(t, s, "GET /karajo/api/job_http/schedule", "/karajo/api/job_http/schedule?id=ping&n=x", nil, nil, 400)
	for _, a := range []string{"pause", "resume"} {
		q := controlBody("ping")
		op := "POST /karajo/api/job_http/" + a
		c.call(t, s, op, "/karajo/api/job_http/"+a+"?"+q, map[string]string{"X-Karajo-Sign": sign(testSecret, []byte(q))}, nil, 200)
		c.call(t, s, op, "/karajo/api/job_http/"+a+"?"+q, map[string]string{"X-Karajo-Sign": "00"}, nil, 401)
	}

	// Run history of both kinds.
	for _, k := range []struct{ kind, id string }{{"job_exec", "hook"}, {"job_http", "ping"}} {
		runs, stats := "GET /karajo/api/"+k.kind+"/runs", "GET /karajo/api/"+k.kind+"/stats"
		c.call(t, s, runs, "/karajo/api/"+k.kind+"/runs?id="+k.id+"&limit=5", nil, nil, 200)
		c.call(t, s, runs, "/karajo/api/"+k.kind+"/runs?id="+k.id+"&limit=0", nil, nil, 400)
		c.call(t, s, runs, "/karajo/api/"+k.kind+"/runs?id=nope", nil, nil, 404)
		c.call(t, s, stats, "/karajo/api/"+k.kind+"/stats?id="+k.id+"&window=30d", nil, nil, 200)
		c.call(t, s, stats, "/karajo/api/"+k.kind+"/stats?id="+k.id+"&window=1m", nil, nil, 400)
	}

	// Without users, the session endpoints refuse (403) and login fails (400).
	for _, op := range c.ops {
		if strings.HasPrefix(op, "POST /karajo/api/session/") {
			c.call(t, s, op, strings.Fields(op)[1], form, []byte("id=hook"), 403)
		}
	}
	c.call(t, s, "POST /karajo/api/auth/login", "/karajo/api/auth/login", form, []byte("name=a&password=b"), 400)
	c.call(t, s, "POST /karajo/api/auth/logout", "/karajo/api/auth/logout", form, nil, 200)

	openAPIWithUsers(t, c)

	// Every operation answered success and error (but those that never
	// refuse a well-formed request).
	noError := map[string]bool{"GET /karajo/api/health": true, "GET /karajo/api/openapi.json": true, "POST /karajo/api/auth/logout": true}
	for _, op := range c.ops {
		var ok2, err4 bool
		for _, st := range c.seen[op] {
			ok2 = ok2 || st/100 == 2
			err4 = err4 || st/100 == 4
		}
		switch {
		case !ok2:
			t.Errorf("%s: no success answer validated (seen %v): add a call to TestOpenAPIAnswers", op, c.seen[op])
		case !err4 && !noError[op]:
			t.Errorf("%s: no error answer validated (seen %v): add a call to TestOpenAPIAnswers", op, c.seen[op])
		}
	}
}

// openAPIWithUsers exercises the endpoints that differ with users: a
// login, the session-bound actions (200, 401, 403 CSRF, 404, 412), reads
// refused without a session (401), signed reads, metrics.
func openAPIWithUsers(t *testing.T, c *apiCheck) {
	t.Helper()
	dir := t.TempDir()
	writeConfig(t, dir, configHeader(dir)+`
[job."hook"]
path = "/hook"
commands = ["echo hook"]

[job_http."ping"]
interval = "1h"
http_url = "/karajo/api/health"
`)
	hash, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "etc", "karajo", "user.toml"),
		[]byte(fmt.Sprintf("[user.\"alice\"]\npassword = %q\n", hash)), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startDir(t, dir)
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	c.call(t, s, "GET /karajo/api/environment", "/karajo/api/environment", nil, nil, 401)
	c.call(t, s, "GET /metrics", "/metrics", nil, nil, 401)
	c.call(t, s, "GET /karajo/api/events", "/karajo/api/events", nil, nil, 401)
	target := fmt.Sprintf("/karajo/api/environment?_karajo_epoch=%d", time.Now().Unix())
	c.call(t, s, "GET /karajo/api/environment", target, map[string]string{"X-Karajo-Sign": sign(testSecret, []byte(target))}, nil, 200)

	r := c.call(t, s, "POST /karajo/api/auth/login", "/karajo/api/auth/login", form, []byte("name=alice&password=pw"), 200)
	cookie := strings.SplitN(r.header.Get("Set-Cookie"), ";", 2)[0]
	sess := c.call(t, s, "GET /karajo/api/auth/session", "/karajo/api/auth/session", map[string]string{"Cookie": cookie}, nil, 200)
	var info struct {
		Data struct{ CSRF string } `json:"data"`
	}
	if err := json.Unmarshal(sess.body, &info); err != nil || info.Data.CSRF == "" {
		t.Fatalf("session: %v %s", err, sess)
	}
	auth := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie, "X-Karajo-CSRF": info.Data.CSRF}
	noCSRF := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
	for _, a := range []string{"run", "pause", "resume", "cancel"} {
		op := "POST /karajo/api/session/job_exec/" + a
		c.call(t, s, op, "/karajo/api/session/job_exec/"+a, auth, []byte("id=hook"), 200)
		c.call(t, s, op, "/karajo/api/session/job_exec/"+a, noCSRF, []byte("id=hook"), 403)
		c.call(t, s, op, "/karajo/api/session/job_exec/"+a, form, []byte("id=hook"), 401)
		c.call(t, s, op, "/karajo/api/session/job_exec/"+a, auth, []byte("id=nope"), 404)
	}
	for _, a := range []string{"pause", "resume"} {
		op := "POST /karajo/api/session/job_http/" + a
		c.call(t, s, op, "/karajo/api/session/job_http/"+a, auth, []byte("id=ping"), 200)
		c.call(t, s, op, "/karajo/api/session/job_http/"+a, form, []byte("id=ping"), 401)
	}
	c.call(t, s, "POST /karajo/api/auth/logout", "/karajo/api/auth/logout", map[string]string{"Cookie": cookie}, nil, 200)
}
