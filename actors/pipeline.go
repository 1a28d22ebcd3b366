package actors

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/karajo/karajo/logstore/history"
)

// This file holds the job actor's side of pipelined durability (issue
// 10). A run ends in two steps:
//
//  1. Its commands have ended (the process group and the escaped
//     processes are gone, the last line is written) and its log is sealed:
//     queued for the store's group commit (logstore.RunLog.Seal). The run
//     child sends runExited. The job gives the global slot back and
//     forgets the run's process group; the trigger or tick waiting behind
//     the run may start now, while the log is being flushed.
//  2. Its log is durable and has its final name. The run child sends
//     runFinished, and only now is the run reported: the job's status,
//     last_run, the log's final name and status in the job's list, the
//     metrics, the history, the notifications, the server's log line, the
//     answers to Cancel and to a stop.
//
// Between the two the run is "flushing": it is still in progress for
// every reader (its log shows status running under its in-progress name,
// the job shows running, its counter is in in_progress) but it holds no
// slot and runs nothing. Runs are reported in counter order: a run whose
// log became durable before an older one's waits for it (the group commit
// makes logs durable in the order they were sealed, but their runFinished
// messages come from different goroutines).
//
// At most maxFlushing runs of a job flush while another runs: when the
// disk is slower than the commands, the next run waits for the oldest
// flushing run to be reported instead of piling up unreported runs.
//
// Parallel jobs (overlap = "parallel") do not pipeline: each of their runs
// ends in one step, as before (their runs overlap anyway).

// maxFlushing is how many runs of a job may wait for their log's flush
// while the next run runs.
var maxFlushing = 1

// flushRun is a run whose commands have ended and whose log waits for the
// group commit.
type flushRun struct {
	counter int64
	pid     *actor.PID     // its run child, stopped once it is reported
	hist    history.Record // its history record (histStart)
	attempt history.Record // the history record of its last retry attempt (history.go), if any
	fin     *runFinished   // its report, once its log is durable; nil before
}

// flushQueue is a job's flushing runs, oldest (lowest counter) first. It
// decides the order of the reports: a run is reported once its own log and
// the logs of every older flushing run are durable.
type flushQueue []*flushRun

// push adds the run that just ended its commands: the newest.
func (q *flushQueue) push(r *flushRun) { *q = append(*q, r) }

// durable takes the report of run counter, whose log is durable, and
// returns the runs to report now, oldest first (none while an older one
// still flushes). known is false for a counter the queue does not hold.
func (q *flushQueue) durable(counter int64, fin *runFinished) (ready []*flushRun, known bool) {
	for _, r := range *q {
		if r.counter == counter {
			r.fin, known = fin, true
		}
	}
	n := 0
	for n < len(*q) && (*q)[n].fin != nil {
		n++
	}
	ready = append(ready, (*q)[:n]...)
	*q = append((*q)[:0], (*q)[n:]...)
	return ready, known
}

// counters returns the counters of the flushing runs, oldest first.
func (q flushQueue) counters() []int64 {
	if len(q) == 0 {
		return nil
	}
	c := make([]int64, len(q))
	for i, r := range q {
		c[i] = r.counter
	}
	return c
}

// onExited handles runExited: the run in progress has ended its commands
// and sealed its log.
func (j *job) onExited(ctx actor.Context, msg *runExited) {
	if j.run == nil || j.retrying || msg.counter != j.runCounter {
		return // a parallel run's, or one that ended otherwise
	}
	j.endCommands(ctx)
	j.startNext(ctx)
	j.publish(ctx)
}

// endCommands moves the run in progress to the flushing runs: its slot
// goes back, its process group and payload are gone.
func (j *job) endCommands(ctx actor.Context) {
	j.flushing.push(&flushRun{counter: j.runCounter, pid: j.run, hist: j.hist.run, attempt: j.hist.attempt})
	j.hist.run, j.hist.attempt = history.Record{}, history.Record{}
	j.retrying = false
	j.stopRetryTimer()
	j.run, j.work = nil, nil
	j.runPayload.close()
	j.runPayload = nil
	j.releaseSlot(ctx)
}

// startNext starts the trigger or tick waiting behind the run that ended,
// unless a run is in progress or waits for a slot, the job stops or is
// removed, or too many runs flush. A paused job drops them.
func (j *job) startNext(ctx actor.Context) {
	if j.run != nil || j.waiting || j.stopping || j.retiring || j.flushFull() {
		return
	}
	switch {
	case j.paused:
		j.pendingTrigger, j.pendingTick = false, false
	case j.pendingTrigger:
		j.pendingTrigger = false
		j.waitTrigger, j.nextTrigger = j.nextTrigger, ""
		j.histNextWaits()
		j.waitPayload, j.nextPayload = j.nextPayload, nil
		j.requestSlot(ctx)
	case j.pendingTick:
		j.pendingTick, j.tk.run = false, j.tk.pending
		j.histTickWaits()
		j.requestSlot(ctx)
	}
	if !j.pendingTrigger {
		j.setNextPayload(nil) // its trigger was dropped
	}
	j.histDropNext(ctx)
}

// flushFull tells whether the next run must wait for a flushing run to be
// reported.
func (j *job) flushFull() bool { return len(j.flushing) > maxFlushing }

// onDurable takes the report of a run whose log is durable and reports,
// in counter order, every flushing run whose report is in.
func (j *job) onDurable(ctx actor.Context, msg *runFinished) {
	if j.run != nil && msg.counter == j.runCounter {
		j.endCommands(ctx) // ended without runExited (its log was not sealed, or an emergency stop)
	}
	ready, known := j.flushing.durable(msg.counter, msg)
	if !known { // not expected: recorded as it comes
		j.log.Warn("job: report of a run it does not know", string(j.kind), j.id, "counter", msg.counter)
		j.recordRun(ctx, msg)
	}
	for _, fr := range ready {
		ctx.Stop(fr.pid)
		j.finishClaim(fr.counter)
		j.recordRun(ctx, fr.fin)
		j.histEnd(ctx, fr.hist, fr.fin)
		j.histAttemptEnd(ctx, &fr.attempt, fr.fin)
	}
	j.afterRun(ctx)
}

// exitedFunc returns what the run child of run counter calls once its
// commands ended and its log is sealed: it sends runExited. A parallel
// job's runs end in one step (nil).
func (j *job) exitedFunc(ctx actor.Context, counter int64) func() {
	if j.parallel() {
		return nil
	}
	root, self := ctx.ActorSystem().Root, ctx.Self()
	return func() { root.Send(self, &runExited{counter: counter}) }
}
