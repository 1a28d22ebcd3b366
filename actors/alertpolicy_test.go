package actors

import (
	"testing"
	"time"
)

// TestAlertPolicyOnRun runs sequences of run outcomes through onRun and
// checks, after each, what is notified.
func TestAlertPolicyOnRun(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	type step struct {
		status    string
		failed    bool // notif_on_failed sent
		recovered bool
		failures  int
	}
	F, S, C := StatusFailed, StatusSuccess, "canceled"
	for _, c := range []struct {
		name  string
		rules alertRules
		steps []step
	}{
		{"no streak: every failure; recovered after any", alertRules{}, []step{
			{F, true, false, 1}, {F, true, false, 2}, {S, false, true, 2}, {S, false, false, 0}, {F, true, false, 1}}},
		{"streak 3: once, at the third", alertRules{streak: 3}, []step{
			{F, false, false, 1}, {F, false, false, 2}, {F, true, false, 3}, {F, false, false, 4}, {F, false, false, 5},
			{S, false, true, 5}, {F, false, false, 1}, {F, false, false, 2}, {S, false, false, 2}, {F, false, false, 1}}},
		{"streak 1: first failure only", alertRules{streak: 1}, []step{
			{F, true, false, 1}, {F, false, false, 2}, {S, false, true, 2}, {F, true, false, 1}}},
		{"canceled neither breaks nor extends a streak", alertRules{streak: 2}, []step{
			{F, false, false, 1}, {C, false, false, 0}, {F, true, false, 2}, {C, false, false, 0}, {S, false, true, 2}}},
		{"success first: nothing to recover from", alertRules{streak: 2}, []step{
			{S, false, false, 0}, {S, false, false, 0}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := alertState{Watching: t0}
			for i, st := range c.steps {
				at := t0.Add(time.Duration(i+1) * time.Minute)
				d := s.onRun(c.rules, st.status, int64(i+1), at)
				if d.notifyFailed != st.failed || d.recovered != st.recovered || (st.status != C && d.failures != st.failures) {
					t.Fatalf("step %d (%s): got failed=%v recovered=%v failures=%d, want %v %v %d",
						i+1, st.status, d.notifyFailed, d.recovered, d.failures, st.failed, st.recovered, st.failures)
				}
			}
		})
	}
}

// TestAlertPolicyStreakSince: messages say since when, from the first
// failure of the streak.
func TestAlertPolicyStreakSince(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	s := alertState{Watching: t0}
	r := alertRules{streak: 2}
	s.onRun(r, StatusFailed, 7, t0.Add(time.Hour))
	d := s.onRun(r, StatusFailed, 8, t0.Add(2*time.Hour))
	if got, want := streakText("job", "backup", 8, d), "job backup: failed 2 times in a row since 2026-01-02T04:00:00Z (last: run #8)"; got != want {
		t.Errorf("streak text = %q, want %q", got, want)
	}
	d = s.onRun(r, StatusSuccess, 9, t0.Add(3*time.Hour))
	if got, want := recoveredText("job", "backup", 9, d), "job backup: recovered: run #9 succeeded after 2 failures in a row since 2026-01-02T04:00:00Z"; got != want {
		t.Errorf("recovered text = %q, want %q", got, want)
	}
}

// TestAlertPolicyDeadMan checks due and check: the switch fires once per
// time without success, counting from the last success or from when the
// watch began, and a success re-arms it (and counts as a recovery).
func TestAlertPolicyDeadMan(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	h := time.Hour
	r := alertRules{window: 25 * h}
	for _, c := range []struct {
		name     string
		state    alertState
		rules    alertRules
		now      time.Time
		fire     bool
		wantDue  time.Time
		dueAfter time.Time // due once checked
	}{
		{"off", alertState{Watching: t0}, alertRules{}, t0.Add(100 * h), false, time.Time{}, time.Time{}},
		{"never succeeded, not yet", alertState{Watching: t0}, r, t0.Add(24 * h), false, t0.Add(25 * h), t0.Add(25 * h)},
		{"never succeeded, due", alertState{Watching: t0}, r, t0.Add(25 * h), true, t0.Add(25 * h), time.Time{}},
		{"success resets the reference", alertState{Watching: t0, LastSuccess: t0.Add(10 * h)}, r, t0.Add(30 * h), false, t0.Add(35 * h), t0.Add(35 * h)},
		{"down for days: due at start", alertState{Watching: t0, LastSuccess: t0.Add(h)}, r, t0.Add(96 * h), true, t0.Add(26 * h), time.Time{}},
		{"fired already", alertState{Watching: t0, AlertedAt: t0.Add(25 * h)}, r, t0.Add(99 * h), false, time.Time{}, time.Time{}},
		{"failing job is not a success", alertState{Watching: t0, Failures: 9, LastFailure: t0.Add(30 * h)}, r, t0.Add(31 * h), true, t0.Add(25 * h), time.Time{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := c.state
			if got := s.due(c.rules); !got.Equal(c.wantDue) {
				t.Fatalf("due = %v, want %v", got, c.wantDue)
			}
			if got := s.check(c.rules, c.now); got != c.fire {
				t.Fatalf("check = %v, want %v", got, c.fire)
			}
			if got := s.due(c.rules); !got.Equal(c.dueAfter) {
				t.Fatalf("due after check = %v, want %v", got, c.dueAfter)
			}
			if c.fire && s.check(c.rules, c.now.Add(100*h)) {
				t.Fatal("fired twice")
			}
		})
	}
	s := alertState{Watching: t0}
	s.check(r, t0.Add(26*h))
	d := s.onRun(r, StatusSuccess, 3, t0.Add(27*h))
	if !d.recovered || !d.since.Equal(t0) {
		t.Fatalf("success after an alert = %+v, want recovered since the watch began", d)
	}
	if got := s.due(r); !got.Equal(t0.Add(52 * h)) {
		t.Fatalf("due after the success = %v, want 25h after it", got)
	}
}

// TestDeriveAlertState rebuilds the state from kept logs.
func TestDeriveAlertState(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	now := t0.Add(100 * time.Hour)
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	for _, c := range []struct {
		name  string
		rules alertRules
		runs  []pastRun
		want  alertState
	}{
		{"no logs", alertRules{}, nil, alertState{Watching: now}},
		{"success then two failures", alertRules{streak: 3}, []pastRun{{1, StatusSuccess, at(1)}, {2, StatusSuccess, at(2)}, {3, StatusFailed, at(3)}, {4, "canceled", at(4)}, {5, StatusFailed, at(5)}},
			alertState{Watching: at(1), LastSuccess: at(2), Failures: 2, StreakSince: at(3), StreakCounter: 3, LastFailure: at(5), Counter: 5}},
		{"streak reached counts as notified", alertRules{streak: 2}, []pastRun{{1, StatusFailed, at(1)}, {2, StatusFailed, at(2)}},
			alertState{Watching: at(1), Failures: 2, StreakSince: at(1), StreakCounter: 1, LastFailure: at(2), StreakNotified: true, Counter: 2}},
		{"last is success", alertRules{}, []pastRun{{1, StatusFailed, at(1)}, {2, StatusSuccess, at(2)}},
			alertState{Watching: at(1), LastSuccess: at(2), LastFailure: at(1), Counter: 2}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := deriveAlertState(c.rules, c.runs, now); got != c.want {
				t.Fatalf("got  %+v\nwant %+v", got, c.want)
			}
		})
	}
}

// TestAlertStateCounter: the state remembers the last run it took into
// account, canceled runs included, and is stale when the logs hold a later
// one (a run a crash interrupted, runs of a time without rules).
func TestAlertStateCounter(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	s := deriveAlertState(alertRules{}, []pastRun{{3, StatusSuccess, t0}, {4, StatusFailed, t0}}, t0)
	if s.Counter != 4 || s.stale(4) || !s.stale(5) {
		t.Fatalf("derived counter %d, stale(4) %v, stale(5) %v", s.Counter, s.stale(4), s.stale(5))
	}
	s.onRun(alertRules{}, "canceled", 5, t0)
	if s.stale(5) {
		t.Fatalf("a canceled run left the state stale: %+v", s)
	}
	s.onRun(alertRules{}, StatusSuccess, 6, t0)
	if s.Counter != 6 || s.Failures != 0 {
		t.Fatalf("after #6: %+v", s)
	}
}
