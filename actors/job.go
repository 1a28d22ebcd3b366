package actors

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strconv"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/karajo/karajo/config"
	"github.com/karajo/karajo/logstore"
)

// execJob is the actor of one exec job. It alone owns the job's status,
// counter, paused flag, last and next run, log index and timer.
//
// Pending work follows SPEC 7.5: one run at a time; while a run is in
// progress (or waits for a slot) one webhook trigger and one schedule tick
// may wait; more triggers are refused with ErrJobBusy, more ticks dropped.
type execJob struct {
	cfg   *config.Job
	store *logstore.Store
	log   *slog.Logger
	sup   *actor.PID

	status  string
	counter int64
	paused  bool
	lastRun time.Time // finish of the latest run, rounded to the second
	nextRun time.Time // when the timer fires next (exact); zero without timer
	logs    []logstore.LogRef

	waiting        bool       // asked the supervisor for a slot
	run            *actor.PID // run child in progress
	runCounter     int64
	pendingTrigger bool
	pendingTick    bool

	timer *time.Timer
	gen   uint64

	stopping  bool
	stopReply *actor.PID // who waits for stopJob
}

func newExecJob(cfg *config.Job, store *logstore.Store, log *slog.Logger, sup *actor.PID) *execJob {
	return &execJob{cfg: cfg, store: store, log: log, sup: sup, status: StatusStarted}
}

// Receive implements actor.Actor.
func (j *execJob) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		j.load()
		j.armInitial(ctx)
		j.publish(ctx)
	case *actor.Stopping, *actor.Restarting:
		j.disarm()
	case *GetJob:
		v := j.view()
		ctx.Respond(&v)
	case *Trigger:
		v, err := j.trigger(ctx, msg.Reason)
		respond(ctx, v, err)
	case *Pause:
		j.setPaused(ctx, true)
		v := j.view()
		ctx.Respond(&v)
	case *Resume:
		j.setPaused(ctx, false)
		v := j.view()
		ctx.Respond(&v)
	case *Cancel:
		if j.run != nil {
			ctx.Send(j.run, &cancelRun{})
		}
		v := j.view()
		ctx.Respond(&v)
	case *GetLog:
		lf, err := j.openLog(msg.Counter)
		respond(ctx, lf, err)
	case *tick:
		if msg.gen == j.gen {
			j.onTick(ctx)
		}
	case *slotGranted:
		j.onSlot(ctx)
	case *runFinished:
		j.onFinished(ctx, msg)
	case *stopJob:
		j.stop(ctx)
	case actor.AutoReceiveMessage, actor.SystemMessage:
	default:
		j.log.Warn("job: unexpected message", "job", j.cfg.ID, "type", fmt.Sprintf("%T", msg))
	}
}

// load rebuilds the job's state from disk (SPEC 3.3 with IMP-8/9/10).
func (j *execJob) load() {
	id := j.cfg.ID
	if err := j.store.Prepare(logstore.KindJob, id); err != nil {
		j.log.Error("prepare job directories", "job", id, "err", err)
	}
	rec, err := j.store.Recover(logstore.KindJob, id, j.cfg.LogRetention)
	if err != nil {
		j.log.Error("recover job state", "job", id, "err", err)
	}
	for _, w := range rec.Warnings {
		j.log.Warn("recover job state", "job", id, "note", w)
	}
	j.counter = rec.Counter
	j.paused = rec.Paused
	j.lastRun = rec.LastRun
	j.logs = rec.Logs
	j.status = rec.Status
	if j.status == "" {
		j.status = StatusStarted
	}
	if j.paused {
		j.status = StatusPaused
	}
}

// busy reports whether a run is in progress or waiting for a slot.
func (j *execJob) busy() bool { return j.run != nil || j.waiting }

func (j *execJob) trigger(ctx actor.Context, reason string) (*JobView, error) {
	switch {
	case j.stopping:
		return nil, fmt.Errorf("job %s: %w", j.cfg.ID, ErrStopping)
	case j.paused:
		return nil, fmt.Errorf("job %s: %w", j.cfg.ID, ErrJobPaused)
	}
	v := j.view() // the job as it is when the trigger is queued
	switch {
	case !j.busy():
		j.log.Debug("trigger", "job", j.cfg.ID, "reason", reason)
		j.requestSlot(ctx)
	case !j.pendingTrigger:
		j.pendingTrigger = true
	default:
		return nil, fmt.Errorf("job %s: %w", j.cfg.ID, ErrJobBusy)
	}
	return &v, nil
}

func (j *execJob) setPaused(ctx actor.Context, paused bool) {
	j.paused = paused
	switch {
	case paused:
		j.status = StatusPaused
	case j.run != nil:
		j.status = StatusRunning
	default:
		j.status = StatusStarted
	}
	j.saveState()
	j.publish(ctx)
}

func (j *execJob) saveState() {
	st := logstore.State{Counter: j.counter, Paused: j.paused}
	if err := j.store.SaveState(logstore.KindJob, j.cfg.ID, st); err != nil {
		j.log.Error("save job state", "job", j.cfg.ID, "err", err)
	}
}

func (j *execJob) requestSlot(ctx actor.Context) {
	if j.cfg.Sched == nil {
		// Interval jobs restart their cadence from the end of this run.
		j.disarm()
	}
	j.waiting = true
	ctx.Send(j.sup, &acquireSlot{job: ctx.Self(), id: j.cfg.ID})
}

func (j *execJob) releaseSlot(ctx actor.Context) {
	ctx.Send(j.sup, &releaseSlot{id: j.cfg.ID})
}

// onSlot starts a run with the slot just granted, unless the job was
// paused or stopped meanwhile (IMP-17: then nothing is recorded).
func (j *execJob) onSlot(ctx actor.Context) {
	j.waiting = false
	if j.stopping || j.paused {
		j.releaseSlot(ctx)
		j.pendingTrigger, j.pendingTick = false, false
		if !j.stopping {
			j.armAfterRun(ctx)
		}
		j.publish(ctx)
		return
	}
	id := j.cfg.ID
	counter := j.counter + 1
	rl, err := j.store.Create(logstore.KindJob, id, counter)
	if err != nil {
		j.log.Error("create run log", "job", id, "counter", counter, "err", err)
		j.releaseSlot(ctx)
		j.armAfterRun(ctx)
		j.publish(ctx)
		return
	}
	j.counter = counter
	j.saveState()
	j.logs = append(j.logs, logstore.LogRef{JobID: id, Counter: counter, Status: StatusRunning, Name: rl.Name()})
	j.prune()
	j.status = StatusRunning
	j.runCounter = counter
	run := &execRun{
		id:       id,
		counter:  counter,
		commands: j.cfg.Commands,
		workDir:  j.store.WorkDir(logstore.KindJob, id),
		rl:       rl,
		log:      j.log,
	}
	pid, err := ctx.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return run }), "run/"+strconv.FormatInt(counter, 10))
	if err != nil {
		// Only a name clash could cause this, and counters are unique.
		j.log.Error("spawn run", "job", id, "counter", counter, "err", err)
		pid = ctx.Spawn(actor.PropsFromProducer(func() actor.Actor { return run }))
	}
	j.run = pid
	j.log.Info("run started", "job", id, "counter", counter)
	j.publish(ctx)
}

// prune removes the oldest logs beyond log_retention, counting the run in
// progress (SPEC 1.10).
func (j *execJob) prune() {
	keep := max(j.cfg.LogRetention, 1)
	for len(j.logs) > keep {
		old := j.logs[0]
		j.logs = j.logs[1:]
		if err := j.store.Remove(logstore.KindJob, j.cfg.ID, old.Name); err != nil {
			j.log.Error("remove old log", "job", j.cfg.ID, "log", old.Name, "err", err)
		}
	}
}

func (j *execJob) onFinished(ctx actor.Context, msg *runFinished) {
	id := j.cfg.ID
	if j.run != nil {
		ctx.Stop(j.run)
	}
	j.run = nil
	j.releaseSlot(ctx)
	for i := range j.logs {
		if j.logs[i].Counter == msg.counter && msg.ref.Name != "" {
			j.logs[i] = msg.ref
		}
	}
	j.lastRun = now()
	if j.paused {
		j.status = StatusPaused // IMP-3: the pause survives the end of the run
	} else {
		j.status = msg.status
	}
	attrs := []any{"job", id, "counter", msg.counter, "status", msg.status, "dur", msg.dur.Round(time.Millisecond)}
	if msg.err != nil {
		j.log.Warn("run failed", append(attrs, "err", msg.err)...)
	} else {
		j.log.Info("run finished", attrs...)
	}
	if j.stopping {
		j.publish(ctx)
		if j.stopReply != nil {
			ctx.Send(j.stopReply, &jobStopped{})
		}
		return
	}
	switch {
	case j.paused:
		j.pendingTrigger, j.pendingTick = false, false
	case j.pendingTrigger:
		j.pendingTrigger = false
		j.requestSlot(ctx)
	case j.pendingTick:
		j.pendingTick = false
		j.requestSlot(ctx)
	}
	if !j.busy() {
		j.armAfterRun(ctx)
	}
	j.publish(ctx)
}

func (j *execJob) stop(ctx actor.Context) {
	j.stopping = true
	j.disarm()
	j.pendingTrigger, j.pendingTick = false, false
	if j.waiting {
		j.waiting = false
		j.releaseSlot(ctx)
	}
	if j.run == nil {
		ctx.Respond(&jobStopped{})
		return
	}
	j.stopReply = ctx.Sender()
	ctx.Send(j.run, &cancelRun{})
}

// openLog opens the log with the given counter for reading. A running log
// may be renamed under us when its run ends, so its final names are tried
// too.
func (j *execJob) openLog(counter int64) (*LogFile, error) {
	for _, ref := range j.logs {
		if ref.Counter != counter {
			continue
		}
		names := []string{ref.Name}
		status := ref.Status
		if ref.Status == StatusRunning {
			names = append(names, ref.Name+"."+StatusSuccess, ref.Name+"."+StatusFailed, ref.Name+"."+StatusCanceled)
		}
		for i, name := range names {
			f, err := j.store.Open(logstore.KindJob, j.cfg.ID, name)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("open log %s: %w", name, err)
			}
			fi, err := f.Stat()
			if err != nil {
				f.Close()
				return nil, fmt.Errorf("stat log %s: %w", name, err)
			}
			lf := &LogFile{JobID: ref.JobID, Name: name, Status: status, Counter: ref.Counter, File: f, Size: fi.Size()}
			if i > 0 {
				lf.Status = names[i][len(ref.Name)+1:]
			}
			return lf, nil
		}
		return nil, fmt.Errorf("log %s of job %s is gone from disk: %w", ref.Name, j.cfg.ID, ErrLogNotFound)
	}
	return nil, fmt.Errorf("log #%d of job %s: %w", counter, j.cfg.ID, ErrLogNotFound)
}

// view returns a copy of the job's state for readers.
func (j *execJob) view() JobView {
	c := j.cfg
	v := JobView{
		Path:           c.Path,
		AuthKind:       c.AuthKind,
		HeaderSign:     c.HeaderSign,
		Commands:       c.Commands,
		LastRun:        roundTime(j.lastRun),
		NextRun:        roundTime(j.nextRun),
		ID:             c.ID,
		Name:           c.Name,
		Description:    c.Description,
		Status:         j.status,
		Schedule:       c.Schedule,
		NotifOnSuccess: c.NotifOnSuccess,
		NotifOnFailed:  c.NotifOnFailed,
		Interval:       c.Interval,
		LogRetention:   c.LogRetention,
		Running:        j.run != nil,
		Waiting:        j.waiting,
		Paused:         j.paused,
	}
	if c.Sched != nil {
		v.Interval = 0
	}
	if len(j.logs) > 0 {
		v.Logs = make([]LogRefView, len(j.logs))
		for i, l := range j.logs {
			v.Logs[i] = LogRefView{JobID: l.JobID, Name: l.Name, Status: l.Status, Counter: l.Counter}
		}
	}
	return v
}

func (j *execJob) publish(ctx actor.Context) {
	ctx.Send(j.sup, &jobChanged{view: j.view()})
}

// now is the server's "now" for stamps: the wall clock rounded to the
// nearest second, UTC (SPEC 1.7).
func now() time.Time { return time.Now().Round(time.Second).UTC() }

// roundTime rounds t to the second in UTC; the zero time stays zero.
func roundTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.Round(time.Second).UTC()
}
