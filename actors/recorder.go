package actors

import (
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/karajo/karajo/logstore/history"
)

// The run history (issue 17) is written by one recorder actor, off the
// runs' path: jobs send it records (histPut, histRefused) and their logs
// at start (histReconcile) and never wait for it. It gathers what arrives
// for histFlushDelay and writes it in one transaction (one fsync), so a
// burst of runs costs one flush per batch.

// histFlushDelay is how long the recorder gathers records before a write:
// one transaction (one fsync) a second at most. Ten a second measurably
// slowed runs whose logs are flushed at the same time (BenchmarkRunsPerSecondHistory).
var histFlushDelay = time.Second

// histMaxBatch makes the recorder write at once when this many records wait.
const histMaxBatch = 2000

// histReconcileDelay is how long after the jobs have loaded the recorder
// still holds the logs they sent at start before it reconciles them: the
// server's first answers (the environment of 100,000 jobs) are made
// meanwhile, and a query of the history writes them at once (histSync).
var histReconcileDelay = 3 * time.Second

// histServing tells the recorder that every job has loaded; histRelease
// ends the hold of the reconciles histReconcileDelay later.
type (
	histServing struct{}
	histRelease struct{}
)

// histPut is a record to write (or replace, by its key).
type histPut struct {
	kind string // logstore kind: "job" or "job_http"
	rec  history.Record
	keep int  // history_retention
	del  bool // remove the record at rec.Key (a queued run that did not start as that counter)
}

// histRefused is a trigger refused (busy, paused, overlap) or merged into
// one already pending: counted per job, reason and hour in one record.
type histRefused struct {
	kind, id string
	counter  int64 // the job's latest run, to place the record
	reason   string
	trigger  history.Trigger
	keep     int
}

// histReconcile gives the recorder a job's logs at start.
type histReconcile struct {
	logs history.JobLogs
}

// histFlush tells the recorder to write what it gathered.
type histFlush struct{}

// histSync asks the recorder to write what it gathered now; the reply is
// *histSynced once it is written.
type histSync struct{}

type histSynced struct{}

// refusalKey groups refused triggers into one record per hour.
type refusalKey struct {
	kind, id, reason string
	hour             int64
}

type histRecorder struct {
	store      *history.Store
	log        *slog.Logger
	puts       []history.Put
	at         map[putKey]int // index in puts, so a record replaced in one batch is written once
	reconciles []history.JobLogs
	holding    bool // reconciles wait for histRelease (the start); a histSync writes them all the same
	refusals   map[refusalKey]history.Record
	armed      bool
	lastSeq    uint64
	flushT     *time.Timer // the armed flush; stopped when the recorder stops
	releaseT   *time.Timer // the start's release; likewise
}

type putKey struct {
	kind, id string
	key      history.Key
}

func newHistRecorder(store *history.Store, log *slog.Logger) *histRecorder {
	return &histRecorder{store: store, log: log, at: map[putKey]int{}, refusals: map[refusalKey]history.Record{}, holding: true}
}

// Receive implements actor.Actor.
func (r *histRecorder) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *histPut:
		r.add(msg.kind, msg.rec, msg.keep, msg.del)
	case *histRefused:
		r.refused(msg)
	case *histReconcile:
		r.reconciles = append(r.reconciles, msg.logs)
	case *histFlush:
		r.armed = false
		r.flush(false)
		return
	case *histSync:
		r.flush(true)
		ctx.Respond(&histSynced{})
		return
	case *histServing:
		r.releaseT = r.after(ctx, histReconcileDelay, &histRelease{})
		return
	case *histRelease:
		r.holding = false
		r.flush(false)
		return
	case *actor.Stopping:
		for _, t := range []*time.Timer{r.flushT, r.releaseT} {
			if t != nil {
				t.Stop()
			}
		}
		return
	default:
		return
	}
	switch {
	case len(r.puts)+r.dueReconciles() >= histMaxBatch:
		r.flush(false)
	case !r.armed:
		r.armed = true
		r.flushT = r.after(ctx, histFlushDelay, &histFlush{})
	}
}

// after sends msg to the recorder itself after d; the timer is stopped
// if the recorder stops first (a message to a stopped actor is a dead
// letter in the log).
func (r *histRecorder) after(ctx actor.Context, d time.Duration, msg any) *time.Timer {
	root, self := ctx.ActorSystem().Root, ctx.Self()
	return time.AfterFunc(d, func() { root.Send(self, msg) })
}

// seq returns a new sequence number for a record of a run that did not
// happen: the time in nanoseconds, made strictly increasing.
func (r *histRecorder) seq() uint64 {
	r.lastSeq = max(uint64(time.Now().UnixNano()), r.lastSeq+1)
	return r.lastSeq
}

func (r *histRecorder) add(kind string, rec history.Record, keep int, del bool) {
	if rec.Status == history.StatusSkipped && rec.Key.Seq == 0 && !del {
		rec.Key.Seq = r.seq()
	}
	k := putKey{kind, rec.Job, rec.Key}
	if i, ok := r.at[k]; ok {
		r.puts[i].Rec, r.puts[i].Delete = rec, del
		return
	}
	r.at[k] = len(r.puts)
	r.puts = append(r.puts, history.Put{Kind: kind, Rec: rec, Keep: keep, Delete: del})
}

// refused counts a refused trigger in its hour's record.
func (r *histRecorder) refused(m *histRefused) {
	now := time.Now().UTC()
	k := refusalKey{m.kind, m.id, m.reason, now.Unix() / 3600}
	rec, ok := r.refusals[k]
	if !ok {
		if len(r.refusals) > 10000 {
			clear(r.refusals) // older hours: their records are written
		}
		rec = history.Record{Job: m.id, Kind: history.APIKind(m.kind), Status: history.StatusSkipped, Reason: m.reason,
			Trigger: m.trigger, QueuedAt: now, FailedCommand: -1, Key: history.Key{Counter: m.counter, Seq: r.seq()}}
	}
	rec.Count++
	rec.FinishedAt = now // the last refusal of the hour
	r.refusals[k] = rec
	r.add(m.kind, rec, m.keep, false)
}

// dueReconciles is the number of reconciles the next flush writes.
func (r *histRecorder) dueReconciles() int {
	if r.holding {
		return 0
	}
	return len(r.reconciles)
}

// flush writes the gathered reconciles, then the records. While it holds
// the reconciles at start it writes them only when all is set or when
// records are to be written: a record is never written before the
// reconcile of the logs found at start (a run's record settled from its
// log after a crash must not be overtaken by what the job writes after
// the start). A failed write is logged and dropped: the logs still hold
// every run, and the next start reconciles with them.
func (r *histRecorder) flush(all bool) {
	if len(r.reconciles) > 0 && (all || !r.holding || len(r.puts) > 0) {
		st, err := r.store.Reconcile(r.reconciles)
		if err != nil {
			r.log.Error("history: reconcile with the logs", "err", err)
		} else if st.Added+st.Settled > 0 {
			r.log.Info("history: reconciled with the logs", "added", st.Added, "settled", st.Settled)
		}
		r.reconciles = nil
	}
	if len(r.puts) == 0 {
		return
	}
	if err := r.store.Write(r.puts); err != nil {
		r.log.Error("history: write", "records", len(r.puts), "err", err)
	}
	r.puts = r.puts[:0]
	clear(r.at)
}
