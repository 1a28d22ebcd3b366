// Package history keeps the run history of karajo's jobs: one record per
// run, and one per run that did not happen, far beyond log_retention
// (issue 17). It lives in one bbolt file, var/lib/karajo/history.db under
// dir_base, and imports nothing of karajo's own packages.
//
// # Layout
//
// Each job has a top-level bucket named "<kind>/<id>" ("job/backup",
// "job_http/ping"). Its keys are 16 bytes: the big-endian counter of the
// run, then a big-endian sequence number that is 0 for a run and non-zero
// (a Unix time in nanoseconds, made unique) for a record of a run that did
// not happen, which takes the counter of the job's latest run at the time.
// So the bucket is in run order, skipped records sit between the runs they
// fell between, and "before counter N" is a Seek. Values are JSON records.
// The top-level bucket "counts" holds each job bucket's record count, so
// retention is kept without a scan.
//
// # Source of truth
//
// The log files stay the source of truth for logs and counters (SPEC 3):
// Reconcile adds the runs the logs show and the history lacks (after a
// kill -9 lost the last batch, or for a v0.9.3 dir_base with no history
// yet) and settles the records of runs that were queued or running when
// the server died.
package history

import (
	"encoding/binary"
	"strconv"
	"strings"
	"time"
)

// Record statuses besides the final statuses of runs.
const (
	StatusQueued  = "queued"
	StatusRunning = "running"
	StatusSkipped = "skipped"
)

// Trigger kinds.
const (
	TriggerTimer   = "timer"
	TriggerWebhook = "webhook"
	TriggerAPI     = "api"
	TriggerRunNow  = "run_now"
	TriggerRetry   = "retry"
	TriggerCatchUp = "catch_up"
	TriggerReload  = "reload"
)

// Trigger says what asked for a run.
type Trigger struct {
	Kind       string `json:"kind"`
	DeliveryID string `json:"delivery_id"`
	Remote     string `json:"remote"`
	User       string `json:"user"`
	RetryOf    int64  `json:"retry_of"`
}

// Record is one run, or one run that did not happen (Status "skipped",
// Counter 0, Reason set; Count > 1 when refusals of one hour were merged).
type Record struct {
	Job           string    `json:"job"`
	Kind          string    `json:"kind"` // "job_exec" or "job_http"
	Counter       int64     `json:"counter"`
	Status        string    `json:"status"`
	Reason        string    `json:"reason"`
	Count         int       `json:"count"`
	Trigger       Trigger   `json:"trigger"`
	ScheduledAt   time.Time `json:"scheduled_at,omitzero"`
	QueuedAt      time.Time `json:"queued_at,omitzero"`
	StartedAt     time.Time `json:"started_at,omitzero"`
	FinishedAt    time.Time `json:"finished_at,omitzero"`
	Duration      float64   `json:"duration"` // seconds, FinishedAt - StartedAt
	ExitCode      int       `json:"exit_code"`
	FailedCommand int       `json:"failed_command"` // index of the failing command, -1 if none
	Attempt       int       `json:"attempt"`
	LogKept       bool      `json:"log_kept"`
	// Cursor is the record's place for paging (Key.Cursor): a query
	// with it as its cursor gives the records older than this one. Set
	// by Runs; not stored.
	Cursor string `json:"cursor,omitempty"`

	// Key places the record in its job's bucket; not part of the JSON.
	Key Key `json:"-"`
}

// Key is the position of a record in its job's bucket.
type Key struct {
	Counter int64  // the run's counter; for a skipped record, the latest run's
	Seq     uint64 // 0 for a run; unique and increasing for skipped records
}

// RunKey is the key of run counter.
func RunKey(counter int64) Key { return Key{Counter: counter} }

func (k Key) bytes() []byte {
	b := make([]byte, 16)
	binary.BigEndian.PutUint64(b, uint64(k.Counter))
	binary.BigEndian.PutUint64(b[8:], k.Seq)
	return b
}

// Cursor is k as text, "<counter>-<seq>": the paging cursor of the
// record at k (ParseCursor reads it back).
func (k Key) Cursor() string {
	return strconv.FormatInt(k.Counter, 10) + "-" + strconv.FormatUint(k.Seq, 10)
}

// ParseCursor reads a cursor of Key.Cursor; ok is false for anything
// else.
func ParseCursor(s string) (k Key, ok bool) {
	c, q, found := strings.Cut(s, "-")
	if !found {
		return Key{}, false
	}
	counter, err := strconv.ParseInt(c, 10, 64)
	if err != nil || counter < 0 {
		return Key{}, false
	}
	seq, err := strconv.ParseUint(q, 10, 64)
	if err != nil || (counter == 0 && seq == 0) {
		return Key{}, false
	}
	return Key{Counter: counter, Seq: seq}, true
}

func parseKey(b []byte) (Key, bool) {
	if len(b) != 16 {
		return Key{}, false
	}
	return Key{Counter: int64(binary.BigEndian.Uint64(b)), Seq: binary.BigEndian.Uint64(b[8:])}, true
}

// Time is when the record happened: its finish, start, queueing or due
// time, the first that is set.
func (r *Record) Time() time.Time {
	for _, t := range []time.Time{r.FinishedAt, r.StartedAt, r.QueuedAt, r.ScheduledAt} {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

// IsAttempt reports whether the record is a retry attempt of a run (its
// own record beside the run's, key (counter, attempt)) rather than a run
// or a run that did not happen.
func (r *Record) IsAttempt() bool { return r.Trigger.Kind == TriggerRetry }

// Finished reports whether the record is a run that ended.
func (r *Record) Finished() bool {
	switch r.Status {
	case StatusQueued, StatusRunning, StatusSkipped:
		return false
	}
	return true
}

// SetDuration sets Duration from StartedAt and FinishedAt.
func (r *Record) SetDuration() {
	if r.StartedAt.IsZero() || r.FinishedAt.IsZero() {
		r.Duration = 0
		return
	}
	r.Duration = r.FinishedAt.Sub(r.StartedAt).Seconds()
}

// Bucket is the bucket name of a job: "<kind>/<id>".
func Bucket(kind, id string) []byte { return []byte(kind + "/" + id) }

// APIKind is the "kind" of a record for a log store kind ("job" or
// "job_http").
func APIKind(kind string) string {
	if kind == "job" {
		return "job_exec"
	}
	return kind
}
