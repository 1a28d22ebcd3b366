package actors

import (
	"reflect"
	"slices"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/karajo/karajo/config"
	"github.com/karajo/karajo/logstore"
)

// applyReload applies a new configuration (the supervisor's side of
// Engine.Reload) and answers *reloaded.
func (s *supervisor) applyReload(ctx actor.Context, env *config.Env) {
	old := s.env
	s.env = env
	s.max = max(env.MaxJobRunning, 1)
	s.rt.grace = env.KillGrace
	var ch Changes

	if !reflect.DeepEqual(old.Notifs, env.Notifs) || old.PublicURL != env.PublicURL {
		if s.rt.notifier != nil {
			ctx.Poison(s.rt.notifier)
			s.rt.notifier = nil
		}
		s.spawnNotifier(ctx)
	}

	reloadKind(s, ctx, &ch, jobSet[*config.Job]{
		kind: logstore.KindJob, live: s.jobs, id: func(j *config.Job) string { return j.ID }, same: sameJob,
		spawn:  func(j *config.Job) { s.spawnExec(ctx, j) },
		reconf: func(j *config.Job) *reconfigure { return &reconfigure{exec: j, rt: s.rt} },
	}, old.Jobs, env.Jobs)
	reloadKind(s, ctx, &ch, jobSet[*config.JobHTTP]{
		kind: logstore.KindJobHTTP, live: s.httpJobs, id: func(j *config.JobHTTP) string { return j.ID }, same: sameHTTPJob,
		spawn:  func(j *config.JobHTTP) { s.spawnHTTP(ctx, j) },
		reconf: func(j *config.JobHTTP) *reconfigure { return &reconfigure{http: j, rt: s.rt} },
	}, old.JobHTTPs, env.JobHTTPs)
	slices.Sort(ch.Added)
	slices.Sort(ch.Removed)
	slices.Sort(ch.Changed)

	s.gen++
	s.grantFree(ctx) // max_job_running may have grown
	ctx.Respond(&reloaded{byID: cloneMap(s.jobs), httpByID: cloneMap(s.httpJobs), changes: ch})
}

// jobSet is one kind of job (exec or JobHttp) as a reload sees it: the
// running actors by ID and how to spawn, compare and reconfigure one.
type jobSet[T any] struct {
	kind   logstore.Kind
	live   map[string]*actor.PID
	id     func(T) string
	same   func(a, b T) bool
	spawn  func(T)
	reconf func(T) *reconfigure
}

// reloadKind brings one kind of job from the old configuration to the
// new: a new job is spawned (or a removed one still ending its run is
// taken back), a kept one is reconfigured, and a dropped one retires
// once its run has ended. ch gets "kind:id" of each change.
func reloadKind[T any](s *supervisor, ctx actor.Context, ch *Changes, set jobSet[T], old, now []T) {
	oldByID := make(map[string]T, len(old))
	for _, j := range old {
		oldByID[set.id(j)] = j
	}
	keep := make(map[string]bool, len(now))
	for _, jc := range now {
		id := set.id(jc)
		keep[id] = true
		key := string(set.kind) + ":" + id
		pid, ok := set.live[id]
		if !ok {
			if pid, ok = s.retiring[key]; ok { // removed earlier, back before its run ended
				delete(s.retiring, key)
				set.live[id] = pid
			}
		}
		if !ok {
			set.spawn(jc)
			ch.Added = append(ch.Added, key)
			continue
		}
		if prev, had := oldByID[id]; !had || !set.same(prev, jc) {
			ch.Changed = append(ch.Changed, key)
		}
		ctx.Send(pid, set.reconf(jc))
	}
	for id, pid := range set.live {
		if !keep[id] {
			key := string(set.kind) + ":" + id
			delete(set.live, id)
			s.retiring[key] = pid
			ctx.Send(pid, &retire{})
			ch.Removed = append(ch.Removed, key)
		}
	}
}

// onRetired stops a removed job whose last run has ended.
func (s *supervisor) onRetired(ctx actor.Context, msg *retired) {
	key := msg.kind + ":" + msg.id
	pid, ok := s.retiring[key]
	if !ok {
		return // re-added meanwhile
	}
	delete(s.retiring, key)
	ctx.Stop(pid)
	if msg.kind == string(logstore.KindJob) {
		s.dropView(msg.id)
	} else {
		s.dropHTTPView(msg.id)
	}
}

func cloneMap(m map[string]*actor.PID) map[string]*actor.PID {
	c := make(map[string]*actor.PID, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// sameJob reports whether two exec job configs are the same but for the
// file that defines them.
func sameJob(a, b *config.Job) bool {
	x, y := *a, *b
	x.File, y.File = "", ""
	return reflect.DeepEqual(x, y)
}

// sameHTTPJob is sameJob for JobHttps.
func sameHTTPJob(a, b *config.JobHTTP) bool {
	x, y := *a, *b
	x.File, y.File = "", ""
	return reflect.DeepEqual(x, y)
}

// onReconfigure applies new settings to a job (the job's side of reload).
func (j *job) onReconfigure(ctx actor.Context, msg *reconfigure) {
	j.retiring = false
	j.rt = msg.rt
	changedTimer := false
	switch {
	case msg.exec != nil:
		changedTimer = !sameTimer(j.exec.Schedule, j.exec.Interval, msg.exec.Schedule, msg.exec.Interval) ||
			!reflect.DeepEqual(j.exec.Timing, msg.exec.Timing)
		j.exec = msg.exec
		j.policy = newOverlapPolicy(msg.exec.RunControl)
		j.sched, j.interval, j.keep = msg.exec.Sched, msg.exec.Interval, msg.exec.LogRetention
	case msg.http != nil:
		changedTimer = !sameTimer(j.http.Schedule, j.http.Interval, msg.http.Schedule, msg.http.Interval) ||
			!reflect.DeepEqual(j.http.Timing, msg.http.Timing)
		j.http = msg.http
		j.sched, j.interval, j.keep = msg.http.Sched, msg.http.Interval, msg.http.LogRetention
	}
	if changedTimer || (j.timer == nil && !j.busy()) {
		j.disarm()
		j.nextRun = timeZero
		if !j.busy() || j.sched != nil {
			j.armInitial(ctx)
			j.histReloadArmed()
		}
	}
	j.reconfigureAlerts(ctx) // alerts.go
	j.publish(ctx)
}

func sameTimer(s1 string, i1 any, s2 string, i2 any) bool { return s1 == s2 && i1 == i2 }

// onRetire stops the timer and pending work of a removed job; it reports
// retired at once when idle, else when its run ends.
func (j *job) onRetire(ctx actor.Context) {
	j.retiring = true
	j.disarm()
	j.nextRun = timeZero
	j.pendingTrigger, j.pendingTick = false, false
	if j.waiting && j.run == nil {
		j.waiting = false
		j.histDropWait(ctx, dropReload)
		j.dropReserved()
		j.releaseSlot(ctx)
	}
	if j.retrying {
		j.endRunInProgress(ctx, "removed from the configuration")
	}
	j.parEndAll(ctx, "removed from the configuration")
	if !j.busy() {
		ctx.Send(j.sup, &retired{kind: string(j.kind), id: j.id})
	}
}
