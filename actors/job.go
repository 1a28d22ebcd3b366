package actors

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/karajo/karajo/actors/cluster"
	"github.com/karajo/karajo/config"
	"github.com/karajo/karajo/config/schedule"
	"github.com/karajo/karajo/logstore"
)

// job is the actor of one exec job or JobHttp. It alone owns the job's
// status, counter, paused flag, last and next run, log index and timer.
// Both kinds share this actor; they differ in their run child (execRun or
// httpRun), in their view, and in that only exec runs take a global slot.
//
// Pending work follows SPEC 7.5: one run at a time; while a run is in
// progress (or waits for a slot) one trigger and one schedule tick may
// wait; more triggers are refused with ErrJobBusy, more ticks dropped.
type job struct {
	kind     logstore.Kind
	exec     *config.Job     // set when kind is KindJob
	http     *config.JobHTTP // set when kind is KindJobHTTP
	id       string
	sched    schedule.Schedule
	interval time.Duration
	keep     int // log_retention

	store *logstore.Store
	log   *slog.Logger
	sup   *actor.PID
	rt    runtime

	status       string
	counter      int64
	savedCounter int64 // the counter in the state file, as far as this actor knows
	paused       bool
	lastRun      time.Time // finish of the latest run, rounded to the second
	nextRun      time.Time // when the timer fires next (exact); zero without timer
	logs         []logstore.LogRef
	prepared     bool             // the work and log directories exist
	homeDir      string           // the work directory as an absolute path, once known (environ.go)
	reserved     *logstore.RunLog // log made by a trigger for the run waiting for its slot (runstart.go)
	lastError    string           // why the last run could not start or log; "" after a good run
	census       *logstore.Census // what the shared directories held at start; nil after load
	replay       *replayWindow    // delivery ids accepted (issue 15); loaded on first use (replay.go)
	deliveries   *deliveryRing    // the delivery inspector's records (issue 15); loaded on first use (deliveries.go)

	waiting        bool       // asked the supervisor for a slot
	waitSince      time.Time  // when it asked
	run            *actor.PID // run child in progress
	runCounter     int64
	flushing       flushQueue // runs whose commands ended, logs not yet durable, oldest first (pipeline.go)
	pendingTrigger bool
	pendingTick    bool

	timer      *time.Timer
	gen        uint64
	blank      *logstore.BlankLog // the next run's log made ahead of its due instant (blank.go); nil = none
	blankTimer *time.Timer        // makes blank; nil when none is armed
	tk         timerState         // schedule points, catch-up and cursor (timer.go)

	policy        overlapPolicy
	retrying      bool        // the run in progress waits for its next attempt (its child idle)
	retryTimer    *time.Timer // fires retryDue; nil when no retry is pending
	retryGen      uint64
	retryDue      time.Time    // when the next attempt is due
	attempt       int          // of the run in progress, 1-based
	startedAt     time.Time    // start of the run in progress
	runTrigger    string       // what started the run in progress (Trigger.Reason or "timer")
	waitTrigger   string       // what the run waiting for a slot was started by
	nextTrigger   string       // the reason of the pending trigger
	waitPayload   *Payload     // of the trigger whose run waits for a slot (payload.go)
	nextPayload   *Payload     // of the pending trigger
	runPayload    *Payload     // of the run in progress
	cancelWaiters []*actor.PID // Cancel askers waiting for the run to end
	attemptAt     time.Time    // start of the attempt in progress
	work          *execRun     // the exec run in progress, for its process group
	par           parallelRuns // the runs of overlap = "parallel" (parallel.go)
	handled       uint64       // messages handled

	al jobAlerts // failure streak and dead-man's switch (alerts.go)

	remote *remoteView // the latest view another node published (clusterview.go)

	stopping  bool
	stopReply *actor.PID // who waits for stopJob
	retiring  bool       // removed by a reload: stops once idle

	hist histState // for the run history (history.go)
}

// runtime is what runs need from the engine besides their job's config.
type runtime struct {
	selfURL  string              // base URL of this server, for relative http_url
	version  string              // User-Agent of JobHttp requests
	notifier *actor.PID          // receives notifyRun; nil without notifs
	groups   *groupSet           // live process groups, for the emergency stop
	metrics  *Metrics            // may be nil
	grace    time.Duration       // kill_grace; 0 = killGrace
	restarts *restartCounts      // actor restarts by actor ID; may be nil
	sweeper  *sweeper            // kills escaped processes by their run token; may be nil
	cgroups  *cgroups            // a cgroup v2 per command (cgroup.go); nil = none
	tokens   string              // prefix of this engine's run tokens
	history  *actor.PID          // the run history's recorder (recorder.go); nil = no history
	coord    cluster.Coordinator // whether a run may start (clusterhook.go); never nil
	dirs     *dirPrep            // makes the directories of the jobs due at start first; may be nil
	blanks   *atomic.Int64       // blank logs open over the engine's jobs (blank.go); nil = none made
}

func newExecJob(cfg *config.Job, store *logstore.Store, log *slog.Logger, sup *actor.PID, rt runtime) *job {
	return &job{kind: logstore.KindJob, exec: cfg, id: cfg.ID, sched: cfg.Sched, interval: cfg.Interval, keep: cfg.LogRetention,
		store: store, log: log, sup: sup, rt: rt, status: StatusStarted, policy: newOverlapPolicy(cfg.RunControl)}
}

func newHTTPJob(cfg *config.JobHTTP, store *logstore.Store, log *slog.Logger, sup *actor.PID, rt runtime) *job {
	return &job{kind: logstore.KindJobHTTP, http: cfg, id: cfg.ID, sched: cfg.Sched, interval: cfg.Interval, keep: cfg.LogRetention,
		store: store, log: log, sup: sup, rt: rt, status: StatusStarted}
}

// Receive implements actor.Actor.
func (j *job) Receive(ctx actor.Context) {
	j.handled++
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		j.load()
		j.histReconcile(ctx)
		j.startAlerts(ctx) // alerts.go
		j.armStart(ctx)
		j.publish(ctx)
	case *actor.Stopping, *actor.Restarting:
		j.disarm()
		j.dropBlank()
		j.stopRetryTimer()
		j.par.stopTimers()
		j.stopAlertTimer()
	case *GetJob:
		ctx.Respond(j.reply())
	case *Trigger:
		v, err := j.trigger(ctx, msg, msg.Payload)
		respond(ctx, v, err)
	case *Pause, *Resume:
		_, pause := msg.(*Pause)
		err := j.setPaused(ctx, pause)
		respond(ctx, j.reply(), err)
	case *Cancel:
		j.cancel(ctx)
	case *cancelAnswerDue:
		j.answerCancel(ctx)
	case *retryDue:
		if msg.counter != 0 {
			j.parRetryDue(ctx, msg)
		} else {
			j.onRetryDue(ctx, msg.gen)
		}
	case *RecordDelivery:
		j.recordDelivery(msg.Delivery)
	case *GetDeliveries:
		ctx.Respond(j.deliveriesView())
	case *alertDue:
		j.onAlertDue(ctx, msg.gen)
	case *GetSchedule:
		ctx.Respond(j.scheduleView(msg.N))
	case *GetLog:
		lf, err := j.openLog(msg.Counter)
		respond(ctx, lf, err)
	case *tick:
		if msg.gen == j.gen {
			j.onTick(ctx)
		}
	case *blankDue:
		if msg.gen == j.gen {
			j.makeBlank()
		}
	case *slotGranted:
		switch {
		case msg.key != "":
			j.parOnSlot(ctx, msg.key) // parallel.go
		case j.waiting: // else a grant withdrawn meanwhile
			j.onSlot(ctx)
		}
	case *runExited:
		j.onExited(ctx, msg) // pipeline.go
	case *runFinished:
		if pr := j.par.byCounter(msg.counter); pr != nil {
			j.parFinished(ctx, pr, msg)
		} else {
			j.onFinished(ctx, msg)
		}
	case *stopJob:
		j.stop(ctx)
	case *reconfigure:
		j.onReconfigure(ctx, msg)
	case *retire:
		j.onRetire(ctx)
	case *clusterEvent:
		j.onClusterEvent(ctx, msg) // clusterhook.go
	case actor.AutoReceiveMessage, actor.SystemMessage:
	default:
		j.log.Warn("job: unexpected message", "job", j.id, "type", fmt.Sprintf("%T", msg))
	}
}

// load rebuilds the job's state from disk (SPEC 3.3 with IMP-8/9/10).
func (j *job) load() {
	id := j.id
	census := j.census
	j.census = nil           // true only at start
	if census.HasGroup(id) { // else nothing was left running by a crash
		if g, ok := j.store.LoadGroup(j.kind, id); ok {
			if killLeftover(g) {
				j.log.Warn("killed the process group a crash left running", string(j.kind), id, "pgid", g.PGID)
			}
			if err := j.store.ClearGroup(j.kind, id); err != nil {
				j.log.Warn("clear process group record", string(j.kind), id, "err", err)
			}
		}
	}
	rec, err := j.store.RecoverIn(census, j.kind, id, j.keep)
	if err != nil {
		j.log.Error("recover job state", "job", id, "err", err)
	}
	for _, w := range rec.Warnings {
		j.log.Warn("recover job state", "job", id, "note", w)
	}
	j.counter = rec.Counter
	j.savedCounter = rec.StateCounter
	j.paused = rec.Paused
	j.lastRun = rec.LastRun
	if !rec.LastSuccess.IsZero() { // the gauge survives a restart (issue 16)
		j.rt.metrics.lastSucceeded(string(j.kind), id, rec.LastSuccess)
	}
	j.tk.cursor, j.tk.savedCursor = rec.Cursor, rec.Cursor
	j.logs = rec.Logs
	j.status = rec.Status
	if j.status == "" {
		j.status = StatusStarted
	}
	if j.paused {
		j.status = StatusPaused
	}
}

// busy reports whether a run is in progress (also one whose log is still
// being flushed: pipeline.go) or waiting for a slot.
func (j *job) busy() bool {
	return j.run != nil || j.waiting || len(j.par.runs) > 0 || len(j.flushing) > 0
}

// trigger handles a Trigger. It owns p: kept for the run it starts or
// queues, else closed.
func (j *job) trigger(ctx actor.Context, t *Trigger, p *Payload) (any, error) {
	j.hist.incoming = historyTrigger(t)
	v, err := j.triggerRun(ctx, t.Reason, t.DeliveryID, p)
	if err != nil {
		p.close()
	}
	return v, err
}

func (j *job) triggerRun(ctx actor.Context, reason, delivery string, p *Payload) (any, error) {
	switch {
	case j.stopping:
		return nil, fmt.Errorf("job %s: %w", j.id, ErrStopping)
	case j.retiring:
		return nil, fmt.Errorf("job %s: removed from the configuration: %w", j.id, ErrJobNotFound)
	case j.paused:
		j.rt.metrics.TriggerRefused("paused")
		j.histRefused(ctx, skipPaused)
		return nil, fmt.Errorf("job %s: %w", j.id, ErrJobPaused)
	}
	if err := j.clusterOwner(); err != nil {
		return nil, err
	}
	now := time.Now()
	if err := j.checkReplay(delivery, now); err != nil {
		j.rt.metrics.TriggerRefused("replayed")
		return nil, err
	}
	act := j.policy.decide(byTrigger, j.phase(), j.inFlight(), j.pendingTrigger)
	var v any
	if act != actSkip && act != actRefuse {
		v = j.reply() // the job as it is when the trigger is queued (a refusal needs none)
	}
	counter := j.counter + 1
	switch act {
	case actStart:
		j.log.Debug("trigger", "job", j.id, "reason", reason)
		if err := j.reserveLog(); err != nil {
			j.publish(ctx)
			return nil, err
		}
		j.waitTrigger, j.hist.wait = reason, j.hist.incoming
		j.waitPayload = p
		j.requestSlot(ctx)
	case actQueue:
		j.pendingTrigger, j.nextTrigger, j.hist.next = true, reason, j.hist.incoming
		j.setNextPayload(p)
		if j.waiting && j.run == nil && !j.parallel() {
			counter++ // behind the run that waits for a slot
		}
		j.histPending(ctx, counter)
	case actCoalesce:
		p.close() // merged into the trigger already waiting, which keeps its own
		j.histRefused(ctx, skipPending)
	case actReplace:
		j.pendingTrigger, j.nextTrigger, j.hist.next = true, reason, j.hist.incoming
		j.setNextPayload(p)
		j.histPending(ctx, counter)
		j.rt.metrics.overlapped(j.id, "trigger", "replace")
		j.endRunInProgress(ctx, "replaced by a new trigger")
	case actSkip:
		j.rt.metrics.TriggerRefused("skip")
		j.rt.metrics.overlapped(j.id, "trigger", "skip")
		j.histRefused(ctx, skipOverlap)
		return nil, fmt.Errorf("job %s: a run is in progress and overlap is skip: %w", j.id, ErrJobBusy)
	default:
		j.rt.metrics.TriggerRefused("busy")
		j.histRefused(ctx, skipBusy)
		return nil, fmt.Errorf("job %s: %w", j.id, ErrJobBusy)
	}
	j.recordReplay(delivery, counter, now)
	setRunCounter(v, counter)
	return v, nil
}

// setPaused pauses or resumes the job once the state file says so; when
// it cannot be written, nothing changes and the error wraps ErrNotDurable.
func (j *job) setPaused(ctx actor.Context, paused bool) error {
	if err := j.clusterPause(paused); err != nil {
		return err
	}
	return j.applyPaused(ctx, paused)
}

// applyPaused is setPaused on this node only.
func (j *job) applyPaused(ctx actor.Context, paused bool) error {
	was := j.paused
	j.paused = paused
	j.cursorToNow()
	if err := j.saveState(); err != nil {
		j.paused = was
		return fmt.Errorf("job %s: %w: %w", j.id, ErrNotDurable, err)
	}
	if paused && j.retrying {
		j.endRunInProgress(ctx, "paused")
	}
	if paused {
		j.dropBlank() // a paused job's timer only moves next_run on
	}
	if paused {
		j.parEndRetries(ctx, "paused")
	}
	switch {
	case paused:
		j.status = StatusPaused
	case j.run != nil || j.par.started() > 0 || len(j.flushing) > 0:
		j.status = StatusRunning
	default:
		j.status = StatusStarted
	}
	j.publish(ctx)
	return nil
}

// saveState writes the state file. It is written when the paused flag
// changes and when the job stops with a counter the file does not hold yet,
// never on the way to a command: a run's counter is durable through its log
// file, and Recover takes the larger of the two (SPEC 3.1, IMP-8).
func (j *job) saveState() error {
	st := logstore.State{Counter: j.counter, Paused: j.paused, Cursor: j.tk.cursor}
	if err := j.store.SaveState(j.kind, j.id, st); err != nil {
		return err
	}
	j.savedCounter, j.tk.savedCursor = j.counter, j.tk.cursor
	return nil
}

// saveCounter writes the state file when the job is leaving with a counter
// the file does not hold yet (graceful stop, removal by a reload), so that
// the file alone is current after a clean shutdown.
func (j *job) saveCounter() {
	if j.counter != j.savedCounter || !j.tk.cursor.Equal(j.tk.savedCursor) {
		if err := j.saveState(); err != nil {
			j.log.Error("save job state", "job", j.id, "err", err)
		}
	}
}

// requestSlot asks for a global run slot; JobHttp runs take none (SPEC
// 7.5) and start at once.
func (j *job) requestSlot(ctx actor.Context) {
	if j.sched == nil {
		// Interval jobs restart their cadence from the end of this run.
		j.disarm()
	}
	if j.parallel() {
		j.parAsk(ctx)
		return
	}
	j.waiting = true
	j.waitSince = time.Now()
	j.histWait(ctx)
	if j.kind != logstore.KindJob {
		j.onSlot(ctx)
		return
	}
	ctx.Send(j.sup, &acquireSlot{job: ctx.Self(), id: j.id})
}

func (j *job) releaseSlot(ctx actor.Context) {
	if j.kind == logstore.KindJob {
		ctx.Send(j.sup, &releaseSlot{id: j.id})
	}
}

// onSlot starts a run with the slot just granted, unless the job was
// paused or stopped meanwhile (IMP-17: then nothing is recorded).
func (j *job) onSlot(ctx actor.Context) {
	j.waiting = false
	due := j.takeDue()
	if j.kind == logstore.KindJob {
		j.rt.metrics.slotWaited(time.Since(j.waitSince))
	}
	if j.run != nil {
		j.resumeRun(ctx)
		return
	}
	if j.stopping || j.paused || j.retiring {
		j.histDropWait(ctx, j.dropReason())
		j.dropReserved()
		j.releaseSlot(ctx)
		j.pendingTrigger, j.pendingTick = false, false
		if !j.stopping {
			j.armAfterRun(ctx)
		}
		j.publish(ctx)
		return
	}
	id := j.id
	counter, ok := j.claim(ctx, due) // clusterhook.go
	if !ok {
		j.histDropWait(ctx, "")
		j.skipStart(ctx)
		return
	}
	rl, err := j.takeLog(counter)
	if err != nil {
		j.histDropWait(ctx, dropNoLog)
		j.logCreateFailed(counter, err)
		j.releaseSlot(ctx)
		j.armAfterRun(ctx)
		j.publish(ctx)
		return
	}
	j.counter = counter // durable through the log's name; no state write here
	j.logs = append(j.logs, logstore.LogRef{JobID: id, Counter: counter, Status: StatusRunning, Name: rl.Name()})
	j.status = StatusRunning
	j.runCounter = counter
	j.attempt, j.startedAt, j.runTrigger = due.firstAttempt(), time.Now(), cmp.Or(j.waitTrigger, due.reason, "timer")
	j.attemptAt = j.startedAt
	j.waitTrigger = ""
	j.runPayload, j.waitPayload = j.waitPayload, nil
	pid, er := j.spawnRun(ctx, rl, counter, due, j.runTrigger, j.runPayload)
	j.work = er
	j.run = pid
	j.rt.metrics.runStarted(string(j.kind), id)
	j.histStarted(ctx, due, counter)
	j.log.Info("run started", string(j.kind), id, "counter", counter, "trigger", j.runTrigger)
	j.publish(ctx)
}

// spawnRun spawns the run child of run counter with its log rl: trigger
// is what started it (Trigger.Reason or "timer"), payload its webhook's
// request (nil for none). work is the exec run, nil for a JobHttp.
func (j *job) spawnRun(ctx actor.Context, rl *logstore.RunLog, counter int64, due duePoint, trigger string, payload *Payload) (pid *actor.PID, work *execRun) {
	id := j.id
	run := &runChild{rl: rl, log: j.log, obsolete: j.prune(), store: j.store, kind: j.kind, id: id}
	rl.SetSecrets(j.secrets())
	g := j.guard(rl, counter)
	if j.kind == logstore.KindJob {
		dir := j.store.WorkDir(j.kind, id)
		env, token := cmp.Or(due.reason, runTriggerEnv(trigger)), runToken(j.rt.tokens, id, counter)
		er := &execRun{
			id:       id,
			counter:  counter,
			commands: j.exec.Commands,
			shell:    shellOf(j.exec),
			env:      environ(j.exec, runFacts{counter: counter, home: j.home(dir), extra: append(append(due.vars(), runVars(env, token)...), j.nodeVars()...)}.as(j.exec.RunAs)),
			begin:    j.nodeBegin(execBegin(due, j.exec, trigger)),
			workDir:  cmp.Or(j.exec.Dir, dir),
			rl:       g,
			log:      j.log,
			store:    j.store,
			groups:   j.rt.groups,
			trigger:  env,
			token:    token,
			timeout:  j.exec.Timeout,
			grace:    j.rt.killGrace(),
			retry:    newRetryPolicy(j.exec.RunControl),
			metrics:  j.rt.metrics,
			sweeper:  j.rt.sweeper,
			cgroups:  j.rt.cgroups,
			cfg:      j.exec,
			payload:  payload,
			attempt:  due.firstAttempt() - 1,
			note:     due.rerunNote(id),
		}
		er.exited = j.exitedFunc(ctx, counter)
		run.work, run.abandon = er.execute, er.abandon
		work = er
	} else {
		hr := &httpRun{cfg: j.http, counter: counter, self: j.rt.selfURL, version: j.rt.version, rl: g, log: j.log,
			begin: j.nodeBegin(due.beginLine(j.http.NewKeys)), exited: j.exitedFunc(ctx, counter)}
		run.work = hr.execute
	}
	var err error
	pid, err = ctx.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return run }), "run/"+strconv.FormatInt(counter, 10))
	if err != nil {
		// Only a name clash could cause this, and counters are unique.
		j.log.Error("spawn run", "job", id, "counter", counter, "err", err)
		pid = ctx.Spawn(actor.PropsFromProducer(func() actor.Actor { return run }))
	}
	return pid, work
}

// createLog creates the log of run counter, after making the job's
// directories if neither this actor nor the engine's pass over the jobs
// due at start has (dirprep.go). When the pass has not reached the job
// yet, or made them after the start (then they cost a stat each), the
// actor makes them itself.
func (j *job) createLog(counter int64) (*logstore.RunLog, error) {
	if err := j.prepare(); err != nil {
		return nil, err
	}
	if rl, err := j.takeBlank(counter); rl != nil || err != nil {
		return rl, err
	}
	return j.store.Create(j.kind, j.id, counter)
}

// prepare makes the job's directories unless the start-up pass or an
// earlier run did.
func (j *job) prepare() error {
	if !j.prepared && j.rt.dirs.done(j.kind, j.id) {
		j.prepared = true
	}
	if !j.prepared {
		if err := j.store.Prepare(j.kind, j.id); err != nil {
			return err
		}
		j.prepared = true
	}
	return nil
}

// prune drops the oldest logs beyond log_retention, counting the run in
// progress (SPEC 1.10), from the job's list and returns their file names:
// the run child deletes them while its run starts.
func (j *job) prune() []string {
	keep := max(j.keep, 1)
	var names []string
	for i := 0; len(j.logs) > keep && i < len(j.logs); {
		if j.logs[i].Status == StatusRunning {
			i++ // another run of a parallel job: its log stays
			continue
		}
		names = append(names, j.logs[i].Name)
		j.logs = append(j.logs[:i], j.logs[i+1:]...)
	}
	return names
}

func (j *job) onFinished(ctx actor.Context, msg *runFinished) {
	if msg.again {
		j.onRetryPending(ctx, msg)
		return
	}
	j.onDurable(ctx, msg) // pipeline.go
}

// recordRun records a run that ended: its log, last run, metrics, history,
// the job's status, the server log and the notifications.
func (j *job) recordRun(ctx actor.Context, msg *runFinished) {
	id := j.id
	for i := range j.logs {
		if j.logs[i].Counter == msg.counter && msg.ref.Name != "" {
			j.logs[i] = msg.ref
		}
	}
	j.lastRun = now()
	j.lastError = ""
	if msg.logErr != nil {
		j.lastError = msg.logErr.Error()
	}
	j.rt.metrics.runFinished(string(j.kind), id, msg.status, msg.dur, j.lastRun)
	j.histFinished(ctx, msg)
	switch {
	case j.paused:
		j.status = StatusPaused // IMP-3: the pause survives the end of the run
	case j.par.started() > 0, j.run != nil, len(j.flushing) > 0:
		j.status = StatusRunning // another run goes on, or a later one is not reported yet
	default:
		j.status = msg.status
	}
	attrs := []any{string(j.kind), id, "counter", msg.counter, "status", msg.status, "dur", msg.dur.Round(time.Millisecond)}
	if msg.err != nil {
		j.log.Warn("run failed", append(attrs, "err", msg.err)...)
	} else {
		j.log.Info("run finished", attrs...)
	}
	j.notify(ctx, msg)
}

// afterRun is what follows the end of a run: the answers to Cancel and to
// a stop or retire once no run is left, then the trigger or tick waiting
// behind the run, and the timer.
func (j *job) afterRun(ctx actor.Context) {
	j.histDropNext(ctx)
	if j.busy() && (j.stopping || j.retiring) {
		j.publish(ctx) // the job's other runs (overlap = "parallel") have not ended yet
		return
	}
	if !j.busy() {
		j.answerCancel(ctx)
	}
	if j.stopping || j.retiring {
		j.saveCounter()
	}
	if j.stopping {
		j.publish(ctx)
		if j.stopReply != nil {
			ctx.Send(j.stopReply, &jobStopped{})
		}
		return
	}
	if j.retiring {
		j.pendingTrigger, j.pendingTick = false, false
		j.publish(ctx)
		ctx.Send(j.sup, &retired{kind: string(j.kind), id: j.id}) // after the view: it removes it
		return
	}
	j.startNext(ctx) // pipeline.go; usually done already when the commands ended
	if !j.busy() {
		j.armAfterRun(ctx)
	}
	j.publish(ctx)
}

func (j *job) stop(ctx actor.Context) {
	j.stopping = true
	j.disarm()
	j.pendingTrigger, j.pendingTick = false, false
	if j.waiting {
		j.waiting = false
		j.histDropWait(ctx, dropStopped)
		j.dropReserved()
		j.releaseSlot(ctx)
	}
	j.parEndAll(ctx, "karajo stops")
	if !j.busy() {
		j.saveCounter()
		ctx.Respond(&jobStopped{})
		return
	}
	j.stopReply = ctx.Sender()
	j.endRunInProgress(ctx, "karajo stops")
}

// openLog opens the log with the given counter for reading. A running log
// may be renamed under us when its run ends, so its final names are tried
// too.
func (j *job) openLog(counter int64) (*LogFile, error) {
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
			f, err := j.store.Open(j.kind, j.id, name)
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
		return nil, fmt.Errorf("log %s of job %s is gone from disk: %w", ref.Name, j.id, ErrLogNotFound)
	}
	return nil, fmt.Errorf("log #%d of job %s: %w", counter, j.id, ErrLogNotFound)
}

// reply returns a copy of the job's state as the reply of its kind:
// *JobView or *JobHTTPView.
func (j *job) reply() any {
	if j.kind == logstore.KindJob {
		v := j.view()
		return &v
	}
	v := j.httpView()
	return &v
}

// ownView returns a copy of an exec job's state as this node knows it
// (view, clusterview.go, shows the owner's in a cluster).
func (j *job) ownView() JobView {
	c := j.exec
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
		LastError:      j.lastError,
		Cron:           c.Cron,
		Timezone:       j.zoneName(),
		Running:        j.run != nil || j.par.started() > 0 || len(j.flushing) > 0,
		Waiting:        j.waiting || j.par.waitingFirst(),
		Paused:         j.paused,
	}
	if c.Sched != nil {
		v.Interval = 0
	}
	v.Logs = j.logViews()
	j.runControlView(&v)
	return v
}

// ownHTTPView returns a copy of a JobHttp's state as this node knows it.
func (j *job) ownHTTPView() JobHTTPView {
	c := j.http
	v := JobHTTPView{
		HeaderSign:      c.HeaderSign,
		HTTPMethod:      c.HTTPMethod,
		HTTPURL:         c.HTTPURL,
		HTTPRequestType: c.HTTPRequestType,
		HTTPHeaders:     c.HTTPHeaders,
		LastRun:         roundTime(j.lastRun),
		NextRun:         roundTime(j.nextRun),
		ID:              c.ID,
		Name:            c.Name,
		Description:     c.Description,
		Status:          j.status,
		Schedule:        c.Schedule,
		NotifOnSuccess:  c.NotifOnSuccess,
		NotifOnFailed:   c.NotifOnFailed,
		Logs:            j.logViews(),
		Interval:        c.Interval,
		LogRetention:    c.LogRetention,
		HTTPTimeout:     c.HTTPTimeout,
		HTTPInsecure:    c.HTTPInsecure,
		LastError:       j.lastError,
		Cron:            c.Cron,
		Timezone:        j.zoneName(),
		Running:         j.run != nil || len(j.flushing) > 0,
		Paused:          j.paused,
	}
	if c.Sched != nil {
		v.Interval = 0
	}
	return v
}

func (j *job) logViews() []LogRefView {
	if len(j.logs) == 0 {
		return nil
	}
	lv := make([]LogRefView, len(j.logs))
	for i, l := range j.logs {
		lv[i] = LogRefView{JobID: l.JobID, Name: l.Name, Status: l.Status, Counter: l.Counter}
	}
	return lv
}

func (j *job) publish(ctx actor.Context) {
	j.publishCluster() // clusterview.go
	if j.kind == logstore.KindJob {
		v := j.view()
		v.run = j.runInfo(ctx.Self())
		ctx.Send(j.sup, &jobChanged{view: &v})
		return
	}
	v := j.httpView()
	v.run = j.runInfo(ctx.Self())
	ctx.Send(j.sup, &jobChanged{httpView: &v})
}

// timeZero is the zero time (no next run).
var timeZero time.Time

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
