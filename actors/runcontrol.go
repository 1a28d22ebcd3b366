package actors

import (
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/karajo/karajo/config"
)

// This file holds the job actor's side of run control: it keeps the state
// and performs what the policies of policy.go decide.

// phase returns where the job stands, for the overlap policy.
func (j *job) phase() jobPhase {
	switch {
	case j.run != nil && j.retrying:
		return phaseRetryPending
	case j.run != nil:
		return phaseRunning
	case j.waiting:
		return phaseWaiting
	case j.flushFull():
		return phaseRunning // the next run waits for a flushing one (pipeline.go)
	}
	return phaseIdle
}

// onScheduleTick decides what a schedule tick does while the job is not
// paused.
func (j *job) onScheduleTick(ctx actor.Context, d duePoint) {
	switch j.policy.decide(byTick, j.phase(), j.inFlight(), j.pendingTick) {
	case actStart:
		j.tk.run = d
		j.requestSlot(ctx)
	case actQueue:
		j.histPendingTick(ctx, d)
		j.pendingTick, j.tk.pending = true, d
	case actReplace:
		j.histPendingTick(ctx, d)
		j.pendingTick, j.tk.pending = true, d
		j.rt.metrics.overlapped(j.id, "tick", "replace")
		j.endRunInProgress(ctx, "replaced by a schedule tick")
	case actSkip:
		j.rt.metrics.overlapped(j.id, "tick", "skip")
		j.histSkipped(ctx, skipOverlap, d.nominal)
	default:
		j.rt.metrics.overlapped(j.id, "tick", "drop")
		j.histSkipped(ctx, skipPending, d.nominal)
	}
}

// endRunInProgress ends the run in progress: its attempt is canceled, or,
// when it waits for its next attempt, it is recorded as it stood.
func (j *job) endRunInProgress(ctx actor.Context, why string) {
	switch {
	case j.run == nil:
	case j.retrying:
		j.stopRetryTimer()
		if j.waiting {
			j.waiting = false
			j.releaseSlot(ctx)
		}
		j.retrying = false
		ctx.Send(j.run, &endRun{why: why})
	default:
		ctx.Send(j.run, &cancelRun{})
	}
}

// stopRetryTimer stops the retry timer; a retryDue already sent is
// ignored by its gen.
func (j *job) stopRetryTimer() {
	if j.retryTimer != nil {
		j.retryTimer.Stop()
		j.retryTimer = nil
	}
	j.retryGen++
}

// onRetryPending handles the end of an attempt that gets another one: the
// slot goes back at once and a timer (no goroutine) brings the run back
// when the delay has passed.
func (j *job) onRetryPending(ctx actor.Context, msg *runFinished) {
	j.releaseSlot(ctx)
	j.retrying = true
	j.attempt = msg.attempt + 1
	j.retryDue = time.Now().Add(msg.retryIn)
	j.histAttemptEnd(ctx, &j.hist.attempt, msg)
	j.hist.attempt = j.histRetry(ctx, msg.counter, j.attempt, j.retryDue)
	j.stopRetryTimer()
	root, self, gen := ctx.ActorSystem().Root, ctx.Self(), j.retryGen
	j.retryTimer = time.AfterFunc(msg.retryIn, func() { root.Send(self, &retryDue{gen: gen}) })
	j.log.Info("run waits for its next attempt", string(j.kind), j.id, "counter", msg.counter,
		"attempt", j.attempt, "in", msg.retryIn.Round(time.Millisecond), "err", msg.err)
	switch {
	case j.stopping:
		j.endRunInProgress(ctx, "karajo stops")
	case j.retiring:
		j.endRunInProgress(ctx, "removed from the configuration")
	case j.paused:
		j.endRunInProgress(ctx, "paused")
	}
	j.publish(ctx)
}

// onRetryDue asks for a slot (FIFO with every other run) for the next
// attempt.
func (j *job) onRetryDue(ctx actor.Context, gen uint64) {
	if gen != j.retryGen || !j.retrying || j.run == nil {
		return
	}
	j.retryTimer = nil
	j.waiting = true
	j.waitSince = time.Now()
	ctx.Send(j.sup, &acquireSlot{job: ctx.Self(), id: j.id, retry: true})
	j.publish(ctx)
}

// resumeRun starts the next attempt of the run in progress with the slot
// just granted.
func (j *job) resumeRun(ctx actor.Context) {
	if !j.retrying {
		j.releaseSlot(ctx) // the run was ended meanwhile
		return
	}
	j.retrying = false
	j.attemptAt = time.Now()
	j.histAttemptStart(ctx, &j.hist.attempt, j.attemptAt)
	j.clusterAttempt(j.runCounter, j.attempt) // clusterhook.go
	ctx.Send(j.run, &nextAttempt{})
	j.publish(ctx)
}

// cancel handles Cancel: it drops the trigger and tick waiting behind the
// run, withdraws a run waiting for a slot, and ends the run in progress;
// the answer waits until that run has ended (at most kill_grace + 1 s,
// and 8 s).
func (j *job) cancel(ctx actor.Context) {
	j.pendingTrigger, j.pendingTick = false, false
	j.nextTrigger = ""
	j.setNextPayload(nil)
	if len(j.par.runs) > 0 {
		j.parCancel(ctx) // parallel.go
		return
	}
	if j.run == nil {
		if j.waiting {
			j.waiting = false
			j.waitTrigger = ""
			j.histDropWait(ctx, dropCanceled)
			j.dropReserved()
			j.releaseSlot(ctx)
			j.armAfterRun(ctx)
			j.publish(ctx)
		}
		ctx.Respond(j.reply())
		return
	}
	j.endRunInProgress(ctx, "canceled")
	j.awaitEnd(ctx)
}

// awaitEnd keeps a Cancel's answer until the job's runs have ended (at
// most kill_grace + 1 s, and 8 s).
func (j *job) awaitEnd(ctx actor.Context) {
	if ctx.Sender() == nil {
		return
	}
	j.cancelWaiters = append(j.cancelWaiters, ctx.Sender())
	root, self := ctx.ActorSystem().Root, ctx.Self()
	wait := min(j.rt.killGrace()+time.Second, maxCancelWait)
	time.AfterFunc(wait, func() { root.Send(self, &cancelAnswerDue{}) })
}

// maxCancelWait bounds how long a Cancel's answer waits for the run to
// end, below the API's 10 s wait for an actor's answer.
const maxCancelWait = 8 * time.Second

// answerCancel answers every Cancel waiting for the run to end with the
// job as it is now.
func (j *job) answerCancel(ctx actor.Context) {
	if len(j.cancelWaiters) == 0 {
		return
	}
	v := j.reply()
	for _, w := range j.cancelWaiters {
		ctx.Send(w, v)
	}
	j.cancelWaiters = nil
}

// killGrace returns kill_grace, or the package default.
func (rt runtime) killGrace() time.Duration {
	if rt.grace > 0 {
		return rt.grace
	}
	return killGrace
}

// setRunCounter records in a Trigger's answer the counter its run got or
// queued as.
func setRunCounter(v any, counter int64) {
	switch v := v.(type) {
	case *JobView:
		v.RunCounter = counter
	case *JobHTTPView:
		v.RunCounter = counter
	}
}

// runTriggerEnv maps a run's trigger reason to KARAJO_RUN_TRIGGER: timer,
// catch-up, webhook or api (run_now and the session's Run).
func runTriggerEnv(reason string) string {
	switch {
	case reason == triggerTimer, reason == triggerCatchUp, reason == "webhook":
		return reason
	case reason == "", strings.HasPrefix(reason, "tick"):
		return "timer"
	}
	return "api"
}

// runControlView fills the run control fields of an exec job's view.
func (j *job) runControlView(v *JobView) {
	c := j.exec
	v.Timeout, v.Overlap, v.Retries = c.Timeout, c.Overlap, c.Retries
	v.InProgress = j.flushing.counters() // ended, not yet reported (pipeline.go)
	if j.run != nil {
		v.InProgress = append(v.InProgress, j.runCounter)
		v.Attempt = j.attempt
	}
	if len(j.par.runs) > 0 || j.parallel() {
		j.parView(v)
		return
	}
	switch {
	case j.retrying && j.waiting, j.waiting && j.run == nil:
		v.WaitingFor = "slot"
	case j.retrying:
		v.WaitingFor = "retry"
	}
	if j.retrying {
		due := roundTime(j.retryDue)
		v.NextAttempt = &due
	}
}

// execBegin returns the first line of an exec run's log: the schedule's
// (duePoint.beginLine) for a scheduled run; for another run of a job that
// uses a key added after v0.9.3, "=== BEGIN trigger=<trigger>" and the
// user of a session; v0.9.3's "=== BEGIN" otherwise.
func execBegin(d duePoint, cfg *config.Job, reason string) string {
	newKeys := cfg.NewKeys || cfg.Configured
	if !d.nominal.IsZero() || !newKeys {
		return d.beginLine(newKeys)
	}
	line := beginPrefix + " trigger=" + runTriggerEnv(reason)
	if user, ok := strings.CutPrefix(reason, "session:"); ok {
		line += " user=" + user
	}
	return line
}
