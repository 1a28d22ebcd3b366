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

	oldExec := make(map[string]*config.Job, len(old.Jobs))
	for _, j := range old.Jobs {
		oldExec[j.ID] = j
	}
	for _, jc := range env.Jobs {
		key := string(logstore.KindJob) + ":" + jc.ID
		pid, ok := s.jobs[jc.ID]
		if !ok {
			pid, ok = s.retiring[key]
			if ok { // removed earlier, back before its run ended
				delete(s.retiring, key)
				s.jobs[jc.ID] = pid
			}
		}
		if !ok {
			s.spawnExec(ctx, jc)
			ch.Added = append(ch.Added, key)
			continue
		}
		if prev := oldExec[jc.ID]; prev == nil || !sameJob(prev, jc) {
			ch.Changed = append(ch.Changed, key)
		}
		ctx.Send(pid, &reconfigure{exec: jc, rt: s.rt})
	}
	oldHTTP := make(map[string]*config.JobHTTP, len(old.JobHTTPs))
	for _, j := range old.JobHTTPs {
		oldHTTP[j.ID] = j
	}
	for _, jc := range env.JobHTTPs {
		key := string(logstore.KindJobHTTP) + ":" + jc.ID
		pid, ok := s.httpJobs[jc.ID]
		if !ok {
			pid, ok = s.retiring[key]
			if ok {
				delete(s.retiring, key)
				s.httpJobs[jc.ID] = pid
			}
		}
		if !ok {
			s.spawnHTTP(ctx, jc)
			ch.Added = append(ch.Added, key)
			continue
		}
		if prev := oldHTTP[jc.ID]; prev == nil || !sameHTTPJob(prev, jc) {
			ch.Changed = append(ch.Changed, key)
		}
		ctx.Send(pid, &reconfigure{http: jc, rt: s.rt})
	}

	keepExec := make(map[string]bool, len(env.Jobs))
	for _, j := range env.Jobs {
		keepExec[j.ID] = true
	}
	for id, pid := range s.jobs {
		if !keepExec[id] {
			key := string(logstore.KindJob) + ":" + id
			delete(s.jobs, id)
			s.retiring[key] = pid
			ctx.Send(pid, &retire{})
			ch.Removed = append(ch.Removed, key)
		}
	}
	keepHTTP := make(map[string]bool, len(env.JobHTTPs))
	for _, j := range env.JobHTTPs {
		keepHTTP[j.ID] = true
	}
	for id, pid := range s.httpJobs {
		if !keepHTTP[id] {
			key := string(logstore.KindJobHTTP) + ":" + id
			delete(s.httpJobs, id)
			s.retiring[key] = pid
			ctx.Send(pid, &retire{})
			ch.Removed = append(ch.Removed, key)
		}
	}
	slices.Sort(ch.Added)
	slices.Sort(ch.Removed)
	slices.Sort(ch.Changed)

	s.gen++
	s.grantFree(ctx) // max_job_running may have grown
	ctx.Respond(&reloaded{byID: cloneMap(s.jobs), httpByID: cloneMap(s.httpJobs), changes: ch})
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
