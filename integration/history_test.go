package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// histRecord is a run record as GET .../runs answers it (issue 17).
type histRecord struct {
	Job     string `json:"job"`
	Kind    string `json:"kind"`
	Counter int64  `json:"counter"`
	Status  string `json:"status"`
	Reason  string `json:"reason"`
	Count   int    `json:"count"`
	Trigger struct {
		Kind       string `json:"kind"`
		DeliveryID string `json:"delivery_id"`
		Remote     string `json:"remote"`
		User       string `json:"user"`
		RetryOf    int64  `json:"retry_of"`
	} `json:"trigger"`
	ScheduledAt   string  `json:"scheduled_at"`
	QueuedAt      string  `json:"queued_at"`
	StartedAt     string  `json:"started_at"`
	FinishedAt    string  `json:"finished_at"`
	Duration      float64 `json:"duration"`
	ExitCode      int     `json:"exit_code"`
	FailedCommand int     `json:"failed_command"`
	Attempt       int     `json:"attempt"`
	LogKept       bool    `json:"log_kept"`
	Cursor        string  `json:"cursor"`
}

type histStats struct {
	Runs      int            `json:"runs"`
	Successes int            `json:"successes"`
	Failures  int            `json:"failures"`
	Skipped   map[string]int `json:"skipped"`
	Duration  struct {
		P50, P95, Max float64
	} `json:"duration"`
	Days []struct {
		Day  string `json:"day"`
		Runs int    `json:"runs"`
	} `json:"days"`
}

// runs returns GET /karajo/api/<kind>/runs?id=<id>&<extra>.
func (s *server) runs(t *testing.T, kind, id, extra string) []histRecord {
	t.Helper()
	r := s.get(t, "/karajo/api/"+kind+"/runs?id="+id+"&limit=500&"+extra)
	env := wantEnvelope(t, r, http.StatusOK)
	var recs []histRecord
	if err := json.Unmarshal(env.Data, &recs); err != nil {
		t.Fatalf("runs of %s: %v: %s", id, err, r)
	}
	return recs
}

func countRecs(recs []histRecord, f func(histRecord) bool) int {
	n := 0
	for _, r := range recs {
		if f(r) {
			n++
		}
	}
	return n
}

// TestHistoryAPI: after runs of each trigger kind (webhook with its
// delivery id, run_now, timer, a JobHttp's run_now) the history holds a
// record of each with its trigger, status, exit code and failing command;
// a paused job's due ticks and the triggers refused while paused are
// recorded as skipped; stats sum them up; bad parameters get 400
// envelopes and an unknown job 404.
func TestHistoryAPI(t *testing.T) {
	t.Parallel()
	s := start(t, `
[job.hook]
path = "/hook"
auth_kind = "github"
commands = ["true"]

[job.fail]
commands = ["true", "exit 4"]

[job.tick]
cron = "* * * * * *"
commands = ["true"]

[job_http.ping]
http_url = "/karajo/api/health"
`)
	body := runBody()
	r := s.raw(t, http.MethodPost, "/karajo/api/job_exec/run/hook", map[string]string{"Content-Type": "application/json",
		"X-Hub-Signature-256": "sha256=" + sign(testSecret, body), "X-GitHub-Delivery": "delivery-77", "X-GitHub-Event": "push"}, body)
	wantEnvelope(t, r, http.StatusOK)
	runNow := func(kind, id string) response {
		b := fmt.Sprintf("_karajo_epoch=%d&id=%s", time.Now().Unix(), id)
		return s.raw(t, http.MethodPost, "/karajo/api/"+kind+"/run_now",
			map[string]string{"Content-Type": "application/x-www-form-urlencoded", "X-Karajo-Sign": sign(testSecret, []byte(b))}, []byte(b))
	}
	wantEnvelope(t, runNow("job_exec", "fail"), http.StatusOK)
	wantEnvelope(t, runNow("job_http", "ping"), http.StatusOK)
	s.waitRun(t, "hook", 1, 30*time.Second)
	s.waitRun(t, "fail", 1, 30*time.Second)
	waitFor(t, 30*time.Second, "two timer runs of tick", func() bool {
		return countRecs(s.runs(t, "job_exec", "tick", ""), func(r histRecord) bool {
			return r.Trigger.Kind == "timer" && r.Status == "success" && r.ScheduledAt != ""
		}) >= 2
	})
	s.act(t, "pause", "tick")
	s.act(t, "pause", "hook")
	waitFor(t, 30*time.Second, "two paused ticks of tick", func() bool {
		return countRecs(s.runs(t, "job_exec", "tick", ""), func(r histRecord) bool {
			return r.Status == "skipped" && r.Reason == "paused" && r.ScheduledAt != ""
		}) >= 2
	})
	for range 3 {
		wantEnvelope(t, s.trigger(t, "hook", testSecret), http.StatusForbidden) // github auth wants its own header
		body := runBody()
		r := s.raw(t, http.MethodPost, "/karajo/api/job_exec/run/hook", map[string]string{"Content-Type": "application/json",
			"X-Hub-Signature-256": "sha256=" + sign(testSecret, body), "X-GitHub-Event": "push"}, body)
		wantEnvelope(t, r, http.StatusPreconditionFailed)
	}

	hook := s.runs(t, "job_exec", "hook", "")
	if len(hook) != 2 {
		t.Fatalf("hook: %d records, want the run and the refusals: %+v", len(hook), hook)
	}
	if r := hook[0]; r.Status != "skipped" || r.Reason != "paused" || r.Count != 3 || r.Counter != 0 {
		t.Errorf("hook refusals: %+v", r)
	}
	if r := hook[1]; r.Counter != 1 || r.Status != "success" || r.Trigger.Kind != "webhook" || r.Trigger.DeliveryID != "delivery-77" ||
		r.Trigger.Remote != "127.0.0.1" || r.StartedAt == "" || r.FinishedAt == "" || r.QueuedAt == "" || !r.LogKept || r.FailedCommand != -1 {
		t.Errorf("hook run: %+v", r)
	}
	fail := s.runs(t, "job_exec", "fail", "")
	if len(fail) != 1 || fail[0].Status != "failed" || fail[0].ExitCode != 4 || fail[0].FailedCommand != 1 || fail[0].Trigger.Kind != "run_now" {
		t.Errorf("fail: %+v", fail)
	}
	waitFor(t, 30*time.Second, "ping's record", func() bool {
		ping := s.runs(t, "job_http", "ping", "")
		return len(ping) == 1 && ping[0].Kind == "job_http" && ping[0].Status == "success" && ping[0].Trigger.Kind == "run_now"
	})
	if recs := s.runs(t, "job_exec", "tick", "skipped=false"); countRecs(recs, func(r histRecord) bool { return r.Status == "skipped" }) != 0 {
		t.Errorf("skipped=false lists skipped records: %+v", recs)
	}
	// Paging: before the newest counter.
	tick := s.runs(t, "job_exec", "tick", "skipped=false")
	if len(tick) >= 2 {
		older := s.runs(t, "job_exec", "tick", "skipped=false&before="+strconv.FormatInt(tick[0].Counter, 10))
		if len(older) != len(tick)-1 || older[0].Counter != tick[1].Counter {
			t.Errorf("before=%d: %+v, want from #%d", tick[0].Counter, older, tick[1].Counter)
		}
	}

	var st histStats
	env := wantEnvelope(t, s.get(t, "/karajo/api/job_exec/stats?id=hook&window=24h"), http.StatusOK)
	if err := json.Unmarshal(env.Data, &st); err != nil {
		t.Fatal(err)
	}
	if st.Runs != 1 || st.Successes != 1 || st.Skipped["paused"] != 3 || len(st.Days) < 1 || st.Days[len(st.Days)-1].Runs != 1 {
		t.Errorf("hook stats: %+v", st)
	}
	env = wantEnvelope(t, s.get(t, "/karajo/api/job_exec/stats?id=fail"), http.StatusOK)
	if err := json.Unmarshal(env.Data, &st); err != nil || st.Failures != 1 || len(st.Days) != 8 {
		t.Errorf("fail stats (default 7d): %+v %v", st, err)
	}

	for _, q := range []string{"job_exec/runs?id=hook&limit=0", "job_exec/runs?id=hook&limit=501", "job_exec/runs?id=hook&before=x",
		"job_http/runs?id=ping&skipped=maybe", "job_exec/stats?id=hook&window=30m", "job_exec/stats?id=hook&window=400d",
		"job_exec/runs?id=hook&limit=1;x=2"} {
		wantEnvelope(t, s.get(t, "/karajo/api/"+q), http.StatusBadRequest)
	}
	for _, q := range []string{"job_exec/runs?id=nosuch", "job_http/runs?id=hook", "job_exec/stats?id=ping", "job_http/stats?id="} {
		wantEnvelope(t, s.get(t, "/karajo/api/"+q), http.StatusNotFound)
	}
	// karajo history reads the same records.
	cr := cli(t, nil, "history", "-url="+s.base, "fail")
	wantCLI(t, cr, 0, "RUN", "NOTE", "#1", "failed", "run_now", "command 1 exited 4")
	cr = cli(t, nil, "history", "-url="+s.base, "hook")
	wantCLI(t, cr, 0, "skipped", "paused (x3)", "webhook")
	cr = cli(t, nil, "history", "-url="+s.base, "-o", "json", "-skipped=false", "hook")
	var cj []map[string]any
	if err := json.Unmarshal([]byte(cr.out), &cj); err != nil || len(cj) != 1 || cj[0]["delivery_id"] != "delivery-77" {
		t.Errorf("karajo history -o json -skipped=false hook: %v %v", err, cr)
	}
	m := s.get(t, "/metrics")
	if !strings.Contains(string(m.body), `karajo_job_skipped_total{job="tick",reason="paused"}`) ||
		!strings.Contains(string(m.body), `karajo_job_skipped_total{job="hook",reason="paused"} 3`) {
		t.Errorf("metrics lack karajo_job_skipped_total:\n%s", tail(string(m.body), 2000))
	}
}

// TestHistoryMissedWhileDown: the schedule points that fell while the
// server was stopped are recorded at the next start, reason "server down".
func TestHistoryMissedWhileDown(t *testing.T) {
	t.Parallel()
	s := start(t, `
[job.every2]
cron = "*/2 * * * * *"
commands = ["true"]
`)
	waitFor(t, 30*time.Second, "a timer run", func() bool {
		return countRecs(s.runs(t, "job_exec", "every2", ""), func(r histRecord) bool { return r.Status == "success" }) >= 1
	})
	s.stop()
	time.Sleep(5 * time.Second)
	s = s.restart(t)
	recs := s.runs(t, "job_exec", "every2", "")
	down := countRecs(recs, func(r histRecord) bool {
		return r.Status == "skipped" && r.Reason == "server down" && r.ScheduledAt != ""
	})
	if down < 1 || down > 4 {
		t.Errorf("%d points recorded as missed while down (stopped 5 s, every 2 s): %+v", down, recs)
	}
}

// TestHistoryKill9Burst: kill -9 during a burst of runs, then restart:
// every finished run that has a log has a record with the log's status,
// and no record claims a run that has no log (the logs are all kept here).
func TestHistoryKill9Burst(t *testing.T) {
	t.Parallel()
	var jobs strings.Builder
	const n = 6
	for i := range n {
		fmt.Fprintf(&jobs, "[job.b%d]\npath = \"/b%d\"\nlog_retention = 1000\ncommands = [\"sleep 0.0%d\"]\n\n", i, i, i+1)
	}
	s := start(t, jobs.String())
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		for i := range n {
			s.trigger(t, fmt.Sprintf("b%d", i), testSecret) // 200 or 429
		}
	}
	s.kill9()
	s = s.restart(t)
	checkHistoryAgainstLogs(t, s, n)
}

// checkHistoryAgainstLogs checks jobs b0..b<n-1> with all logs kept: each
// final log has a record of its status, and every run record has a log.
func checkHistoryAgainstLogs(t *testing.T, s *server, n int) {
	t.Helper()
	for i := range n {
		id := fmt.Sprintf("b%d", i)
		logs := map[int64]string{}
		for _, l := range s.job(t, id).Logs {
			logs[l.Counter] = l.Status
		}
		recs := s.runs(t, "job_exec", id, "skipped=false")
		byCounter := map[int64]histRecord{}
		for _, r := range recs {
			byCounter[r.Counter] = r
			st, ok := logs[r.Counter]
			switch {
			case !ok:
				t.Errorf("%s: record #%d (%s) has no log", id, r.Counter, r.Status)
			case st != "running" && r.Status != st && !(r.Status == "timeout" && st == "failed"):
				t.Errorf("%s: record #%d says %s, its log %s", id, r.Counter, r.Status, st)
			}
		}
		for c, st := range logs {
			if _, ok := byCounter[c]; !ok && st != "running" {
				t.Errorf("%s: log #%d (%s) has no record", id, c, st)
			}
		}
		if len(logs) == 0 {
			t.Errorf("%s: no runs in the burst", id)
		}
		t.Logf("%s: %d logs, %d run records", id, len(logs), len(recs))
	}
}

// skCheckHistory is the soak's check of the run history against the logs
// after a restart (issue 17; all logs are kept): no run record without its
// log, and a record of every final log with the same status. The runs go
// on meanwhile, so records are read before the job views for the first
// check and after them for the second.
func skCheckHistory(t *testing.T, s *server, inv *skInvariants, jobs []*skJob, restart int) {
	t.Helper()
	before := map[string][]histRecord{}
	for _, j := range jobs {
		before[j.id] = s.runs(t, "job_exec", j.id, "skipped=false")
	}
	env := s.environment(t)
	for _, j := range jobs {
		logs := map[int64]string{}
		for _, l := range env.Jobs[j.id].Logs {
			logs[l.Counter] = l.Status
		}
		for _, r := range before[j.id] {
			st, ok := logs[r.Counter]
			if r.Status == "queued" && !ok {
				// A run waiting for a slot has no log yet; one queued
				// before the kill -9 became a record of a run that did not
				// happen ("server down") at the start.
				queued, err := time.Parse(time.RFC3339Nano, r.QueuedAt)
				inv.check("history: a queued record is of this start", err == nil && queued.After(s.started),
					"%s after restart %d: record #%d queued at %s, before the start", j.id, restart, r.Counter, r.QueuedAt)
				continue
			}
			inv.check("history: no record of a run without a log", ok,
				"%s after restart %d: record #%d (%s) has no log", j.id, restart, r.Counter, r.Status)
			if ok && r.Status != "running" && r.Status != "queued" && st != "running" {
				inv.check("history: a record has its log's status", r.Status == st || (r.Status == "timeout" && st == "failed"),
					"%s after restart %d: record #%d says %s, its log %s", j.id, restart, r.Counter, r.Status, st)
			}
		}
		after := map[int64]bool{}
		for _, r := range s.runs(t, "job_exec", j.id, "skipped=false") {
			after[r.Counter] = true
		}
		for c, st := range logs {
			inv.check("history: every finished log has a record", st == "running" || after[c],
				"%s after restart %d: log #%d (%s) has no record", j.id, restart, c, st)
		}
	}
}

// TestHistoryCorruptFile: a history file that is not a database is moved
// aside with an error in the server's log, and the history is rebuilt from
// the logs; the server serves as usual. A removed file is rebuilt too.
func TestHistoryCorruptFile(t *testing.T) {
	t.Parallel()
	s := start(t, `
[job.c]
path = "/c"
commands = ["true"]
`)
	wantEnvelope(t, s.trigger(t, "c", testSecret), http.StatusOK)
	s.waitRun(t, "c", 1, 30*time.Second)
	s.stop()
	db := filepath.Join(s.dir, "var", "lib", "karajo", "history.db")
	if err := os.WriteFile(db, []byte(strings.Repeat("not a database ", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	s = s.restart(t)
	recs := s.runs(t, "job_exec", "c", "")
	if len(recs) != 1 || recs[0].Counter != 1 || recs[0].Status != "success" || !recs[0].LogKept {
		t.Errorf("rebuilt from the logs: %+v", recs)
	}
	if m, _ := filepath.Glob(db + ".broken-*"); len(m) != 1 {
		t.Errorf("corrupt file not moved aside: %v", m)
	}
	if !strings.Contains(s.stderr.String(), "history file unreadable: moved aside") {
		t.Errorf("no error logged:\n%s", tail(s.stderr.String(), 2000))
	}
	wantEnvelope(t, s.trigger(t, "c", testSecret), http.StatusOK)
	s.waitRun(t, "c", 2, 30*time.Second)

	// A missing file (a v0.9.3 dir_base, or one deleted) is built from
	// the logs at start.
	s.stop()
	if err := os.Remove(db); err != nil {
		t.Fatal(err)
	}
	s = s.restart(t)
	recs = s.runs(t, "job_exec", "c", "")
	if len(recs) != 2 || recs[0].Counter != 2 || recs[1].Counter != 1 || recs[0].Status != "success" || recs[0].StartedAt == "" {
		t.Errorf("rebuilt from the logs after the file was removed: %+v", recs)
	}
	if !strings.Contains(s.stderr.String(), "history file created: rebuilt from the logs") {
		t.Errorf("no note of the rebuild:\n%s", tail(s.stderr.String(), 2000))
	}
}

// TestHistoryCursorThroughSkipped: more than 100 records of runs that did
// not happen in a row (counter 0 each, so before=<counter> cannot step past
// a page of them) are paged through with the cursor of each page's last
// record, by the API and by karajo history. The records are schedule
// points missed while the server was down: a job whose schedule fell due
// every second of one day two days ago, started three times with its state
// file's cursor put back before that day (each start records the newest
// 49 points one by one and the older ones in one record: 50 records). The
// second start without the cursor put back records nothing again.
func TestHistoryCursorThroughSkipped(t *testing.T) {
	t.Parallel()
	s := gapServer(t)
	var all []histRecord
	cursor := ""
	for pages := 0; pages < 10; pages++ {
		q := "limit=40"
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		r := s.get(t, "/karajo/api/job_exec/runs?id=gap&"+q)
		var page []histRecord
		if err := json.Unmarshal(wantEnvelope(t, r, http.StatusOK).Data, &page); err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if len(page) < 40 {
			break
		}
		cursor = page[len(page)-1].Cursor
	}
	if len(all) != 151 {
		t.Fatalf("paged %d records, want 150 of missed points and run #1", len(all))
	}
	seen := map[string]bool{}
	for i, r := range all {
		if seen[r.Cursor] || r.Cursor == "" {
			t.Fatalf("record %d: cursor %q empty or repeated", i, r.Cursor)
		}
		seen[r.Cursor] = true
		if i < 150 && (r.Status != "skipped" || r.Reason != "server down" || r.Counter != 0) {
			t.Fatalf("record %d: %+v, want a point missed while down", i, r)
		}
	}
	if r := all[150]; r.Counter != 1 || r.Status != "success" {
		t.Errorf("last record: %+v, want run #1", r)
	}
	if n := countRecs(all, func(r histRecord) bool { return r.Count > 1 }); n != 3 {
		t.Errorf("%d aggregated records, want one a start", n)
	}
	wantEnvelope(t, s.get(t, "/karajo/api/job_exec/runs?id=gap&cursor=1-0&before=2"), http.StatusBadRequest)
	wantEnvelope(t, s.get(t, "/karajo/api/job_exec/runs?id=gap&cursor=x"), http.StatusBadRequest)

	// karajo history goes on from a record's cursor (-cursor), and a full
	// table ends with the next page's cursor on stderr.
	cr := cli(t, nil, "history", "-url="+s.base, "-o", "json", "-n", "100", "gap")
	var first []struct {
		Counter int64  `json:"counter"`
		Cursor  string `json:"cursor"`
	}
	if err := json.Unmarshal([]byte(cr.out), &first); err != nil || len(first) != 100 {
		t.Fatalf("karajo history -n 100: %v %v", err, cr)
	}
	cr = cli(t, nil, "history", "-url="+s.base, "-n", "100", "-cursor", first[99].Cursor, "gap")
	wantCLI(t, cr, 0, "#1", "server down")
	if lines := strings.Split(strings.TrimSpace(cr.out), "\n"); len(lines) != 1+51 {
		t.Errorf("karajo history -cursor: %d lines, want a header and 51 records:\n%s", len(lines), cr.out)
	}
	cr = cli(t, nil, "history", "-url="+s.base, "-n", "10", "gap")
	if !strings.Contains(cr.err, "older: karajo history -cursor "+all[9].Cursor+" gap") {
		t.Errorf("karajo history -n 10: no next page's cursor on stderr: %v", cr)
	}
}

// gapServer starts a server whose job "gap" has run #1 and, newer, 150
// records of schedule points missed while the server was down (see
// TestHistoryCursorThroughSkipped).
func gapServer(t *testing.T) *server {
	t.Helper()
	day := time.Now().Add(-48 * time.Hour)
	dir := t.TempDir()
	writeConfig(t, dir, configHeader(dir)+fmt.Sprintf(`
[job.gap]
cron = "* * * %d %d *"
commands = ["true"]
`, day.Day(), int(day.Month())))
	old := time.Now().Add(-96 * time.Hour).UTC()
	logDir := filepath.Join(dir, "var", "log", "karajo", "job", "gap")
	if err := os.MkdirAll(logDir, 0o700); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(logDir, "gap.1.success")
	if err := os.WriteFile(logPath, []byte(old.Format("2006-01-02 15:04:05 MST")+" === BEGIN\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(logPath, old, old); err != nil {
		t.Fatal(err)
	}
	putBack := func() {
		state := filepath.Join(dir, "var", "lib", "karajo", "job", "gap.state")
		if err := os.MkdirAll(filepath.Dir(state), 0o700); err != nil {
			t.Fatal(err)
		}
		b := fmt.Sprintf(`{"counter":1,"paused":false,"cursor":%q}`, old.Format(time.RFC3339Nano))
		if err := os.WriteFile(state, []byte(b), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var s *server
	for i := range 3 {
		putBack()
		s = startDir(t, dir)
		if i == 0 { // a start that does not put the cursor back records nothing more
			s.stop()
			s = startDir(t, dir)
			if n := len(s.runs(t, "job_exec", "gap", "")); n != 51 {
				t.Fatalf("after a second start: %d records, want 50 of missed points and run #1", n)
			}
		}
		if i < 2 {
			s.stop()
		}
	}
	return s
}

// TestHistoryRetryAndQueued (real binary): with max_job_running = 1 a run
// waiting for the slot is listed as queued with its trigger; a run that
// fails once and succeeds at its retry has one run record (attempt 2) and,
// with attempts=true, the retry's own record (trigger retry of #1), which
// karajo history -attempts shows.
func TestHistoryRetryAndQueued(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeConfig(t, dir, strings.Replace(configHeader(dir), "max_job_running = 4", "max_job_running = 1", 1)+`
[job.hold]
path = "/hold"
commands = ["sleep 3"]

[job.flaky]
path = "/flaky"
retries = 2
retry_delay = "100ms"
retry_on = ["failed"]
commands = ["n=$(cat n 2>/dev/null || echo 0); n=$((n+1)); echo $n > n; test $n -ge 2 || exit 5"]
`)
	s := startDir(t, dir)
	wantEnvelope(t, s.trigger(t, "hold", testSecret), http.StatusOK)
	waitFor(t, 30*time.Second, "hold running", func() bool { return s.job(t, "hold").Status == "running" })
	wantEnvelope(t, s.trigger(t, "flaky", testSecret), http.StatusOK)
	recs := s.runs(t, "job_exec", "flaky", "")
	if len(recs) != 1 || recs[0].Status != "queued" || recs[0].Counter != 1 || recs[0].Trigger.Kind != "webhook" ||
		recs[0].QueuedAt == "" || recs[0].StartedAt != "" {
		t.Fatalf("flaky waiting for the slot: %+v", recs)
	}
	s.waitRun(t, "flaky", 1, 30*time.Second)
	recs = s.runs(t, "job_exec", "flaky", "")
	if len(recs) != 1 {
		t.Fatalf("flaky's records: %+v", recs)
	}
	queued, _ := time.Parse(time.RFC3339Nano, recs[0].QueuedAt)
	started, _ := time.Parse(time.RFC3339Nano, recs[0].StartedAt)
	if len(recs) != 1 || recs[0].Status != "success" || recs[0].Attempt != 2 || !queued.Before(started.Add(-500*time.Millisecond)) {
		t.Fatalf("flaky's run: %+v", recs)
	}
	all := s.runs(t, "job_exec", "flaky", "attempts=true")
	if len(all) != 2 || all[0].Trigger.Kind != "retry" || all[0].Trigger.RetryOf != 1 || all[0].Attempt != 2 ||
		all[0].Status != "success" || all[0].Counter != 1 || all[1].Trigger.Kind != "webhook" {
		t.Fatalf("flaky with attempts: %+v", all)
	}
	cr := cli(t, nil, "history", "-url="+s.base, "-attempts", "flaky")
	wantCLI(t, cr, 0, "retry", "attempt 2 of #1", "webhook")
}

// TestHistoryTriggerKinds (real binary): the trigger kinds not covered by
// TestHistoryAPI. A logged-in user's run button is "api" with the user
// and remote; a schedule point caught up after downtime is "catch_up"
// with its scheduled_at; an interval job whose interval a SIGHUP reload
// shortens below the time since its last run runs at once, "reload".
func TestHistoryTriggerKinds(t *testing.T) {
	t.Parallel()
	t.Run("api", func(t *testing.T) {
		t.Parallel()
		s := startWithUser(t)
		code, _, ck := s.login(t, clientFrom("127.0.0.1"), "alice", "pw")
		if ck == nil {
			t.Fatalf("login: %d", code)
		}
		cookie := map[string]string{"Cookie": "karajo=" + ck.Value}
		var info struct {
			CSRF string `json:"csrf"`
		}
		if err := json.Unmarshal(wantEnvelope(t, s.raw(t, http.MethodGet, "/karajo/api/auth/session", cookie, nil), http.StatusOK).Data, &info); err != nil {
			t.Fatal(err)
		}
		hdr := map[string]string{"Cookie": "karajo=" + ck.Value, "X-Karajo-CSRF": info.CSRF, "Content-Type": "application/x-www-form-urlencoded"}
		wantEnvelope(t, s.raw(t, http.MethodPost, "/karajo/api/session/job_exec/run", hdr, []byte("id=h")), http.StatusOK)
		waitFor(t, 30*time.Second, "alice's run recorded", func() bool {
			var recs []histRecord
			r := s.raw(t, http.MethodGet, "/karajo/api/job_exec/runs?id=h", cookie, nil)
			if err := json.Unmarshal(wantEnvelope(t, r, http.StatusOK).Data, &recs); err != nil {
				t.Fatal(err)
			}
			return len(recs) == 1 && recs[0].Status == "success" && recs[0].Trigger.Kind == "api" &&
				recs[0].Trigger.User == "alice" && recs[0].Trigger.Remote == "127.0.0.1"
		})
		wantEnvelope(t, s.get(t, "/karajo/api/job_exec/runs?id=h"), http.StatusUnauthorized) // read auth as the environment
	})
	t.Run("catch_up", func(t *testing.T) {
		t.Parallel()
		s := start(t, `
[job.every2]
cron = "*/2 * * * * *"
catch_up = "latest"
commands = ["true"]
`)
		waitFor(t, 30*time.Second, "a timer run", func() bool {
			return countRecs(s.runs(t, "job_exec", "every2", "skipped=false"), func(r histRecord) bool { return r.Trigger.Kind == "timer" }) >= 1
		})
		s.stop()
		time.Sleep(5 * time.Second)
		s = s.restart(t)
		waitFor(t, 30*time.Second, "the caught-up run", func() bool {
			return countRecs(s.runs(t, "job_exec", "every2", "skipped=false"), func(r histRecord) bool {
				return r.Trigger.Kind == "catch_up" && r.ScheduledAt != "" && r.Status == "success"
			}) == 1
		})
	})
	t.Run("reload", func(t *testing.T) {
		t.Parallel()
		// Its last run (a log from a v0.9.3 dir_base) was two hours ago:
		// with interval 3h it waits; the reload to 1h makes it due at once.
		dir := t.TempDir()
		cfg := configHeader(dir) + "\n[job.iv]\ninterval = \"3h\"\ncommands = [\"true\"]\n"
		writeConfig(t, dir, cfg)
		logDir := filepath.Join(dir, "var", "log", "karajo", "job", "iv")
		if err := os.MkdirAll(logDir, 0o700); err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(-2 * time.Hour)
		logPath := filepath.Join(logDir, "iv.1.success")
		if err := os.WriteFile(logPath, []byte(old.UTC().Format("2006-01-02 15:04:05 MST")+" === BEGIN\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(logPath, old, old); err != nil {
			t.Fatal(err)
		}
		s := startDir(t, dir)
		time.Sleep(time.Second)
		if recs := s.runs(t, "job_exec", "iv", ""); len(recs) != 1 || recs[0].Counter != 1 {
			t.Fatalf("before the reload: %+v", recs)
		}
		writeConfig(t, dir, strings.Replace(cfg, `"3h"`, `"1h"`, 1))
		opSIGHUP(t, s)
		s.waitRun(t, "iv", 2, 30*time.Second)
		waitFor(t, 30*time.Second, "the run the reload started", func() bool {
			recs := s.runs(t, "job_exec", "iv", "")
			return len(recs) == 2 && recs[0].Counter == 2 && recs[0].Trigger.Kind == "reload" && recs[0].Status == "success"
		})
	})
}
