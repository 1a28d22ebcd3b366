package httpapi

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/karajo/karajo/actors"
	"github.com/karajo/karajo/config"
)

// marshalEnv is the reference form of the environment answer: what the
// handler made before encodeEnv spliced it.
func marshalEnv(t *testing.T, s *Server, snap *actors.Snapshot, c *apiConfig) []byte {
	t.Helper()
	b, err := json.Marshal(envelope{Data: s.envView(c, snap.Jobs, snap.HTTPJobs), Code: http.StatusOK})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// gunzip decompresses b.
func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// testSnapshot encodes views as the supervisor does (json.Marshal of the
// views keyed by name).
func testSnapshot(t *testing.T, jobs map[string]*actors.JobView, httpJobs map[string]*actors.JobHTTPView) *actors.Snapshot {
	t.Helper()
	jb, err := json.Marshal(jobs)
	if err != nil {
		t.Fatal(err)
	}
	hb, err := json.Marshal(httpJobs)
	if err != nil {
		t.Fatal(err)
	}
	return &actors.Snapshot{Gen: 1, Jobs: jb, HTTPJobs: hb}
}

// TestEncodeEnvMatchesMarshal checks that the spliced answer is byte for
// byte json.Marshal of the envelope, for configurations and jobs that need
// escaping, with the tail built anew or taken from the previous answer.
func TestEncodeEnvMatchesMarshal(t *testing.T) {
	now := time.Date(2026, 11, 28, 16, 40, 0, 0, time.UTC)
	snaps := map[string]*actors.Snapshot{
		"empty": testSnapshot(t, map[string]*actors.JobView{}, map[string]*actors.JobHTTPView{}),
		"escaped": testSnapshot(t,
			map[string]*actors.JobView{
				"<a&b>":     {ID: "_a_b_", Name: "<a&b>", Description: "x < y && \u2028", LastRun: now, Commands: []string{"echo \"hi\""}},
				"日本語":       {ID: "_________", Name: "日本語", Status: "success", Logs: []actors.LogRefView{{JobID: "x", Name: "x.1.success", Counter: 1}}},
				"tab\tname": {ID: "tab_name", Name: "tab\tname"},
			},
			map[string]*actors.JobHTTPView{"h<>": {ID: "h__", Name: "h<>", HTTPMethod: "GET", HTTPURL: "http://x/?a=1&b=2", HTTPTimeout: time.Second}}),
		"nil": {Gen: 2},
	}
	confs := map[string]*apiConfig{
		"plain": {env: &config.Env{Name: "karajo", DirBase: "/var/lib/karajo", HTTPTimeout: 5 * time.Second, MaxJobRunning: 1}},
		"escaped": {env: &config.Env{Name: "<x&y> ünï \u2029 \"q\"", DirBase: "/a&b", DirPublic: "/<pub>",
			HTTPTimeout: 1500 * time.Millisecond, MaxJobRunning: 32, IsDevelopment: true}},
		"zero": {env: &config.Env{}},
	}
	servers := map[string]*Server{
		"set":     {listen: "127.0.0.1:31937", version: "v1.0.0 <dev>"},
		"escaped": {listen: "[::1]:80", version: "é&"},
		"empty":   {},
	}
	for sn, s := range servers {
		for cn, c := range confs {
			var prev *envAnswer
			for _, round := range []string{"new tail", "tail of prev"} {
				for name, snap := range snaps {
					a, err := s.encodeEnv(snap, c, prev)
					if err != nil {
						t.Fatalf("%s/%s/%s/%s: %v", sn, cn, round, name, err)
					}
					if want := marshalEnv(t, s, snap, c); !bytes.Equal(a.plain, want) {
						t.Errorf("%s/%s/%s/%s:\n got %s\nwant %s", sn, cn, round, name, a.plain, want)
					}
					if a.snap != snap || a.conf != c {
						t.Errorf("%s/%s/%s/%s: answer not tagged with its snapshot and configuration", sn, cn, round, name)
					}
					if round == "tail of prev" && &a.tail[0] != &prev.tail[0] {
						t.Errorf("%s/%s/%s: tail encoded again for the same configuration", sn, cn, name)
					}
					prev = a
				}
			}
		}
	}
	// A previous answer for another configuration does not lend its tail.
	s := servers["set"]
	snap := snaps["escaped"]
	prev, err := s.encodeEnv(snap, confs["plain"], nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.encodeEnv(snap, confs["escaped"], prev)
	if err != nil {
		t.Fatal(err)
	}
	if want := marshalEnv(t, s, snap, confs["escaped"]); !bytes.Equal(a.plain, want) {
		t.Errorf("after a configuration change:\n got %s\nwant %s", a.plain, want)
	}
}

// TestEnvGzipLazy checks that the gzip form is built on first demand,
// once, from concurrent readers (run with -race), and unzips to the plain
// answer.
func TestEnvGzipLazy(t *testing.T) {
	s := &Server{listen: "127.0.0.1:1", version: "test"}
	c := &apiConfig{env: &config.Env{Name: "gz", HTTPTimeout: time.Second}}
	snap := testSnapshot(t, map[string]*actors.JobView{"a": {ID: "a", Name: "a"}}, map[string]*actors.JobHTTPView{})
	a, err := s.encodeEnv(snap, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.gz != nil {
		t.Fatal("gzip form built before any reader asked for it")
	}
	const readers = 8
	got := make([][]byte, readers)
	var wg sync.WaitGroup
	for i := range readers {
		wg.Go(func() {
			b, err := a.gzipped()
			if err != nil {
				t.Error(err)
			}
			got[i] = b
		})
	}
	wg.Wait()
	for i := range readers {
		if len(got[i]) == 0 || &got[i][0] != &got[0][0] {
			t.Fatalf("reader %d got another gzip form", i)
		}
	}
	if plain := gunzip(t, got[0]); !bytes.Equal(plain, a.plain) {
		t.Fatalf("gunzipped answer\n got %s\nwant %s", plain, a.plain)
	}
}

// TestEnvironmentHandler checks GET /karajo/api/environment end to end:
// the plain answer is the json.Marshal form of the supervisor's snapshot,
// the gzip answer unzips to it, and a run of a job makes a new answer.
func TestEnvironmentHandler(t *testing.T) {
	f := newAuthFixture(t, nil, nil)
	get := func(gz bool) []byte {
		t.Helper()
		q := req{method: http.MethodGet, target: pathEnv}
		if gz {
			q.header = map[string]string{"Accept-Encoding": "gzip"}
		}
		w := f.do(t, q)
		if w.Code != http.StatusOK {
			t.Fatalf("GET %s (gzip %v): %d %s", pathEnv, gz, w.Code, w.Body)
		}
		if ce := w.Header().Get("Content-Encoding"); (ce == "gzip") != gz {
			t.Fatalf("GET %s (gzip %v): Content-Encoding %q", pathEnv, gz, ce)
		}
		if w.Header().Get("Vary") != "Accept-Encoding" || w.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("GET %s: headers %v", pathEnv, w.Header())
		}
		if gz {
			return gunzip(t, w.Body.Bytes())
		}
		return w.Body.Bytes()
	}
	snapshot := func() *actors.Snapshot {
		t.Helper()
		snap, err := actors.Ask[*actors.Snapshot](f.e.Root(), f.e.Supervisor(), &actors.GetSnapshot{}, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return snap
	}
	// check reads the answer, plain and gzipped, between two equal
	// snapshots (the JobHttp may run meanwhile: then it reads again).
	check := func(step string) []byte {
		t.Helper()
		for range 100 {
			snap := snapshot()
			plain, zipped := get(false), get(true)
			if snapshot() != snap {
				continue
			}
			if !bytes.Equal(zipped, plain) {
				t.Fatalf("%s: gzip answer\n got %s\nwant %s", step, zipped, plain)
			}
			if want := marshalEnv(t, f.s, snap, f.s.conf.Load()); !bytes.Equal(plain, want) {
				t.Fatalf("%s: answer\n got %s\nwant %s", step, plain, want)
			}
			return plain
		}
		t.Fatalf("%s: the jobs never stood still", step)
		return nil
	}
	before := check("start")
	pid, ok := f.e.Job("e")
	if !ok {
		t.Fatal("no job e")
	}
	if _, err := actors.Ask[*actors.JobView](f.e.Root(), pid, &actors.Trigger{Reason: "api"}, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		v, err := actors.Ask[*actors.JobView](f.e.Root(), pid, &actors.GetJob{}, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if !v.Running && !v.Waiting && len(v.Logs) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job e did not run: %+v", v)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if after := check("after a run"); bytes.Equal(after, before) {
		t.Fatal("the answer did not change after a run")
	}
}
