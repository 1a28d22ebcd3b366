package actors

import (
	"strings"
	"time"

	"github.com/karajo/karajo/config"
	"github.com/karajo/karajo/config/schedule"
)

// Scheduling policy, kept pure (no actor, no clock): which point is due
// next, which missed points run after downtime, and what a scheduled run
// is told. timer.go applies it to the job actor.

// Triggers of scheduled runs: the values of KARAJO_RUN_TRIGGER.
const (
	triggerTimer   = "timer"
	triggerCatchUp = "catch-up"
)

// duePoint is one schedule point a run is for. The zero value is a run
// that no schedule started (a webhook, the UI, an interval).
type duePoint struct {
	nominal time.Time // the schedule's point
	fire    time.Time // nominal + jitter: when the timer fires
	reason  string    // triggerTimer or triggerCatchUp
}

// nextDue returns the first point of s strictly after after, with the
// job's jitter; the zero duePoint when s never fires again.
func nextDue(s schedule.Schedule, after time.Time, id string, jitter time.Duration) duePoint {
	n := s.Next(after)
	if n.IsZero() {
		return duePoint{}
	}
	return duePoint{nominal: n, fire: n.Add(schedule.Jitter(id, n, jitter)), reason: triggerTimer}
}

// vars returns the run's built-in variables: none for an unscheduled run.
func (d duePoint) vars() []config.Var {
	if d.nominal.IsZero() {
		return nil
	}
	return []config.Var{
		{Name: config.VarRunTrigger, Value: d.reason},
		{Name: config.VarScheduledAt, Value: d.nominal.UTC().Format(time.RFC3339)},
	}
}

// beginPrefix starts the first line of every run's log.
const beginPrefix = "=== BEGIN"

// beginLine is the first line of the run's log: v0.9.3's "=== BEGIN" for
// unscheduled runs and for jobs without the keys added after v0.9.3 (their
// logs do not change), else it names the trigger and the nominal time.
func (d duePoint) beginLine(newKeys bool) string {
	if !newKeys || d.nominal.IsZero() {
		return beginPrefix
	}
	return beginPrefix + " trigger=" + d.reason + " scheduled_at=" + d.nominal.UTC().Format(time.RFC3339)
}

// scheduledAt reads the nominal time back from a log's first line (as
// written by beginLine, after the log's line prefix); ok is false for any
// other line.
func scheduledAt(line string) (time.Time, bool) {
	_, rest, ok := strings.Cut(line, beginPrefix+" ") // after the log's line prefix
	if !ok {
		return time.Time{}, false
	}
	for f := range strings.FieldsSeq(rest) {
		if v, ok := strings.CutPrefix(f, "scheduled_at="); ok {
			t, err := time.Parse(time.RFC3339, v)
			return t, err == nil
		}
	}
	return time.Time{}, false
}

// catchUpPlan says which points missed while the server was down run at
// start.
type catchUpPlan struct {
	policy string        // config.CatchUpNone, CatchUpLatest or CatchUpAll
	window time.Duration // points older than now - window are dropped
	max    int           // with CatchUpAll, the newest max points
}

// points returns the nominal times to run at start, oldest first: the
// points of s after cursor, within the window and not after now. A zero
// cursor (the job never took a point) catches nothing up.
func (p catchUpPlan) points(s schedule.Schedule, cursor, now time.Time) []time.Time {
	if s == nil || cursor.IsZero() || p.policy == config.CatchUpNone || p.policy == "" {
		return nil
	}
	keep := 1
	if p.policy == config.CatchUpAll {
		keep = max(p.max, 1)
	}
	from := cursor
	if start := now.Add(-p.window); start.After(from) {
		from = start.Add(-time.Nanosecond) // a point exactly at now - window is within it
	}
	var out []time.Time
	for t := s.Next(from); !t.IsZero() && !t.After(now); t = s.Next(t) {
		out = append(out, t)
		if len(out) > keep {
			out = out[1:]
		}
	}
	return out
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
