package integration

// Crash-and-restart soak (issue 5): 20 jobs under a load generator, the
// server killed with SIGKILL at random moments and restarted many times,
// then invariants checked from disk and API. KARAJO_SOAK sets the duration
// (default 25s; `make soak` uses 3m).

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// skMaxRunning is the soak's max_job_running.
const skMaxRunning = 3

// skJob is one job of the soak.
type skJob struct {
	id    string
	kind  string // interval, minutely, webhook
	path  string // "" when the job has no webhook
	pause bool   // paused during the soak
	rc    string // run control (issue 11): "", "timeout", "replace", "retry" or "parallel"
	gh    bool   // auth_kind = "github": deliveries carry ids, and some are replayed (issue 15)
}

// skJobs are the 20 jobs: 5 interval (3 with a webhook), 4 minutely (2 with
// a webhook), 11 webhook-only.
func skJobs() []*skJob {
	var jobs []*skJob
	for i := 0; i < 20; i++ {
		j := &skJob{id: fmt.Sprintf("sk%02d", i)}
		switch {
		case i < 5:
			j.kind = "interval"
			if i%2 == 0 {
				j.path = "/" + j.id
			}
		case i < 9:
			j.kind = "minutely"
			if i%2 == 1 {
				j.path = "/" + j.id
			}
		default:
			j.kind = "webhook"
			j.path = "/" + j.id
		}
		jobs = append(jobs, j)
	}
	// Paused during the soak, one after each of the first restarts.
	for _, i := range []int{12, 7, 15, 18} {
		jobs[i].pause = true
	}
	// GitHub senders: a quarter of their deliveries replay an id already
	// accepted, across SIGKILL restarts too (issue 15).
	for _, i := range []int{9, 10} {
		jobs[i].gh = true
	}
	// Run control: a timeout shorter than some runs, overlap = "replace",
	// retries (the first attempt always fails), and overlap = "parallel"
	// (its runs keep records: they count against max_job_running).
	for i, rc := range []string{"timeout", "replace", "retry", "parallel"} {
		id := fmt.Sprintf("sk%02d", 20+i)
		jobs = append(jobs, &skJob{id: id, kind: "webhook", path: "/" + id, rc: rc})
	}
	return jobs
}

// skRunControl returns the run control keys and the command of a job of
// the soak that has them. Their commands keep no start and end records
// (a killed command cannot write its end reliably): the invariants on the
// logs apply to them, those on the records do not. The parallel job keeps
// the records (cmd ""): its runs are killed only as any job's are.
func skRunControl(j *skJob) (keys, cmd string) {
	switch j.rc {
	case "parallel":
		return "overlap = \"parallel\"\nmax_parallel = 3\n", ""
	case "timeout":
		return "timeout = \"300ms\"\n", "sleep 0.$(($$ % 5))"
	case "replace":
		return "overlap = \"replace\"\n", "sleep 0.$(($$ % 5))"
	}
	return "retries = 2\nretry_delay = \"100ms\"\n", `[ "$KARAJO_RUN_ATTEMPT" -ge 2 ] || exit 3; sleep 0.1`
}

// skConfig is the soak's configuration.
func skConfig(dir, rec string, jobs []*skJob) string {
	var b strings.Builder
	fmt.Fprintf(&b, `[karajo]
name = "karajo-soak"
listen_address = "127.0.0.1:0"
dir_base = %q
secret = %q
max_job_running = %d
body_timeout = %q
`, dir, testSecret, skMaxRunning, skBodyTimeout.String())
	for _, j := range jobs {
		times := filepath.Join(rec, j.id+".times")
		cmd := fmt.Sprintf(`echo "start $(date +%%s%%N) $KARAJO_JOB_COUNTER" >> %s; sleep 0.$(($$ %% 5)); echo "end $(date +%%s%%N) $KARAJO_JOB_COUNTER" >> %s`, times, times)
		keys := ""
		if j.rc != "" {
			var rcCmd string
			if keys, rcCmd = skRunControl(j); rcCmd != "" {
				cmd = rcCmd
			}
		}
		fmt.Fprintf(&b, "\n[job.%s]\nlog_retention = 1000\n%scommands = [%q]\n", j.id, keys, cmd)
		switch j.kind {
		case "interval":
			b.WriteString("interval = \"1m\"\n")
		case "minutely":
			b.WriteString("schedule = \"minutely\"\n")
		}
		if j.path != "" {
			fmt.Fprintf(&b, "path = %q\n", j.path)
		}
		if j.gh {
			b.WriteString("auth_kind = \"github\"\n")
		}
	}
	return b.String()
}

// skInvariants counts checks and violations per invariant.
type skInvariants struct {
	t      *testing.T
	order  []string
	checks map[string]int
	fails  map[string]int
}

func (v *skInvariants) check(name string, ok bool, format string, args ...any) {
	v.t.Helper()
	if _, seen := v.checks[name]; !seen {
		v.order = append(v.order, name)
	}
	v.checks[name]++
	if ok {
		return
	}
	v.fails[name]++
	if v.fails[name] <= 8 {
		v.t.Errorf("invariant %q violated: "+format, append([]any{name}, args...)...)
	}
}

// skLoad is the load generator's tally.
type skLoad struct {
	mu        sync.Mutex
	sent      int
	byStatus  map[int]int
	connErr   int
	pausedAt  map[string]time.Time // job id → pause acknowledged
	violation []string             // 200 after the job was paused
	unexpect  []string             // answers other than 200/412/429
	accepted  map[string][]string  // github job id → delivery ids answered 200
	seq       int                  // delivery ids made so far
	replays   int                  // deliveries sent again with an accepted id
	replayed  []string             // replays answered other than 409 (200: a run started)
}

// nextDelivery returns the delivery id of the next delivery to a github
// job: an id it already accepted (replay true) one time in four when it
// has one, else a new one.
func (l *skLoad) nextDelivery(id string) (delivery string, replay bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if ids := l.accepted[id]; len(ids) > 0 && rand.IntN(4) == 0 {
		return ids[rand.IntN(len(ids))], true
	}
	l.seq++
	return fmt.Sprintf("%s-delivery-%06d", id, l.seq), false
}

// skProcsUnder lists the processes whose cwd is dir or below it.
func skProcsUnder(dir string) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
		if err == nil && (cwd == dir || strings.HasPrefix(cwd, dir+"/")) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// skRecord is one line of a .times file.
type skRecord struct {
	start   bool
	at      int64
	counter int64
}

// skReadTimes parses REC/<id>.times.
func skReadTimes(path string) ([]skRecord, []string) {
	f, err := os.Open(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, []string{err.Error()}
	}
	defer f.Close()
	var recs []skRecord
	var bad []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fl := strings.Fields(sc.Text())
		if len(fl) != 3 || (fl[0] != "start" && fl[0] != "end") {
			bad = append(bad, sc.Text())
			continue
		}
		at, err1 := strconv.ParseInt(fl[1], 10, 64)
		c, err2 := strconv.ParseInt(fl[2], 10, 64)
		if err1 != nil || err2 != nil {
			bad = append(bad, sc.Text())
			continue
		}
		recs = append(recs, skRecord{start: fl[0] == "start", at: at, counter: c})
	}
	return recs, bad
}

var skLogName = regexp.MustCompile(`^([a-z0-9_-]+)\.([0-9]+)\.([a-z]+)$`)

// TestSoak runs the crash-and-restart soak and checks its invariants.
func TestSoak(t *testing.T) {
	t.Parallel()
	dur := 25 * time.Second
	if v := os.Getenv("KARAJO_SOAK"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			t.Fatalf("KARAJO_SOAK=%q: want a positive Go duration", v)
		}
		dur = d
	}
	dir := t.TempDir()
	rec := t.TempDir()
	jobs := skJobs()
	writeConfig(t, dir, skConfig(dir, rec, jobs))
	t.Cleanup(func() { // never leave job processes behind, whatever happened
		for _, pid := range skProcsUnder(dir) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	byID := map[string]*skJob{}
	var hooks []*skJob
	for _, j := range jobs {
		byID[j.id] = j
		if j.path != "" {
			hooks = append(hooks, j)
		}
	}

	inv := &skInvariants{t: t, checks: map[string]int{}, fails: map[string]int{}}
	load := &skLoad{byStatus: map[int]int{}, pausedAt: map[string]time.Time{}, accepted: map[string][]string{}}
	var serverEnds []int64 // unix ns at which a server process was gone (kill or stop)

	s := startDir(t, dir)
	var base atomic.Value
	base.Store(s.base)

	// Load generator: 3 goroutines, each a signed trigger every 60–150 ms.
	stopLoad := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for g := 0; g < 3; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stopLoad:
					return
				case <-time.After(time.Duration(60+rand.IntN(90)) * time.Millisecond):
				}
				j := hooks[rand.IntN(len(hooks))]
				body := runBody()
				req, _ := http.NewRequest(http.MethodPost, base.Load().(string)+"/karajo/api/job_exec/run"+j.path, strings.NewReader(string(body)))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Karajo-Sign", sign(testSecret, body))
				delivery, replay := "", false
				if j.gh {
					delivery, replay = load.nextDelivery(j.id)
					req.Header.Set("X-GitHub-Event", "push")
					req.Header.Set("X-GitHub-Delivery", delivery)
					req.Header.Set("X-Hub-Signature-256", "sha256="+sign(testSecret, body))
				}
				sent := time.Now()
				resp, err := client.Do(req)
				load.mu.Lock()
				load.sent++
				if err == nil && replay {
					resp.Body.Close()
					load.replays++
					if resp.StatusCode != http.StatusConflict {
						load.replayed = append(load.replayed, fmt.Sprintf("%s: delivery %s sent again: HTTP %d", j.id, delivery, resp.StatusCode))
					}
				} else if err != nil {
					load.connErr++
				} else {
					resp.Body.Close()
					load.byStatus[resp.StatusCode]++
					if resp.StatusCode == http.StatusOK && j.gh {
						load.accepted[j.id] = append(load.accepted[j.id], delivery)
					}
					switch resp.StatusCode {
					case http.StatusOK:
						if at, ok := load.pausedAt[j.id]; ok && sent.After(at) {
							load.violation = append(load.violation, fmt.Sprintf("%s: 200 to a trigger sent %v after its pause", j.id, sent.Sub(at)))
						}
					case http.StatusPreconditionFailed, http.StatusTooManyRequests:
					default:
						load.unexpect = append(load.unexpect, fmt.Sprintf("%s: HTTP %d", j.id, resp.StatusCode))
					}
				}
				load.mu.Unlock()
			}
		}()
	}

	// Hostile load beside it (soak_hostile_test.go).
	hostile := &skHostile{}
	var addr atomic.Value
	var pid atomic.Int64
	addr.Store(s.addr)
	pid.Store(int64(s.pid()))
	var plainHooks []*skJob // the hostile uploads sign the karajo way
	for _, j := range hooks {
		if !j.gh {
			plainHooks = append(plainHooks, j)
		}
	}
	waitHostile := hostile.run(func() string { return addr.Load().(string) }, func() int { return int(pid.Load()) }, plainHooks, stopLoad)

	// Kill and restart at random moments.
	var toPause []*skJob
	for _, j := range jobs {
		if j.pause {
			toPause = append(toPause, j)
		}
	}
	var paused []*skJob
	restarts := 0
	t0 := time.Now()
	deadline := t0.Add(dur)
	for {
		wait := 1500*time.Millisecond + time.Duration(rand.Int64N(int64(2500*time.Millisecond)))
		if time.Now().Add(wait).After(deadline) {
			time.Sleep(time.Until(deadline))
			break
		}
		time.Sleep(wait)
		s.kill9()
		serverEnds = append(serverEnds, time.Now().UnixNano())
		s = startDir(t, dir)
		base.Store(s.base)
		addr.Store(s.addr)
		pid.Store(int64(s.pid()))
		restarts++
		skCheckHistory(t, s, inv, jobs, restarts)
		env := s.environment(t)
		for _, j := range paused {
			inv.check("paused flag survives restarts", env.Jobs[j.id].Status == "paused",
				"%s after restart %d: status %q, want paused", j.id, restarts, env.Jobs[j.id].Status)
		}
		if len(paused) < len(toPause) {
			j := toPause[len(paused)]
			s.act(t, "pause", j.id)
			load.mu.Lock()
			load.pausedAt[j.id] = time.Now()
			load.mu.Unlock()
			paused = append(paused, j)
		}
	}
	close(stopLoad)
	wg.Wait()
	waitHostile()
	inv.check("slow clients closed within the header timeout", hostile.slowLate.Load() == 0,
		"%d of %d slow clients open past %v", hostile.slowLate.Load(), hostile.slow.Load(), skSlowHeaderBound)
	inv.check("stalled uploads cut off within body_timeout", hostile.stalledLate.Load() == 0,
		"%d of %d stalled uploads open past %v", hostile.stalledLate.Load(), hostile.stalled.Load(), skStalledBound)
	inv.check(fmt.Sprintf("server RSS under %d MiB", skRSSBound>>20), hostile.peakRSS.Load() <= skRSSBound,
		"peak RSS %d MiB", hostile.peakRSS.Load()>>20)
	soakTook := time.Since(t0)

	// Clean stop: exit 0 (checked by stop), no in-progress file left.
	s.stop()
	serverEnds = append(serverEnds, time.Now().UnixNano())
	diskAfterStop := map[string][]string{}
	for _, j := range jobs {
		files := s.logFiles(t, j.id)
		diskAfterStop[j.id] = files
		for _, f := range files {
			m := skLogName.FindStringSubmatch(f)
			inv.check("no in-progress log after a clean stop", m != nil, "%s: %q after SIGTERM", j.id, f)
		}
	}

	// Final clean restart: API agrees with disk; paused flags hold.
	s2 := startDir(t, dir)
	env := s2.environment(t)
	for _, j := range jobs {
		jv, ok := env.Jobs[j.id]
		if !ok {
			t.Errorf("%s missing from the environment", j.id)
			continue
		}
		api := map[string]bool{}
		for _, l := range jv.Logs {
			api[l.Name] = true
		}
		for _, f := range diskAfterStop[j.id] {
			inv.check("API logs match the disk", api[f], "%s: %s on disk but not in the API logs %v", j.id, f, logNames(jv))
		}
		isPaused := false
		for _, p := range paused {
			isPaused = isPaused || p == j
		}
		if isPaused {
			inv.check("paused flag survives restarts", jv.Status == "paused", "%s after the final restart: status %q, want paused", j.id, jv.Status)
			if j.path != "" {
				r := s2.trigger(t, j.path, testSecret)
				inv.check("paused flag survives restarts", r.status == http.StatusPreconditionFailed,
					"%s: trigger after the final restart: %s, want 412", j.id, r)
			}
		} else if n := len(jv.Logs); n > 0 && jv.Status != "running" {
			last := jv.Logs[n-1]
			inv.check("API status is the last run's", jv.Status == last.Status,
				"%s: status %q, last log %s", j.id, jv.Status, last.Name)
		}
	}
	s2.stop()
	serverEnds = append(serverEnds, time.Now().UnixNano())

	// Disk: names, counters, contents.
	statusCount := map[string]int{}
	runs := map[string]map[int64]string{} // id → counter → status
	for _, j := range jobs {
		runs[j.id] = map[int64]string{}
		files := s2.logFiles(t, j.id)
		var counters []int64
		for _, f := range files {
			m := skLogName.FindStringSubmatch(f)
			okName := m != nil && m[1] == j.id && (m[3] == "success" || m[3] == "failed" || m[3] == "canceled")
			inv.check("log files named <id>.<n>.<success|failed|canceled>", okName, "%s: file %q", j.id, f)
			if !okName {
				continue
			}
			c, _ := strconv.ParseInt(m[2], 10, 64)
			if prev, dup := runs[j.id][c]; dup {
				inv.check("counters 1..N, no gap, no duplicate", false, "%s: counter %d twice (%s and %s)", j.id, c, prev, m[3])
			}
			runs[j.id][c] = m[3]
			counters = append(counters, c)
			statusCount[m[3]]++

			data, err := os.ReadFile(filepath.Join(s2.logDir(j.id), f))
			if err != nil {
				t.Errorf("read %s: %v", f, err)
				continue
			}
			text := strings.TrimSuffix(string(data), "\n")
			lines := strings.Split(text, "\n")
			re := linePrefix(j.id)
			badPrefix := 0
			for i, l := range lines {
				if loc := re.FindStringIndex(l); loc != nil {
					lines[i] = l[loc[1]:]
				} else {
					badPrefix++
				}
			}
			inv.check("every log line prefixed, log ends with a newline", badPrefix == 0 && strings.HasSuffix(string(data), "\n"),
				"%s: %d lines without prefix:\n%s", f, badPrefix, tail(string(data), 600))
			last := lines[len(lines)-1]
			want := map[string]string{
				"success":  "=== job: " + j.id + ": finished.",
				"failed":   "!!! job: " + j.id + ": interrupted, server stopped",
				"canceled": "??? CANCELED",
			}[m[3]]
			// A run killed between creating its log and writing BEGIN
			// holds only the interrupted line: complete, and allowed.
			// A job with run control keys (added after v0.9.3) names its
			// trigger on that line: "=== BEGIN trigger=…".
			first := lines[0] == "=== BEGIN" || (m[3] == "failed" && len(lines) == 1) ||
				(j.rc != "" && strings.HasPrefix(lines[0], "=== BEGIN trigger="))
			if j.rc != "" && m[3] == "failed" && strings.HasPrefix(last, "!!! job: "+j.id+": ") {
				want = last // a timeout, or the last failed attempt of a stopped retry
			}
			inv.check("log complete, final line matches its status", first && last == want,
				"%s: first line %q, last line %q, want `=== BEGIN` … %q", f, lines[0], last, want)
		}
		sort.Slice(counters, func(a, b int) bool { return counters[a] < counters[b] })
		okSeq := true
		for i, c := range counters {
			if c != int64(i+1) {
				okSeq = false
			}
		}
		inv.check("counters 1..N, no gap, no duplicate", okSeq, "%s: counters %v", j.id, counters)
	}

	// Records of the commands: unique counters, each with its log.
	type interval struct {
		id       string
		counter  int64
		from, to int64
	}
	var intervals []interval
	nextEnd := func(at int64) int64 {
		for _, e := range serverEnds {
			if e >= at {
				return e
			}
		}
		return serverEnds[len(serverEnds)-1]
	}
	for _, j := range jobs {
		if j.rc != "" && j.rc != "parallel" {
			continue // no records (skRunControl)
		}
		recs, bad := skReadTimes(filepath.Join(rec, j.id+".times"))
		inv.check("command records well-formed", len(bad) == 0, "%s.times: bad lines %q", j.id, bad)
		starts, ends := map[int64]int64{}, map[int64]int64{}
		for _, r := range recs {
			m := ends
			if r.start {
				m = starts
			}
			_, dup := m[r.counter]
			inv.check("no counter reused (KARAJO_JOB_COUNTER unique)", !dup, "%s: KARAJO_JOB_COUNTER %d seen twice", j.id, r.counter)
			m[r.counter] = r.at
		}
		for c, at := range starts {
			st, ok := runs[j.id][c]
			inv.check("every run that started has its log", ok, "%s: run with KARAJO_JOB_COUNTER %d has no log file", j.id, c)
			end, matched := ends[c]
			if st == "success" {
				inv.check("successful runs recorded start and end", matched, "%s #%d success but no end record", j.id, c)
			}
			if !matched {
				end = nextEnd(at)
			}
			intervals = append(intervals, interval{j.id, c, at, end})
		}
		for c, st := range runs[j.id] {
			if st == "success" {
				_, ok := starts[c]
				inv.check("successful runs recorded start and end", ok, "%s #%d success but no start record", j.id, c)
			}
		}
		for c := range ends {
			_, ok := starts[c]
			inv.check("command records well-formed", ok, "%s: end without start for counter %d", j.id, c)
		}
	}

	// Overlap: never more than max_job_running at once.
	type event struct {
		at    int64
		delta int
		what  string
	}
	var events []event
	for _, iv := range intervals {
		events = append(events, event{iv.from, +1, fmt.Sprintf("%s#%d", iv.id, iv.counter)}, event{iv.to, -1, ""})
	}
	sort.Slice(events, func(a, b int) bool {
		if events[a].at != events[b].at {
			return events[a].at < events[b].at
		}
		return events[a].delta < events[b].delta // ends first
	})
	cur, peak := 0, 0
	var peakAt int64
	for _, e := range events {
		cur += e.delta
		if cur > peak {
			peak, peakAt = cur, e.at
		}
	}
	var atPeak []string
	for _, iv := range intervals {
		if iv.from <= peakAt && peakAt < iv.to {
			atPeak = append(atPeak, fmt.Sprintf("%s#%d", iv.id, iv.counter))
		}
	}
	inv.check(fmt.Sprintf("at most %d runs at once", skMaxRunning), peak <= skMaxRunning,
		"%d runs overlapped at %s: %v", peak, time.Unix(0, peakAt).UTC().Format("15:04:05.000"), atPeak)

	// Load generator answers.
	load.mu.Lock()
	inv.check("no 200 for a paused job", len(load.violation) == 0, "%d: %v", len(load.violation), skHead(load.violation, 5))
	inv.check("triggers answered 200, 412 or 429 only", len(load.unexpect) == 0, "%d: %v", len(load.unexpect), skHead(load.unexpect, 5))
	inv.check("a replayed delivery answers 409 and starts no run", len(load.replayed) == 0, "%d of %d: %v", len(load.replayed), load.replays, skHead(load.replayed, 5))
	inv.check("deliveries were replayed", load.replays > 0, "no replay sent")
	load.mu.Unlock()

	// No orphan processes of job commands.
	var left []int
	for end := time.Now().Add(3 * time.Second); ; {
		left = skProcsUnder(dir)
		if len(left) == 0 || time.Now().After(end) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	inv.check("no orphan job process after the final stop", len(left) == 0, "processes with cwd under dir_base: %s", opCmdlines(left))

	// Summary.
	load.mu.Lock()
	var b strings.Builder
	fmt.Fprintf(&b, "\nkarajo soak summary (%v, %d jobs, max_job_running %d)\n", soakTook.Round(time.Second), len(jobs), skMaxRunning)
	fmt.Fprintf(&b, "  %-52s %8d\n", "triggers sent", load.sent)
	fmt.Fprintf(&b, "  %-52s %8d\n", "  accepted (200)", load.byStatus[200])
	fmt.Fprintf(&b, "  %-52s %8d\n", "  refused paused (412)", load.byStatus[412])
	fmt.Fprintf(&b, "  %-52s %8d\n", "  refused busy (429)", load.byStatus[429])
	var otherCodes []int
	for c := range load.byStatus {
		if c != 200 && c != 412 && c != 429 {
			otherCodes = append(otherCodes, c)
		}
	}
	sort.Ints(otherCodes)
	for _, c := range otherCodes {
		fmt.Fprintf(&b, "  %-52s %8d\n", fmt.Sprintf("  other (%d)", c), load.byStatus[c])
	}
	fmt.Fprintf(&b, "  %-52s %8d\n", "  connection errors (server down)", load.connErr)
	fmt.Fprintf(&b, "  %-52s %8d\n", "github deliveries replayed (all 409)", load.replays)
	fmt.Fprintf(&b, "  %-52s %8d\n", "runs completed (log files)", statusCount["success"]+statusCount["failed"]+statusCount["canceled"])
	for _, st := range []string{"success", "failed", "canceled"} {
		fmt.Fprintf(&b, "  %-52s %8d\n", "  "+st, statusCount[st])
	}
	fmt.Fprintf(&b, "  %-52s %8d\n", "slow clients (a header byte a second)", hostile.slow.Load())
	fmt.Fprintf(&b, "  %-52s %8d\n", "stalled 16 MiB uploads (1 MiB sent)", hostile.stalled.Load())
	fmt.Fprintf(&b, "  %-52s %s\n", "  answers", hostile.answers())
	fmt.Fprintf(&b, "  %-52s %8d\n", "peak server RSS (MiB)", hostile.peakRSS.Load()>>20)
	fmt.Fprintf(&b, "  %-52s %8d\n", "restarts after SIGKILL", restarts)
	fmt.Fprintf(&b, "  %-52s %8d\n", "jobs paused during the soak", len(paused))
	fmt.Fprintf(&b, "  %-52s %8d\n", "peak concurrent runs", peak)
	fmt.Fprintf(&b, "  %-52s %8s %8s\n", "invariants checked", "checks", "violated")
	for _, name := range inv.order {
		fmt.Fprintf(&b, "  %-52s %8d %8d\n", name, inv.checks[name], inv.fails[name])
	}
	load.mu.Unlock()
	t.Log(b.String())
	fmt.Print(b.String())
}

// skHead returns at most n items of list.
func skHead(list []string, n int) []string {
	if len(list) > n {
		return list[:n]
	}
	return list
}
