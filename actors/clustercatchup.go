package actors

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/karajo/karajo/actors/cluster"
	"github.com/karajo/karajo/config"
	"github.com/karajo/karajo/config/schedule"
)

// A cluster's catch-up and its re-runs of lost runs, on the job actor's
// side. The coordinator tells the owner of a job the cluster's cursor
// when the owner becomes able to start runs again (it took the job over,
// or reached etcd again); the job's catch_up rule picks the points to run
// and each is claimed with its point, like a timer's, so no point runs
// twice. A run lost with its node is run again by the job's new owner
// when the job's retries allow it, as the next attempt of that run.

// lostRerun marks a duePoint as the re-run of a run lost with its node.
type lostRerun struct {
	counter int64  // the lost run's
	node    string // the node lost with it
	attempt int    // the attempt the re-run begins with
}

// firstAttempt is the attempt a run for d begins with: 1, or the one
// after the lost run's for a re-run.
func (d duePoint) firstAttempt() int {
	if d.lost != nil {
		return d.lost.attempt
	}
	return 1
}

// rerunNote is the line after the first one of a re-run's log; "" for
// other runs.
func (d duePoint) rerunNote(id string) string {
	if d.lost == nil {
		return ""
	}
	return fmt.Sprintf("=== job: %s: re-run of run #%d, interrupted with node %s", id, d.lost.counter, d.lost.node)
}

// clusterCatchUp queues the points after the cluster's cursor that the
// job's catch_up rule runs (none with catch_up = "none"), and starts the
// first when the job is idle.
func (j *job) clusterCatchUp(ctx actor.Context, cursor time.Time) {
	tm := j.timing()
	if j.sched == nil || j.paused || j.stopping || j.retiring {
		return
	}
	plan := catchUpPlan{policy: tm.CatchUp, window: tm.CatchUpWindow, max: tm.CatchUpMax}
	var added int
	if j.tk.backlog, added = clusterBacklog(plan, j.sched, j.tk.backlog, cursor, time.Now()); added == 0 {
		return
	}
	j.log.Info("catch-up in the cluster", string(j.kind), j.id, "points", added, "cursor", cursor)
	if !j.busy() {
		j.armAfterRun(ctx)
	}
	j.publish(ctx)
}

// clusterBacklog returns the catch-up backlog once the cluster told the
// cursor: the points plan runs after cursor up to now, added to backlog
// (which they replace under "latest": only the newest runs) unless
// already queued, the newest plan.max kept; added counts the new points.
func clusterBacklog(plan catchUpPlan, s schedule.Schedule, backlog []duePoint, cursor, now time.Time) (out []duePoint, added int) {
	pts := plan.points(s, cursor, now)
	if len(pts) == 0 {
		return backlog, 0
	}
	if plan.policy == config.CatchUpLatest {
		backlog = nil
	}
	last := cursor
	if n := len(backlog); n > 0 {
		last = later(last, backlog[n-1].nominal)
	}
	for _, t := range pts {
		if t.After(last) {
			backlog = append(backlog, duePoint{nominal: t, fire: t, reason: triggerCatchUp})
			added++
		}
	}
	return backlog[max(0, len(backlog)-max(plan.max, 1)):], added
}

// rerunLost decides whether a run lost with its node runs again
// (lostRetry) and, if so, brings it back after the retry delay. It
// returns the line the lost run's log ends with; "" for none.
func (j *job) rerunLost(ctx actor.Context, lr cluster.LostRun) string {
	if j.exec == nil || j.stopping || j.retiring {
		return ""
	}
	p := newRetryPolicy(j.exec.RunControl)
	d, wait, line := lostRetry(p, j.id, lr, rand.Float64())
	switch {
	case d != nil:
		j.log.Info("run lost with its node: run again per its retries", string(j.kind), j.id, "counter", lr.Counter,
			"attempt", d.lost.attempt, "in", wait.Round(time.Millisecond))
		root, self := ctx.ActorSystem().Root, ctx.Self()
		time.AfterFunc(wait, func() { root.Send(self, &clusterEvent{rerun: d}) })
	case line != "":
		j.log.Warn("run lost with its node not run again: its webhook's request was on that node", string(j.kind), j.id,
			"counter", lr.Counter, "node", lr.Node)
	}
	return line
}

// lostRetry decides what follows a run lost with its node under the
// job's retry policy p, the lost attempt counting as failed: d is the
// re-run (nil for none), due after wait, beginning at the next attempt;
// a run that held a webhook's request (kept on the lost node) is not run
// again. line ends the lost run's log ("" for nothing to say).
func lostRetry(p retryPolicy, id string, lr cluster.LostRun, rnd float64) (d *duePoint, wait time.Duration, line string) {
	attempt := max(lr.Attempt, 1)
	again, wait := p.next(attempt, outcomeFailed, rnd)
	switch {
	case !again:
		return nil, 0, ""
	case lr.Payload:
		return nil, 0, fmt.Sprintf("??? job: %s: no further attempt: the webhook's request was on node %s", id, lr.Node)
	}
	d = &duePoint{nominal: lr.Scheduled, fire: lr.Scheduled, reason: lr.Trigger,
		lost: &lostRerun{counter: lr.Counter, node: lr.Node, attempt: attempt + 1}}
	return d, wait, fmt.Sprintf("=== job: %s: attempt %d/%d follows as a new run in %v", id, attempt+1, p.attempts(), wait.Round(time.Millisecond))
}

// startRerun starts the oldest re-run due when the job is idle; it tells
// whether it did. A paused, stopping or removed job drops them.
func (j *job) startRerun(ctx actor.Context) bool {
	switch {
	case len(j.tk.reruns) == 0 || j.busy():
		return false
	case j.paused || j.stopping || j.retiring:
		j.tk.reruns = nil
		return false
	}
	j.tk.run, j.tk.reruns = j.tk.reruns[0], j.tk.reruns[1:]
	j.requestSlot(ctx)
	return true
}
