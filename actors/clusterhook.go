package actors

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/karajo/karajo/actors/cluster"
	"github.com/karajo/karajo/config"
	"github.com/karajo/karajo/logstore"
)

// The job actor's hooks into the coordinator (package cluster). On a
// single host the coordinator is cluster.Local: every hook is a no-op
// answer and no etcd code runs.

// nodeVar names the node in every run's environment, in a cluster.
const nodeVar = "KARAJO_NODE"

// clusterJob names the job for the coordinator.
func (j *job) clusterJob() cluster.Job { return cluster.Job{Kind: string(j.kind), ID: j.id} }

// claim asks the coordinator for the counter of the run starting now
// for due (zero: a trigger). ok is false when the run must not start:
// then the reason was recorded (a pause in the cluster, etcd down) or is
// normal (another node owns the job or took the point).
func (j *job) claim(ctx actor.Context, due duePoint) (counter int64, ok bool) {
	point := due.nominal
	if due.lost != nil {
		point = time.Time{} // the lost run took the point: the re-run is claimed like a trigger
	}
	info := cluster.RunInfo{Attempt: due.firstAttempt(), Trigger: cmp.Or(due.reason, runTriggerEnv(cmp.Or(j.waitTrigger, "timer"))),
		Scheduled: due.nominal, Payload: j.waitPayload != nil}
	c, err := j.rt.coord.Begin(context.Background(), j.clusterJob(), point, j.counter+1, info)
	switch {
	case err == nil:
		return c.Counter, true
	case errors.Is(err, cluster.ErrPaused):
		j.log.Info("run not started: paused in the cluster", string(j.kind), j.id)
		_ = j.applyPaused(ctx, true)
	case errors.Is(err, cluster.ErrNotOwner), errors.Is(err, cluster.ErrPointTaken):
		j.log.Debug("run not started", string(j.kind), j.id, "why", err)
	default:
		j.log.Warn("run not started: cluster coordination unavailable", string(j.kind), j.id, "err", err)
		j.lastError = "run not started: " + err.Error()
	}
	return 0, false
}

// skipStart undoes a start that claim refused.
func (j *job) skipStart(ctx actor.Context) {
	j.dropReserved()
	j.releaseSlot(ctx)
	j.armAfterRun(ctx)
	j.publish(ctx)
}

// finishClaim tells the coordinator that run counter ended.
func (j *job) finishClaim(counter int64) {
	j.rt.coord.Finish(cluster.Claim{Job: j.clusterJob(), Counter: counter})
}

// clusterAttempt tells the coordinator that run counter starts attempt
// n, so that a node taking it over after a loss counts the attempts.
func (j *job) clusterAttempt(counter int64, n int) {
	if j.rt.coord.Node() == "" {
		return
	}
	if err := j.rt.coord.Attempt(context.Background(), cluster.Claim{Job: j.clusterJob(), Counter: counter}, n); err != nil {
		j.log.Warn("cluster: record the attempt", string(j.kind), j.id, "counter", counter, "attempt", n, "err", err)
	}
}

// clusterPause records a pause or resume for every node first; the error
// wraps ErrClusterUnavailable.
func (j *job) clusterPause(paused bool) error {
	if err := j.rt.coord.SetPaused(context.Background(), j.clusterJob(), paused); err != nil {
		return fmt.Errorf("job %s: %w: %w", j.id, ErrClusterUnavailable, err)
	}
	return nil
}

// clusterOwner refuses a trigger on a node that does not own the job
// (ErrNotOwner) or has no session with etcd (ErrClusterUnavailable).
func (j *job) clusterOwner() error {
	err := j.rt.coord.Owns(j.clusterJob())
	switch {
	case err == nil:
		return nil
	case errors.Is(err, cluster.ErrNotOwner):
		return fmt.Errorf("job %s: %w: %w", j.id, ErrNotOwner, err)
	}
	return fmt.Errorf("job %s: %w: %w", j.id, ErrClusterUnavailable, err)
}

// nodeVars are the run's cluster variables: KARAJO_NODE in a cluster.
func (j *job) nodeVars() []config.Var {
	if n := j.rt.coord.Node(); n != "" {
		return []config.Var{{Name: nodeVar, Value: n}}
	}
	return nil
}

// nodeBegin adds the node to a log's first line, in a cluster.
func (j *job) nodeBegin(line string) string {
	if n := j.rt.coord.Node(); n != "" {
		return line + " node=" + n
	}
	return line
}

// clusterEvent is what the coordinator tells a job actor: the job's
// paused flag as the cluster holds it, or a run lost with its node.
type clusterEvent struct {
	paused    *bool
	counter   int64 // the job's counter in the cluster (0: not told)
	lost      *cluster.LostRun
	partition bool        // the node lost its session: end the run in progress
	view      *remoteView // another node published the job's view (clusterview.go)
	owned     bool        // this node came to own the job: publish its view
	catchUp   time.Time   // the cluster's cursor, to catch up from (zero: not told)
	rerun     *duePoint   // a lost run's re-run, due now (its retry delay passed)
	keepLost  bool        // the lost run is not run again (partition_policy = "finish")
}

func (j *job) onClusterEvent(ctx actor.Context, ev *clusterEvent) {
	// Runs started elsewhere move the counter here too, so that a trigger
	// answered by this node once it owns the job names the right run.
	j.counter = max(j.counter, ev.counter)
	if ev.paused != nil && *ev.paused != j.paused && !j.stopping && !j.retiring {
		if err := j.applyPaused(ctx, *ev.paused); err != nil {
			j.log.Error("apply the cluster's pause", string(j.kind), j.id, "err", err)
		}
	}
	if ev.lost != nil {
		next := ""
		if !ev.keepLost {
			next = j.rerunLost(ctx, *ev.lost) // clustercatchup.go
		}
		j.recordLost(ctx, *ev.lost, next)
	}
	if !ev.catchUp.IsZero() {
		j.clusterCatchUp(ctx, ev.catchUp) // clustercatchup.go
	}
	if ev.rerun != nil {
		j.tk.reruns = append(j.tk.reruns, *ev.rerun)
		j.startRerun(ctx)
		j.publish(ctx)
	}
	if ev.partition && j.run != nil {
		j.endRunInProgress(ctx, "node cut from the cluster's etcd (partition_policy = kill)")
	}
	if ev.partition {
		j.parEndAll(ctx, "node cut from the cluster's etcd (partition_policy = kill)") // parallel.go
	}
	if ev.view != nil {
		j.onRemoteView(ctx, ev.view)
	}
	if ev.owned {
		j.publish(ctx)
	}
}

// recordLost writes the log of a run whose node was lost mid-run, as
// failed (SPEC 3.2's crash, for a node); next, when not "", is its last
// line (the re-run to follow).
func (j *job) recordLost(ctx actor.Context, lr cluster.LostRun, next string) {
	rl, err := j.createLog(lr.Counter)
	if err != nil {
		j.log.Error("record a run lost with its node", string(j.kind), j.id, "counter", lr.Counter, "err", err)
		return
	}
	_ = rl.Line(j.nodeBegin(beginPrefix))
	_ = rl.Line(fmt.Sprintf("!!! job: %s: interrupted, node %s lost", j.id, lr.Node))
	if next != "" {
		_ = rl.Line(next)
	}
	ref, err := rl.Finish(StatusFailed)
	if err != nil {
		j.log.Error("record a run lost with its node", string(j.kind), j.id, "counter", lr.Counter, "err", err)
		return
	}
	j.counter = max(j.counter, lr.Counter)
	j.logs = insertLog(j.logs, ref)
	j.logs = j.logs[max(0, len(j.logs)-max(j.keep, 1)):]
	j.lastRun = now()
	if j.run == nil && !j.waiting && !j.paused {
		j.status = StatusFailed
	}
	j.lastError = fmt.Sprintf("run #%d interrupted: node %s lost", lr.Counter, lr.Node)
	j.rt.metrics.runFinished(string(j.kind), j.id, StatusFailed, 0, j.lastRun)
	j.log.Warn("run lost with its node", string(j.kind), j.id, "counter", lr.Counter, "node", lr.Node)
	j.publish(ctx)
}

// insertLog puts ref in logs, kept sorted by counter.
func insertLog(logs []logstore.LogRef, ref logstore.LogRef) []logstore.LogRef {
	i := len(logs)
	for i > 0 && logs[i-1].Counter > ref.Counter {
		i--
	}
	logs = append(logs, logstore.LogRef{})
	copy(logs[i+1:], logs[i:])
	logs[i] = ref
	return logs
}

// clusterListener forwards the coordinator's events to the job actors.
type clusterListener struct{ e *Engine }

func (l clusterListener) pid(j cluster.Job) (*actor.PID, bool) {
	if j.Kind == string(logstore.KindJobHTTP) {
		return l.e.JobHTTP(j.ID)
	}
	return l.e.Job(j.ID)
}

// Lost implements cluster.Listener.
func (l clusterListener) Lost(lr cluster.LostRun) {
	if pid, ok := l.pid(lr.Job); ok {
		// With partition_policy = "finish" a node cut from etcd lets its
		// runs go on: a run reported lost may still be running there, so
		// it is not run again.
		l.e.root.Send(pid, &clusterEvent{lost: &lr, keepLost: l.e.partitionPolicy == "finish"})
	}
}

// State implements cluster.Listener.
func (l clusterListener) State(j cluster.Job, counter int64, paused bool) {
	if pid, ok := l.pid(j); ok {
		l.e.root.Send(pid, &clusterEvent{paused: &paused, counter: counter})
	}
}

// CatchUp implements cluster.Listener.
func (l clusterListener) CatchUp(j cluster.Job, cursor time.Time) {
	if pid, ok := l.pid(j); ok {
		l.e.root.Send(pid, &clusterEvent{catchUp: cursor})
	}
}

// Session implements cluster.Listener: a node that lost its session
// applies [cluster] partition_policy to its runs in progress.
func (l clusterListener) Session(live bool) {
	if live || l.e.partitionPolicy != "kill" {
		return
	}
	l.e.log.Warn("cluster: session lost: ending the runs in progress (partition_policy = \"kill\")")
	_ = l.e.each(func(pid *actor.PID) error {
		l.e.root.Send(pid, &clusterEvent{partition: true})
		return nil
	})
}

// Owner names the node owning a job ("job" or "job_http" kind) now;
// Mine on a single host. The error wraps ErrClusterUnavailable.
func (e *Engine) Owner(kind, id string) (cluster.Owner, error) {
	o, err := e.coord.Owner(context.Background(), cluster.Job{Kind: kind, ID: id})
	if err != nil {
		return o, fmt.Errorf("%w: %w", ErrClusterUnavailable, err)
	}
	return o, nil
}

// Nodes lists the other live nodes of the cluster; none on a single host.
func (e *Engine) Nodes() ([]cluster.Owner, error) {
	nodes, err := e.coord.Nodes(context.Background())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrClusterUnavailable, err)
	}
	return nodes, nil
}
