package actors

import (
	"encoding/json"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/karajo/karajo/actors/cluster"
	"github.com/karajo/karajo/logstore"
)

// In a cluster every node shows, for each job, the view its owner
// publishes (docs/cluster.md): the owner hands the part of its view that
// runs change (runView) to the coordinator, which writes it to etcd in
// batches; the other nodes' job actors hear it through the listener
// (remote) and show it over their own. On a single host none of this
// runs: view is ownView.

// runView is the part of a job's view that its runs change: what an
// owner publishes for the other nodes. Its JSON is the value of the
// job's view key in etcd.
type runView struct {
	Status      string       `json:"status,omitempty"`
	LastRun     time.Time    `json:"last_run,omitzero"`
	NextRun     time.Time    `json:"next_run,omitzero"`
	LastError   string       `json:"last_error,omitempty"`
	InProgress  []int64      `json:"running,omitempty"`
	Busy        bool         `json:"busy,omitempty"` // a run executes
	Waiting     bool         `json:"wait,omitempty"` // a run waits for a slot
	WaitingFor  string       `json:"waiting,omitempty"`
	NextAttempt *time.Time   `json:"next_attempt,omitempty"`
	Attempt     int          `json:"attempt,omitempty"`
	Logs        []LogRefView `json:"logs,omitempty"` // each naming its node
}

// remoteView is the latest view another node published of a job.
type remoteView struct {
	node string
	view runView
	lost bool // that node's session ended: the view is its last
}

// view returns a copy of an exec job's state for readers: in a cluster,
// the owner's view when another node owns the job.
func (j *job) view() JobView {
	v := j.ownView()
	if node := j.rt.coord.Node(); node != "" {
		rv, from, lost := j.shownRunView(jobRunView(&v), node)
		setJobRunView(&v, rv)
		v.Node, v.NodeLost = from, lost
	}
	return v
}

// httpView returns a copy of a JobHttp's state for readers, as view.
func (j *job) httpView() JobHTTPView {
	v := j.ownHTTPView()
	if node := j.rt.coord.Node(); node != "" {
		rv, from, lost := j.shownRunView(httpRunView(&v), node)
		setHTTPRunView(&v, rv)
		v.Node, v.NodeLost = from, lost
	}
	return v
}

// shownRunView picks what a node shows of the job: the owner's view
// when another node owns it and published one; else this node's own,
// merged with the runs other nodes recorded (mergeRunViews).
func (j *job) shownRunView(own runView, node string) (rv runView, from string, lost bool) {
	if j.remote != nil && j.rt.coord.Owns(j.clusterJob()) != nil {
		return j.remote.view, j.remote.node, j.remote.lost
	}
	return j.mergedRunView(own, node), node, false
}

// mergedRunView is own (this node's logs named by it) merged with the
// latest view another node published.
func (j *job) mergedRunView(own runView, node string) runView {
	for i := range own.Logs {
		own.Logs[i].Node = node
	}
	if j.remote == nil {
		return own
	}
	return mergeRunViews(own, j.remote.view, max(j.keep, 1))
}

// publishCluster hands the job's own (merged) run view to the
// coordinator, which writes it for the other nodes, while this node owns
// the job.
func (j *job) publishCluster() {
	node := j.rt.coord.Node()
	if node == "" || j.rt.coord.Owns(j.clusterJob()) != nil {
		return // a single host; or not the owner: told Owned when it becomes one
	}
	var own runView
	if j.kind == logstore.KindJob {
		v := j.ownView()
		own = jobRunView(&v)
	} else {
		v := j.ownHTTPView()
		own = httpRunView(&v)
	}
	j.rt.coord.Publish(j.clusterJob(), j.mergedRunView(own, node))
}

// onRemoteView applies a view another node published (nil: that node's
// session ended).
func (j *job) onRemoteView(ctx actor.Context, rv *remoteView) {
	switch {
	case !rv.lost:
		j.remote = rv
	case j.remote != nil && j.remote.node == rv.node:
		j.remote.lost = true
	default:
		return
	}
	j.publish(ctx)
}

// jobRunView takes the run part of an exec job's view.
func jobRunView(v *JobView) runView {
	return runView{Status: v.Status, LastRun: v.LastRun, NextRun: v.NextRun, LastError: v.LastError,
		InProgress: v.InProgress, Busy: v.Running, Waiting: v.Waiting, WaitingFor: v.WaitingFor,
		NextAttempt: v.NextAttempt, Attempt: v.Attempt, Logs: v.Logs}
}

// setJobRunView puts rv into an exec job's view.
func setJobRunView(v *JobView, rv runView) {
	v.Status, v.LastRun, v.NextRun, v.LastError = rv.Status, rv.LastRun, rv.NextRun, rv.LastError
	v.InProgress, v.Running, v.Waiting, v.WaitingFor = rv.InProgress, rv.Busy, rv.Waiting, rv.WaitingFor
	v.NextAttempt, v.Attempt, v.Logs = rv.NextAttempt, rv.Attempt, rv.Logs
}

// httpRunView takes the run part of a JobHttp's view.
func httpRunView(v *JobHTTPView) runView {
	return runView{Status: v.Status, LastRun: v.LastRun, NextRun: v.NextRun, LastError: v.LastError,
		Busy: v.Running, Logs: v.Logs}
}

// setHTTPRunView puts rv into a JobHttp's view.
func setHTTPRunView(v *JobHTTPView, rv runView) {
	v.Status, v.LastRun, v.NextRun, v.LastError = rv.Status, rv.LastRun, rv.NextRun, rv.LastError
	v.Running, v.Logs = rv.Busy, rv.Logs
}

// decodeRunView reads a view another node published.
func decodeRunView(b []byte) (runView, error) {
	var rv runView
	if err := json.Unmarshal(b, &rv); err != nil {
		return runView{}, err
	}
	return rv, nil
}

// View implements cluster.Listener.
func (l clusterListener) View(j cluster.Job, node string, b []byte) {
	pid, ok := l.pid(j)
	if !ok {
		return
	}
	rv := &remoteView{node: node, lost: b == nil}
	if b != nil {
		v, err := decodeRunView(b)
		if err != nil {
			l.e.log.Warn("cluster: a job's view from another node", "job", j.String(), "node", node, "err", err)
			return
		}
		rv.view = v
	}
	l.e.root.Send(pid, &clusterEvent{view: rv})
}

// Owned implements cluster.Listener: the job shows and publishes its own
// view from now on.
func (l clusterListener) Owned(j cluster.Job) {
	if pid, ok := l.pid(j); ok {
		l.e.root.Send(pid, &clusterEvent{owned: true})
	}
}
