package actors

import (
	"bufio"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/karajo/karajo/config"
)

// The timer of a job: a time.AfterFunc whose goroutine only sends a tick
// message built from copies. Each arm bumps gen, so a tick from a timer
// that was disarmed after it fired is recognised and ignored.
//
// The timer fires at the exact instant (no rounding): a schedule point
// plus the job's jitter, or interval after the exact end of the previous
// run. Only the reported next_run is rounded to the second. The policy
// (next point, catch-up, what a run is told) is in schedule.go.

// timerState is the schedule side of a job actor.
type timerState struct {
	due         duePoint   // the point the armed timer is for
	run         duePoint   // the point of the run asked for, taken by onSlot
	pending     duePoint   // the point of a tick that waits behind a run
	backlog     []duePoint // catch-up points still to run, oldest first
	reruns      []duePoint // re-runs of runs lost with their node, due now (clustercatchup.go)
	cursor      time.Time  // nominal time of the last point taken (or of the last pause or resume)
	savedCursor time.Time  // the cursor in the state file, as far as this actor knows
}

// timing returns the job's schedule settings.
func (j *job) timing() *config.Timing {
	if j.exec != nil {
		return &j.exec.Timing
	}
	return &j.http.Timing
}

// armAt arms the timer to fire at t (at once if t is past).
func (j *job) armAt(ctx actor.Context, t time.Time) {
	j.disarm()
	j.gen++
	j.nextRun = t
	root, self, gen := ctx.ActorSystem().Root, ctx.Self(), j.gen
	j.timer = time.AfterFunc(time.Until(t), func() { root.Send(self, &tick{gen: gen}) })
	j.armBlank(ctx, t, gen)
}

// disarm stops the timer; a tick already sent is ignored by its gen.
func (j *job) disarm() {
	j.hist.reload = false
	if j.timer != nil {
		j.timer.Stop()
		j.timer = nil
	}
	j.stopBlankTimer()
	j.gen++
}

// armStart arms the timer when the job starts and queues the points that
// catch_up says to run after downtime (never for a paused job).
func (j *job) armStart(ctx actor.Context) {
	j.armInitial(ctx)
	tm := j.timing()
	if j.sched == nil || j.paused || j.rt.coord.Node() != "" {
		// In a cluster the job's owner catches up from the cluster's
		// cursor when it takes the job (clustercatchup.go).
		return
	}
	if tm.CatchUp == config.CatchUpNone {
		// The cursor read from the logs is never before the state file's,
		// so when no point fell due after that one and the last run, none
		// did after the real cursor either: the newest logs are opened
		// only when a point may have been missed (100,000 jobs with logs:
		// 300,000 opens saved at start).
		if j.rt.history != nil && len(j.logs) > 0 && j.dueSince(later(j.tk.cursor, j.lastRun)) {
			last := j.histMissed(ctx, later(j.recoverCursor(), j.lastRun))
			j.tk.cursor = later(last, j.tk.cursor) // the points are taken: not recorded again at the next start
		}
		return
	}
	cursor := j.recoverCursor()
	defer func() { j.histMissed(ctx, later(cursor, j.lastRun)) }()
	plan := catchUpPlan{policy: tm.CatchUp, window: tm.CatchUpWindow, max: tm.CatchUpMax}
	for _, t := range plan.points(j.sched, cursor, time.Now()) {
		j.tk.backlog = append(j.tk.backlog, duePoint{nominal: t, fire: t, reason: triggerCatchUp})
	}
	if len(j.tk.backlog) > 0 {
		j.log.Info("catch-up after downtime", string(j.kind), j.id, "points", len(j.tk.backlog), "cursor", cursor)
		j.armAfterRun(ctx)
	}
}

// dueSince reports whether a schedule point of the job fell due after t
// and not after now.
func (j *job) dueSince(t time.Time) bool {
	next := j.sched.Next(t)
	return !next.IsZero() && !next.After(time.Now())
}

// recoverCursor returns the job's cursor after a start: the later of the
// state file's and the scheduled_at of the newest logs (a server killed
// before it could save its state leaves it there); the last run when
// neither has one.
func (j *job) recoverCursor() time.Time {
	c := j.tk.cursor
	for i := len(j.logs) - 1; i >= 0 && i >= len(j.logs)-3; i-- {
		f, err := j.store.Open(j.kind, j.id, j.logs[i].Name)
		if err != nil {
			continue
		}
		line, _ := bufio.NewReaderSize(f, 256).ReadString('\n')
		f.Close()
		if t, ok := scheduledAt(line); ok && t.After(c) {
			c = t
		}
	}
	if c.IsZero() {
		c = j.lastRun
	}
	j.tk.cursor = c
	return c
}

// armInitial arms the timer at start and after a reload (SPEC 8.2, 8.3):
// an interval job whose last run is older than its interval (or that never
// ran) runs at once; a schedule job waits for the first point strictly
// after now, plus its jitter.
func (j *job) armInitial(ctx actor.Context) {
	t := time.Now()
	switch {
	case j.sched != nil:
		j.tk.due = nextDue(j.sched, t, j.id, j.timing().Jitter)
		if !j.tk.due.fire.IsZero() {
			j.armAt(ctx, j.tk.due.fire)
		}
	case j.interval > 0:
		due := j.lastRun.Add(j.interval)
		if j.lastRun.IsZero() || !due.After(t) {
			due = t
		}
		j.armAt(ctx, due)
	}
}

// armAfterRun re-arms an interval job's timer from the end of the run that
// just finished (or was skipped). Schedule timers run independently; an
// idle schedule job starts its next catch-up point, if any.
func (j *job) armAfterRun(ctx actor.Context) {
	if j.startRerun(ctx) {
		return
	}
	switch {
	case j.sched == nil && j.interval > 0:
		j.armAt(ctx, time.Now().Add(j.interval))
	case j.sched == nil || len(j.tk.backlog) == 0:
	case j.paused || j.stopping || j.retiring:
		j.tk.backlog = nil
	case !j.busy():
		j.tk.run, j.tk.backlog = j.tk.backlog[0], j.tk.backlog[1:]
		j.requestSlot(ctx)
	}
}

// cursorToNow moves the cursor of a catch-up job to now, on pause and on
// resume: points that fall while the job is paused are never caught up.
func (j *job) cursorToNow() {
	if j.sched != nil && j.timing().CatchUp != config.CatchUpNone {
		j.tk.cursor = later(j.tk.cursor, time.Now())
	}
}

// takeDue returns the point of the run that starts now (zero for a
// trigger) and moves the cursor to it.
func (j *job) takeDue() duePoint {
	d := j.tk.run
	j.tk.run = duePoint{}
	if d.nominal.After(j.tk.cursor) {
		j.tk.cursor = d.nominal
	}
	return d
}

// onTick handles the timer firing. A paused job only moves next_run on
// (IMP-17: no log, no counter).
func (j *job) onTick(ctx actor.Context) {
	j.timer = nil
	if j.stopping {
		return
	}
	if s := j.sched; s != nil {
		d := j.tk.due
		if d.nominal.After(j.tk.cursor) {
			j.tk.cursor = d.nominal // taken, whether it runs, waits or is dropped
		}
		next := nextDue(s, d.nominal, j.id, j.timing().Jitter)
		if t := time.Now(); !next.fire.IsZero() && next.fire.Before(t) {
			next = nextDue(s, t, j.id, j.timing().Jitter) // the machine slept: do not catch up
		}
		if j.tk.due = next; !next.fire.IsZero() {
			j.armAt(ctx, next.fire)
		}
		if !j.paused {
			j.onScheduleTick(ctx, d)
		} else {
			j.histSkipped(ctx, skipPaused, d.nominal)
		}
		j.publish(ctx)
		return
	}
	if j.interval <= 0 {
		return
	}
	byReload := j.hist.reload
	j.hist.reload = false
	switch {
	case j.paused:
		j.histSkipped(ctx, skipPaused, time.Now())
		j.armAt(ctx, time.Now().Add(j.interval))
	case j.busy():
		// A run started by a trigger re-arms the timer when it ends.
	default:
		j.hist.byReload = byReload
		j.requestSlot(ctx)
	}
	j.publish(ctx)
}
