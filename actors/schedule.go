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
	nominal time.Time  // the schedule's point
	fire    time.Time  // nominal + jitter: when the timer fires
	reason  string     // triggerTimer or triggerCatchUp
	lost    *lostRerun // a re-run of a run lost with its node (clusterhook.go); nil for others
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

// MaxPreview is the most runs a schedule preview lists.
const MaxPreview = 100

// GetSchedule asks a job actor for the preview of its next N runs
// (1..MaxPreview). Reply: *ScheduleView.
type GetSchedule struct{ N int }

// ScheduleView is a job's schedule and its next runs, as the preview
// endpoints answer it.
type ScheduleView struct {
	ID         string         `json:"id,omitempty"`
	Expression string         `json:"expression"`         // the cron expressions (joined by "; "), the schedule or the interval
	Timezone   string         `json:"timezone"`           // IANA name
	Jitter     time.Duration  `json:"jitter,omitempty"`   // nanoseconds, as interval
	CatchUp    string         `json:"catch_up,omitempty"` // none, latest or all
	Paused     bool           `json:"paused,omitempty"`
	Runs       []ScheduledRun `json:"runs"`
}

// ScheduledRun is one previewed run: when it starts (jitter included) in
// the zone's offset and in UTC, and its nominal time.
type ScheduledRun struct {
	At        string `json:"at"`        // RFC 3339 with the zone's offset
	UTC       string `json:"utc"`       // RFC 3339 in UTC
	Scheduled string `json:"scheduled"` // the nominal time (without jitter), RFC 3339 with the zone's offset
}

// PreviewRuns returns the next n runs of s strictly after after, for the
// job id with the given jitter, in loc.
func PreviewRuns(s schedule.Schedule, id string, jitter time.Duration, after time.Time, n int, loc *time.Location) []ScheduledRun {
	out := make([]ScheduledRun, 0, n)
	for len(out) < n {
		d := nextDue(s, after, id, jitter)
		if d.nominal.IsZero() {
			break
		}
		out = append(out, ScheduledRun{At: d.fire.In(loc).Format(time.RFC3339), UTC: d.fire.UTC().Format(time.RFC3339),
			Scheduled: d.nominal.In(loc).Format(time.RFC3339)})
		after = d.nominal
	}
	return out
}

// scheduleView answers GetSchedule: the runs after the armed timer's,
// starting with it (an interval job counts from its next run).
func (j *job) scheduleView(n int) *ScheduleView {
	tm := j.timing()
	v := &ScheduleView{ID: j.id, Timezone: tm.Timezone, Jitter: tm.Jitter, CatchUp: tm.CatchUp, Paused: j.paused, Runs: []ScheduledRun{}}
	n = min(max(n, 1), MaxPreview)
	switch {
	case j.sched != nil:
		v.Expression = j.sched.String()
		after := time.Now()
		if d := j.tk.due; !d.nominal.IsZero() && d.nominal.Before(after) {
			after = d.nominal.Add(-time.Nanosecond) // its run is still to come (jitter)
		}
		v.Runs = PreviewRuns(j.sched, j.id, tm.Jitter, after, n, tm.Location)
	case j.interval > 0 && !j.nextRun.IsZero():
		v.Expression = j.interval.String()
		iv := &schedule.Interval{D: j.interval}
		v.Runs = PreviewRuns(iv, j.id, 0, j.nextRun.Add(-j.interval), n, tm.Location)
	}
	return v
}

// zoneName is the time zone the job's schedule is in, for its view: ""
// without a schedule and for jobs without the keys added after v0.9.3
// (their view keeps v0.9.3's fields exactly; their zone is UTC).
func (j *job) zoneName() string {
	if j.sched == nil || !j.timing().NewKeys {
		return ""
	}
	return j.timing().Timezone
}
