package integration

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestMalformedRequests sends many malformed requests: each must get a 4xx
// JSON envelope whose code is the HTTP status (IMP-11, IMP-13, IMP-19), and
// the server must keep serving.
func TestMalformedRequests(t *testing.T) {
	t.Parallel()
	s := start(t, `
[job.hook]
path = "/hook"
commands = ["true"]
`)
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	signedForm := func(body string) map[string]string {
		return map[string]string{"Content-Type": "application/x-www-form-urlencoded", "X-Karajo-Sign": sign(testSecret, []byte(body))}
	}
	now := time.Now().Unix()
	big64k := bytes.Repeat([]byte("a"), 70*1024)
	big64kForm := []byte("id=hook&x=" + strings.Repeat("a", 70*1024))
	big33m := bytes.Repeat([]byte("a"), 33<<20)
	longID := strings.Repeat("x", 5000)
	longBody := fmt.Sprintf("_karajo_epoch=%d&id=%s", now, longID)
	dotBody := fmt.Sprintf("_karajo_epoch=%d&id=..%%2F..%%2Fetc%%2Fpasswd", now)
	nulBody := fmt.Sprintf("_karajo_epoch=%d&id=ho%%00ok", now)
	emptySig := sign(testSecret, nil)

	tests := []struct {
		name    string
		method  string
		target  string
		hdr     map[string]string
		body    []byte
		status  []int  // accepted statuses; the first is the expected one
		message string // exact message, or prefix when ending in "…"
	}{
		{"bad escape in form body", "POST", "/karajo/api/job_exec/pause", form, []byte("_karajo_epoch=1&id=%zz"), []int{400}, "invalid request: …"},
		{"trailing % in form body", "POST", "/karajo/api/job_exec/resume", form, []byte("id=50%"), []int{400}, "invalid request: …"},
		{"; in form body", "POST", "/karajo/api/job_exec/cancel", form, []byte("a=1;id=hook"), []int{400}, "invalid request: …"},
		{"bad escape in query of pause", "POST", "/karajo/api/job_exec/pause?id=%zz", form, []byte("id=hook"), []int{400}, "invalid request: …"},
		{"; in query of pause", "POST", "/karajo/api/job_exec/pause?a=1;b=2", form, []byte("id=hook"), []int{400}, "invalid request: …"},
		{"bad escape in query of log", "GET", "/karajo/api/job_exec/log?id=h%zz&counter=1", nil, nil, []int{400}, "invalid request: …"},
		{"; in query of log", "GET", "/karajo/api/job_exec/log?id=hook;counter=1", nil, nil, []int{400}, "invalid request: …"},
		{"trailing % in query of environment", "GET", "/karajo/api/environment?x=50%", nil, nil, []int{400}, "invalid request: …"},
		{"form body over 64 KiB on pause", "POST", "/karajo/api/job_exec/pause", form, big64kForm, []int{413}, ""},
		{"body over 64 KiB on cancel", "POST", "/karajo/api/job_exec/cancel", map[string]string{"Content-Type": "text/plain"}, big64k, []int{413}, ""},
		{"body over 32 MiB on run", "POST", "/karajo/api/job_exec/run/hook", map[string]string{"Content-Type": "application/json"}, big33m, []int{413}, ""},
		{"empty body on pause, no signature", "POST", "/karajo/api/job_exec/pause", form, []byte{}, []int{401}, "empty or invalid signature"},
		{"empty body on pause, signed", "POST", "/karajo/api/job_exec/pause", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "X-Karajo-Sign": emptySig}, []byte{}, []int{404}, "job not found: "},
		{"missing id on cancel", "POST", "/karajo/api/job_exec/cancel", signedForm(fmt.Sprintf("_karajo_epoch=%d", now)), []byte(fmt.Sprintf("_karajo_epoch=%d", now)), []int{404}, "job not found: "},
		{"../ in id", "POST", "/karajo/api/job_exec/pause", signedForm(dotBody), []byte(dotBody), []int{404}, "job not found: ../../etc/passwd"},
		{"NUL in id", "POST", "/karajo/api/job_exec/resume", signedForm(nulBody), []byte(nulBody), []int{404, 400}, ""},
		{"very long id", "POST", "/karajo/api/job_exec/pause", signedForm(longBody), []byte(longBody), []int{404}, "job not found: " + longID},
		{"uppercase signature", "POST", "/karajo/api/job_exec/pause", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "X-Karajo-Sign": strings.ToUpper(emptySig)}, []byte{}, []int{401}, "empty or invalid signature"},
		{"log missing id", "GET", "/karajo/api/job_exec/log?counter=1", nil, nil, []int{404}, "job ID  not found"},
		{"log missing counter", "GET", "/karajo/api/job_exec/log?id=hook", nil, nil, []int{404}, "log # not found"},
		{"log non-numeric counter", "GET", "/karajo/api/job_exec/log?id=hook&counter=1x", nil, nil, []int{404}, "log #1x not found"},
		{"log overflowing counter", "GET", "/karajo/api/job_exec/log?id=hook&counter=9223372036854775808", nil, nil, []int{404}, "log #9223372036854775808 not found"},
		{"log negative counter", "GET", "/karajo/api/job_exec/log?id=hook&counter=-1", nil, nil, []int{404}, "log #-1 not found"},
		{"log NUL in id", "GET", "/karajo/api/job_exec/log?id=%00&counter=1", nil, nil, []int{404, 400}, ""},
		{"log ../ in id", "GET", "/karajo/api/job_exec/log?id=..%2F..%2Fetc&counter=1", nil, nil, []int{404}, "job ID ../../etc not found"},
		{"log very long id", "GET", "/karajo/api/job_exec/log?id=" + longID + "&counter=1", nil, nil, []int{404}, "job ID " + longID + " not found"},
		{"unknown API path GET", "GET", "/karajo/api/nope", nil, nil, []int{404}, "not found"},
		{"unknown API path POST", "POST", "/karajo/api/nope", form, []byte("x=1"), []int{404}, "not found"},
		{"unknown API sub-path GET", "GET", "/karajo/api/job_exec/logs?id=hook", nil, nil, []int{404}, "not found"},
		{"documented-but-missing job_http/logs", "GET", "/karajo/api/job_http/logs?id=x", nil, nil, []int{404}, "not found"},
		{"GET on pause", "GET", "/karajo/api/job_exec/pause", nil, nil, []int{405}, ""},
		{"GET on cancel", "GET", "/karajo/api/job_exec/cancel", nil, nil, []int{405}, ""},
		{"GET on run", "GET", "/karajo/api/job_exec/run/hook", nil, nil, []int{405}, ""},
		{"POST on environment", "POST", "/karajo/api/environment", form, []byte("x=1"), []int{405}, ""},
		{"POST on log", "POST", "/karajo/api/job_exec/log?id=hook&counter=1", form, []byte{}, []int{405}, ""},
		{"PUT on pause", "PUT", "/karajo/api/job_exec/pause", form, []byte("x=1"), []int{405, 404}, ""},
		{"DELETE on environment", "DELETE", "/karajo/api/environment", nil, nil, []int{405, 404}, ""},
		{"unknown webhook path", "POST", "/karajo/api/job_exec/run/nope", map[string]string{"Content-Type": "application/json"}, []byte("{}"), []int{404}, "job not found: …"},
		{"webhook path with ..%2F", "POST", "/karajo/api/job_exec/run/..%2F..%2Fenvironment", map[string]string{"Content-Type": "application/json"}, []byte("{}"), []int{404, 400}, ""},
		{"webhook path with NUL", "POST", "/karajo/api/job_exec/run/ho%00ok", map[string]string{"Content-Type": "application/json"}, []byte("{}"), []int{404, 400}, ""},
		{"webhook unsigned", "POST", "/karajo/api/job_exec/run/hook", map[string]string{"Content-Type": "application/json"}, []byte("{}"), []int{403}, "forbidden"},
		{"job_http unknown id", "GET", "/karajo/api/job_http?id=nope", nil, nil, []int{400}, "invalid or empty job id: nope"},
		{"job_http empty id", "GET", "/karajo/api/job_http", nil, nil, []int{400}, "invalid or empty job id: "},
		{"job_http/log unknown id", "GET", "/karajo/api/job_http/log?id=Nope&counter=1", nil, nil, []int{400}, "invalid or empty job id: nope"},
		{"job_http pause unsigned", "POST", "/karajo/api/job_http/pause?id=x", nil, nil, []int{401}, "empty or invalid signature"},
	}
	if len(tests) < 30 {
		t.Fatalf("only %d cases", len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.raw(t, tt.method, tt.target, tt.hdr, tt.body)
			ok := false
			for _, st := range tt.status {
				ok = ok || r.status == st
			}
			if !ok {
				t.Fatalf("%s %s: status %d, want %v: %s", tt.method, shorten(tt.target), r.status, tt.status, r)
			}
			env, err := checkEnvelope(r)
			if err != nil {
				t.Fatalf("%s %s: %v", tt.method, shorten(tt.target), err)
			}
			if m, prefix := strings.CutSuffix(tt.message, "…"); prefix && !strings.HasPrefix(env.Message, m) {
				t.Errorf("message %q, want prefix %q", env.Message, m)
			} else if !prefix && tt.message != "" && env.Message != tt.message {
				t.Errorf("message %q, want %q", shorten(env.Message), shorten(tt.message))
			}
			if env.Message == "" {
				t.Errorf("error envelope without message: %s", r)
			}
		})
	}

	// Nothing above changed the job, and the server still serves.
	if !s.alive() {
		t.Fatal("server died")
	}
	if j := s.job(t, "hook"); j.Status != "started" || len(j.Logs) != 0 {
		t.Errorf("hook after malformed requests: status %q logs %v, want started, none", j.Status, j.Logs)
	}
	r := s.get(t, "/karajo/api/environment")
	if r.status != http.StatusOK {
		t.Errorf("environment at the end: %s", r)
	}
	// A POST to an unknown non-API path: 404 (empty body allowed, v0.9.3).
	if r := s.raw(t, http.MethodPost, "/nothing-here", form, []byte("x=1")); r.status != http.StatusNotFound {
		t.Errorf("POST /nothing-here: %s, want 404", r)
	}
	// A GET to an unknown non-API path: 404 (IMP-13).
	if r := s.get(t, "/no/such/file.txt"); r.status != http.StatusNotFound {
		t.Errorf("GET /no/such/file.txt: %s, want 404", r)
	}
}
