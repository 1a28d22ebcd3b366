package actors

import (
	"cmp"
	"slices"
	"strconv"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/karajo/karajo/config"
	"github.com/karajo/karajo/logstore"
	"github.com/karajo/karajo/logstore/history"
)

// This file holds the job actor's side of overlap = "parallel": up to
// max_parallel runs of one exec job at once, each with its own counter,
// log, process group, timeout, retries, run token and global slot (the
// supervisor counts each against max_job_running). The policy (policy.go)
// decides when another run starts; beyond max_parallel it is "queue".
//
// A parallel run takes its counter and creates its log when it is asked
// for, not when its slot comes: several may wait for a slot at once, and
// each trigger's answer names its own counter. The runs waiting for their
// first slot hold the highest counters (slots are granted in FIFO order);
// when they are withdrawn (cancel, pause, shutdown, removal) all are
// withdrawn at once, newest first, and their counters are given back, so
// the counters of the runs that happen have no gap.
//
// The job's own single-run fields (run, waiting, retrying…) stay unused
// by a parallel job; its runs are in par.

// parRun is one run of a parallel job, from the moment it asks for a slot
// until it has ended.
type parRun struct {
	key        string           // of its slot at the supervisor
	counter    int64            // its counter, taken when it was asked for
	rl         *logstore.RunLog // its log until it starts
	due        duePoint         // the schedule point it runs for; zero for a trigger
	trigger    string           // what started it (Trigger.Reason or "timer")
	payload    *Payload         // of its webhook; nil for none
	hist       history.Record   // its history record once started
	queued     history.Record   // its "queued" history record while it waits for its first slot
	attemptRec history.Record   // the history record of its retry attempt (history.go), if any
	by         history.Trigger  // the history's view of its trigger

	waiting   bool      // asked for a slot (its first, or for its next attempt)
	since     time.Time // when it asked
	pid       *actor.PID
	work      *execRun
	attempt   int
	startedAt time.Time
	attemptAt time.Time

	retrying   bool // waits for its next attempt (its child idle)
	retryTimer *time.Timer
	retryGen   uint64
	retryDue   time.Time
}

// parallelRuns is a parallel job's runs in flight, oldest first.
type parallelRuns struct {
	runs []*parRun
	seq  uint64 // numbers the slot keys
	gen  uint64 // numbers the retry timers
}

// byCounter returns the run with counter c, or nil.
func (p *parallelRuns) byCounter(c int64) *parRun {
	for _, r := range p.runs {
		if r.counter == c {
			return r
		}
	}
	return nil
}

// byKey returns the run whose slot key is k, or nil.
func (p *parallelRuns) byKey(k string) *parRun {
	for _, r := range p.runs {
		if r.key == k {
			return r
		}
	}
	return nil
}

// remove forgets r.
func (p *parallelRuns) remove(r *parRun) {
	p.runs = slices.DeleteFunc(p.runs, func(x *parRun) bool { return x == r })
}

// started counts the runs whose child exists (running or between attempts).
func (p *parallelRuns) started() int {
	n := 0
	for _, r := range p.runs {
		if r.pid != nil {
			n++
		}
	}
	return n
}

// waitingFirst tells whether a run waits for its first slot.
func (p *parallelRuns) waitingFirst() bool {
	return slices.ContainsFunc(p.runs, func(r *parRun) bool { return r.pid == nil })
}

// stopTimers stops every retry timer (the actor stops or restarts).
func (p *parallelRuns) stopTimers() {
	for _, r := range p.runs {
		r.stopRetryTimer()
	}
}

func (r *parRun) stopRetryTimer() {
	if r.retryTimer != nil {
		r.retryTimer.Stop()
		r.retryTimer = nil
	}
}

// parallel tells whether the job runs under overlap = "parallel".
func (j *job) parallel() bool {
	return j.kind == logstore.KindJob && j.policy.overlap == config.OverlapParallel
}

// inFlight counts the job's runs waiting for a slot, running or waiting
// for a retry: what max_parallel bounds.
func (j *job) inFlight() int {
	n := len(j.par.runs)
	if j.run != nil || j.waiting {
		n++
	}
	return n
}

// parAsk turns the run the job was about to ask a slot for (the fields
// requestSlot reads: the trigger's reserved log, reason, payload and
// history, or the tick's point) into a parallel run, and asks for its
// slot. The coordinator gives its counter (clusterhook.go: j.counter+1
// on a single host). A run it refuses, or whose log cannot be created
// (recorded by logCreateFailed), does not start.
func (j *job) parAsk(ctx actor.Context) {
	due := j.takeDue()
	counter, ok := j.claim(ctx, due)
	if !ok {
		j.dropReserved()
		j.waitTrigger, j.hist.wait = "", history.Trigger{}
		return
	}
	rl, err := j.takeLog(counter)
	pr := &parRun{counter: counter, rl: rl, due: due, trigger: j.waitTrigger, payload: j.waitPayload, by: j.hist.wait,
		waiting: true, since: time.Now()}
	j.waitTrigger, j.waitPayload, j.hist.wait = "", nil, history.Trigger{}
	if err != nil {
		j.finishClaim(counter)
		j.logCreateFailed(counter, err)
		pr.payload.close()
		return
	}
	pr.queued = j.histQueue(ctx, counter, histTrigger(due, pr.trigger, pr.by), due, pr.since)
	pr.trigger = cmp.Or(pr.trigger, pr.due.reason, "timer")
	j.counter = counter // durable through the log's name
	j.par.seq++
	pr.key = j.id + "\x00" + strconv.FormatUint(j.par.seq, 10)
	j.par.runs = append(j.par.runs, pr)
	ctx.Send(j.sup, &acquireSlot{job: ctx.Self(), id: j.id, key: pr.key})
	j.publish(ctx) // waiting for a slot shows (parallel jobs only: one view more per run)
}

// parOnSlot starts the run whose slot was just granted, or its next
// attempt; a run paused, stopped or removed meanwhile gives it back.
func (j *job) parOnSlot(ctx actor.Context, key string) {
	pr := j.par.byKey(key)
	if pr == nil || !pr.waiting {
		return // withdrawn meanwhile: its releaseSlot returns the slot
	}
	pr.waiting = false
	j.rt.metrics.slotWaited(time.Since(pr.since))
	switch {
	case pr.pid != nil && pr.retrying:
		pr.retrying = false
		pr.attemptAt = time.Now()
		j.histAttemptStart(ctx, &pr.attemptRec, pr.attemptAt)
		j.clusterAttempt(pr.counter, pr.attempt) // clusterhook.go
		ctx.Send(pr.pid, &nextAttempt{})
	case pr.pid != nil:
		j.parRelease(ctx, pr) // the run was ended meanwhile
	case j.stopping || j.paused || j.retiring:
		j.parWithdrawWaiting(ctx)
		if !j.busy() && !j.stopping {
			j.armAfterRun(ctx)
		}
	default:
		j.parStart(ctx, pr)
	}
	j.publish(ctx)
}

// parStart starts run pr with the slot it was granted.
func (j *job) parStart(ctx actor.Context, pr *parRun) {
	if pr.due.nominal.After(j.tk.cursor) {
		j.tk.cursor = pr.due.nominal
	}
	rl := pr.rl
	pr.rl = nil
	j.logs = append(j.logs, logstore.LogRef{JobID: j.id, Counter: pr.counter, Status: StatusRunning, Name: rl.Name()})
	j.status = StatusRunning
	pr.attempt, pr.startedAt = pr.due.firstAttempt(), time.Now()
	pr.attemptAt = pr.startedAt
	pr.pid, pr.work = j.spawnRun(ctx, rl, pr.counter, pr.due, pr.trigger, pr.payload)
	j.rt.metrics.runStarted(string(j.kind), j.id)
	pr.hist = j.histStart(ctx, pr.due, pr.counter, pr.since, pr.startedAt, pr.trigger, pr.by)
	j.log.Info("run started", string(j.kind), j.id, "counter", pr.counter, "trigger", pr.trigger, "parallel", len(j.par.runs))
}

// parRelease gives the slot of pr back (or withdraws its request).
func (j *job) parRelease(ctx actor.Context, pr *parRun) {
	ctx.Send(j.sup, &releaseSlot{id: j.id, key: pr.key})
}

// parWithdrawWaiting withdraws every run that waits for its first slot,
// newest first.
func (j *job) parWithdrawWaiting(ctx actor.Context) {
	for i := len(j.par.runs) - 1; i >= 0; i-- {
		if pr := j.par.runs[i]; pr.pid == nil {
			j.parWithdraw(ctx, pr)
		}
	}
}

// parWithdraw forgets a run that waits for its first slot: its request,
// its log and its payload go, and its counter when it is the last taken.
func (j *job) parWithdraw(ctx actor.Context, pr *parRun) {
	j.histDrop(ctx, pr.queued, j.dropReason())
	if pr.counter == j.counter {
		j.counter--
	}
	j.parRelease(ctx, pr)
	if pr.rl != nil {
		j.discard(pr.rl)
		pr.rl = nil
	}
	pr.payload.close()
	pr.payload = nil
	j.par.remove(pr)
	j.finishClaim(pr.counter)
}

// parEnd ends a run: canceled while it runs, recorded as it stood while
// it waits for its next attempt, withdrawn while it waits for its first
// slot. The runs that were started report runFinished.
func (j *job) parEnd(ctx actor.Context, pr *parRun, why string) {
	switch {
	case pr.pid == nil:
		j.parWithdraw(ctx, pr)
	case pr.retrying:
		pr.stopRetryTimer()
		pr.retryGen = 0
		if pr.waiting {
			pr.waiting = false
			j.parRelease(ctx, pr)
		}
		pr.retrying = false
		ctx.Send(pr.pid, &endRun{why: why})
	default:
		ctx.Send(pr.pid, &cancelRun{})
	}
}

// parEndAll ends every run of a parallel job (cancel, shutdown, removal),
// newest first.
func (j *job) parEndAll(ctx actor.Context, why string) {
	runs := slices.Clone(j.par.runs)
	for i := len(runs) - 1; i >= 0; i-- {
		j.parEnd(ctx, runs[i], why)
	}
}

// parEndRetries ends the runs that wait for their next attempt (pause).
func (j *job) parEndRetries(ctx actor.Context, why string) {
	for _, pr := range slices.Clone(j.par.runs) {
		if pr.retrying {
			j.parEnd(ctx, pr, why)
		}
	}
}

// parRetryPending handles the end of an attempt that gets another one, as
// onRetryPending does for a job's one run.
func (j *job) parRetryPending(ctx actor.Context, pr *parRun, msg *runFinished) {
	j.parRelease(ctx, pr)
	pr.retrying = true
	pr.attempt = msg.attempt + 1
	pr.retryDue = time.Now().Add(msg.retryIn)
	j.histAttemptEnd(ctx, &pr.attemptRec, msg)
	pr.attemptRec = j.histRetry(ctx, pr.counter, pr.attempt, pr.retryDue)
	pr.stopRetryTimer()
	j.par.gen++
	pr.retryGen = j.par.gen
	root, self, due := ctx.ActorSystem().Root, ctx.Self(), &retryDue{gen: pr.retryGen, counter: pr.counter}
	pr.retryTimer = time.AfterFunc(msg.retryIn, func() { root.Send(self, due) })
	j.log.Info("run waits for its next attempt", string(j.kind), j.id, "counter", msg.counter,
		"attempt", pr.attempt, "in", msg.retryIn.Round(time.Millisecond), "err", msg.err)
	switch {
	case j.stopping:
		j.parEnd(ctx, pr, "karajo stops")
	case j.retiring:
		j.parEnd(ctx, pr, "removed from the configuration")
	case j.paused:
		j.parEnd(ctx, pr, "paused")
	}
	j.publish(ctx)
}

// parRetryDue asks for a slot (FIFO with every other run) for the next
// attempt of a parallel run.
func (j *job) parRetryDue(ctx actor.Context, msg *retryDue) {
	pr := j.par.byCounter(msg.counter)
	if pr == nil || !pr.retrying || msg.gen != pr.retryGen {
		return
	}
	pr.retryTimer = nil
	pr.waiting, pr.since = true, time.Now()
	ctx.Send(j.sup, &acquireSlot{job: ctx.Self(), id: j.id, key: pr.key, retry: true})
	j.publish(ctx)
}

// parFinished records the end of a parallel run (or its wait for the
// next attempt) and starts what waited behind it.
func (j *job) parFinished(ctx actor.Context, pr *parRun, msg *runFinished) {
	if msg.again {
		j.parRetryPending(ctx, pr, msg)
		return
	}
	j.par.remove(pr)
	j.finishClaim(pr.counter)
	pr.stopRetryTimer()
	ctx.Stop(pr.pid)
	pr.payload.close()
	pr.payload = nil
	j.parRelease(ctx, pr)
	j.recordRun(ctx, msg)
	j.histEnd(ctx, pr.hist, msg)
	j.histAttemptEnd(ctx, &pr.attemptRec, msg)
	j.afterRun(ctx)
}

// parCancel handles Cancel for a parallel job: every run ends (those
// waiting for a slot are withdrawn) and the trigger and tick waiting
// behind them are dropped; the answer waits until all have ended.
func (j *job) parCancel(ctx actor.Context) {
	j.parEndAll(ctx, "canceled")
	if !j.busy() {
		j.armAfterRun(ctx)
		j.publish(ctx)
		ctx.Respond(j.reply())
		return
	}
	j.publish(ctx)
	j.awaitEnd(ctx)
}

// parView fills the run control fields of a parallel job's view: the
// counters of its started runs; "slot" while one waits for a slot, else
// "retry" while one waits for its next attempt, with the earliest due;
// the attempt of its oldest run.
func (j *job) parView(v *JobView) {
	v.MaxParallel = j.exec.MaxParallel
	var due time.Time
	for _, pr := range j.par.runs {
		switch {
		case pr.waiting:
			v.WaitingFor = "slot"
		case pr.retrying && v.WaitingFor == "":
			v.WaitingFor = "retry"
		}
		if pr.retrying && (due.IsZero() || pr.retryDue.Before(due)) {
			due = pr.retryDue
		}
		if pr.pid == nil {
			continue
		}
		v.InProgress = append(v.InProgress, pr.counter)
		if v.Attempt == 0 {
			v.Attempt = pr.attempt
		}
	}
	if !due.IsZero() {
		d := roundTime(due)
		v.NextAttempt = &d
	}
}

// parRunInfo returns the engine state's facts of each started parallel run.
func (j *job) parRunInfo() []runInfo {
	var out []runInfo
	for _, pr := range j.par.runs {
		if pr.pid == nil {
			continue
		}
		ri := runInfo{Kind: string(j.kind), Trigger: runTriggerEnv(pr.trigger), Counter: pr.counter, Attempt: pr.attempt,
			Started: pr.startedAt, Running: !pr.retrying, RetryWait: pr.retrying}
		switch {
		case pr.retrying:
			ri.RetryDue = pr.retryDue
		case j.exec.Timeout > 0:
			ri.Deadline = pr.attemptAt.Add(j.exec.Timeout)
		}
		if pr.work != nil {
			ri.pgid = &pr.work.pgidHolder
		}
		out = append(out, ri)
	}
	return out
}
