package actors

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/karajo/karajo/config"
	"github.com/karajo/karajo/config/schedule"
	"github.com/karajo/karajo/logstore"
	"github.com/karajo/karajo/logstore/history"
)

func runs(t *testing.T, e *Engine, id string, skipped bool) []history.Record {
	t.Helper()
	rs, err := e.Runs(RunsQuery{ID: id, Limit: 100, Skipped: skipped})
	if err != nil {
		t.Fatalf("Runs %s: %v", id, err)
	}
	return rs
}

// TestHistoryRecordsRuns: runs by webhook and by a user are recorded with
// their trigger, status, exit code and failing command; triggers refused
// while paused are one record with their count.
func TestHistoryRecordsRuns(t *testing.T) {
	e, _ := startEngine(t, 2,
		&config.Job{ID: "ok", Commands: []string{"true"}},
		&config.Job{ID: "bad", Commands: []string{"true", "exit 3"}})
	if _, err := ask[*JobView](t, e, "ok", &Trigger{Reason: "webhook", DeliveryID: "d-1", Remote: "10.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ask[*JobView](t, e, "bad", &Trigger{Reason: "session:alice", Remote: "10.0.0.2"}); err != nil {
		t.Fatal(err)
	}
	waitJob(t, e, "ok", "run 1", func(v JobView) bool { return idle(v) && v.Status == StatusSuccess })
	waitJob(t, e, "bad", "run 1", func(v JobView) bool { return idle(v) && v.Status == StatusFailed })
	if _, err := ask[*JobView](t, e, "ok", &Pause{}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := ask[*JobView](t, e, "ok", &Trigger{Reason: "api"}); err == nil {
			t.Fatal("trigger of a paused job accepted")
		}
	}

	ok := runs(t, e, "ok", true)
	if len(ok) != 2 {
		t.Fatalf("ok: %d records, want 2: %+v", len(ok), ok)
	}
	if r := ok[0]; r.Status != history.StatusSkipped || r.Reason != skipPaused || r.Count != 3 || r.Trigger.Kind != history.TriggerRunNow {
		t.Errorf("refusals: %+v", r)
	}
	r := ok[1]
	if r.Counter != 1 || r.Status != StatusSuccess || r.Trigger != (history.Trigger{Kind: "webhook", DeliveryID: "d-1", Remote: "10.0.0.1"}) ||
		r.StartedAt.IsZero() || r.FinishedAt.Before(r.StartedAt) || r.FailedCommand != -1 || r.Attempt != 1 || !r.LogKept {
		t.Errorf("webhook run: %+v", r)
	}
	if rs := runs(t, e, "ok", false); len(rs) != 1 {
		t.Errorf("skipped=false: %+v", rs)
	}
	bad := runs(t, e, "bad", true)
	if len(bad) != 1 {
		t.Fatalf("bad: %+v", bad)
	}
	if r := bad[0]; r.Status != StatusFailed || r.ExitCode != 3 || r.FailedCommand != 1 ||
		r.Trigger.Kind != history.TriggerAPI || r.Trigger.User != "alice" {
		t.Errorf("failed run: %+v", r)
	}
	st, err := e.Stats(false, "ok", "7d", 7*24*time.Hour)
	if err != nil || st.Runs != 1 || st.Successes != 1 || st.Skipped[skipPaused] != 3 {
		t.Errorf("stats: %+v, %v", st, err)
	}
}

// TestHistoryPausedTicks: the due ticks of a paused job are recorded as
// skipped, reason paused.
func TestHistoryPausedTicks(t *testing.T) {
	e, _ := startEngine(t, 1, &config.Job{ID: "quick", Interval: 200 * time.Millisecond, Commands: []string{"true"}})
	waitJob(t, e, "quick", "first run", func(v JobView) bool { return idle(v) && len(v.Logs) >= 1 })
	if _, err := ask[*JobView](t, e, "quick", &Pause{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		n := 0
		for _, r := range runs(t, e, "quick", true) {
			if r.Status == history.StatusSkipped && r.Reason == skipPaused && !r.ScheduledAt.IsZero() {
				n++
			}
		}
		if n >= 2 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d paused ticks recorded", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestHistoryFromLogsAndMissed: a dir_base with logs and no history file
// (as v0.9.3 leaves it) gets a record per log at start; the schedule
// points that fell while the server was down are recorded as skipped,
// "server down"; a corrupt history file is moved aside and rebuilt.
func TestHistoryFromLogsAndMissed(t *testing.T) {
	for _, corrupt := range []bool{false, true} {
		dir := t.TempDir()
		store, err := logstore.New(dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := store.Prepare(logstore.KindJob, "m"); err != nil {
			t.Fatal(err)
		}
		last := time.Now().Add(-45 * time.Second).Truncate(10 * time.Second)
		logDir := store.LogDir(logstore.KindJob, "m")
		for c, st := range []string{"success", "failed"} {
			p := filepath.Join(logDir, "m."+string(rune('1'+c))+"."+st)
			at := last.Add(time.Duration(c-1) * 10 * time.Second)
			if err := os.WriteFile(p, []byte(at.UTC().Format(time.DateTime)+" UTC job: m: === BEGIN\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(p, at, at); err != nil {
				t.Fatal(err)
			}
		}
		hpath := filepath.Join(dir, history.FileName)
		if corrupt {
			if err := os.WriteFile(hpath, []byte(strings.Repeat("junk", 4096)), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		s, err := schedule.ParseCron("*/10 * * * * *", time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		job := &config.Job{ID: "m", Sched: s, Commands: []string{"true"},
			Timing: config.Timing{Cron: []string{"*/10 * * * * *"}, Timezone: "UTC", Location: time.UTC, CatchUp: config.CatchUpNone}}
		e, _ := startEngineIn(t, dir, 1, job)
		rs, err := e.Runs(RunsQuery{ID: "m", Limit: 100, Skipped: true})
		if err != nil {
			t.Fatal(err)
		}
		var down, logs int
		for _, r := range rs {
			switch {
			case r.Status == history.StatusSkipped && r.Reason == skipServerDown:
				down++
			case r.Counter == 1 && r.Status == "success", r.Counter == 2 && r.Status == "failed":
				logs++
			}
		}
		if logs != 2 || down < 3 || down > 5 {
			t.Errorf("corrupt=%v: %d records from logs (want 2), %d missed points (want 3..5): %+v", corrupt, logs, down, rs)
		}
		if corrupt {
			m, _ := filepath.Glob(hpath + ".broken-*")
			if len(m) != 1 {
				t.Errorf("corrupt file not moved aside: %v", m)
			}
		}
	}
}

// TestHistoryQueued: with one slot, a run waiting for it is in the history
// as "queued" (its counter, trigger and queue time, not started), and a
// trigger accepted behind a running run too; when they start, their
// records hold the queue time apart from the start time. A Cancel drops
// the trigger pending behind the run: its record becomes a run that did
// not happen, reason "canceled".
func TestHistoryQueued(t *testing.T) {
	e, _ := startEngine(t, 1,
		&config.Job{ID: "long", Commands: []string{"sleep 30"}},
		&config.Job{ID: "q", Commands: []string{"true"}})
	if _, err := ask[*JobView](t, e, "long", &Trigger{Reason: "webhook", DeliveryID: "d-1"}); err != nil {
		t.Fatal(err)
	}
	waitJob(t, e, "long", "run 1", func(v JobView) bool { return v.Status == StatusRunning })
	if _, err := ask[*JobView](t, e, "long", &Trigger{Reason: "webhook", DeliveryID: "d-2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ask[*JobView](t, e, "q", &Trigger{Reason: "session:bob"}); err != nil {
		t.Fatal(err)
	}
	q := runs(t, e, "q", true)
	if len(q) != 1 || q[0].Status != history.StatusQueued || q[0].Counter != 1 || q[0].Trigger.User != "bob" ||
		q[0].QueuedAt.IsZero() || !q[0].StartedAt.IsZero() {
		t.Fatalf("q waiting for the slot: %+v", q)
	}
	long := runs(t, e, "long", true)
	if len(long) != 2 || long[0].Status != history.StatusQueued || long[0].Counter != 2 || long[0].Trigger.DeliveryID != "d-2" ||
		long[1].Status != StatusRunning || long[1].Counter != 1 {
		t.Fatalf("long with a trigger pending: %+v", long)
	}
	queuedAt := q[0].QueuedAt
	time.Sleep(20 * time.Millisecond)
	if _, err := ask[*JobView](t, e, "long", &Cancel{}); err != nil {
		t.Fatal(err)
	}
	waitJob(t, e, "q", "run 1", func(v JobView) bool { return idle(v) && v.Status == StatusSuccess })
	q = runs(t, e, "q", true)
	if len(q) != 1 || q[0].Status != StatusSuccess || !q[0].QueuedAt.Equal(queuedAt) || !q[0].StartedAt.After(queuedAt.Add(10*time.Millisecond)) {
		t.Errorf("q after its wait: %+v (queued at %v)", q, queuedAt)
	}
	long = runs(t, e, "long", true)
	if len(long) != 2 || long[0].Status != history.StatusSkipped || long[0].Reason != dropCanceled || long[0].Counter != 0 ||
		long[0].Trigger.DeliveryID != "d-2" || long[1].Status != StatusCanceled {
		t.Errorf("long after Cancel: %+v", long)
	}
}

// TestHistoryRetryAttempts: a run that fails twice and succeeds at its
// third attempt has one run record (attempt 3, success) and, listed with
// Attempts only, a record per retry: trigger retry of the run, attempt 2
// failed with its exit code and failing command, attempt 3 success, each
// with its own queue, start and end; stats count one run. Parallel jobs
// record theirs the same way.
func TestHistoryRetryAttempts(t *testing.T) {
	script := `n=$(cat n 2>/dev/null || echo 0); n=$((n+1)); echo $n > n; test $n -ge 3 || exit 7`
	rc := config.RunControl{Retries: 3, RetryDelay: 50 * time.Millisecond, RetryBackoff: 1, RetryMaxDelay: time.Second, RetryOnFailed: true, Configured: true}
	par := rc
	par.Overlap, par.MaxParallel = config.OverlapParallel, 2
	e, _ := startEngine(t, 2,
		&config.Job{ID: "r", Commands: []string{"true", script}, RunControl: rc},
		&config.Job{ID: "p", Commands: []string{"true", script}, RunControl: par})
	for _, id := range []string{"r", "p"} {
		if _, err := ask[*JobView](t, e, id, &Trigger{Reason: "webhook", DeliveryID: "d-" + id}); err != nil {
			t.Fatal(err)
		}
		waitJob(t, e, id, "run 1", func(v JobView) bool { return idle(v) && v.Status == StatusSuccess })
		rs := runs(t, e, id, true)
		if len(rs) != 1 || rs[0].Attempt != 3 || rs[0].Status != StatusSuccess || rs[0].Trigger.DeliveryID != "d-"+id {
			t.Fatalf("%s: run records %+v", id, rs)
		}
		all, err := e.Runs(RunsQuery{ID: id, Limit: 100, Skipped: true, Attempts: true})
		if err != nil || len(all) != 3 {
			t.Fatalf("%s: with attempts: %+v %v", id, all, err)
		}
		for i, want := range []struct {
			attempt int
			status  string
		}{{3, StatusSuccess}, {2, StatusFailed}} {
			r := all[i]
			if r.Counter != 1 || r.Attempt != want.attempt || r.Status != want.status ||
				r.Trigger != (history.Trigger{Kind: history.TriggerRetry, RetryOf: 1}) || r.QueuedAt.IsZero() || r.ScheduledAt.IsZero() ||
				r.StartedAt.Before(r.ScheduledAt) || r.FinishedAt.Before(r.StartedAt) {
				t.Errorf("%s: attempt record %d: %+v", id, i, r)
			}
		}
		if r := all[1]; r.ExitCode != 7 || r.FailedCommand != 1 {
			t.Errorf("%s: failed attempt 2: exit %d, command %d", id, r.ExitCode, r.FailedCommand)
		}
		if all[2].Key.Seq != 0 || all[2].StartedAt.After(all[1].StartedAt) {
			t.Errorf("%s: the run's record last: %+v", id, all[2])
		}
		st, err := e.Stats(false, id, "7d", 7*24*time.Hour)
		if err != nil || st.Runs != 1 || st.Successes != 1 || st.Failures != 0 {
			t.Errorf("%s: stats %+v %v", id, st, err)
		}
	}
}

// TestHistoryQueuedTick: a schedule tick that falls while the job's run
// goes on (overlap = queue) is in the history as queued, trigger timer,
// with its scheduled_at and the counter after the run's; when it starts,
// its record keeps the queue time apart from the start.
func TestHistoryQueuedTick(t *testing.T) {
	s, err := schedule.ParseCron("* * * * * *", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	e, _ := startEngine(t, 1, &config.Job{ID: "tick", Sched: s, Commands: []string{"sleep 1.6"},
		Timing: config.Timing{Cron: []string{"* * * * * *"}, Timezone: "UTC", Location: time.UTC, NewKeys: true}})
	var queued history.Record
	deadline := time.Now().Add(30 * time.Second)
	for queued.Counter == 0 {
		for _, r := range runs(t, e, "tick", true) {
			if r.Status == history.StatusQueued {
				queued = r
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no queued tick: %+v", runs(t, e, "tick", true))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if queued.Trigger.Kind != history.TriggerTimer || queued.ScheduledAt.IsZero() || queued.QueuedAt.IsZero() || queued.Counter < 2 {
		t.Fatalf("queued tick: %+v", queued)
	}
	waitJob(t, e, "tick", "the queued tick's run", func(v JobView) bool {
		for _, l := range v.Logs {
			if l.Counter == queued.Counter && l.Status != StatusRunning {
				return true
			}
		}
		return false
	})
	for _, r := range runs(t, e, "tick", true) {
		if r.Counter == queued.Counter && r.Status != history.StatusSkipped {
			if r.Status != StatusSuccess || !r.QueuedAt.Equal(queued.QueuedAt) || !r.StartedAt.After(r.QueuedAt) || !r.ScheduledAt.Equal(queued.ScheduledAt) {
				t.Errorf("run of the queued tick: %+v (queued %+v)", r, queued)
			}
			return
		}
	}
	t.Errorf("no record of run %d", queued.Counter)
}
