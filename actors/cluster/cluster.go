// Package cluster decides, for the job actors of one node, whether a run
// may start here: the single-host engine answers yes at once (Local);
// several nodes sharing one configuration ask etcd (Etcd), where starting
// a run is one transaction fenced by the leadership of the job's shard
// (docs/cluster.md).
//
// It sits below actors: it imports config and logstore at most, and the
// job actor asks it through the Coordinator interface only.
package cluster

import (
	"context"
	"errors"
	"time"
)

// Errors of Begin; the actors map them to their answers.
var (
	// ErrNotOwner: another node owns the job's shard (or this node lost it).
	ErrNotOwner = errors.New("this node does not own the job")
	// ErrPaused: the job is paused in the cluster's state.
	ErrPaused = errors.New("job is paused in the cluster")
	// ErrPointTaken: the scheduled point was already started by a node.
	ErrPointTaken = errors.New("scheduled point already taken")
	// ErrUnavailable: etcd cannot be reached or this node has no session.
	ErrUnavailable = errors.New("cluster coordination unavailable")
)

// Job names a job for the coordinator: its kind ("job" or "job_http")
// and ID.
type Job struct {
	Kind string
	ID   string
}

func (j Job) String() string { return j.Kind + "/" + j.ID }

// Claim is a run that Begin allowed: it holds the counter the run takes.
type Claim struct {
	Job     Job
	Counter int64
	Point   time.Time // the scheduled point; zero for a trigger
}

// RunInfo is what the cluster keeps of a run in progress, so that the
// node taking over a lost run can decide to run it again: its attempt,
// trigger and scheduled point.
type RunInfo struct {
	Attempt   int       // the attempt starting now, 1-based (0 = 1)
	Trigger   string    // KARAJO_RUN_TRIGGER: timer, catch-up, webhook or api
	Scheduled time.Time // the nominal point the run is for, also on a re-run; zero for none
	Payload   bool      // the run holds a webhook's request, kept on this node only
}

// Coordinator is what a job actor asks before it starts a run.
type Coordinator interface {
	// Begin claims the start of a run of job for the scheduled point
	// (zero for a trigger). next is the counter the job would give the
	// run; the claim's counter is at least next and larger than any
	// counter the cluster gave this job before. Errors wrap ErrNotOwner,
	// ErrPaused, ErrPointTaken or ErrUnavailable. info is kept with the
	// run until it finishes (LostRun tells it back).
	Begin(ctx context.Context, job Job, point time.Time, next int64, info RunInfo) (Claim, error)
	// Attempt records that the claimed run starts its attempt n (a retry
	// on this node), so that a node taking the run over after a loss
	// counts the attempts made.
	Attempt(ctx context.Context, c Claim, n int) error
	// Finish records that the claimed run ended. It returns at once: the
	// record is written in the background (a failure is logged; the run
	// is then reported lost when this node's session ends).
	Finish(c Claim)
	// SetPaused records the job's paused flag for every node.
	SetPaused(ctx context.Context, job Job, paused bool) error
	// Owns says whether this node owns job now, without a round trip:
	// nil, or an error wrapping ErrNotOwner or ErrUnavailable (no session).
	Owns(job Job) error
	// Owner names the node owning job now and the URL it advertises;
	// Mine is true when it is this node (always, on a single host).
	Owner(ctx context.Context, job Job) (Owner, error)
	// Nodes lists the other live nodes of the cluster; none on a single host.
	Nodes(ctx context.Context) ([]Owner, error)
	// Node is this node's name; "" on a single host.
	Node() string
	// Publish records v as the job's latest view for the other nodes'
	// environments; it returns at once and v must not change after. The
	// owner's views are written to etcd in batches, at most a few times a
	// second (a view of a job this node does not own when the batch is
	// written is dropped); a single host writes nothing.
	Publish(job Job, v any)
	// Run starts coordinating: from then on, l hears of the cluster's
	// events. Called once, when the job actors are ready.
	Run(l Listener)
}

// Listener hears what the cluster tells a node's jobs. Its methods are
// called from the coordinator's goroutines and must not block.
type Listener interface {
	// Lost: a run whose node was lost before it finished, reported once
	// to the node owning the job.
	Lost(LostRun)
	// State: the job's counter and paused flag in the cluster's state, for
	// every job when a session begins and for a job whenever its state
	// changes (a run started anywhere, a pause, a resume).
	State(j Job, counter int64, paused bool)
	// View: the latest view of job that node (its owner) published, as
	// the actors encoded it; nil when that node's session ended with the
	// view still published. Views this node published are not told.
	View(j Job, node string, view []byte)
	// Owned: this node came to own job (it leads the job's shard): from
	// now on it shows and publishes its own view of the job. Told for
	// every job of the node's set in the shard won.
	Owned(j Job)
	// Session: false when this node's session ended (it starts nothing
	// until the next), true when a new one began.
	Session(live bool)
	// CatchUp: this node has just become able to start the job's runs
	// again (it took over the job's shard, or reached etcd again after a
	// point it could not start) and cursor is the latest scheduled point
	// a run started for in the cluster (or of the last pause or resume):
	// the job's catch_up rule decides which points after it run now.
	// Only told for jobs with a cursor that are not paused.
	CatchUp(j Job, cursor time.Time)
}

// LostRun is a run whose node was lost mid-run, with what Begin and
// Attempt recorded of it (Attempt: the attempt it was in).
type LostRun struct {
	Job     Job
	Counter int64
	Node    string
	RunInfo
}

// Owner is the node owning a job.
type Owner struct {
	Node string
	URL  string // its [cluster] advertise
	Mine bool
}

// Local is the single-host coordinator: every run may start, with the
// counter the job gives it. It holds no state.
type Local struct{}

// Begin implements Coordinator.
func (Local) Begin(_ context.Context, job Job, point time.Time, next int64, _ RunInfo) (Claim, error) {
	return Claim{Job: job, Counter: next, Point: point}, nil
}

// Finish implements Coordinator.
func (Local) Finish(Claim) {}

// Attempt implements Coordinator.
func (Local) Attempt(context.Context, Claim, int) error { return nil }

// Run implements Coordinator.
func (Local) Run(Listener) {}

// Publish implements Coordinator: a single host has nobody to tell.
func (Local) Publish(Job, any) {}

// SetPaused implements Coordinator.
func (Local) SetPaused(context.Context, Job, bool) error { return nil }

// Owns implements Coordinator.
func (Local) Owns(Job) error { return nil }

// Node implements Coordinator.
func (Local) Node() string { return "" }

// Owner implements Coordinator.
func (Local) Owner(context.Context, Job) (Owner, error) { return Owner{Mine: true}, nil }

// Nodes implements Coordinator.
func (Local) Nodes(context.Context) ([]Owner, error) { return nil, nil }
