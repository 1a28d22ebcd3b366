package actors

import (
	"fmt"

	"github.com/karajo/karajo/logstore"
)

// A run never starts silently without its log (issue 14). A trigger that
// finds the job idle creates the log of the run it asks for at once, so
// that a log that cannot be created refuses the trigger (ErrLogCreate)
// instead of a 200 followed by nothing; the run takes that log when its
// slot comes, or discards it when the job was paused or stopped meanwhile.
// A tick, or a trigger that waited behind a run, creates its log when it
// starts; when that fails, the job records it (status failed, last_error,
// karajo_log_create_errors_total) and runs again at its next due time.

// reserveLog creates the log of the next run for a trigger that found the
// job idle. The error wraps ErrLogCreate.
//
// In a cluster the counter is the cluster's, given by the claim when the
// slot comes (clusterhook.go), so no log is named for it before then: a
// reserved log left by a node killed before its claim would be finalised
// as interrupted at its restart while the job's next owner gives the same
// counter to another run (two logs, one counter). There the trigger only
// checks that the job's log directory can be made; a log that then cannot
// be created is recorded by logCreateFailed when the run would start.
func (j *job) reserveLog() error {
	j.dropReserved() // none is expected: an idle job holds no reservation
	if j.rt.coord.Node() != "" {
		return j.prepareDirs()
	}
	rl, err := j.createLog(j.counter + 1)
	if err != nil {
		j.logCreateFailed(j.counter+1, err)
		return fmt.Errorf("job %s: %w: %w", j.id, ErrLogCreate, err)
	}
	j.reserved = rl
	return nil
}

// prepareDirs is reserveLog in a cluster: the job's directories, made or
// refused now. The error wraps ErrLogCreate.
func (j *job) prepareDirs() error {
	if err := j.prepare(); err != nil {
		j.logCreateFailed(j.counter+1, err)
		return fmt.Errorf("job %s: %w: %w", j.id, ErrLogCreate, err)
	}
	return nil
}

// takeLog returns the log of run counter: the one a trigger reserved, or
// a new one.
func (j *job) takeLog(counter int64) (*logstore.RunLog, error) {
	if rl := j.reserved; rl != nil {
		j.reserved = nil
		if rl.Counter() == counter {
			return rl, nil
		}
		j.discard(rl) // not expected: the counter moved while it waited
	}
	return j.createLog(counter)
}

// dropReserved discards the log a trigger reserved for a run that will not
// start, and that trigger's payload.
func (j *job) dropReserved() {
	if rl := j.reserved; rl != nil {
		j.reserved = nil
		j.discard(rl)
	}
	j.waitPayload.close()
	j.waitPayload = nil
}

func (j *job) discard(rl *logstore.RunLog) {
	if err := rl.Discard(); err != nil {
		j.log.Warn("discard unused run log", string(j.kind), j.id, "err", err)
	}
}

// logCreateFailed records a run that could not start because its log
// could not be created: logged, counted, and shown in the job's status.
func (j *job) logCreateFailed(counter int64, err error) {
	j.log.Error("create run log: the run does not start", string(j.kind), j.id, "counter", counter, "err", err)
	j.rt.metrics.logCreateFailed(string(j.kind), j.id)
	j.status = StatusFailed
	j.lastError = "run log not created: " + err.Error()
}

// maxLogBytes is the cap of a run's output in its log; 0 is none.
func (j *job) maxLogBytes() int64 {
	if j.exec != nil {
		return j.exec.MaxLogBytes
	}
	return j.http.MaxLogBytes
}

// guard wraps the log of run counter for its run: output capped at
// max_log_bytes, and the first write error logged and counted once (from
// the run's goroutine: the closure holds copies only).
func (j *job) guard(rl *logstore.RunLog, counter int64) *logstore.Guard {
	log, metrics, kind, id := j.log, j.rt.metrics, string(j.kind), j.id
	return rl.Guarded(j.maxLogBytes(), func(err error) {
		log.Error("write run log: the run will end failed", kind, id, "counter", counter, "err", err)
		metrics.logWriteFailed(kind, id)
	})
}

// logFailure returns why the run's log is incomplete, for runFinished:
// nil when every write succeeded.
func logFailure(g *logstore.Guard) error {
	if err := g.Err(); err != nil {
		return fmt.Errorf("run log incomplete: %w", err)
	}
	return nil
}
