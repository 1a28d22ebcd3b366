package actors

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// The timer of a job: a time.AfterFunc whose goroutine only sends a tick
// message built from copies. Each arm bumps gen, so a tick from a timer
// that was disarmed after it fired is recognised and ignored.
//
// The timer fires at the exact instant (no rounding): a schedule point is a
// whole minute, an interval run is due interval after the exact end of the
// previous run. Only the reported next_run is rounded to the second.

// armAt arms the timer to fire at t (at once if t is past).
func (j *job) armAt(ctx actor.Context, t time.Time) {
	j.disarm()
	j.gen++
	j.nextRun = t
	root, self, gen := ctx.ActorSystem().Root, ctx.Self(), j.gen
	j.timer = time.AfterFunc(time.Until(t), func() { root.Send(self, &tick{gen: gen}) })
}

// disarm stops the timer; a tick already sent is ignored by its gen.
func (j *job) disarm() {
	if j.timer != nil {
		j.timer.Stop()
		j.timer = nil
	}
	j.gen++
}

// armInitial arms the timer at start (SPEC 8.2, 8.3): an interval job whose
// last run is older than its interval (or that never ran) runs at once; a
// schedule job waits for the first point strictly after now.
func (j *job) armInitial(ctx actor.Context) {
	t := time.Now()
	switch {
	case j.sched != nil:
		j.armAt(ctx, j.sched.Next(t))
	case j.interval > 0:
		due := j.lastRun.Add(j.interval)
		if j.lastRun.IsZero() || !due.After(t) {
			due = t
		}
		j.armAt(ctx, due)
	}
}

// armAfterRun re-arms an interval job's timer from the end of the run that
// just finished (or was skipped). Schedule timers run independently.
func (j *job) armAfterRun(ctx actor.Context) {
	if j.sched == nil && j.interval > 0 {
		j.armAt(ctx, time.Now().Add(j.interval))
	}
}

// onTick handles the timer firing. A paused job only moves next_run on
// (IMP-17: no log, no counter).
func (j *job) onTick(ctx actor.Context) {
	j.timer = nil
	if j.stopping {
		return
	}
	if s := j.sched; s != nil {
		next := s.Next(j.nextRun)
		if t := time.Now(); next.Before(t) {
			next = s.Next(t) // the machine slept: do not catch up
		}
		j.armAt(ctx, next)
		switch {
		case j.paused:
		case j.busy():
			j.pendingTick = true
		default:
			j.requestSlot(ctx)
		}
		j.publish(ctx)
		return
	}
	if j.interval <= 0 {
		return
	}
	switch {
	case j.paused:
		j.armAt(ctx, time.Now().Add(j.interval))
	case j.busy():
		// A run started by a trigger re-arms the timer when it ends.
	default:
		j.requestSlot(ctx)
	}
	j.publish(ctx)
}
