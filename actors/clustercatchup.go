package actors

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/karajo/karajo/actors/cluster"
	"github.com/karajo/karajo/config"
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
	if j.sched == nil || j.paused || j.stopping || j.retiring || tm.CatchUp == config.CatchUpNone || tm.CatchUp == "" {
		return
	}
	plan := catchUpPlan{policy: tm.CatchUp, window: tm.CatchUpWindow, max: tm.CatchUpMax}
	if tm.CatchUp == config.CatchUpLatest {
		j.tk.backlog = nil // only the newest point runs
	}
	last := cursor
	if n := len(j.tk.backlog); n > 0 {
		last = later(last, j.tk.backlog[n-1].nominal)
	}
	added := 0
	for _, t := range plan.points(j.sched, cursor, time.Now()) {
		if t.After(last) {
			j.tk.backlog = append(j.tk.backlog, duePoint{nominal: t, fire: t, reason: triggerCatchUp})
			added++
		}
	}
	j.tk.backlog = j.tk.backlog[max(0, len(j.tk.backlog)-max(plan.max, 1)):]
	if added == 0 {
		return
	}
	j.log.Info("catch-up in the cluster", string(j.kind), j.id, "points", added, "cursor", cursor)
	if !j.busy() {
		j.armAfterRun(ctx)
	}
	j.publish(ctx)
}

// rerunLost decides whether a run lost with its node runs again: only an
// exec job's, when its retries allow another attempt after the one lost
// (counted as failed), and not when the run held a webhook's request
// (kept on the lost node). The re-run comes after the retry delay. It
// returns the line the lost run's log ends with; "" for none.
func (j *job) rerunLost(ctx actor.Context, lr cluster.LostRun) string {
	if j.exec == nil || j.stopping || j.retiring {
		return ""
	}
	p := newRetryPolicy(j.exec.RunControl)
	attempt := max(lr.Attempt, 1)
	again, wait := p.next(attempt, outcomeFailed, rand.Float64())
	switch {
	case !again:
		return ""
	case lr.Payload:
		j.log.Warn("run lost with its node not run again: its webhook's request was on that node", string(j.kind), j.id,
			"counter", lr.Counter, "node", lr.Node)
		return fmt.Sprintf("??? job: %s: no further attempt: the webhook's request was on node %s", j.id, lr.Node)
	}
	d := duePoint{nominal: lr.Scheduled, fire: lr.Scheduled, reason: lr.Trigger,
		lost: &lostRerun{counter: lr.Counter, node: lr.Node, attempt: attempt + 1}}
	j.log.Info("run lost with its node: run again per its retries", string(j.kind), j.id, "counter", lr.Counter,
		"attempt", attempt+1, "in", wait.Round(time.Millisecond))
	root, self := ctx.ActorSystem().Root, ctx.Self()
	time.AfterFunc(wait, func() { root.Send(self, &clusterEvent{rerun: &d}) })
	return fmt.Sprintf("=== job: %s: attempt %d/%d follows as a new run in %v", j.id, attempt+1, p.attempts(), wait.Round(time.Millisecond))
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
