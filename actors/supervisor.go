package actors

import (
	"fmt"
	"log/slog"
	"sort"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/karajo/karajo/config"
	"github.com/karajo/karajo/logstore"
)

// supervisor is the parent of every job actor. It owns the run slots of
// max_job_running, granted in strict FIFO order, and keeps the latest view
// of every job so that reads over all jobs are answered in one message.
type supervisor struct {
	env   *config.Env
	store *logstore.Store
	log   *slog.Logger

	jobs     map[string]*actor.PID // by ID
	views    map[string]JobView    // by ID
	max      int
	holders  map[string]bool // IDs of jobs holding a slot
	queue    []acquireSlot   // jobs waiting for a slot, oldest first
	stopping bool
}

func newSupervisor(env *config.Env, store *logstore.Store, log *slog.Logger) *supervisor {
	return &supervisor{
		env:     env,
		store:   store,
		log:     log,
		jobs:    make(map[string]*actor.PID, len(env.Jobs)),
		views:   make(map[string]JobView, len(env.Jobs)),
		max:     max(env.MaxJobRunning, 1),
		holders: make(map[string]bool),
	}
}

// Receive implements actor.Actor.
func (s *supervisor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		s.spawnJobs(ctx)
	case *listJobs:
		byID := make(map[string]*actor.PID, len(s.jobs))
		for id, pid := range s.jobs {
			byID[id] = pid
		}
		ctx.Respond(&jobPIDs{byID: byID})
	case *jobChanged:
		s.views[msg.view.ID] = msg.view
	case *GetJobs:
		ctx.Respond(s.list())
	case *acquireSlot:
		s.acquire(ctx, *msg)
	case *releaseSlot:
		s.release(ctx, msg.id)
	case *stopGranting:
		s.stopping = true
		s.queue = nil
		ctx.Respond(&stopGranting{})
	case actor.AutoReceiveMessage, actor.SystemMessage:
	default:
		s.log.Warn("supervisor: unexpected message", "type", fmt.Sprintf("%T", msg))
	}
}

func (s *supervisor) spawnJobs(ctx actor.Context) {
	for _, jc := range s.env.Jobs {
		self := ctx.Self()
		props := actor.PropsFromProducer(func() actor.Actor { return newExecJob(jc, s.store, s.log, self) })
		pid, err := ctx.SpawnNamed(props, "job/"+jc.ID)
		if err != nil {
			// IDs are unique (config refuses collisions), so this is a bug.
			s.log.Error("spawn job", "job", jc.ID, "err", err)
			continue
		}
		s.jobs[jc.ID] = pid
	}
}

func (s *supervisor) list() *JobList {
	jobs := make([]JobView, 0, len(s.views))
	for _, v := range s.views {
		jobs = append(jobs, v)
	}
	sort.Slice(jobs, func(a, b int) bool { return jobs[a].ID < jobs[b].ID })
	return &JobList{Jobs: jobs}
}

func (s *supervisor) acquire(ctx actor.Context, req acquireSlot) {
	if s.stopping {
		return // the job is being stopped too; it does not wait for an answer
	}
	if len(s.holders) < s.max && len(s.queue) == 0 {
		s.grant(ctx, req)
		return
	}
	s.queue = append(s.queue, req)
}

func (s *supervisor) grant(ctx actor.Context, req acquireSlot) {
	s.holders[req.id] = true
	ctx.Send(req.job, &slotGranted{})
}

func (s *supervisor) release(ctx actor.Context, id string) {
	if !s.holders[id] {
		// A job that asked for a slot and stops waiting for it.
		for i, q := range s.queue {
			if q.id == id {
				s.queue = append(s.queue[:i], s.queue[i+1:]...)
				break
			}
		}
		return
	}
	delete(s.holders, id)
	for !s.stopping && len(s.holders) < s.max && len(s.queue) > 0 {
		next := s.queue[0]
		s.queue[0] = acquireSlot{}
		s.queue = s.queue[1:]
		s.grant(ctx, next)
	}
}
