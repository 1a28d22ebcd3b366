package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/bcrypt"
)

// startRC starts a server whose [karajo] has max_job_running = slots and
// kill_grace = "1s", with jobs.
func startRC(t *testing.T, slots int, jobs string) *server {
	t.Helper()
	dir := t.TempDir()
	head := strings.Replace(configHeader(dir), "max_job_running = 4", fmt.Sprintf("max_job_running = %d\nkill_grace = \"1s\"", slots), 1)
	writeConfig(t, dir, head+"\n"+jobs)
	return startDir(t, dir)
}

// lastLine returns the last line of a log without its prefix.
func lastLine(t *testing.T, id string, content []byte) string {
	t.Helper()
	lines := logLines(t, id, content)
	if len(lines) == 0 {
		return ""
	}
	return lines[len(lines)-1]
}

// TestTimeoutKillsTree: a hanging job with timeout = "1s" ends failed with
// the timeout line within 4 s; the job waiting for the only slot runs right
// after; no process of the run is left, not even a child that called setsid
// (out of the process group: found by its KARAJO_RUN_TOKEN) nor one that
// double-forked.
func TestTimeoutKillsTree(t *testing.T) {
	t.Parallel()
	s := startRC(t, 1, `
[job.hang]
path = "/hang"
timeout = "1s"
commands = ["setsid sleep 61 & (sleep 62 &) ; sleep 60"]

[job.next]
path = "/next"
commands = ["echo next"]
`)
	t.Cleanup(func() { killOrphans(s.workDir("hang")) })
	var eng struct {
		Data struct {
			Kill string `json:"kill_mechanism"`
		} `json:"data"`
	}
	_ = json.Unmarshal(s.get(t, "/karajo/api/engine").body, &eng)
	t.Logf("kill mechanism: %s (no cgroup v2 in this build)", eng.Data.Kill)
	begin := time.Now()
	wantEnvelope(t, s.trigger(t, "hang", testSecret), http.StatusOK)
	s.waitRunning(t, "hang", 1, "--- Execute  0")
	wantEnvelope(t, s.trigger(t, "next", testSecret), http.StatusOK)
	if st := s.waitRun(t, "hang", 1, 30*time.Second); st != "failed" {
		t.Fatalf("hang #1: %q, want failed", st)
	}
	if d := time.Since(begin); d > 4*time.Second {
		t.Errorf("hang #1 ended %v after the trigger, want within 4s", d)
	}
	if got, want := lastLine(t, "hang", s.logOf(t, "hang", 1).Content), "!!! job: hang: timed out after 1s, killed"; got != want {
		t.Errorf("last line %q, want %q", got, want)
	}
	if st := s.waitRun(t, "next", 1, 10*time.Second); st != "success" {
		t.Errorf("next #1: %q, want success", st)
	}
	if j := s.job(t, "hang"); j.Status != "failed" {
		t.Errorf("hang status %q, want failed", j.Status)
	}
	waitFor(t, 5*time.Second, "no process left in hang's work directory", func() bool {
		return len(procsIn(s.workDir("hang"))) == 0
	})
	metrics := string(s.get(t, "/metrics").body)
	if !strings.Contains(metrics, `karajo_attempts_total{job="hang",outcome="timeout"} 1`) {
		t.Errorf("metrics lack the timeout count:\n%s", grepLines(metrics, "karajo_attempts_total"))
	}
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// attemptTimes reads the "t=<unix nanoseconds>" lines of a log.
func attemptTimes(t *testing.T, id string, content []byte) []time.Time {
	t.Helper()
	var ts []time.Time
	for _, l := range logLines(t, id, content) {
		if v, ok := strings.CutPrefix(l, "t="); ok {
			v, _, _ = strings.Cut(v, " ")
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatalf("bad time line %q", l)
			}
			ts = append(ts, time.Unix(0, n))
		}
	}
	return ts
}

// TestRetries: the attempts run in one run (one counter, one log with
// === ATTEMPT lines, KARAJO_RUN_ATTEMPT) with growing gaps, another job
// takes the only slot while the first waits, a success stops them, and
// pause and cancel end a pending retry.
func TestRetries(t *testing.T) {
	t.Parallel()
	s := startRC(t, 1, `
[job.flaky]
path = "/flaky"
retries = 2
retry_delay = "500ms"
retry_backoff = 3.0
retry_jitter = 0
commands = ["echo t=$(date +%s%N) attempt=$KARAJO_RUN_ATTEMPT trigger=$KARAJO_RUN_TRIGGER", "false"]

[job.other]
path = "/other"
commands = ["echo t=$(date +%s%N)"]

[job.second]
path = "/second"
retries = 5
retry_delay = "100ms"
retry_jitter = 0
commands = ["test $KARAJO_RUN_ATTEMPT -ge 2"]

[job.zero]
path = "/zero"
retries = 1
retry_delay = "0s"
commands = ["test $KARAJO_RUN_ATTEMPT -ge 2"]

[job.slow]
path = "/slow"
retries = 3
retry_delay = "1m"
commands = ["false"]

[job.slow2]
path = "/slow2"
retries = 3
retry_delay = "1m"
commands = ["false"]
`)
	wantEnvelope(t, s.trigger(t, "flaky", testSecret), http.StatusOK)
	s.waitRunning(t, "flaky", 1, "next attempt in")
	wantEnvelope(t, s.trigger(t, "other", testSecret), http.StatusOK)
	if st := s.waitRun(t, "flaky", 1, 60*time.Second); st != "failed" {
		t.Fatalf("flaky #1: %q, want failed", st)
	}
	content := s.logOf(t, "flaky", 1).Content
	text := string(content)
	for n := 1; n <= 3; n++ {
		if !strings.Contains(text, fmt.Sprintf("=== ATTEMPT %d/3", n)) || !strings.Contains(text, fmt.Sprintf("attempt=%d trigger=webhook", n)) {
			t.Errorf("log lacks attempt %d:\n%s", n, text)
		}
	}
	if strings.Contains(text, "ATTEMPT 4") {
		t.Errorf("more than 3 attempts:\n%s", text)
	}
	if j := s.job(t, "flaky"); len(j.Logs) != 1 {
		t.Errorf("flaky has %d logs, want 1 run", len(j.Logs))
	}
	ts := attemptTimes(t, "flaky", content)
	if len(ts) != 3 {
		t.Fatalf("attempt times %v, want 3", ts)
	}
	g1, g2 := ts[1].Sub(ts[0]), ts[2].Sub(ts[1])
	if g1 < 500*time.Millisecond || g2 < 1500*time.Millisecond || g2 <= g1 {
		t.Errorf("gaps %v then %v, want at least 500ms then at least 1.5s, growing", g1, g2)
	}
	other := attemptTimes(t, "other", s.logOf(t, "other", 1).Content)
	if len(other) != 1 || !other[0].After(ts[0]) || !other[0].Before(ts[2]) {
		t.Errorf("other ran at %v, want while flaky waited (attempts at %v): the slot was not given back", other, ts)
	}

	wantEnvelope(t, s.trigger(t, "second", testSecret), http.StatusOK)
	if st := s.waitRun(t, "second", 1, 60*time.Second); st != "success" {
		t.Fatalf("second #1: %q, want success", st)
	}
	if text := string(s.logOf(t, "second", 1).Content); !strings.Contains(text, "=== ATTEMPT 2/6") || strings.Contains(text, "ATTEMPT 3/") {
		t.Errorf("second: want success at attempt 2:\n%s", text)
	}

	wantEnvelope(t, s.trigger(t, "zero", testSecret), http.StatusOK)
	if st := s.waitRun(t, "zero", 1, 60*time.Second); st != "success" {
		t.Errorf("zero #1 (retry_delay 0s): %q, want success at attempt 2\n%s", st, s.logOf(t, "zero", 1).Content)
	}

	for _, tc := range []struct{ id, action string }{{"slow", "cancel"}, {"slow2", "pause"}} {
		wantEnvelope(t, s.trigger(t, tc.id, testSecret), http.StatusOK)
		s.waitRunning(t, tc.id, 1, "next attempt in")
		j := s.job(t, tc.id)
		if j.Status != "running" {
			t.Errorf("%s waiting for a retry shows %q, want running", tc.id, j.Status)
		}
		s.act(t, tc.action, tc.id)
		if st := s.waitRun(t, tc.id, 1, 10*time.Second); st != "failed" {
			t.Errorf("%s #1 after %s: %q, want failed (as it stood)", tc.id, tc.action, st)
		}
		if text := string(s.logOf(t, tc.id, 1).Content); strings.Contains(text, "ATTEMPT 2/") || !strings.Contains(text, "no further attempt") {
			t.Errorf("%s: want one attempt and the reason:\n%s", tc.id, text)
		}
	}
}

// fire sends n concurrent webhook triggers to path and counts the answers
// by status; it returns the run counters of the 200s too.
func fire(t *testing.T, s *server, path string, n int) (map[int]int, []int64) {
	t.Helper()
	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		codes    = map[int]int{}
		counters []int64
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := s.trigger(t, path, testSecret)
			var env struct {
				RunCounter int64 `json:"run_counter"`
			}
			_ = json.Unmarshal(r.body, &env)
			mu.Lock()
			defer mu.Unlock()
			codes[r.status]++
			if r.status == http.StatusOK {
				counters = append(counters, env.RunCounter)
			}
		}()
	}
	wg.Wait()
	return codes, counters
}

// TestOverlapPolicies: 20 concurrent triggers on a running job, per policy.
func TestOverlapPolicies(t *testing.T) {
	t.Parallel()
	s := startRC(t, 4, `
[job.queue]
path = "/queue"
commands = ["sleep 2"]

[job.skip]
path = "/skip"
overlap = "skip"
commands = ["sleep 2"]

[job.replace]
path = "/replace"
overlap = "replace"
commands = ["sleep 2"]
`)
	for _, tc := range []struct {
		id       string
		ok, busy int // answers wanted; -1: any
	}{{"queue", 2, 19}, {"skip", 1, 20}, {"replace", -1, -1}} {
		t.Run(tc.id, func(t *testing.T) {
			wantEnvelope(t, s.trigger(t, tc.id, testSecret), http.StatusOK)
			s.waitRunning(t, tc.id, 1, "--- Execute  0")
			codes, counters := fire(t, s, tc.id, 20)
			if codes[http.StatusOK]+codes[http.StatusTooManyRequests] != 20 {
				t.Fatalf("answers %v, want only 200 and 429", codes)
			}
			ok := codes[http.StatusOK] + 1 // with the first trigger
			if tc.ok >= 0 && (ok != tc.ok || codes[http.StatusTooManyRequests] != tc.busy) {
				t.Errorf("answers %v (+1 first 200), want %d 200 in all and %d 429", codes, tc.ok, tc.busy)
			}
			if tc.id == "replace" && ok < 2 {
				t.Errorf("answers %v: no trigger replaced the run", codes)
			}
			// The last run's counter is the largest answered: with
			// replace, a trigger that finds the replacement still waiting
			// for its slot is served by it (same counter).
			last := int64(1)
			for _, c := range counters {
				if c < 2 || c > int64(ok) {
					t.Errorf("run_counter %d out of 2..%d", c, ok)
				}
				last = max(last, c)
			}
			if tc.id != "replace" && last != int64(ok) {
				t.Errorf("last run_counter %d, want %d", last, ok)
			}
			if st := s.waitRun(t, tc.id, last, 60*time.Second); st != "success" {
				t.Errorf("%s #%d: %q, want success", tc.id, last, st)
			}
			time.Sleep(300 * time.Millisecond)
			j := s.job(t, tc.id)
			if n := j.Logs[len(j.Logs)-1].Counter; n != last {
				t.Errorf("%s ran %d times, want %d", tc.id, n, last)
			}
			for _, l := range j.Logs[:len(j.Logs)-1] {
				want := "success"
				if tc.id == "replace" {
					want = "canceled"
				}
				if l.Status != want {
					t.Errorf("%s #%d: %s, want %s", tc.id, l.Counter, l.Status, want)
				}
			}
		})
	}
}

// TestCancelTellsTheTruth: cancel drops the trigger queued behind the run
// and answers once the run has ended, with canceled.
func TestCancelTellsTheTruth(t *testing.T) {
	t.Parallel()
	s := startRC(t, 1, `
[job.c]
path = "/c"
commands = ["sleep 30"]
`)
	wantEnvelope(t, s.trigger(t, "c", testSecret), http.StatusOK)
	r := s.trigger(t, "c", testSecret)
	env := wantEnvelope(t, r, http.StatusOK)
	if !regexp.MustCompile(`"run_counter":2`).Match(r.body) {
		t.Errorf("queued trigger answer %s, want run_counter 2", r.body)
	}
	_ = env
	s.waitRunning(t, "c", 1, "--- Execute  0")
	j := s.act(t, "cancel", "c")
	if j.Status != "canceled" {
		t.Errorf("cancel answered status %q, want canceled", j.Status)
	}
	time.Sleep(time.Second)
	j = s.job(t, "c")
	if len(j.Logs) != 1 || j.Logs[0].Status != "canceled" || j.Status != "canceled" {
		t.Errorf("after cancel: status %q logs %+v, want one canceled run and no second", j.Status, j.Logs)
	}
}

// runNowReq POSTs form body to the run_now endpoint of kind (job_exec or
// job_http) with extra headers.
func (s *server) runNowReq(t *testing.T, kind, body string, hdr map[string]string) response {
	t.Helper()
	h := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	for k, v := range hdr {
		h[k] = v
	}
	return s.raw(t, http.MethodPost, "/karajo/api/"+kind+"/run_now", h, []byte(body))
}

// TestRunNow: run_now for a path-less exec job and a JobHttp, signed with
// the [karajo] secret; unsigned, stale and unknown IDs refused; and by a
// session with its CSRF token.
func TestRunNow(t *testing.T) {
	t.Parallel()
	jobs := `
[job.nopath]
timeout = "1m"
commands = ["echo trigger=$KARAJO_RUN_TRIGGER"]

[job_http.ping]
http_url = "/karajo/api/health"

[job.slow]
overlap = "skip"
commands = ["sleep 30"]
`
	s := startRC(t, 2, jobs)
	signed := func(kind, id string, epoch int64) response {
		body := fmt.Sprintf("_karajo_epoch=%d&id=%s", epoch, id)
		return s.runNowReq(t, kind, body, map[string]string{"X-Karajo-Sign": sign(testSecret, []byte(body))})
	}
	now := time.Now().Unix()
	for _, tc := range []struct{ kind, id string }{{"job_exec", "nopath"}, {"job_http", "ping"}} {
		r := signed(tc.kind, tc.id, now)
		wantEnvelope(t, r, http.StatusOK)
		if !strings.Contains(string(r.body), `"run_counter":1`) || !strings.Contains(string(r.body), `"id":"`+tc.id+`"`) {
			t.Errorf("%s run_now answer %s, want the job and run_counter 1", tc.id, r.body)
		}
	}
	if st := s.waitRun(t, "nopath", 1, 30*time.Second); st != "success" {
		t.Errorf("nopath #1: %q, want success", st)
	}
	if lines := logLines(t, "nopath", s.logOf(t, "nopath", 1).Content); len(lines) < 4 || lines[0] != "=== BEGIN trigger=api" || lines[3] != "trigger=api" {
		t.Errorf("nopath log: want first line %q and trigger=api from the command:\n%s", "=== BEGIN trigger=api", strings.Join(lines, "\n"))
	}
	waitFor(t, 30*time.Second, "ping #1 finished", func() bool {
		r := s.get(t, "/karajo/api/job_http/log?id=ping&counter=1")
		return r.status == http.StatusOK && strings.Contains(string(r.body), `"status":"success"`)
	})

	body := fmt.Sprintf("_karajo_epoch=%d&id=nopath", now)
	wantEnvelope(t, s.runNowReq(t, "job_exec", body, nil), http.StatusUnauthorized)
	wantEnvelope(t, s.runNowReq(t, "job_exec", body, map[string]string{"X-Karajo-Sign": sign("wrong", []byte(body))}), http.StatusUnauthorized)
	wantEnvelope(t, signed("job_exec", "nopath", now-3600), http.StatusUnauthorized)
	nodate := "id=nopath"
	wantEnvelope(t, s.runNowReq(t, "job_exec", nodate, map[string]string{"X-Karajo-Sign": sign(testSecret, []byte(nodate))}), http.StatusUnauthorized)
	wantEnvelope(t, signed("job_exec", "nosuch", now), http.StatusNotFound)
	wantEnvelope(t, signed("job_http", "nosuch", now), http.StatusNotFound)
	wantEnvelope(t, s.runNowReq(t, "job_exec", "%zz", nil), http.StatusBadRequest)
	wantEnvelope(t, signed("job_exec", "slow", now), http.StatusOK)
	wantEnvelope(t, signed("job_exec", "slow", now), http.StatusTooManyRequests) // busy, overlap = "skip"
	s.act(t, "cancel", "slow")
	s.act(t, "pause", "nopath")
	wantEnvelope(t, signed("job_exec", "nopath", now), http.StatusPreconditionFailed)

	t.Run("session", func(t *testing.T) {
		dir := t.TempDir()
		head := strings.Replace(configHeader(dir), "max_job_running = 4", "max_job_running = 2", 1)
		writeConfig(t, dir, head+jobs)
		hash, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "etc", "karajo", "user.toml"), []byte(fmt.Sprintf("[user.\"alice\"]\npassword = %q\n", hash)), 0o600); err != nil {
			t.Fatal(err)
		}
		s := startDir(t, dir)
		login := s.raw(t, http.MethodPost, "/karajo/api/auth/login", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, []byte("name=alice&password=pw"))
		var cookie string
		for _, c := range login.header.Values("Set-Cookie") {
			cookie, _, _ = strings.Cut(c, ";")
		}
		if login.status != http.StatusOK || cookie == "" {
			t.Fatalf("login: %s", login)
		}
		sess := s.raw(t, http.MethodGet, "/karajo/api/auth/session", map[string]string{"Cookie": cookie}, nil)
		var info struct {
			Data struct {
				CSRF string `json:"csrf"`
			} `json:"data"`
		}
		if err := json.Unmarshal(sess.body, &info); err != nil || info.Data.CSRF == "" {
			t.Fatalf("session: %v %s", err, sess)
		}
		body := "id=ping"
		wantEnvelope(t, s.runNowReq(t, "job_http", body, nil), http.StatusUnauthorized)
		wantEnvelope(t, s.runNowReq(t, "job_http", body, map[string]string{"Cookie": cookie}), http.StatusForbidden)
		r := s.runNowReq(t, "job_http", body, map[string]string{"Cookie": cookie, "X-Karajo-CSRF": info.Data.CSRF})
		wantEnvelope(t, r, http.StatusOK)
		if !strings.Contains(string(r.body), `"run_counter":1`) {
			t.Errorf("session run_now answer %s, want run_counter 1", r.body)
		}
		r = s.runNowReq(t, "job_exec", "id=nopath", map[string]string{"Cookie": cookie, "X-Karajo-CSRF": info.Data.CSRF})
		wantEnvelope(t, r, http.StatusOK)
		var l jobLog
		waitFor(t, 30*time.Second, "nopath #1 by session finished", func() bool {
			r := s.raw(t, http.MethodGet, "/karajo/api/job_exec/log?id=nopath&counter=1", map[string]string{"Cookie": cookie}, nil)
			var env struct {
				Data jobLog `json:"data"`
			}
			_ = json.Unmarshal(r.body, &env)
			l = env.Data
			return r.status == http.StatusOK && l.Status == "success"
		})
		if lines := logLines(t, "nopath", l.Content); len(lines) == 0 || lines[0] != "=== BEGIN trigger=api user=alice" {
			t.Errorf("session run's first line: want %q in\n%s", "=== BEGIN trigger=api user=alice", l.Content)
		}
	})
}

// TestEngineState: GET /karajo/api/engine during a run shows the slot, the
// run, the queue for the slot and a run waiting for its retry.
func TestEngineState(t *testing.T) {
	t.Parallel()
	s := startRC(t, 1, `
[job.r]
path = "/r"
retries = 1
retry_delay = "1m"
commands = ["false"]

[job.a]
path = "/a"
timeout = "30s"
commands = ["sleep 20"]

[job.b]
path = "/b"
commands = ["true"]
`)
	wantEnvelope(t, s.trigger(t, "r", testSecret), http.StatusOK)
	s.waitRunning(t, "r", 1, "next attempt in")
	wantEnvelope(t, s.trigger(t, "a", testSecret), http.StatusOK)
	s.waitRunning(t, "a", 1, "--- Execute  0")
	wantEnvelope(t, s.trigger(t, "b", testSecret), http.StatusOK)
	type state struct {
		Slots struct {
			Max     int      `json:"max_job_running"`
			InUse   int      `json:"in_use"`
			Holders []string `json:"holders"`
		} `json:"slots"`
		Queue []struct {
			Job string `json:"job"`
		} `json:"queue"`
		Running []struct {
			Kind, Job, Trigger string
			Counter            int64
			Attempt            int
			PGID               int        `json:"pgid"`
			Deadline           *time.Time `json:"deadline"`
		} `json:"running"`
		RetryPending []struct {
			Job     string
			Attempt int
			Due     time.Time
		} `json:"retry_pending"`
		Kill string `json:"kill_mechanism"`
		Jobs map[string]struct {
			Handled uint64 `json:"handled"`
		} `json:"jobs"`
	}
	var st state
	var raw string
	waitFor(t, 10*time.Second, "engine state with a's pgid", func() bool {
		r := s.get(t, "/karajo/api/engine")
		env := wantEnvelope(t, r, http.StatusOK)
		raw = string(env.Data)
		st = state{}
		if err := json.Unmarshal(env.Data, &st); err != nil {
			t.Fatalf("engine: %v: %s", err, r)
		}
		return len(st.Running) == 1 && st.Running[0].PGID > 0
	})
	if st.Slots.Max != 1 || st.Slots.InUse != 1 || len(st.Slots.Holders) != 1 || st.Slots.Holders[0] != "a" {
		t.Errorf("slots %+v, want 1 of 1 held by a\n%s", st.Slots, raw)
	}
	if len(st.Queue) != 1 || st.Queue[0].Job != "b" {
		t.Errorf("queue %+v, want b\n%s", st.Queue, raw)
	}
	if r := st.Running[0]; r.Job != "a" || r.Kind != "job" || r.Counter != 1 || r.Trigger != "webhook" || r.Attempt != 1 || r.Deadline == nil {
		t.Errorf("running %+v, want a #1 by webhook, attempt 1, with a deadline\n%s", r, raw)
	}
	if len(st.RetryPending) != 1 || st.RetryPending[0].Job != "r" || st.RetryPending[0].Attempt != 2 || time.Until(st.RetryPending[0].Due) < 30*time.Second {
		t.Errorf("retry_pending %+v, want r's attempt 2 in about 1m\n%s", st.RetryPending, raw)
	}
	if st.Kill == "" || st.Jobs["job:a"].Handled == 0 {
		t.Errorf("kill mechanism %q, jobs %v\n%s", st.Kill, st.Jobs, raw)
	}
	t.Logf("kill mechanism: %s", st.Kill)
	if j := s.act(t, "cancel", "a"); j.Status != "canceled" {
		t.Errorf("cancel a: %q", j.Status)
	}
	s.act(t, "cancel", "r")
	if st := s.waitRun(t, "b", 1, 10*time.Second); st != "success" {
		t.Errorf("b #1: %q", st)
	}
}

// TestBrowserRunNow: the dashboard's Run button runs a job without a
// webhook path (and a JobHttp), signed in the page with the typed secret;
// the header shows the run slots.
func TestBrowserRunNow(t *testing.T) {
	t.Parallel()
	s := start(t, `
[job."No path"]
commands = ["echo ran"]

[job_http."ping"]
http_url = "/karajo/api/health"
`)
	ctx := browser(t, 2*time.Minute)
	if err := chromedp.Do(ctx, chromedp.Navigate(s.base+"/karajo/app/")); err != nil {
		t.Fatal(err)
	}
	evalUntil(t, ctx, "no path row", statusJS("no_path"), "started")
	evalUntil(t, ctx, "slots header", `document.getElementById('slots').textContent`, "slots 0/4")
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("secret")), chromedp.SendKeys(chromedp.ID("secret"), testSecret)); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, `(document.querySelector('article.job[data-job-id="no_path"] button[data-action="run"]').click(), true)`)
	evalUntil(t, ctx, "run from the page succeeded", statusJS("no_path"), "success")
	if st := s.waitRun(t, "No path", 1, time.Minute); st != "success" {
		t.Fatalf("no_path #1: %q", st)
	}
	do(t, ctx, `(document.querySelector('article.job[data-kind="job_http"][data-job-id="ping"] button[data-action="run"]').click(), true)`)
	waitFor(t, time.Minute, "ping #1 run from the page", func() bool {
		r := s.get(t, "/karajo/api/job_http/log?id=ping&counter=1")
		return r.status == http.StatusOK && strings.Contains(string(r.body), `"status":"success"`)
	})
}

// TestRetryPendingAtShutdown: a run waiting for its next attempt when
// karajo stops is recorded failed, with the reason, and the stop does not
// wait for the retry's delay.
func TestRetryPendingAtShutdown(t *testing.T) {
	t.Parallel()
	s := startRC(t, 1, `
[job.later]
path = "/later"
retries = 5
retry_delay = "1h"
commands = ["false"]
`)
	wantEnvelope(t, s.trigger(t, "later", testSecret), http.StatusOK)
	s.waitRunning(t, "later", 1, "next attempt in")
	if took := s.stop(); took > 10*time.Second {
		t.Errorf("stop took %v with a retry pending, want promptly", took)
	}
	b, err := os.ReadFile(filepath.Join(s.logDir("later"), "later.1.failed"))
	if err != nil {
		t.Fatalf("log: %v (files %v)", err, s.logFiles(t, "later"))
	}
	lines := logLines(t, "later", b)
	if !strings.Contains(string(b), "no further attempt: karajo stops") || lines[len(lines)-1] != "!!! job: later: exit status 1" {
		t.Errorf("log of a run stopped while waiting for a retry:\n%s", b)
	}
}

// childStates returns the states (R, S, Z…) of the direct children of pid.
func childStates(pid int) map[int]string {
	out := map[int]string{}
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	for _, task := range tasks {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, task.Name()))
		for _, f := range strings.Fields(string(b)) {
			st, _ := os.ReadFile("/proc/" + f + "/stat")
			if i := strings.LastIndexByte(string(st), ')'); i > 0 && len(st) > i+2 {
				n, _ := strconv.Atoi(f)
				out[n] = string(st[i+2])
			}
		}
	}
	return out
}

// TestOrphansReaped: a command's orphan (a double fork) that ends during
// the run is reparented to karajo, its subreaper, and reaped: no zombie
// stays behind.
func TestOrphansReaped(t *testing.T) {
	t.Parallel()
	s := start(t, `
[job.orphan]
path = "/orphan"
commands = ["(sleep 0.2 &) ; sleep 1"]
`)
	wantEnvelope(t, s.trigger(t, "orphan", testSecret), http.StatusOK)
	if st := s.waitRun(t, "orphan", 1, 30*time.Second); st != "success" {
		t.Fatalf("orphan #1: %q", st)
	}
	waitFor(t, 5*time.Second, "no zombie child of karajo", func() bool {
		for _, st := range childStates(s.pid()) {
			if st == "Z" {
				return false
			}
		}
		return true
	})
}
