package actors

import (
	"fmt"
	"log/slog"
	"maps"
	"sort"
	"time"

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

	rt        runtime
	jobs      map[string]*actor.PID  // exec jobs by ID
	httpJobs  map[string]*actor.PID  // JobHttps by ID
	views     map[string]JobView     // by ID
	httpViews map[string]JobHTTPView // by ID
	max       int
	holders   map[string]string     // job ID by slot key (slotKey) of every slot held
	queue     []acquireSlot         // jobs waiting for a slot, oldest first
	retiring  map[string]*actor.PID // removed jobs whose run has not ended, by "kind:id"
	subs      map[string]*actor.PID // event subscribers, by PID id
	gen       uint64                // bumped by every change of a view
	snap      *Snapshot             // encoded views of gen, built on demand
	stopping  bool
	handled   uint64 // messages handled

	// jobsJSON and httpJobsJSON keep the encoded members of snap.Jobs and
	// snap.HTTPJobs: every change of views or httpViews goes through
	// setView, setHTTPView, dropView or dropHTTPView (snapshot.go), which
	// keep them coherent.
	jobsJSON     memberCache[JobView]
	httpJobsJSON memberCache[JobHTTPView]

	census      map[logstore.Kind]*logstore.Census // taken at start, for the first loads only
	loading     int                                // jobs spawned at start that have not published a view yet
	loadWaiters []*actor.PID                       // awaitLoaded askers
}

func newSupervisor(env *config.Env, store *logstore.Store, log *slog.Logger, rt runtime, census map[logstore.Kind]*logstore.Census) *supervisor {
	return &supervisor{
		census:    census,
		env:       env,
		store:     store,
		log:       log,
		rt:        rt,
		jobs:      make(map[string]*actor.PID, len(env.Jobs)),
		httpJobs:  make(map[string]*actor.PID, len(env.JobHTTPs)),
		views:     make(map[string]JobView, len(env.Jobs)),
		httpViews: make(map[string]JobHTTPView, len(env.JobHTTPs)),
		max:       max(env.MaxJobRunning, 1),
		holders:   make(map[string]string),
		retiring:  make(map[string]*actor.PID),
		subs:      make(map[string]*actor.PID),
	}
}

// Receive implements actor.Actor.
func (s *supervisor) Receive(ctx actor.Context) {
	s.handled++
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		s.spawnJobs(ctx)
	case *awaitLoaded:
		if s.loading == 0 {
			ctx.Respond(&awaitLoaded{})
		} else {
			s.loadWaiters = append(s.loadWaiters, ctx.Sender())
		}
	case *listJobs:
		ctx.Respond(&jobPIDs{byID: maps.Clone(s.jobs), httpByID: maps.Clone(s.httpJobs)})
	case *GetSnapshot:
		snap, err := s.snapshot()
		respond(ctx, snap, err)
	case *jobChanged:
		s.gen++
		if msg.view != nil {
			_, seen := s.views[msg.view.ID]
			s.setView(*msg.view)
			s.loaded(ctx, seen)
		}
		if msg.httpView != nil {
			_, seen := s.httpViews[msg.httpView.ID]
			s.setHTTPView(*msg.httpView)
			s.loaded(ctx, seen)
		}
		for _, sub := range s.subs {
			ctx.Send(sub, msg) // never changed after sending: safe to share
		}
	case *subscribe:
		s.subs[msg.pid.Id] = msg.pid
		ctx.Watch(msg.pid)
		ctx.Respond(s.list())
	case *unsubscribe:
		delete(s.subs, msg.pid.Id)
	case *actor.Terminated:
		delete(s.subs, msg.Who.Id)
	case *GetJobs:
		ctx.Respond(s.list())
	case *acquireSlot:
		s.acquire(ctx, *msg)
	case *releaseSlot:
		s.release(ctx, slotKey(msg.id, msg.key))
	case *reload:
		s.applyReload(ctx, msg.env)
	case *retired:
		s.onRetired(ctx, msg)
	case *Ping:
		ctx.Respond(&Pong{})
	case *GetEngineState:
		ctx.Respond(s.engineState(ctx.Self()))
	case *stopGranting:
		s.stopping = true
		s.queue = nil
		ctx.Respond(&stopGranting{})
	case actor.AutoReceiveMessage, actor.SystemMessage:
	default:
		s.log.Warn("supervisor: unexpected message", "type", fmt.Sprintf("%T", msg))
	}
}

// spawnJobs spawns the notifier (when notifs exist) and one actor per job
// of either kind, which load with the census taken at start; later spawns
// (by a reload) load without it.
func (s *supervisor) spawnJobs(ctx actor.Context) {
	s.spawnNotifier(ctx)
	for _, jc := range s.env.Jobs {
		s.spawnExec(ctx, jc)
	}
	for _, jc := range s.env.JobHTTPs {
		s.spawnHTTP(ctx, jc)
	}
	s.census = nil
	s.loading = len(s.jobs) + len(s.httpJobs)
}

// loaded counts the first view of each job spawned at start (a job
// publishes it once it has loaded) and answers awaitLoaded when all are in.
func (s *supervisor) loaded(ctx actor.Context, seen bool) {
	if seen || s.loading == 0 {
		return
	}
	s.loading--
	if s.loading == 0 {
		for _, w := range s.loadWaiters {
			ctx.Send(w, &awaitLoaded{})
		}
		s.loadWaiters = nil
	}
}

// spawnNotifier spawns the notifier when the config has notifs.
func (s *supervisor) spawnNotifier(ctx actor.Context) {
	if len(s.env.Notifs) == 0 {
		return
	}
	notifs, log := s.env.Notifs, s.log
	opts := notifierOptions{PublicURL: s.env.PublicURL, Version: s.rt.version, Metrics: s.rt.metrics}
	s.rt.notifier = ctx.Spawn(actor.PropsFromProducer(func() actor.Actor {
		return newNotifier(notifs, log, opts)
	}))
}

func (s *supervisor) spawnExec(ctx actor.Context, jc *config.Job) {
	self, rt := ctx.Self(), s.rt
	census := s.census[logstore.KindJob]
	props := actor.PropsFromProducer(func() actor.Actor {
		j := newExecJob(jc, s.store, s.log, self, rt)
		j.census = census
		return j
	})
	if pid, err := ctx.SpawnNamed(props, "job/"+jc.ID); err != nil {
		// IDs are unique (config refuses collisions), so this is a bug.
		s.log.Error("spawn job", "job", jc.ID, "err", err)
	} else {
		s.jobs[jc.ID] = pid
	}
}

func (s *supervisor) spawnHTTP(ctx actor.Context, jc *config.JobHTTP) {
	self, rt := ctx.Self(), s.rt
	census := s.census[logstore.KindJobHTTP]
	props := actor.PropsFromProducer(func() actor.Actor {
		j := newHTTPJob(jc, s.store, s.log, self, rt)
		j.census = census
		return j
	})
	if pid, err := ctx.SpawnNamed(props, "job_http/"+jc.ID); err != nil {
		s.log.Error("spawn job", "job_http", jc.ID, "err", err)
	} else {
		s.httpJobs[jc.ID] = pid
	}
}

func (s *supervisor) list() *JobList {
	jobs := make([]JobView, 0, len(s.views))
	for _, v := range s.views {
		jobs = append(jobs, v)
	}
	sort.Slice(jobs, func(a, b int) bool { return jobs[a].ID < jobs[b].ID })
	httpJobs := make([]JobHTTPView, 0, len(s.httpViews))
	for _, v := range s.httpViews {
		httpJobs = append(httpJobs, v)
	}
	sort.Slice(httpJobs, func(a, b int) bool { return httpJobs[a].ID < httpJobs[b].ID })
	return &JobList{Jobs: jobs, HTTPJobs: httpJobs}
}

func (s *supervisor) acquire(ctx actor.Context, req acquireSlot) {
	if s.stopping {
		return // the job is being stopped too; it does not wait for an answer
	}
	if len(s.holders) < s.max && len(s.queue) == 0 {
		s.grant(ctx, req)
		return
	}
	req.since = time.Now()
	s.queue = append(s.queue, req)
	s.rt.metrics.queueLength(len(s.queue))
}

func (s *supervisor) grant(ctx actor.Context, req acquireSlot) {
	s.holders[slotKey(req.id, req.key)] = req.id
	if req.key == "" {
		ctx.Send(req.job, grantedToJob) // no allocation for a job's one run
		return
	}
	ctx.Send(req.job, &slotGranted{key: req.key})
}

// grantedToJob is the slotGranted of every request without a key; never
// changed, so one value serves all.
var grantedToJob = &slotGranted{}

// slotKey is the key of a slot request: the job's ID, or the key of one
// of a parallel job's runs.
func slotKey(id, key string) string {
	if key != "" {
		return key
	}
	return id
}

func (s *supervisor) release(ctx actor.Context, key string) {
	if _, held := s.holders[key]; !held {
		// A job that asked for a slot and stops waiting for it.
		for i, q := range s.queue {
			if slotKey(q.id, q.key) == key {
				s.queue = append(s.queue[:i], s.queue[i+1:]...)
				break
			}
		}
		return
	}
	delete(s.holders, key)
	s.grantFree(ctx)
}

// grantFree grants free slots to the oldest waiting jobs.
func (s *supervisor) grantFree(ctx actor.Context) {
	for !s.stopping && len(s.holders) < s.max && len(s.queue) > 0 {
		next := s.queue[0]
		s.queue[0] = acquireSlot{}
		s.queue = s.queue[1:]
		s.grant(ctx, next)
	}
	s.rt.metrics.queueLength(len(s.queue))
}
