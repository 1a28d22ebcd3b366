package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// spanCommand appends "<ns> 1" when a run begins and "<ns> -1" when it
// ends to the file spans in the job's work directory, with sleep seconds
// between, and prints the run's KARAJO_RUN_TOKEN.
func spanCommand(sleep int) string {
	return fmt.Sprintf(`echo "$(date +%%s%%N) 1" >> spans; echo "tok:${KARAJO_RUN_TOKEN}:"; sleep %d; echo "$(date +%%s%%N) -1" >> spans`, sleep)
}

// tokenRE finds the run token spanCommand printed.
var tokenRE = regexp.MustCompile(`tok:([^$:\s]+):`)

// peakOverlap returns the largest number of runs at once in the spans file
// of dir, and the number of runs that began.
func peakOverlap(t *testing.T, dir string) (peak, runs int) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "spans"))
	if err != nil {
		t.Fatalf("spans: %v", err)
	}
	type ev struct{ at, d int64 }
	var evs []ev
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(l)
		if len(f) != 2 {
			t.Fatalf("spans line %q", l)
		}
		at, _ := strconv.ParseInt(f[0], 10, 64)
		d, _ := strconv.ParseInt(f[1], 10, 64)
		evs = append(evs, ev{at, d})
		if d > 0 {
			runs++
		}
	}
	// At the same instant an end counts before a begin.
	slices.SortFunc(evs, func(a, b ev) int {
		if a.at != b.at {
			return int(a.at - b.at)
		}
		return int(a.d - b.d)
	})
	n := 0
	for _, e := range evs {
		n += int(e.d)
		peak = max(peak, n)
	}
	return peak, runs
}

// parJob is an exec job as the API shows it, with the run control fields.
type parJob struct {
	Status      string   `json:"status"`
	Overlap     string   `json:"overlap"`
	MaxParallel int      `json:"max_parallel"`
	Running     []int64  `json:"running"`
	Waiting     string   `json:"waiting"`
	Logs        []logRef `json:"logs"`
}

// parJob returns job id of the environment with its run control fields.
func (s *server) parJob(t *testing.T, id string) parJob {
	t.Helper()
	r := s.get(t, "/karajo/api/environment")
	env := wantEnvelope(t, r, http.StatusOK)
	var e struct {
		Jobs map[string]parJob `json:"jobs"`
	}
	if err := json.Unmarshal(env.Data, &e); err != nil {
		t.Fatalf("environment: %v: %s", err, r)
	}
	j, ok := e.Jobs[id]
	if !ok {
		t.Fatalf("job %q not in environment", id)
	}
	return j
}

// TestOverlapParallel: under 20 concurrent triggers, overlap = "parallel"
// runs max_parallel runs at once (they really overlap), queues one and
// refuses the rest; each run has its own counter, log and run token; the
// global max_job_running bounds a job whose max_parallel is larger; the
// job shows running while any run goes on.
func TestOverlapParallel(t *testing.T) {
	t.Parallel()
	s := startRC(t, 3, `
[job.par]
path = "/par"
overlap = "parallel"
max_parallel = 2
log_retention = 10
commands = ['''`+spanCommand(3)+`''']

[job.wide]
path = "/wide"
overlap = "parallel"
max_parallel = 5
log_retention = 10
commands = ['''`+spanCommand(3)+`''']
`)
	for _, tc := range []struct {
		id              string
		ok, started, pk int // 200s, runs that start at once, peak overlap
	}{{"par", 3, 2, 2}, {"wide", 6, 5, 3}} {
		t.Run(tc.id, func(t *testing.T) {
			codes, counters := fire(t, s, tc.id, 20)
			if codes[http.StatusOK] != tc.ok || codes[http.StatusTooManyRequests] != 20-tc.ok {
				t.Fatalf("answers %v, want %d 200 and %d 429", codes, tc.ok, 20-tc.ok)
			}
			slices.Sort(counters)
			for i, c := range counters {
				if c != int64(i+1) {
					t.Fatalf("run counters %v, want 1..%d", counters, tc.ok)
				}
			}
			s.waitRunning(t, tc.id, 1, "tok:")
			s.waitRunning(t, tc.id, 2, "tok:")
			if j := s.parJob(t, tc.id); j.Status != "running" || len(j.Running) < 2 || j.Overlap != "parallel" || j.MaxParallel == 0 {
				t.Errorf("job during its runs: %+v, want running with its counters", j)
			}
			last := int64(tc.ok)
			if st := s.waitRun(t, tc.id, last, 90*time.Second); st != "success" {
				t.Fatalf("%s #%d: %q", tc.id, last, st)
			}
			peak, runs := peakOverlap(t, s.workDir(tc.id))
			if peak != tc.pk || runs != tc.ok {
				t.Errorf("%d runs with at most %d at once, want %d runs, %d at once", runs, peak, tc.ok, tc.pk)
			}
			tokens := map[string]bool{}
			j := s.job(t, tc.id)
			for _, l := range j.Logs {
				if l.Status != "success" {
					t.Errorf("%s #%d: %s", tc.id, l.Counter, l.Status)
				}
				if m := tokenRE.FindSubmatch(s.logOf(t, tc.id, l.Counter).Content); m != nil {
					tokens[string(m[1])] = true
				}
			}
			if len(j.Logs) != tc.ok || len(tokens) != tc.ok {
				t.Errorf("%d logs with %d run tokens, want %d of each", len(j.Logs), len(tokens), tc.ok)
			}
		})
	}
}

// TestParallelCancelTimeout: cancel ends every run of a parallel job and
// drops the queued trigger, answering canceled; each parallel run has its
// own timeout.
func TestParallelCancelTimeout(t *testing.T) {
	t.Parallel()
	// kill_grace 5s: the cancel's answer may wait 6 s for the runs to end
	// (SIGTERM ends them at once, but the machine may be loaded).
	dir := t.TempDir()
	head := strings.Replace(configHeader(dir), "max_job_running = 4", "max_job_running = 4\nkill_grace = \"5s\"", 1)
	writeConfig(t, dir, head+`
[job.pc]
path = "/pc"
overlap = "parallel"
max_parallel = 2
commands = ["sleep 30"]

[job.pw]
path = "/pw"
overlap = "parallel"
max_parallel = 6
timeout = "40s"
commands = ["sleep 30"]

[job.pt]
path = "/pt"
overlap = "parallel"
max_parallel = 3
timeout = "1s"
commands = ["sleep 30"]
`)
	s := startDir(t, dir)
	for range 3 {
		wantEnvelope(t, s.trigger(t, "pc", testSecret), http.StatusOK)
	}
	s.waitRunning(t, "pc", 1, "--- Execute  0")
	s.waitRunning(t, "pc", 2, "--- Execute  0")
	if j := s.act(t, "cancel", "pc"); j.Status != "canceled" {
		t.Errorf("cancel answered %q, want canceled", j.Status)
	}
	time.Sleep(500 * time.Millisecond) // the queued trigger would have started by now
	j := s.parJob(t, "pc")
	if len(j.Logs) != 2 || j.Status != "canceled" || len(j.Running) != 0 || j.Waiting != "" {
		t.Errorf("after cancel: %+v, want two canceled runs and no third", j)
	}
	for _, l := range j.Logs {
		if l.Status != "canceled" {
			t.Errorf("pc #%d: %s, want canceled", l.Counter, l.Status)
		}
	}

	testParallelWithdraw(t, s)

	t0 := time.Now()
	for range 3 {
		wantEnvelope(t, s.trigger(t, "pt", testSecret), http.StatusOK)
	}
	for c := int64(1); c <= 3; c++ {
		if st := s.waitRun(t, "pt", c, 30*time.Second); st != "failed" {
			t.Errorf("pt #%d: %q, want failed", c, st)
		}
		if last := lastLine(t, "pt", s.logOf(t, "pt", c).Content); last != "!!! job: pt: timed out after 1s, killed" {
			t.Errorf("pt #%d last line %q", c, last)
		}
	}
	if took := time.Since(t0); took > 20*time.Second {
		t.Errorf("3 parallel runs with timeout 1s took %v", took)
	}
	if procs := procsIn(s.workDir("pt")); len(procs) != 0 {
		t.Errorf("processes left in pt's work dir: %v", procs)
	}
}

// TestParallelRestart: karajo killed (SIGKILL) with several runs of a
// parallel job in flight records each as failed at the next start, and
// their processes are gone.
func TestParallelRestart(t *testing.T) {
	t.Parallel()
	s := startRC(t, 4, `
[job.pr]
path = "/pr"
overlap = "parallel"
max_parallel = 3
commands = ["sleep 60"]
`)
	t.Cleanup(func() { killOrphans(s.workDir("pr")) })
	for range 3 {
		wantEnvelope(t, s.trigger(t, "pr", testSecret), http.StatusOK)
	}
	for c := int64(1); c <= 3; c++ {
		s.waitRunning(t, "pr", c, "--- Execute  0")
	}
	s.kill9()
	s2 := s.restart(t)
	j := s2.parJob(t, "pr")
	if len(j.Logs) != 3 || j.Status == "running" || len(j.Running) != 0 {
		t.Fatalf("after restart: %+v, want 3 logs, none running", j)
	}
	for _, l := range j.Logs {
		if l.Status != "failed" {
			t.Errorf("pr #%d: %s, want failed (interrupted)", l.Counter, l.Status)
		}
	}
	waitFor(t, 10*time.Second, "pr's sleeps gone", func() bool { return len(procsIn(s2.workDir("pr"))) == 0 })
	// The counter goes on after the interrupted runs.
	r := s2.trigger(t, "pr", testSecret)
	wantEnvelope(t, r, http.StatusOK)
	if !strings.Contains(string(r.body), `"run_counter":4`) {
		t.Errorf("first trigger after restart: %s, want run_counter 4", r.body)
	}
	s2.act(t, "cancel", "pr")
}

// testParallelWithdraw: with max_parallel 6 under max_job_running 4, six
// triggers start 4 runs and 2 wait for a slot; GET /karajo/api/engine
// shows each run and slot; cancel ends the 4 and withdraws the 2, whose
// counters are given back to the next runs.
func testParallelWithdraw(t *testing.T, s *server) {
	t.Helper()
	for range 6 {
		wantEnvelope(t, s.trigger(t, "pw", testSecret), http.StatusOK)
	}
	for c := int64(1); c <= 4; c++ {
		s.waitRunning(t, "pw", c, "--- Execute  0")
	}
	var st struct {
		Slots struct {
			InUse   int      `json:"in_use"`
			Holders []string `json:"holders"`
		} `json:"slots"`
		Queue []struct {
			Job string `json:"job"`
		} `json:"queue"`
		Running []struct {
			Job      string     `json:"job"`
			Counter  int64      `json:"counter"`
			PGID     int        `json:"pgid"`
			Deadline *time.Time `json:"deadline"`
		} `json:"running"`
	}
	env := wantEnvelope(t, s.get(t, "/karajo/api/engine"), http.StatusOK)
	if err := json.Unmarshal(env.Data, &st); err != nil {
		t.Fatalf("engine: %v", err)
	}
	counters := map[int64]bool{}
	for _, r := range st.Running {
		if r.Job == "pw" && r.Deadline != nil {
			counters[r.Counter] = true
		}
	}
	if st.Slots.InUse != 4 || len(st.Slots.Holders) != 4 || len(st.Queue) != 2 || len(counters) != 4 {
		t.Errorf("engine during 4 runs and 2 waiting: %s", env.Data)
	}
	if j := s.parJob(t, "pw"); len(j.Running) != 4 || j.Waiting != "slot" {
		t.Errorf("pw: running %v waiting %q, want 4 counters and slot", j.Running, j.Waiting)
	}
	if j := s.act(t, "cancel", "pw"); j.Status != "canceled" {
		t.Errorf("cancel pw answered %q", j.Status)
	}
	r := s.trigger(t, "pw", testSecret)
	wantEnvelope(t, r, http.StatusOK)
	if !strings.Contains(string(r.body), `"run_counter":5`) {
		t.Errorf("trigger after the cancel: %s, want run_counter 5 (the withdrawn 5 and 6 given back)", r.body)
	}
	s.waitRunning(t, "pw", 5, "--- Execute  0")
	s.act(t, "cancel", "pw")
	if j := s.parJob(t, "pw"); len(j.Logs) != 5 {
		t.Errorf("pw logs %+v, want 5 canceled runs", j.Logs)
	}
}

// TestParallelRetries: each parallel run retries on its own (one log with
// its attempts, success at the second), and a pause ends the pending
// retries of every run, recorded failed as they stood.
func TestParallelRetries(t *testing.T) {
	t.Parallel()
	s := startRC(t, 2, `
[job.prr]
path = "/prr"
overlap = "parallel"
max_parallel = 2
retries = 1
retry_delay = "300ms"
commands = ['[ "$KARAJO_RUN_ATTEMPT" -ge 2 ] || exit 3; sleep 1']

[job.prp]
path = "/prp"
overlap = "parallel"
max_parallel = 2
retries = 3
retry_delay = "1h"
commands = ["exit 4"]
`)
	for range 2 {
		wantEnvelope(t, s.trigger(t, "prr", testSecret), http.StatusOK)
	}
	for c := int64(1); c <= 2; c++ {
		if st := s.waitRun(t, "prr", c, 60*time.Second); st != "success" {
			t.Errorf("prr #%d: %q, want success", c, st)
		}
		if text := string(s.logOf(t, "prr", c).Content); !strings.Contains(text, "=== ATTEMPT 2/2") || strings.Contains(text, "ATTEMPT 3") {
			t.Errorf("prr #%d: want its own two attempts:\n%s", c, text)
		}
	}
	for range 2 {
		wantEnvelope(t, s.trigger(t, "prp", testSecret), http.StatusOK)
	}
	for c := int64(1); c <= 2; c++ {
		s.waitRunning(t, "prp", c, "next attempt in")
	}
	if j := s.parJob(t, "prp"); j.Waiting != "retry" || len(j.Running) != 2 {
		t.Errorf("prp waiting for retries: %+v, want waiting retry with 2 runs", j)
	}
	s.act(t, "pause", "prp")
	for c := int64(1); c <= 2; c++ {
		waitFor(t, 20*time.Second, fmt.Sprintf("prp #%d ended", c), func() bool {
			for _, l := range s.parJob(t, "prp").Logs {
				if l.Counter == c && l.Status != "running" {
					return true
				}
			}
			return false
		})
		text := string(s.logOf(t, "prp", c).Content)
		if !strings.Contains(text, "no further attempt: paused") || !strings.HasSuffix(strings.TrimSpace(text), "!!! job: prp: exit status 4") {
			t.Errorf("prp #%d after pause:\n%s", c, text)
		}
	}
	if j := s.parJob(t, "prp"); j.Status != "paused" || len(j.Running) != 0 {
		t.Errorf("prp after pause: %+v", j)
	}
}

// TestBrowserParallel: the dashboard's row of a parallel job with two runs
// in progress shows their count and the oldest one's elapsed time against
// the timeout, in headless Chromium.
func TestBrowserParallel(t *testing.T) {
	t.Parallel()
	s := startRC(t, 4, `
[job.pb]
path = "/pb"
overlap = "parallel"
max_parallel = 3
timeout = "10m"
commands = ["sleep 300"]
`)
	t.Cleanup(func() { killOrphans(s.workDir("pb")) })
	for range 2 {
		wantEnvelope(t, s.trigger(t, "pb", testSecret), http.StatusOK)
	}
	s.waitRunning(t, "pb", 2, "--- Execute  0")
	ctx := browser(t, 2*time.Minute)
	if err := chromedp.Do(ctx, chromedp.Navigate(s.base+"/karajo/app/")); err != nil {
		t.Fatal(err)
	}
	evalUntil(t, ctx, "pb's activity", `(function(){var e=document.querySelector('article.job[data-job-id="pb"] .activity');`+
		`return e && /^2 runs, oldest \d.* of 10 min/.test(e.textContent) ? 'ok' : (e ? e.textContent : '')})()`, "ok")
	evalUntil(t, ctx, "slots header", `document.getElementById('slots').textContent`, "slots 2/4")
	s.act(t, "cancel", "pb")
}

// TestParallelCluster: on a one-node cluster (etcd-dev), each run of a
// parallel job is claimed from etcd on its own: two run at once with
// their own counters, and the counter goes on after them.
func TestParallelCluster(t *testing.T) {
	t.Parallel()
	etcd := startEtcdDev(t, t.TempDir())
	n := startNodes(t, etcd.endpoint, 1, `
[job.pcl]
path = "/pcl"
overlap = "parallel"
max_parallel = 2
commands = ["echo on $KARAJO_NODE; sleep 2"]
`)[0]
	var counters []int64
	waitFor(t, 30*time.Second, "the node owns pcl", func() bool {
		counters = nil
		for range 2 {
			r := n.trigger(t, "pcl", testSecret)
			if r.status != http.StatusOK {
				return false
			}
			var env struct {
				RunCounter int64 `json:"run_counter"`
			}
			_ = json.Unmarshal(r.body, &env)
			counters = append(counters, env.RunCounter)
		}
		return true
	})
	if len(counters) != 2 || counters[0] == counters[1] {
		t.Fatalf("run counters %v, want two different", counters)
	}
	for _, c := range counters {
		n.waitRunning(t, "pcl", c, "on n1")
	}
	if j := n.parJob(t, "pcl"); len(j.Running) != 2 {
		t.Errorf("pcl running %v, want both at once", j.Running)
	}
	for _, c := range counters {
		if st := n.waitRun(t, "pcl", c, 60*time.Second); st != "success" {
			t.Errorf("pcl #%d: %q", c, st)
		}
	}
	r := n.trigger(t, "pcl", testSecret)
	if !strings.Contains(string(r.body), fmt.Sprintf(`"run_counter":%d`, max(counters[0], counters[1])+1)) {
		t.Errorf("third trigger: %s, want the next counter", r.body)
	}
}
