package actors

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/karajo/karajo/config"
	"github.com/karajo/karajo/config/schedule"
	"github.com/karajo/karajo/logstore"
)

func TestBlankPolicyAt(t *testing.T) {
	p := blankPolicy{lead: 500 * time.Millisecond, max: 2}
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		fire   time.Time
		want   time.Time
		wantOK bool
	}{
		{"well ahead", now.Add(10 * time.Second), now.Add(9500 * time.Millisecond), true},
		{"just over the lead", now.Add(501 * time.Millisecond), now.Add(time.Millisecond), true},
		{"exactly the lead", now.Add(500 * time.Millisecond), time.Time{}, false},
		{"within the lead", now.Add(100 * time.Millisecond), time.Time{}, false},
		{"past", now.Add(-time.Second), time.Time{}, false},
	}
	for _, tt := range tests {
		got, ok := p.at(tt.fire, now)
		if ok != tt.wantOK || !got.Equal(tt.want) {
			t.Errorf("%s: at = %v, %v; want %v, %v", tt.name, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestBlankPolicyTake(t *testing.T) {
	p := blankPolicy{lead: time.Second, max: 2}
	var n atomic.Int64
	for i, want := range []bool{true, true, false, false} {
		if got := p.take(&n); got != want {
			t.Errorf("take %d = %v, want %v", i+1, got, want)
		}
	}
	if n.Load() != 2 {
		t.Errorf("count %d after the budget was spent, want 2", n.Load())
	}
	n.Add(-1) // one given back
	if !p.take(&n) {
		t.Error("take after one was given back = false, want true")
	}
	if p.take(nil) {
		t.Error("take without a budget = true, want false")
	}
}

// blankEvents records the blank log events of job id while the test runs.
func blankEvents(t *testing.T, id string) func() []string {
	t.Helper()
	var mu sync.Mutex
	var got []string
	h := func(job, event string) {
		if job == id {
			mu.Lock()
			got = append(got, event)
			mu.Unlock()
		}
	}
	blankHook.Store(&h)
	t.Cleanup(func() { blankHook.Store(nil) })
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}
}

// everySecond is a job running its command every second.
func everySecond(t *testing.T, id string) *config.Job {
	t.Helper()
	s, err := schedule.ParseCron("* * * * * *", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	return &config.Job{ID: id, Name: id, Path: "/" + id, Sched: s, Commands: []string{"echo ran"}, LogRetention: 10}
}

// TestBlankLogUsedByScheduledRun: a job due every second names the blank
// made ahead of its due instant, and its logs are what they were without
// blanks: consecutive counters, final names, content.
func TestBlankLogUsedByScheduledRun(t *testing.T) {
	events := blankEvents(t, "bl")
	e, store := startEnv(t, &config.Env{DirBase: t.TempDir(), MaxJobRunning: 2, Secret: "s3cret", Jobs: []*config.Job{everySecond(t, "bl")}})
	waitJob(t, e, "bl", "four runs", func(v JobView) bool { return len(v.Logs) >= 4 && !v.Running })
	// Every run but perhaps the first (due within the lead of the start)
	// names one: the tick re-arms the timer while its run still holds the
	// blank it takes, and the next blank is made all the same.
	if named := countOf(events(), "named"); named < 3 {
		t.Fatalf("%d of 4 runs named a blank log, want 3 or 4: events %v", named, events())
	}
	des, err := os.ReadDir(store.LogDir(logstore.KindJob, "bl"))
	if err != nil {
		t.Fatal(err)
	}
	for i, de := range des[:3] {
		name := de.Name()
		if !strings.HasPrefix(name, "bl."+strconv.Itoa(i+1)+".") {
			t.Errorf("log %d is %q, want bl.%d.<status>", i+1, name, i+1)
			continue
		}
		data, err := os.ReadFile(store.LogDir(logstore.KindJob, "bl") + "/" + name)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(data), "=== BEGIN") || !strings.Contains(string(data), "ran") {
			t.Errorf("log %s holds %q", name, data)
		}
	}
}

func countOf(events []string, want string) int {
	n := 0
	for _, ev := range events {
		if ev == want {
			n++
		}
	}
	return n
}

// TestBlankLogDroppedOnPause: pausing a job drops its blank log, and no
// run (no log) follows while it is paused.
func TestBlankLogDroppedOnPause(t *testing.T) {
	events := blankEvents(t, "bp")
	e, store := startEnv(t, &config.Env{DirBase: t.TempDir(), MaxJobRunning: 2, Secret: "s3cret", Jobs: []*config.Job{everySecond(t, "bp")}})
	for deadline := time.Now().Add(10 * time.Second); !slices.Contains(events(), "made"); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no blank log made within 10 s")
		}
	}
	if _, err := ask[*JobView](t, e, "bp", &Pause{}); err != nil {
		t.Fatal(err)
	}
	got := events()
	if n := len(got); got[n-1] != "dropped" && got[n-1] != "named" {
		t.Fatalf("after the pause the blank log is still open: events %v", got)
	}
	before, _ := os.ReadDir(store.LogDir(logstore.KindJob, "bp"))
	time.Sleep(2500 * time.Millisecond)
	after, _ := os.ReadDir(store.LogDir(logstore.KindJob, "bp"))
	if len(after) != len(before) {
		t.Errorf("a paused job's directory went from %d to %d entries", len(before), len(after))
	}
	if slices.Contains(events()[len(got):], "made") {
		t.Errorf("a paused job made a blank log: events %v", events())
	}
}
