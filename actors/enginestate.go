package actors

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// GetEngineState asks the supervisor for the engine's state: its slots,
// its queue, the runs in progress and waiting for a retry, and the
// health of its actors. The reply is *EngineState.
type GetEngineState struct{}

// EngineState is the answer of GET /karajo/api/engine.
type EngineState struct {
	Slots         SlotState              `json:"slots"`
	Queue         []QueuedRun            `json:"queue"`
	Running       []RunState             `json:"running"`
	RetryPending  []RetryState           `json:"retry_pending"`
	KillMechanism string                 `json:"kill_mechanism"`
	CgroupDir     string                 `json:"cgroup_dir,omitempty"` // where the commands' cgroups are made (kill_mechanism "cgroup")
	Supervisor    ActorHealth            `json:"supervisor"`
	Jobs          map[string]ActorHealth `json:"jobs"` // by kind:id, e.g. "job:backup"
}

// SlotState is the use of the max_job_running slots.
type SlotState struct {
	MaxJobRunning int      `json:"max_job_running"`
	InUse         int      `json:"in_use"`
	Holders       []string `json:"holders"` // IDs of the exec jobs holding one (a parallel job once per run)
}

// QueuedRun is a run waiting for a slot, oldest first.
type QueuedRun struct {
	Job   string    `json:"job"`
	Since time.Time `json:"since"`
	Retry bool      `json:"retry,omitempty"` // the next attempt of a run in progress
}

// RunState is a run in progress.
type RunState struct {
	Kind     string     `json:"kind"` // "job" or "job_http"
	Job      string     `json:"job"`
	Counter  int64      `json:"counter"`
	Trigger  string     `json:"trigger"`
	Attempt  int        `json:"attempt,omitempty"`
	Started  time.Time  `json:"started"`
	PGID     int        `json:"pgid,omitempty"`     // process group of the command running now
	Cgroup   string     `json:"cgroup,omitempty"`   // cgroup of the command running now (kill_mechanism "cgroup")
	Deadline *time.Time `json:"deadline,omitempty"` // when the attempt's timeout kills it
}

// RetryState is a run waiting for its next attempt.
type RetryState struct {
	Job     string    `json:"job"`
	Counter int64     `json:"counter"`
	Attempt int       `json:"attempt"` // the next attempt
	Due     time.Time `json:"due"`
}

// ActorHealth is what an actor has done: the messages it handled and the
// times it was restarted after a failure. A job's count is as of its last
// change of view. protoactor does not expose mailbox lengths.
type ActorHealth struct {
	Handled  uint64 `json:"handled"`
	Restarts uint64 `json:"restarts"`
}

// runInfo is what a job's view carries for the engine state while a run
// is in progress (not part of any JSON of a job).
type runInfo struct {
	Kind, Trigger      string
	Counter            int64
	Attempt            int
	Started, Deadline  time.Time
	pgid               *pgidHolder // of the exec run in progress, read when the state is asked for
	RetryDue           time.Time
	Handled, Restarts  uint64
	Running, RetryWait bool
	par                []runInfo // the other runs of a parallel job (parallel.go)
}

// restartCounts counts actor restarts by actor ID, from the actor
// system's event stream (a registry of events, not job state).
type restartCounts struct {
	mu sync.Mutex
	m  map[string]uint64
}

func (r *restartCounts) inc(id string) {
	r.mu.Lock()
	if r.m == nil {
		r.m = make(map[string]uint64)
	}
	r.m[id]++
	r.mu.Unlock()
}

func (r *restartCounts) get(id string) uint64 {
	if r == nil {
		return 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.m[id]
}

// runInfo returns the job's run and health facts for the engine state.
func (j *job) runInfo(self *actor.PID) runInfo {
	ri := runInfo{Kind: string(j.kind), Handled: j.handled}
	if self != nil {
		ri.Restarts = j.rt.restarts.get(self.Id)
	}
	ri.par = j.parRunInfo()
	if j.run == nil {
		return ri
	}
	ri.Running, ri.RetryWait = !j.retrying, j.retrying
	ri.Trigger, ri.Counter, ri.Attempt, ri.Started = runTriggerEnv(j.runTrigger), j.runCounter, j.attempt, j.startedAt
	if j.retrying {
		ri.RetryDue = j.retryDue
	}
	if j.exec != nil && j.exec.Timeout > 0 && !j.retrying {
		ri.Deadline = j.attemptAt.Add(j.exec.Timeout)
	}
	if j.work != nil {
		ri.pgid = &j.work.pgidHolder
	}
	return ri
}

// engineState builds the supervisor's answer to GetEngineState.
func (s *supervisor) engineState(self *actor.PID) *EngineState {
	st := &EngineState{
		Slots:         SlotState{MaxJobRunning: s.max, InUse: len(s.holders), Holders: make([]string, 0, len(s.holders))},
		Queue:         make([]QueuedRun, 0, len(s.queue)),
		Running:       []RunState{},
		RetryPending:  []RetryState{},
		KillMechanism: s.rt.cgroups.mechanism(s.rt.sweeper),
		CgroupDir:     s.rt.cgroups.path(),
		Supervisor:    ActorHealth{Handled: s.handled, Restarts: s.rt.restarts.get(self.Id)},
		Jobs:          make(map[string]ActorHealth, len(s.views)+len(s.httpViews)),
	}
	for _, id := range s.holders {
		st.Slots.Holders = append(st.Slots.Holders, id)
	}
	sort.Strings(st.Slots.Holders)
	for _, q := range s.queue {
		st.Queue = append(st.Queue, QueuedRun{Job: q.id, Since: q.since, Retry: q.retry})
	}
	for id, v := range s.views {
		st.add(id, v.run)
	}
	for id, v := range s.httpViews {
		st.add(id, v.run)
	}
	sort.Slice(st.Running, func(a, b int) bool { return st.Running[a].Started.Before(st.Running[b].Started) })
	sort.Slice(st.RetryPending, func(a, b int) bool { return st.RetryPending[a].Due.Before(st.RetryPending[b].Due) })
	return st
}

// add records one job's facts.
func (st *EngineState) add(id string, ri runInfo) {
	st.Jobs[ri.Kind+":"+id] = ActorHealth{Handled: ri.Handled, Restarts: ri.Restarts}
	st.addRun(id, ri)
	for _, p := range ri.par {
		st.addRun(id, p)
	}
}

// addRun records one run of job id: running or waiting for a retry.
func (st *EngineState) addRun(id string, ri runInfo) {
	switch {
	case ri.Running:
		rs := RunState{Kind: ri.Kind, Job: id, Counter: ri.Counter, Trigger: ri.Trigger, Attempt: ri.Attempt, Started: ri.Started.UTC()}
		if ri.pgid != nil {
			rs.PGID = int(ri.pgid.pgid.Load())
			if p := ri.pgid.cgroup.Load(); p != nil {
				rs.Cgroup = *p
			}
		}
		if !ri.Deadline.IsZero() {
			d := ri.Deadline.UTC()
			rs.Deadline = &d
		}
		st.Running = append(st.Running, rs)
	case ri.RetryWait:
		st.RetryPending = append(st.RetryPending, RetryState{Job: id, Counter: ri.Counter, Attempt: ri.Attempt, Due: ri.RetryDue.UTC()})
	}
}

// pgidHolder is where a run publishes the process group of the command
// it runs now, for the engine state (an OS fact read atomically).
type pgidHolder struct {
	pgid   atomic.Int64
	cgroup atomic.Pointer[string] // path of the command's cgroup; nil = none
}
