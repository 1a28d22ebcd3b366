package actors

import "errors"

// Sentinel errors returned (wrapped) by the engine. httpapi maps them to
// HTTP statuses with errors.Is.
var (
	// ErrJobNotFound: no job has that ID or path.
	ErrJobNotFound = errors.New("job not found")
	// ErrJobPaused: the job is paused and refuses triggers.
	ErrJobPaused = errors.New("job is paused")
	// ErrJobBusy: a run is in progress and the one pending trigger place is taken.
	ErrJobBusy = errors.New("job already run")
	// ErrLogNotFound: the job has no log with that counter (never existed or pruned).
	ErrLogNotFound = errors.New("log not found")
	// ErrTimeout: an actor did not answer in time.
	ErrTimeout = errors.New("actor did not answer in time")
	// ErrBadReply: an actor answered with an unexpected type (a bug).
	ErrBadReply = errors.New("unexpected reply")
	// ErrStopping: the engine is shutting down.
	ErrStopping = errors.New("engine is stopping")
	// ErrNotDurable: a change could not be written to disk, so it was not
	// made (the job's state is what the disk says).
	ErrNotDurable = errors.New("change not saved to disk")
	// ErrLogCreate: the log of a run could not be created, so the run did
	// not start.
	ErrLogCreate = errors.New("run log not created")
)

// Errors of a node in a cluster (docs/cluster.md).
var (
	// ErrNotOwner: another node of the cluster owns the job; this node
	// neither runs it nor queues triggers for it.
	ErrNotOwner = errors.New("another node of the cluster owns this job")
	// ErrClusterUnavailable: etcd cannot be reached (or this node has no
	// session): nothing starts and nothing changes until it can.
	ErrClusterUnavailable = errors.New("cluster coordination unavailable")
)
