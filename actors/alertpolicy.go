package actors

import (
	"fmt"
	"time"
)

// Events of notifications: notifyRun.event (issue 16).
const (
	eventRun       = "run"           // a run ended: notif_on_success / notif_on_failed
	eventStreak    = "failed_streak" // notif_on_failed at the notif_on_failed_streak-th failure in a row
	eventRecovered = "recovered"     // notif_on_recovered: the first success after a notified streak or an alert
	eventNoSuccess = "no_success"    // notif_on_alert: alert_if_no_success_within passed without a success
)

// alertRules are the parts of a job's alert settings the policy decides by.
type alertRules struct {
	streak int           // notif_on_failed_streak; 0 = every failure notifies
	window time.Duration // alert_if_no_success_within; 0 = no dead-man's switch
}

// threshold is the failure count that makes a streak "notified".
func (r alertRules) threshold() int { return max(r.streak, 1) }

// alertState is what a job remembers for its alert rules, across restarts
// (the job's .alerts file, JSON). It is a pure value: the methods below
// decide, the job actor sends and saves.
type alertState struct {
	Watching       time.Time `json:"watching_since"`          // since when the job is watched: the dead-man's reference before any success
	LastSuccess    time.Time `json:"last_success,omitzero"`   // end of the last successful run; zero = none seen
	Failures       int       `json:"failures"`                // failed runs in a row
	StreakSince    time.Time `json:"streak_since,omitzero"`   // end of the first failure of the streak
	StreakNotified bool      `json:"streak_notified"`         // the streak reached the threshold
	AlertedAt      time.Time `json:"alerted_at,omitzero"`     // the dead-man's switch fired (since LastSuccess); zero = not
	LastFailure    time.Time `json:"last_failure,omitzero"`   // end of the last failed run
	StreakCounter  int64     `json:"streak_counter,omitzero"` // counter of the first failure of the streak
	Counter        int64     `json:"counter"`                 // the last finished run taken into account
}

// runDecision is what the end of a run asks the job to send.
type runDecision struct {
	notifyFailed bool      // send notif_on_failed (as eventStreak when a streak is configured)
	recovered    bool      // send notif_on_recovered
	failures     int       // failures in a row: after a failure, including it; after a success, the streak it ended
	since        time.Time // start of that streak, or (recovered after an alert) the last success before it
}

// onRun updates s for a run that ended at at with status and says what to
// notify. Failures count in a row; notif_on_failed fires at every failure
// without a streak rule, else once, when the streak reaches it. A success
// after a streak that reached the threshold, or after the dead-man's switch
// fired, is a recovery. Other statuses (canceled) change nothing.
func (s *alertState) onRun(r alertRules, status string, counter int64, at time.Time) runDecision {
	var d runDecision
	s.Counter = max(s.Counter, counter)
	switch status {
	case StatusSuccess:
		d.recovered = s.StreakNotified || !s.AlertedAt.IsZero()
		d.failures, d.since = s.Failures, s.StreakSince
		if s.Failures == 0 {
			d.since = s.LastSuccess // recovered after an alert only
			if d.since.IsZero() {
				d.since = s.Watching
			}
		}
		s.LastSuccess, s.Failures, s.StreakSince, s.StreakNotified, s.AlertedAt, s.StreakCounter = at, 0, time.Time{}, false, time.Time{}, 0
	case StatusFailed:
		s.Failures++
		s.LastFailure = at
		if s.Failures == 1 {
			s.StreakSince, s.StreakCounter = at, counter
		}
		reached := s.Failures >= r.threshold()
		d.notifyFailed = r.streak == 0 || (reached && !s.StreakNotified)
		s.StreakNotified = s.StreakNotified || reached
		d.failures, d.since = s.Failures, s.StreakSince
	}
	return d
}

// reference is the start of the time without a success: the last success,
// else when watching began.
func (s *alertState) reference() time.Time {
	if !s.LastSuccess.IsZero() {
		return s.LastSuccess
	}
	return s.Watching
}

// due is when the dead-man's switch fires; zero when it is off or has
// fired already (it fires once until the next success).
func (s *alertState) due(r alertRules) time.Time {
	if r.window <= 0 || !s.AlertedAt.IsZero() {
		return time.Time{}
	}
	return s.reference().Add(r.window)
}

// check fires the dead-man's switch when it is due at now: it returns true
// once and records when.
func (s *alertState) check(r alertRules, now time.Time) bool {
	d := s.due(r)
	if d.IsZero() || now.Before(d) {
		return false
	}
	s.AlertedAt = now
	return true
}

// pastRun is a finished run found in a job's logs: its status and the
// time it ended (the log file's modification time).
type pastRun struct {
	counter int64
	status  string
	end     time.Time
}

// deriveAlertState rebuilds a job's alert state from the runs in its logs
// (ascending counters), when it has no .alerts file (the first start with
// alert rules, or a lost file) or a stale one (see stale): the last
// success and the trailing failures.
// A streak that already reached the threshold counts as notified (it was,
// per run, before). Without a success in the logs the job is watched since
// its oldest kept run, or since now.
func deriveAlertState(r alertRules, runs []pastRun, now time.Time) alertState {
	s := alertState{Watching: now}
	for _, p := range runs {
		s.Counter = max(s.Counter, p.counter)
		if !p.end.IsZero() && p.end.Before(s.Watching) {
			s.Watching = p.end
		}
		switch p.status {
		case StatusSuccess:
			s.LastSuccess, s.Failures, s.StreakSince, s.StreakCounter = p.end, 0, time.Time{}, 0
		case StatusFailed:
			s.Failures++
			s.LastFailure = p.end
			if s.Failures == 1 {
				s.StreakSince, s.StreakCounter = p.end, p.counter
			}
		}
	}
	s.StreakNotified = s.Failures >= r.threshold()
	return s
}

// stale reports whether a saved state misses runs found in the logs:
// lastRun is the highest counter of a finished log. Runs end in the state
// as they finish; a run that a crash interrupted is finalised in the logs
// only, and runs of a time without alert rules are in the logs only.
func (s *alertState) stale(lastRun int64) bool { return s.Counter != lastRun }

// Texts of the alert notifications: each names the job, what happened and
// since when.

// stamp formats t for messages: RFC 3339 in UTC, to the second.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// streakText is the message of eventStreak.
func streakText(kind, id string, counter int64, d runDecision) string {
	return fmt.Sprintf("%s %s: failed %d times in a row since %s (last: run #%d)", kind, id, d.failures, stamp(d.since), counter)
}

// recoveredText is the message of eventRecovered.
func recoveredText(kind, id string, counter int64, d runDecision) string {
	if d.failures > 0 {
		return fmt.Sprintf("%s %s: recovered: run #%d succeeded after %d failures in a row since %s", kind, id, counter, d.failures, stamp(d.since))
	}
	return fmt.Sprintf("%s %s: recovered: run #%d succeeded, the first success since %s", kind, id, counter, stamp(d.since))
}

// noSuccessText is the message of eventNoSuccess.
func noSuccessText(kind, id string, window time.Duration, s *alertState) string {
	if s.LastSuccess.IsZero() {
		return fmt.Sprintf("%s %s: no successful run within %v: none since %s (watched since then)", kind, id, window, stamp(s.Watching))
	}
	return fmt.Sprintf("%s %s: no successful run within %v: the last one ended %s", kind, id, window, stamp(s.LastSuccess))
}
