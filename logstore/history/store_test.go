package history

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func openTemp(t testing.TB) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), FileName)
	s, o, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if !o.Created || o.MovedAside != "" {
		t.Fatalf("fresh file: %+v", o)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func run(job string, c int64, status string, start time.Time, secs int) Put {
	r := Record{Job: job, Kind: "job_exec", Counter: c, Status: status, Count: 1, Trigger: Trigger{Kind: TriggerTimer},
		StartedAt: start, FinishedAt: start.Add(time.Duration(secs) * time.Second), FailedCommand: -1, Attempt: 1, Key: RunKey(c)}
	r.SetDuration()
	return Put{Kind: "job", Rec: r}
}

func skip(job string, after int64, reason string, at time.Time) Put {
	return Put{Kind: "job", Rec: Record{Job: job, Kind: "job_exec", Status: StatusSkipped, Reason: reason, Count: 1,
		ScheduledAt: at, Key: Key{Counter: after}}}
}

func counters(rs []Record) []int64 {
	var out []int64
	for _, r := range rs {
		out = append(out, r.Key.Counter*10+int64(min(r.Key.Seq, 1)))
	}
	return out
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestWriteQueryPrune(t *testing.T) {
	s, path := openTemp(t)
	var puts []Put
	for c := int64(1); c <= 5; c++ {
		puts = append(puts, run("a", c, "success", t0.Add(time.Duration(c)*time.Hour), int(c)))
	}
	puts = append(puts, skip("a", 3, "paused", t0.Add(3*time.Hour+time.Minute)))
	if err := s.Write(puts); err != nil {
		t.Fatal(err)
	}
	if puts[5].Rec.Key.Seq == 0 {
		t.Fatal("skipped record got no sequence number")
	}
	// The record of run 5 is replaced, not added.
	p := run("a", 5, "failed", t0.Add(5*time.Hour), 9)
	if err := s.Write([]Put{p}); err != nil {
		t.Fatal(err)
	}
	if n := s.Count("job", "a"); n != 6 {
		t.Fatalf("count %d, want 6", n)
	}
	all, err := s.Runs(Query{Kind: "job", Job: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := counters(all), []int64{50, 40, 31, 30, 20, 10}; !equal(got, want) {
		t.Fatalf("newest first: got %v want %v", got, want)
	}
	if all[0].Status != "failed" || all[0].Duration != 9 {
		t.Fatalf("replaced record: %+v", all[0])
	}
	page, _ := s.Runs(Query{Kind: "job", Job: "a", Before: 4, Limit: 2})
	if got, want := counters(page), []int64{31, 30}; !equal(got, want) {
		t.Fatalf("before 4 limit 2: got %v want %v", got, want)
	}
	runsOnly, _ := s.Runs(Query{Kind: "job", Job: "a", NoSkipped: true})
	if len(runsOnly) != 5 {
		t.Fatalf("skipped=false: %d records", len(runsOnly))
	}
	if rs, _ := s.Runs(Query{Kind: "job", Job: "nobody"}); len(rs) != 0 {
		t.Fatalf("unknown job: %v", rs)
	}
	// Retention 3 drops the oldest three.
	p = run("a", 6, "success", t0.Add(6*time.Hour), 1)
	p.Keep = 3
	if err := s.Write([]Put{p}); err != nil {
		t.Fatal(err)
	}
	all, _ = s.Runs(Query{Kind: "job", Job: "a"})
	if got, want := counters(all), []int64{60, 50, 40}; !equal(got, want) {
		t.Fatalf("after prune: got %v want %v", got, want)
	}
	if n := s.Count("job", "a"); n != 3 {
		t.Fatalf("count after prune %d", n)
	}
	// It all survives a reopen.
	s.Close()
	s2, o, err := Open(path)
	if err != nil || o.Created || o.MovedAside != "" {
		t.Fatalf("reopen: %v %+v", err, o)
	}
	defer s2.Close()
	if r, ok := s2.Get("job", "a", 6); !ok || r.Status != "success" {
		t.Fatalf("after reopen: %+v %v", r, ok)
	}
}

func writeLog(t *testing.T, dir, name, content string, mtime time.Time) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReconcileFromLogs(t *testing.T) {
	s, _ := openTemp(t)
	dir := t.TempDir()
	l1 := writeLog(t, dir, "a.1.success", "2026-12-01 10:00:00 UTC job: a: === BEGIN\nok\n", t0.Add(3*time.Second))
	l2 := writeLog(t, dir, "a.2.failed", "2026-12-01 11:00:00 UTC job: a: === BEGIN\n2026-12-01 11:00:05 UTC job: a: !!! job: a: interrupted, server stopped\n", t0.Add(time.Hour+5*time.Second))
	l3 := writeLog(t, dir, "a.3.failed", "2026-12-01 12:00:00 UTC job: a: === BEGIN\n", t0.Add(2*time.Hour+7*time.Second))
	// Run 3 was recorded as running when the server died; run 4 too, but has no log.
	running := run("a", 3, StatusRunning, t0.Add(2*time.Hour), 0)
	running.Rec.FinishedAt = time.Time{}
	running.Rec.Trigger = Trigger{Kind: TriggerWebhook, DeliveryID: "d-1"}
	lost := run("a", 4, StatusRunning, t0.Add(3*time.Hour), 0)
	lost.Rec.FinishedAt = time.Time{}
	if err := s.Write([]Put{running, lost}); err != nil {
		t.Fatal(err)
	}
	logs := []LogInfo{{1, "success", l1}, {2, "failed", l2}, {3, "failed", l3}}
	st, err := s.Reconcile([]JobLogs{{Kind: "job", Job: "a", Logs: logs}})
	if err != nil {
		t.Fatal(err)
	}
	if st.Added != 2 || st.Settled != 2 {
		t.Fatalf("settled %+v, want 2 added, 2 settled", st)
	}
	r1, _ := s.Get("job", "a", 1)
	if r1.Status != "success" || r1.Duration != 3 || !r1.StartedAt.Equal(t0) || !r1.LogKept {
		t.Fatalf("run 1 from its log: %+v", r1)
	}
	r2, _ := s.Get("job", "a", 2)
	if r2.Status != "failed" || r2.Reason != "interrupted" {
		t.Fatalf("run 2 from its log: %+v", r2)
	}
	r3, _ := s.Get("job", "a", 3)
	if r3.Status != "failed" || r3.Trigger.DeliveryID != "d-1" || r3.Duration != 7 {
		t.Fatalf("run 3 settled from its log, keeping its trigger: %+v", r3)
	}
	r4, _ := s.Get("job", "a", 4)
	if r4.Status != "failed" || r4.Reason != "interrupted" || r4.LogKept {
		t.Fatalf("run 4 without a log: %+v", r4)
	}
	// A second reconcile changes nothing.
	if st, _ := s.Reconcile([]JobLogs{{Kind: "job", Job: "a", Logs: logs}}); st != (Settled{}) {
		t.Fatalf("second reconcile: %+v", st)
	}
}

func TestCorruptFileMovedAside(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	junk := strings.Repeat("not a bolt file\n", 1024)
	if err := os.WriteFile(path, []byte(junk), 0o600); err != nil {
		t.Fatal(err)
	}
	s, o, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !o.Created || o.MovedAside == "" || o.Reason == nil {
		t.Fatalf("opened: %+v", o)
	}
	if b, err := os.ReadFile(o.MovedAside); err != nil || string(b) != junk {
		t.Fatalf("moved-aside file: %v", err)
	}
	if err := s.Write([]Put{run("a", 1, "success", t0, 1)}); err != nil {
		t.Fatalf("write to the new file: %v", err)
	}
}

func TestUnreadableFileMovedAside(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads any file")
	}
	s, path := openTemp(t)
	s.Close()
	if err := os.Chmod(path, 0); err != nil {
		t.Fatal(err)
	}
	s2, o, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if o.MovedAside == "" {
		t.Fatalf("opened: %+v", o)
	}
}

func TestSummarise(t *testing.T) {
	now := t0.Add(48 * time.Hour)
	var recs []Record
	for i, secs := range []int{1, 2, 3, 4, 100} {
		recs = append(recs, run("a", int64(i+1), "success", t0.Add(time.Duration(i)*time.Hour), secs).Rec)
	}
	recs = append(recs, run("a", 6, "failed", t0.Add(26*time.Hour), 5).Rec)
	old := run("a", 0, "success", t0.Add(-10*24*time.Hour), 1000).Rec
	sk := skip("a", 6, "busy", t0.Add(27*time.Hour)).Rec
	sk.Count = 4
	recs = append(recs, old, sk)
	st := Summarise("a", "7d", recs, now.Add(-7*24*time.Hour), now)
	if st.Runs != 6 || st.Successes != 5 || st.Failures != 1 || st.Skipped["busy"] != 4 {
		t.Fatalf("stats %+v", st)
	}
	if st.Duration != (Durations{P50: 3, P95: 100, Max: 100}) {
		t.Fatalf("durations %+v", st.Duration)
	}
	if len(st.Days) != 8 || st.Days[len(st.Days)-1].Day != "2026-12-03" {
		t.Fatalf("days %+v", st.Days)
	}
	d1 := st.Days[len(st.Days)-3]
	if d1.Day != "2026-12-01" || d1.Runs != 5 {
		t.Fatalf("day 1 %+v", d1)
	}
	d2 := st.Days[len(st.Days)-2]
	if d2.Runs != 1 || d2.Failures != 1 || d2.Skipped != 4 {
		t.Fatalf("day 2 %+v", d2)
	}
}

// mkdirTemp makes a directory that outlives one benchmark (shared by the
// 1M-record benchmarks of one process); it is removed by TestMain.
func mkdirTemp() (string, error) {
	d, err := os.MkdirTemp("", "karajo-history-bench-")
	tempDirs = append(tempDirs, d)
	return d, err
}

var tempDirs []string

func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range tempDirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}

// TestReconcileOldRunning: a run recorded as running whose later runs'
// records were lost (kill -9 before the batch was written) is settled from
// its log, however many newer records the logs add.
func TestReconcileOldRunning(t *testing.T) {
	s, _ := openTemp(t)
	dir := t.TempDir()
	p := run("a", 1, StatusRunning, t0, 0)
	p.Rec.FinishedAt = time.Time{}
	if err := s.Write([]Put{p}); err != nil {
		t.Fatal(err)
	}
	var logs []LogInfo
	for c := int64(1); c <= 10; c++ {
		name := "a." + string(rune('0'+c%10)) + ".success"
		if c == 10 {
			name = "a.10.success"
		}
		logs = append(logs, LogInfo{c, "success", writeLog(t, dir, name, "2026-12-01 10:00:00 UTC job: a: x\n", t0.Add(time.Duration(c)*time.Second))})
	}
	st, err := s.Reconcile([]JobLogs{{Kind: "job", Job: "a", Logs: logs}})
	if err != nil || st.Added != 9 || st.Settled != 1 {
		t.Fatalf("reconcile: %+v, %v", st, err)
	}
	if r, _ := s.Get("job", "a", 1); r.Status != "success" {
		t.Fatalf("run 1: %+v", r)
	}
}

// TestCursorPagesThroughSkipped: 150 skipped records in a row between two
// runs (all of counter 0 in JSON) are paged through with each page's last
// cursor, 40 at a time, with none lost or repeated; before=<counter> could
// not step past them.
func TestCursorPagesThroughSkipped(t *testing.T) {
	s, _ := openTemp(t)
	puts := []Put{run("a", 1, "success", t0, 1)}
	for i := range 150 {
		puts = append(puts, skip("a", 1, "paused", t0.Add(time.Duration(i+1)*time.Minute)))
	}
	puts = append(puts, run("a", 2, "success", t0.Add(3*time.Hour), 1))
	if err := s.Write(puts); err != nil {
		t.Fatal(err)
	}
	var got []Record
	var cur Key
	for pages := 0; pages < 10; pages++ {
		page, err := s.Runs(Query{Kind: "job", Job: "a", Cursor: cur, Limit: 40})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, page...)
		if len(page) < 40 {
			break
		}
		var ok bool
		if cur, ok = ParseCursor(page[len(page)-1].Cursor); !ok {
			t.Fatalf("cursor %q does not parse", page[len(page)-1].Cursor)
		}
	}
	if len(got) != 152 || got[0].Counter != 2 || got[151].Counter != 1 {
		t.Fatalf("paged %d records (first %+v)", len(got), got[0].Key)
	}
	seen := map[Key]bool{}
	for i, r := range got {
		if seen[r.Key] {
			t.Fatalf("record %d repeated: %+v", i, r.Key)
		}
		seen[r.Key] = true
		if i > 0 && i < 151 && (r.Status != StatusSkipped || !r.ScheduledAt.Equal(t0.Add(time.Duration(151-i)*time.Minute))) {
			t.Fatalf("record %d: %+v, want the skipped record of minute %d", i, r, 151-i)
		}
	}
}

// TestParseCursor: Key.Cursor round trips; anything else is refused.
func TestParseCursor(t *testing.T) {
	for _, k := range []Key{{Counter: 7}, {Counter: 0, Seq: 1}, {Counter: 1 << 40, Seq: 1<<63 + 5}} {
		if got, ok := ParseCursor(k.Cursor()); !ok || got != k {
			t.Errorf("%+v: %q -> %+v %v", k, k.Cursor(), got, ok)
		}
	}
	for _, bad := range []string{"", "7", "-", "0-0", "-1-2", "a-1", "1-b", "1-2-3", "1--2", " 1-2", "99999999999999999999-1"} {
		if k, ok := ParseCursor(bad); ok {
			t.Errorf("%q accepted as %+v", bad, k)
		}
	}
}

// TestQueuedDeletedAndUnqueued: a Put with Delete removes a queued record
// (and its count); a queued record whose run never started (no log) when
// the server died becomes, at Reconcile, a skipped record "server down"
// after the run before it, keeping its trigger and queue time.
func TestQueuedDeletedAndUnqueued(t *testing.T) {
	s, _ := openTemp(t)
	dir := t.TempDir()
	queued := func(c int64) Put {
		return Put{Kind: "job", Rec: Record{Job: "a", Kind: "job_exec", Counter: c, Status: StatusQueued, Count: 1,
			Trigger: Trigger{Kind: TriggerWebhook, DeliveryID: "d7"}, QueuedAt: t0.Add(time.Hour), FailedCommand: -1, Key: RunKey(c)}}
	}
	if err := s.Write([]Put{run("a", 1, "success", t0, 1), queued(2), queued(3)}); err != nil {
		t.Fatal(err)
	}
	del := queued(3)
	del.Delete = true
	if err := s.Write([]Put{del}); err != nil {
		t.Fatal(err)
	}
	if n := s.Count("job", "a"); n != 2 {
		t.Fatalf("count after delete: %d", n)
	}
	logs := []LogInfo{{1, "success", writeLog(t, dir, "a.1.success", "2026-12-01 10:00:00 UTC job: a: x\n", t0)}}
	if st, err := s.Reconcile([]JobLogs{{Kind: "job", Job: "a", Logs: logs}}); err != nil || st.Settled != 1 {
		t.Fatalf("reconcile: %+v %v", st, err)
	}
	all, _ := s.Runs(Query{Kind: "job", Job: "a"})
	if len(all) != 2 || s.Count("job", "a") != 2 {
		t.Fatalf("records: %+v", all)
	}
	if r := all[0]; r.Status != StatusSkipped || r.Reason != "server down" || r.Counter != 0 || r.Key.Counter != 1 ||
		r.Trigger.DeliveryID != "d7" || !r.QueuedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("unqueued: %+v", r)
	}
	if _, ok := s.Get("job", "a", 2); ok {
		t.Fatal("the queued record of run 2 is still there")
	}
}
