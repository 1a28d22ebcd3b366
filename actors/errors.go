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
)
