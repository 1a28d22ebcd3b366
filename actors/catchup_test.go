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
)

// catchUpJob is a cron job every 10 s that records its trigger and nominal
// time in file.
func catchUpJob(t *testing.T, id, file, policy string) *config.Job {
	t.Helper()
	s, err := schedule.ParseCron("*/10 * * * * *", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	return &config.Job{ID: id, Sched: s, Commands: []string{`echo "$KARAJO_RUN_TRIGGER $KARAJO_SCHEDULED_AT" >> ` + file},
		Timing: config.Timing{Cron: []string{"*/10 * * * * *"}, Timezone: "UTC", Location: time.UTC, CatchUp: policy,
			CatchUpWindow: time.Hour, CatchUpMax: 2, NewKeys: true}}
}

// catchUpLines returns the catch-up lines of a job's record.
func catchUpLines(t *testing.T, file string) []string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for l := range strings.SplitSeq(strings.TrimSpace(string(data)), "\n") {
		if strings.HasPrefix(l, "catch-up ") {
			out = append(out, strings.TrimPrefix(l, "catch-up "))
		}
	}
	return out
}

// TestCatchUpAtStart: with catch_up = "all" and catch_up_max 2 the newest
// two missed points after the state file's cursor run at start, oldest
// first; a job paused in its state file catches nothing up, not even once
// resumed.
func TestCatchUpAtStart(t *testing.T) {
	dir := t.TempDir()
	rec := t.TempDir()
	all, paused := filepath.Join(rec, "all"), filepath.Join(rec, "paused")
	store, err := logstore.New(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	cursor := time.Now().Add(-45 * time.Second).Truncate(10 * time.Second)
	for id, p := range map[string]bool{"all": false, "paused": true} {
		if err := store.SaveState(logstore.KindJob, id, logstore.State{Paused: p, Cursor: cursor}); err != nil {
			t.Fatal(err)
		}
	}
	started := time.Now()
	e, _ := startEngineIn(t, dir, 4, catchUpJob(t, "all", all, config.CatchUpAll), catchUpJob(t, "paused", paused, config.CatchUpAll))
	waitJob(t, e, "all", "two catch-up runs", func(v JobView) bool { return len(catchUpLines(t, all)) >= 2 && idle(v) })
	got := catchUpLines(t, all)
	// The engine planned at some instant between started and now: a
	// 10-second boundary may lie between them.
	plan := func(at time.Time) string {
		var w []string
		for _, p := range (catchUpPlan{policy: config.CatchUpAll, window: time.Hour, max: 2}).points(catchUpJob(t, "x", "", "").Sched, cursor, at) {
			w = append(w, p.UTC().Format(time.RFC3339))
		}
		return strings.Join(w, ",")
	}
	if g := strings.Join(got, ","); len(got) != 2 || (g != plan(started) && g != plan(time.Now())) {
		t.Errorf("catch-up runs = %v, want %v (cursor %v)", got, plan(started), cursor)
	}
	if _, err := ask[*JobView](t, e, "paused", &Resume{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if got := catchUpLines(t, paused); len(got) != 0 {
		t.Errorf("the paused job caught up %v", got)
	}
}
