package actors

import (
	"os"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/karajo/karajo/config"
	"github.com/karajo/karajo/logstore"
)

// JobView is a copy of an exec job's state, shaped like karajo v0.9.3's
// JSON job object (SPEC Appendix A; the field order is the wire order).
type JobView struct {
	Path           string        `json:"path,omitempty"`
	AuthKind       string        `json:"auth_kind,omitempty"`
	HeaderSign     string        `json:"header_sign,omitempty"`
	Commands       []string      `json:"commands,omitempty"`
	LastRun        time.Time     `json:"last_run"`
	NextRun        time.Time     `json:"next_run"`
	ID             string        `json:"id"`
	Name           string        `json:"name"`
	Description    string        `json:"description,omitempty"`
	Status         string        `json:"status,omitempty"`
	Schedule       string        `json:"schedule,omitempty"`
	NotifOnSuccess []string      `json:"notif_on_success,omitempty"`
	NotifOnFailed  []string      `json:"notif_on_failed,omitempty"`
	Logs           []LogRefView  `json:"logs,omitempty"`
	Interval       time.Duration `json:"interval,omitempty"`
	LogRetention   int           `json:"log_retention,omitempty"`
	// LastError says why the latest run could not start (its log could not
	// be created) or ended with an incomplete log; not in v0.9.3.
	LastError string `json:"last_error,omitempty"`
	// Cron is the job's cron key and Timezone the zone of its schedule
	// (issue 13); absent for jobs without them.
	Cron     []string `json:"cron,omitempty"`
	Timezone string   `json:"timezone,omitempty"`

	// Run control (not in v0.9.3): the timeout of each attempt, the
	// overlap policy, the retries; the counters of the runs in progress;
	// what a run of the job waits for ("slot" or "retry") and, for a
	// retry, when its next attempt is due.
	Timeout     time.Duration `json:"timeout,omitempty"`
	Overlap     string        `json:"overlap,omitempty"`
	Retries     int           `json:"retries,omitempty"`
	MaxParallel int           `json:"max_parallel,omitempty"` // with overlap = "parallel"
	InProgress  []int64       `json:"running,omitempty"`
	WaitingFor  string        `json:"waiting,omitempty"`
	NextAttempt *time.Time    `json:"next_attempt,omitempty"`
	Attempt     int           `json:"attempt,omitempty"`

	// Node names, in a cluster, the node whose view this is (the job's
	// owner, as it last published); NodeLost is true when that node's
	// session ended since. Not in v0.9.3; absent on a single host.
	Node     string `json:"node,omitempty"`
	NodeLost bool   `json:"node_lost,omitempty"`

	// Running is true while a run of the job executes; Waiting while it
	// waits for a global slot. Not part of the v0.9.3 wire format.
	Running bool `json:"-"`
	Waiting bool `json:"-"`
	Paused  bool `json:"-"`
	// RunCounter is, in the answer to a Trigger, the counter the run
	// started or queued as.
	RunCounter int64 `json:"-"`

	run runInfo // for the engine state (enginestate.go)
}

// LogRefView names one log of a job inside JobView.Logs.
type LogRefView struct {
	JobID   string `json:"job_id"`
	Name    string `json:"name"`
	Status  string `json:"status,omitempty"`
	Counter int64  `json:"counter,omitempty"`
	// Node names, in a cluster, the node that wrote the log (and holds
	// it); absent on a single host. Not in v0.9.3.
	Node string `json:"node,omitempty"`
}

// JobHTTPView is a copy of a JobHttp's state, shaped like v0.9.3's JSON
// (SPEC Appendix A; the field order is the wire order).
type JobHTTPView struct {
	HeaderSign      string        `json:"header_sign,omitempty"`
	HTTPMethod      string        `json:"http_method"`
	HTTPURL         string        `json:"http_url"`
	HTTPRequestType string        `json:"http_request_type"`
	HTTPHeaders     []string      `json:"http_headers,omitempty"`
	LastRun         time.Time     `json:"last_run"`
	NextRun         time.Time     `json:"next_run"`
	ID              string        `json:"id"`
	Name            string        `json:"name"`
	Description     string        `json:"description,omitempty"`
	Status          string        `json:"status,omitempty"`
	Schedule        string        `json:"schedule,omitempty"`
	NotifOnSuccess  []string      `json:"notif_on_success,omitempty"`
	NotifOnFailed   []string      `json:"notif_on_failed,omitempty"`
	Logs            []LogRefView  `json:"logs,omitempty"`
	Interval        time.Duration `json:"interval,omitempty"`
	LogRetention    int           `json:"log_retention,omitempty"`
	HTTPTimeout     time.Duration `json:"http_timeout"`
	HTTPInsecure    bool          `json:"http_insecure,omitempty"`
	LastError       string        `json:"last_error,omitempty"` // as in JobView
	Cron            []string      `json:"cron,omitempty"`       // as in JobView
	Timezone        string        `json:"timezone,omitempty"`   // as in JobView
	Node            string        `json:"node,omitempty"`       // as in JobView
	NodeLost        bool          `json:"node_lost,omitempty"`  // as in JobView

	// Running and Paused are not part of the v0.9.3 wire format.
	Running bool `json:"-"`
	Paused  bool `json:"-"`
	// RunCounter is, in the answer to a Trigger, the counter the run
	// started or queued as.
	RunCounter int64 `json:"-"`

	run runInfo // for the engine state (enginestate.go)
}

// JobList is the reply to GetJobs: a snapshot of every exec job and every
// JobHttp, each sorted by ID.
type JobList struct {
	Jobs     []JobView
	HTTPJobs []JobHTTPView
}

// LogFile is the reply to GetLog: the log's identity and an open handle on
// its file, positioned at the start. The receiver owns File and must close
// it. Size is the number of bytes to read (the size when it was opened: a
// running log keeps growing).
type LogFile struct {
	JobID   string
	Name    string
	Status  string
	Counter int64
	File    *os.File
	Size    int64
}

// Ping asks the supervisor whether it answers (readiness). The reply is *Pong.
type Ping struct{}

// Pong is the reply to Ping.
type Pong struct{}

// GetSnapshot asks the supervisor for the JSON of all jobs as the
// environment shows them. The reply is *Snapshot.
type GetSnapshot struct{}

// Snapshot is the encoded state of all jobs: Jobs and HTTPJobs are the
// JSON objects "jobs" and "http_jobs" of the environment (maps keyed by job
// name). The supervisor encodes it at most once per change and hands the
// same immutable value to every reader until the next change; Gen tells
// snapshots apart.
type Snapshot struct {
	Gen      uint64
	Jobs     []byte
	HTTPJobs []byte
}

// GetJob asks a job for its view. The reply is *JobView.
type GetJob struct{}

// GetJobs asks the supervisor for the snapshot of all jobs. The reply is *JobList.
type GetJobs struct{}

// Trigger asks a job to run once (webhook). The reply is *JobView (the job
// as it is when the trigger is queued), or an error wrapping ErrJobPaused or
// ErrJobBusy.
type Trigger struct {
	Reason  string   // "webhook", "api": written to the server log
	Payload *Payload // the webhook's request for the run (pass_payload…); nil for none. The job owns it from here on.
	// DeliveryID is the sender's id of a verified webhook delivery ("" =
	// none): one the job accepted within its replay_window is refused
	// with a *ReplayedError (issue 15).
	DeliveryID string
	// Remote is the client's address, for the run history ("" = unknown).
	Remote string
}

// Pause asks a job to start no new run until Resume. A run in progress goes
// on and the pause survives its end. The reply is *JobView.
type Pause struct{}

// Resume asks a paused job to run again on its timer and triggers. The reply is *JobView.
type Resume struct{}

// Cancel asks a job to cancel the run in progress, if any: its process
// groups are killed and it ends as canceled. The reply is *JobView, sent
// before the run has ended.
type Cancel struct{}

// GetLog asks a job for the log with the given counter. The reply is
// *LogFile or an error wrapping ErrLogNotFound.
type GetLog struct {
	Counter int64
}

// stopJob asks a job to stop for shutdown: disarm the timer, drop pending
// work, cancel the run in progress and reply *jobStopped once it is recorded.
type stopJob struct{}

// jobStopped is the reply to stopJob.
type jobStopped struct{}

// jobChanged tells the supervisor a job's new view: view for an exec job,
// httpView for a JobHttp.
type jobChanged struct {
	view     *JobView
	httpView *JobHTTPView
}

// awaitLoaded asks the supervisor to answer (with an awaitLoaded) once
// every job spawned at start has loaded its state and published its view.
type awaitLoaded struct{}

// listJobs asks the supervisor for the PIDs of its jobs (reply *jobPIDs).
type listJobs struct{}

// jobPIDs is the reply to listJobs.
type jobPIDs struct {
	byID     map[string]*actor.PID // exec jobs
	httpByID map[string]*actor.PID // JobHttps
}

// acquireSlot asks the supervisor for a run slot; it answers with
// slotGranted when one is free (FIFO).
type acquireSlot struct {
	job   *actor.PID
	id    string
	key   string    // the slot's own key for one of several runs of a job (overlap = "parallel"); "" = id
	retry bool      // for the next attempt of a run in progress
	since time.Time // set by the supervisor when it queues the request
}

// slotGranted gives a job one run slot, to be returned with releaseSlot.
type slotGranted struct {
	key string // of the acquireSlot it answers
}

// releaseSlot returns a run slot to the supervisor, or withdraws the
// request for one that was not granted yet.
type releaseSlot struct {
	id  string
	key string // as in acquireSlot
}

// stopGranting tells the supervisor to grant no more slots (shutdown).
type stopGranting struct{}

// tick is a job's timer firing; gen tells a stale timer from the current one.
type tick struct {
	gen uint64
}

// runExited tells a job that the commands of its run ended and the run's
// log is sealed (queued for the group commit): the run's slot may go back
// and the next run start; the run itself is reported by the runFinished
// that follows once its log is durable (pipeline.go).
type runExited struct {
	counter int64
}

// runFinished tells a job that its run child ended and its log is final.
type runFinished struct {
	counter int64
	ref     logstore.LogRef
	status  string
	err     error // why the run failed (nil on success or cancel)
	logErr  error // why the run's log is incomplete (write error), or nil
	dur     time.Duration

	attempt  int           // the attempt that ended, 1-based
	again    bool          // not the end of the run: the next attempt is due after retryIn
	retryIn  time.Duration // may be 0
	timedOut bool          // the last attempt was killed by its timeout

	exitCode  int // of the failing command (run history)
	failedCmd int // 1 + index of the failing command; 0 = none
}

// nextAttempt tells a run child waiting for its next attempt to start it
// (the job holds a slot for it again).
type nextAttempt struct{}

// endRun tells a run child waiting for its next attempt that there will
// be none: it records the run as it stood and reports runFinished.
type endRun struct {
	why string
}

// retryDue is a job's retry timer firing; gen tells a stale timer apart.
type retryDue struct {
	gen     uint64
	counter int64 // of a parallel run (overlap = "parallel"); 0 = the job's one run
}

// cancelAnswerDue tells a job to answer the Cancels still waiting for
// their run to end.
type cancelAnswerDue struct{}

// cancelRun tells a run child to kill its process group.
type cancelRun struct{}

// reload asks the supervisor to apply a new configuration (reply *reloaded).
type reload struct {
	env *config.Env
}

// reloaded is the reply to reload: the new ID tables and what changed.
type reloaded struct {
	byID, httpByID map[string]*actor.PID
	changes        Changes
}

// reconfigure gives a job its new settings (exactly one of exec and http
// is set, for the job's kind) and the engine's runtime; it also cancels a
// pending retire.
type reconfigure struct {
	exec *config.Job
	http *config.JobHTTP
	rt   runtime
}

// retire tells a job that it was removed from the configuration: it stops
// its timer, drops pending work and reports retired once no run is left.
type retire struct{}

// retired tells the supervisor that a retiring job has no run left.
type retired struct {
	kind string
	id   string
}
