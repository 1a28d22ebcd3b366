package actors

import (
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/karajo/karajo/logstore"
	"github.com/karajo/karajo/logstore/history"
)

// The job side of the run history (issue 17): small hooks called where a
// run starts, finishes or does not happen. Each sends one message to the
// recorder (recorder.go) and returns; nothing waits for the write.

// Reasons of the records of runs that did not happen.
const (
	skipPaused     = "paused"      // a due tick while paused, or a trigger refused (412)
	skipOverlap    = "overlap"     // a tick or trigger while a run went on (overlap = skip)
	skipPending    = "pending"     // dropped: one was already pending
	skipBusy       = "busy"        // a trigger refused (429)
	skipServerDown = "server down" // a schedule point missed while the server was down
)

// maxMissed bounds the points looked at (and recorded one by one) when a
// job finds at start the schedule points missed while the server was down.
const (
	maxMissedScan    = 100_000
	maxMissedRecords = 50
)

// histState is what a job keeps for its history records.
type histState struct {
	incoming history.Trigger // of the Trigger being handled
	wait     history.Trigger // of the trigger whose run waits for a slot
	next     history.Trigger // of the pending trigger
	run      history.Record  // of the run in progress
	waitQ    history.Record  // "queued" record of the run waiting for a slot (Counter 0: none)
	nextQ    history.Record  // "queued" record of the trigger pending behind a run (Counter 0: none)
	tickQ    history.Record  // "queued" record of the schedule tick pending behind a run (Counter 0: none)
	attempt  history.Record  // record of the retry attempt in progress or queued (Counter 0: none)
	reload   bool            // the timer was armed to fire at once by a reload
	byReload bool            // the run asking for a slot is due because of a reload
}

// Reasons of the records of queued runs that did not start.
const (
	dropStopped  = "stopped"  // karajo stopped
	dropReload   = "reload"   // a reload removed the job
	dropCanceled = "canceled" // a Cancel withdrew it
	dropNoLog    = "no log"   // its log could not be created
)

// historyTrigger is the history's view of a Trigger.
func historyTrigger(t *Trigger) history.Trigger {
	ht := history.Trigger{Kind: t.Reason, DeliveryID: t.DeliveryID, Remote: t.Remote}
	switch {
	case t.Reason == "api":
		ht.Kind = history.TriggerRunNow
	case strings.HasPrefix(t.Reason, "session:"):
		ht.Kind, ht.User = history.TriggerAPI, strings.TrimPrefix(t.Reason, "session:")
	}
	return ht
}

func (j *job) historyKeep() int {
	if j.exec != nil {
		return j.exec.HistoryRetention
	}
	return j.http.HistoryRetention
}

func (j *job) histSend(ctx actor.Context, rec history.Record) {
	if j.rt.history != nil {
		ctx.Send(j.rt.history, &histPut{kind: string(j.kind), rec: rec, keep: j.historyKeep()})
	}
}

// histReconcile sends the job's logs found at start to the recorder.
func (j *job) histReconcile(ctx actor.Context) {
	if j.rt.history == nil {
		return
	}
	dir := j.store.LogDir(j.kind, j.id)
	logs := make([]history.LogInfo, 0, len(j.logs))
	for _, l := range j.logs {
		logs = append(logs, history.LogInfo{Counter: l.Counter, Status: l.Status, Path: filepath.Join(dir, l.Name)})
	}
	ctx.Send(j.rt.history, &histReconcile{logs: history.JobLogs{Kind: string(j.kind), Job: j.id, Logs: logs, Keep: j.historyKeep()}})
}

// histStarted records the run that onSlot just started (its queued
// record, if it got another counter, goes).
func (j *job) histStarted(ctx actor.Context, due duePoint, counter int64) {
	queued := j.waitSince
	if q := j.hist.waitQ; q.Counter != 0 {
		queued = q.QueuedAt
		if q.Counter != counter {
			j.histDelete(ctx, q)
		}
	}
	trigger, by := j.runTrigger, j.hist.wait
	if j.hist.byReload {
		trigger, by = history.TriggerReload, history.Trigger{Kind: history.TriggerReload}
	}
	j.hist.run = j.histStart(ctx, due, counter, queued, j.startedAt, trigger, by)
	j.hist.wait, j.hist.waitQ, j.hist.byReload = history.Trigger{}, history.Record{}, false
}

// histTrigger is the history's trigger of a run started by trigger
// (Trigger.Reason, or "" for a tick) at due; by is the trigger's view.
func histTrigger(due duePoint, trigger string, by history.Trigger) history.Trigger {
	switch {
	case due.lost != nil: // a lost run run again (clustercatchup.go)
		return history.Trigger{Kind: history.TriggerRetry, RetryOf: due.lost.counter}
	case trigger != "" && trigger != due.reason && trigger != history.TriggerTimer:
		return by
	case due.reason == triggerCatchUp:
		return history.Trigger{Kind: history.TriggerCatchUp}
	}
	return history.Trigger{Kind: history.TriggerTimer}
}

// histQueue records run counter as queued (since at) and returns its
// record (zero without history).
func (j *job) histQueue(ctx actor.Context, counter int64, trigger history.Trigger, due duePoint, at time.Time) history.Record {
	if j.rt.history == nil {
		return history.Record{}
	}
	rec := history.Record{Job: j.id, Kind: history.APIKind(string(j.kind)), Counter: counter, Status: history.StatusQueued,
		Count: 1, Trigger: trigger, QueuedAt: at.UTC(), FailedCommand: -1, Attempt: 1, Key: history.RunKey(counter)}
	if !due.nominal.IsZero() {
		rec.ScheduledAt = due.nominal.UTC()
	}
	j.histSend(ctx, rec)
	return rec
}

// histWait records the run that requestSlot asks a slot for as queued,
// unless it was recorded when its trigger was accepted behind a run. A
// JobHttp's run takes no slot: it starts at once.
func (j *job) histWait(ctx actor.Context) {
	if j.rt.history == nil || j.kind != logstore.KindJob || j.hist.waitQ.Counter != 0 {
		return
	}
	t := histTrigger(j.tk.run, j.waitTrigger, j.hist.wait)
	if j.hist.byReload {
		t = history.Trigger{Kind: history.TriggerReload}
	}
	j.hist.waitQ = j.histQueue(ctx, j.counter+1, t, j.tk.run, j.waitSince)
}

// histPending records a trigger accepted behind a run (its run would be
// counter) as queued, from now.
func (j *job) histPending(ctx actor.Context, counter int64) {
	if j.parallel() {
		return
	}
	j.hist.nextQ = j.histQueue(ctx, counter, j.hist.incoming, duePoint{}, time.Now())
	if q := j.hist.tickQ; q.Counter == counter && q.Counter != 0 { // the pending tick starts after the trigger
		j.histDelete(ctx, q)
		q.Counter++
		q.Key = history.RunKey(q.Counter)
		j.histSend(ctx, q)
		j.hist.tickQ = q
	}
}

// histPendingTick records the schedule tick d, pending behind a run, as
// queued: its run comes after the run in progress (or waiting for its
// slot) and after a pending trigger.
func (j *job) histPendingTick(ctx actor.Context, d duePoint) {
	if j.parallel() || j.hist.tickQ.Counter != 0 {
		return
	}
	counter := j.counter + 1
	if j.run == nil && j.waiting {
		counter++
	}
	if j.pendingTrigger {
		counter++
	}
	j.hist.tickQ = j.histQueue(ctx, counter, histTrigger(d, "", history.Trigger{}), d, time.Now())
}

// histTickWaits moves the pending tick's record on when its run asks for
// a slot.
func (j *job) histTickWaits() {
	j.hist.waitQ, j.hist.tickQ = j.hist.tickQ, history.Record{}
}

// histDelete removes the record of a queued run from the history.
func (j *job) histDelete(ctx actor.Context, q history.Record) {
	if j.rt.history != nil && q.Counter != 0 {
		ctx.Send(j.rt.history, &histPut{kind: string(j.kind), rec: q, keep: j.historyKeep(), del: true})
	}
}

// histDrop records that the queued run q did not start, for reason (""
// = the record just goes: another node runs it): its queued record is
// replaced by a record of a run that did not happen.
func (j *job) histDrop(ctx actor.Context, q history.Record, reason string) {
	if q.Counter == 0 {
		return
	}
	j.histDelete(ctx, q)
	if reason == "" {
		return
	}
	j.rt.metrics.skipped(j.id, reason, 1)
	rec := q
	rec.Status, rec.Reason, rec.Counter, rec.FinishedAt = history.StatusSkipped, reason, 0, time.Now().UTC()
	rec.Key = history.Key{Counter: j.counter}
	j.histSend(ctx, rec)
}

// dropReason is why a queued run of the job does not start now.
func (j *job) dropReason() string {
	switch {
	case j.stopping:
		return dropStopped
	case j.retiring:
		return dropReload
	case j.paused:
		return skipPaused
	}
	return dropCanceled
}

// histDropWait records that the run waiting for a slot does not start.
func (j *job) histDropWait(ctx actor.Context, reason string) {
	j.histDrop(ctx, j.hist.waitQ, reason)
	j.hist.waitQ, j.hist.byReload = history.Record{}, false
}

// histDropNext records that the trigger pending behind a run was dropped
// (canceled, paused, stopped, removed), if it was; histNextWaits moves its
// record on when its run asks for a slot.
func (j *job) histDropNext(ctx actor.Context) {
	if j.hist.nextQ.Counter != 0 && !j.pendingTrigger {
		j.histDrop(ctx, j.hist.nextQ, j.dropReason())
		j.hist.nextQ = history.Record{}
	}
	if j.hist.tickQ.Counter != 0 && !j.pendingTick {
		j.histDrop(ctx, j.hist.tickQ, j.dropReason())
		j.hist.tickQ = history.Record{}
	}
}

// histReloadArmed notes, after a reload re-armed the timer, whether it
// fires at once (an interval job whose new interval has passed since its
// last run): that run's trigger is "reload".
func (j *job) histReloadArmed() {
	j.hist.reload = j.sched == nil && j.interval > 0 && j.timer != nil && !j.nextRun.After(time.Now())
}

func (j *job) histNextWaits() {
	j.hist.wait, j.hist.waitQ, j.hist.nextQ = j.hist.next, j.hist.nextQ, history.Record{}
}

// histStart records the start of run counter, asked for at queued and
// started at started by trigger (Trigger.Reason or "timer"; by is the
// trigger's history view), and returns its record (zero without history).
func (j *job) histStart(ctx actor.Context, due duePoint, counter int64, queued, started time.Time, trigger string, by history.Trigger) history.Record {
	if j.rt.history == nil {
		return history.Record{}
	}
	rec := history.Record{Job: j.id, Kind: history.APIKind(string(j.kind)), Counter: counter, Status: history.StatusRunning,
		Count: 1, Trigger: histTrigger(due, trigger, by), QueuedAt: queued.UTC(), StartedAt: started.UTC(), FailedCommand: -1,
		Attempt: 1, LogKept: true, Key: history.RunKey(counter)}
	if !due.nominal.IsZero() {
		rec.ScheduledAt = due.nominal.UTC()
	}
	j.histSend(ctx, rec)
	return rec
}

// A retry is an attempt of the same run (same counter, same log). Each
// attempt after the first has a record of its own beside the run's: key
// (counter, attempt), trigger "retry" with retry_of the run's counter,
// queued when the attempt before it failed (scheduled_at: when the retry
// delay ends), running from its start, and the attempt's own end. The
// run's record spans every attempt. GET .../runs lists attempt records
// with attempts=true only, and stats count runs, not attempts.

// histRetry records attempt next of run counter, due at due, as queued.
func (j *job) histRetry(ctx actor.Context, counter int64, next int, due time.Time) history.Record {
	if j.rt.history == nil {
		return history.Record{}
	}
	now := time.Now().UTC()
	rec := history.Record{Job: j.id, Kind: history.APIKind(string(j.kind)), Counter: counter, Status: history.StatusQueued,
		Count: 1, Trigger: history.Trigger{Kind: history.TriggerRetry, RetryOf: counter}, ScheduledAt: due.UTC(), QueuedAt: now,
		FailedCommand: -1, Attempt: next, LogKept: true, Key: history.Key{Counter: counter, Seq: uint64(max(next, 1))}}
	j.histSend(ctx, rec)
	return rec
}

// histAttemptStart records that the attempt of rec started at at.
func (j *job) histAttemptStart(ctx actor.Context, rec *history.Record, at time.Time) {
	if rec.Counter != 0 {
		rec.Status, rec.StartedAt = history.StatusRunning, at.UTC()
		j.histSend(ctx, *rec)
	}
}

// histAttemptEnd records the end of the attempt of rec (msg: its end, or
// the run's); an attempt that never started (the run ended while it
// waited) becomes a record of a run that did not happen. rec is cleared.
func (j *job) histAttemptEnd(ctx actor.Context, rec *history.Record, msg *runFinished) {
	r := *rec
	*rec = history.Record{}
	switch {
	case r.Counter == 0 || r.Counter != msg.counter:
	case r.Status == history.StatusQueued:
		j.histDrop(ctx, r, j.dropReason())
	default:
		j.histEnd(ctx, r, msg)
	}
}

// histFinished records the end of the run in progress.
func (j *job) histFinished(ctx actor.Context, msg *runFinished) {
	if j.hist.run.Counter == msg.counter {
		j.histEnd(ctx, j.hist.run, msg)
		j.hist.run = history.Record{}
	}
}

// histEnd records the end of the run whose record (of histStart) is rec.
func (j *job) histEnd(ctx actor.Context, rec history.Record, msg *runFinished) {
	if j.rt.history == nil || rec.Counter != msg.counter {
		return
	}
	rec.Status = msg.status
	if msg.timedOut && msg.status == StatusFailed {
		rec.Status = "timeout"
	}
	rec.FinishedAt = time.Now().UTC()
	rec.Attempt = max(msg.attempt, rec.Attempt, 1)
	rec.ExitCode, rec.FailedCommand = msg.exitCode, msg.failedCmd-1
	rec.LogKept = msg.ref.Name != ""
	rec.SetDuration()
	j.histSend(ctx, rec)
}

// histSkipped records a run that did not happen: a due tick (at is its
// scheduled time) while paused, during a run, or with one pending.
func (j *job) histSkipped(ctx actor.Context, reason string, at time.Time) {
	j.rt.metrics.skipped(j.id, reason, 1)
	if j.rt.history == nil {
		return
	}
	rec := history.Record{Job: j.id, Kind: history.APIKind(string(j.kind)), Status: history.StatusSkipped, Reason: reason,
		Count: 1, Trigger: history.Trigger{Kind: history.TriggerTimer}, ScheduledAt: at.UTC(), FailedCommand: -1,
		Key: history.Key{Counter: j.counter}}
	j.histSend(ctx, rec)
}

// histRefused counts a trigger that was refused or merged into the
// pending one; the recorder keeps one record per job, reason and hour.
func (j *job) histRefused(ctx actor.Context, reason string) {
	j.rt.metrics.skipped(j.id, reason, 1)
	if j.rt.history != nil {
		ctx.Send(j.rt.history, &histRefused{kind: string(j.kind), id: j.id, counter: j.counter, reason: reason,
			trigger: j.hist.incoming, keep: j.historyKeep()})
	}
}

// histMissed records the schedule points that fell due while the server
// was down after cursor (the last point taken) and that catch-up does not
// run: the newest maxMissedRecords one by one, the older ones in one
// record with their count. It returns the last point recorded (zero if
// none).
func (j *job) histMissed(ctx actor.Context, cursor time.Time) time.Time {
	if j.sched == nil || cursor.IsZero() {
		return time.Time{}
	}
	now := time.Now()
	var missed []time.Time
	for t := j.sched.Next(cursor); !t.IsZero() && !t.After(now) && len(missed) < maxMissedScan; t = j.sched.Next(t) {
		if !slices.ContainsFunc(j.tk.backlog, func(d duePoint) bool { return d.nominal.Equal(t) }) {
			missed = append(missed, t)
		}
	}
	if len(missed) == 0 {
		return time.Time{}
	}
	last := missed[len(missed)-1]
	j.rt.metrics.skipped(j.id, skipServerDown, len(missed))
	if j.rt.history == nil {
		return last
	}
	j.log.Info("schedule points missed while the server was down", string(j.kind), j.id, "points", len(missed))
	base := history.Record{Job: j.id, Kind: history.APIKind(string(j.kind)), Status: history.StatusSkipped, Reason: skipServerDown,
		Count: 1, Trigger: history.Trigger{Kind: history.TriggerTimer}, FailedCommand: -1, Key: history.Key{Counter: j.counter}}
	if n := len(missed) - maxMissedRecords; n > 0 {
		rec := base
		rec.Count, rec.ScheduledAt = n+1, missed[0].UTC()
		j.histSend(ctx, rec)
		missed = missed[n+1:]
	}
	for _, t := range missed {
		rec := base
		rec.ScheduledAt = t.UTC()
		j.histSend(ctx, rec)
	}
	return last
}

// exitCodeOf returns the exit code in err (0 if it holds none).
func exitCodeOf(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return 0
}

// historyMetrics counts the runs that did not happen.
type historyMetrics struct {
	skipped *prometheus.CounterVec
}

func newHistoryMetrics(reg prometheus.Registerer) *historyMetrics {
	m := &historyMetrics{skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "karajo_job_skipped_total",
		Help: "Runs that did not happen, by job ID and reason: paused, overlap, pending, busy, server down; queued runs dropped: canceled, stopped, reload, no log.",
	}, []string{"job", "reason"})}
	reg.MustRegister(m.skipped)
	return m
}

// skipped counts n runs of job id that did not happen for reason.
func (m *Metrics) skipped(id, reason string, n int) {
	if m != nil && m.history != nil {
		m.history.skipped.WithLabelValues(id, reason).Add(float64(n))
	}
}

// startHistory opens the history file under dir_base and spawns its
// recorder. A file that cannot be read is moved aside and rebuilt from the
// logs (history.Open); one that cannot be opened at all leaves the server
// without a history, logged: runs go on.
func (e *Engine) startHistory(store *logstore.Store) *actor.PID {
	path := filepath.Join(store.Base(), history.FileName)
	h, o, err := history.Open(path)
	if o.MovedAside != "" {
		e.log.Error("history file unreadable: moved aside, rebuilt from the logs", "file", path, "moved_to", o.MovedAside, "err", o.Reason)
	}
	if err != nil {
		e.log.Error("history file cannot be opened: no run history until a restart", "file", path, "err", err)
		return nil
	}
	if o.Created && o.MovedAside == "" {
		e.log.Info("history file created: rebuilt from the logs", "file", path)
	}
	e.hist = h
	e.recorder = e.root.Spawn(actor.PropsFromProducer(func() actor.Actor { return newHistRecorder(h, e.log) }))
	return e.recorder
}

// startHistoryAsync runs startHistory (unless off) in a goroutine, so that
// opening the file (on a fresh dir_base: creating it, with its flushes)
// overlaps the rest of the engine's start; the returned function waits
// for it and returns the recorder (nil without a history).
func (e *Engine) startHistoryAsync(store *logstore.Store, off bool) func() *actor.PID {
	if off {
		return func() *actor.PID { return nil }
	}
	done := make(chan *actor.PID, 1)
	go func() { done <- e.startHistory(store) }()
	return func() *actor.PID { return <-done }
}

// stopHistory writes what the recorder holds and closes the file.
func (e *Engine) stopHistory(timeout time.Duration) {
	if e.hist == nil {
		return
	}
	if _, err := Ask[*histSynced](e.root, e.recorder, &histSync{}, max(timeout, time.Second)); err != nil {
		e.log.Warn("history: last write", "err", err)
	}
	e.root.Stop(e.recorder)
	if err := e.hist.Close(); err != nil {
		e.log.Warn("history: close", "err", err)
	}
}

// histAskTimeout bounds a query's wait for the recorder to write what it
// holds (at start: to reconcile every job with its logs).
var histAskTimeout = 10 * time.Second

// RunsQuery selects a job's run records for Runs.
type RunsQuery struct {
	HTTP     bool        // a JobHttp, else an exec job
	ID       string      // the job's ID
	Before   int64       // runs before this counter; 0 = from the newest
	Cursor   history.Key // records before this place (Record.Cursor); zero = none
	Limit    int         // at most this many
	Skipped  bool        // include the runs that did not happen
	Attempts bool        // include the records of retry attempts
}

// ErrNoHistory is returned by Runs and Stats when the server has no run
// history (its file could not be opened).
var ErrNoHistory = errors.New("no run history: the history file could not be opened")

// Runs returns a job's run records, newest first, once the records sent
// before the call are written. The caller checks that the job exists.
func (e *Engine) Runs(q RunsQuery) ([]history.Record, error) {
	if e.hist == nil {
		return nil, ErrNoHistory
	}
	if _, err := Ask[*histSynced](e.root, e.recorder, &histSync{}, histAskTimeout); err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	return e.hist.Runs(history.Query{Kind: kindOf(q.HTTP), Job: q.ID, Before: q.Before, Cursor: q.Cursor, Attempts: q.Attempts, Limit: q.Limit, NoSkipped: !q.Skipped})
}

// Stats sums up a job's records of the last window (label is the window
// as asked, for the answer).
func (e *Engine) Stats(httpJob bool, id, label string, window time.Duration) (history.Stats, error) {
	if e.hist == nil {
		return history.Stats{}, ErrNoHistory
	}
	if _, err := Ask[*histSynced](e.root, e.recorder, &histSync{}, histAskTimeout); err != nil {
		return history.Stats{}, fmt.Errorf("history: %w", err)
	}
	now := time.Now().UTC()
	since := now.Add(-window)
	recs, err := e.hist.Runs(history.Query{Kind: kindOf(httpJob), Job: id, Since: since})
	if err != nil {
		return history.Stats{}, err
	}
	return history.Summarise(id, label, recs, since, now), nil
}

func kindOf(httpJob bool) string {
	if httpJob {
		return string(logstore.KindJobHTTP)
	}
	return string(logstore.KindJob)
}
