package history

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
)

// LogInfo is one log file of a job as found at start.
type LogInfo struct {
	Counter int64
	Status  string // from the file name: success, failed, canceled…
	Path    string // absolute path of the file
}

// JobLogs is a job's logs at start, for Reconcile.
type JobLogs struct {
	Kind string // "job" or "job_http"
	Job  string
	Logs []LogInfo
	Keep int // history_retention
}

// Settled counts what Reconcile changed.
type Settled struct {
	Added   int // runs the logs show and the history lacked
	Settled int // records of runs that were running when the server died
}

// settleScan is how many of a job's newest records Reconcile looks at for
// runs left running, and settleEnded after how many ended runs it stops:
// only the runs of the last moments before a crash can be left running.
const (
	settleScan  = 64
	settleEnded = 4
)

// isOpen reports whether an encoded record may be of a run not ended
// (checked before it is decoded).
func isOpen(v []byte) bool {
	return bytes.Contains(v, statusRunning) || bytes.Contains(v, statusQueued)
}

// The encoded statuses Reconcile looks for before it decodes a record.
var (
	statusRunning = []byte(`"status":"running"`)
	statusQueued  = []byte(`"status":"queued"`)
)

// interruptedMark is the line Recover appends to the log of a run
// interrupted by a crash (SPEC 3.2).
var interruptedMark = []byte("interrupted, server stopped")

// Reconcile makes the history agree with the log files of jobs, in one
// transaction: a log with no record gets one made from the file (status
// from its name, start from its first line, finish from its modification
// time; the trigger is unknown), and a record still "running" gets the
// status of its log, or "failed" with reason "interrupted" when it has
// none. The log files are the source of truth (SPEC 3).
func (s *Store) Reconcile(jobs []JobLogs) (Settled, error) {
	var st Settled
	err := s.db.Update(func(tx *bolt.Tx) error {
		for i := range jobs {
			if err := reconcileJob(tx, &jobs[i], &st); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("history: reconcile: %w", err)
	}
	return st, nil
}

func reconcileJob(tx *bolt.Tx, j *JobLogs, st *Settled) error {
	name := Bucket(j.Kind, j.Job)
	if len(j.Logs) == 0 && tx.Bucket(name) == nil {
		return nil // no run, no record
	}
	b, err := tx.CreateBucketIfNotExists(name)
	if err != nil {
		return fmt.Errorf("bucket %s: %w", name, err)
	}
	byCounter := make(map[int64]*LogInfo, len(j.Logs))
	for i := range j.Logs {
		l := &j.Logs[i]
		byCounter[l.Counter] = l
		k := RunKey(l.Counter).bytes()
		v := b.Get(k)
		var r Record
		switch {
		case v == nil:
			r = fromLog(j, l)
			st.Added++
		case isOpen(v) && json.Unmarshal(v, &r) == nil && !r.Finished():
			r.Key = RunKey(l.Counter)
			settle(&r, l)
			st.Settled++
		default:
			continue
		}
		if err := putRecord(tx, b, name, k, &r, v == nil); err != nil {
			return err
		}
	}
	// Runs left running whose log is gone: among the newest records only.
	var open []Record
	c := b.Cursor()
	n, ended := 0, 0
	for k, v := c.Last(); k != nil && n < settleScan && ended < settleEnded; k, v = c.Prev() {
		n++
		key, _ := parseKey(k)
		if byCounter[key.Counter] != nil && key.Seq == 0 {
			continue // settled above
		}
		if !isOpen(v) {
			if key.Seq == 0 {
				ended++ // a run that ended: older runs ended before it
			}
			continue
		}
		var r Record
		if json.Unmarshal(v, &r) != nil || r.Finished() || r.Status == StatusSkipped {
			continue
		}
		r.Key = key
		open = append(open, r)
	}
	for _, r := range open {
		if r.Status == StatusQueued {
			if err := unqueue(tx, b, name, r); err != nil {
				return err
			}
			st.Settled++
			continue
		}
		settle(&r, nil)
		if err := putRecord(tx, b, name, r.Key.bytes(), &r, false); err != nil {
			return err
		}
		st.Settled++
	}
	return prune(tx, name, cmpRetention(j.Keep))
}

func putRecord(tx *bolt.Tx, b *bolt.Bucket, name, k []byte, r *Record, fresh bool) error {
	v, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode record: %w", err)
	}
	if err := b.Put(k, v); err != nil {
		return fmt.Errorf("put %s: %w", name, err)
	}
	if fresh {
		addCount(tx, name, 1)
	}
	return nil
}

// unqueue turns the record of a run that was queued when the server died,
// and never started (no log), into a record of a run that did not happen,
// reason "server down", placed after the run before it: its counter may
// be taken by a later run.
func unqueue(tx *bolt.Tx, b *bolt.Bucket, name []byte, r Record) error {
	if err := b.Delete(r.Key.bytes()); err != nil {
		return fmt.Errorf("delete in %s: %w", name, err)
	}
	addCount(tx, name, -1)
	r.Status, r.Reason, r.Counter, r.LogKept = StatusSkipped, "server down", 0, false
	if r.Key.Seq == 0 { // a run's: its counter may be taken by a later run
		r.Key.Counter = max(r.Key.Counter-1, 0)
	}
	r.Key.Seq = uint64(max(r.QueuedAt.UnixNano(), 1))
	for b.Get(r.Key.bytes()) != nil {
		r.Key.Seq++
	}
	return putRecord(tx, b, name, r.Key.bytes(), &r, true)
}

// settle ends the record of a run that was running when the server died,
// from its log if it has one.
func settle(r *Record, l *LogInfo) {
	if l == nil {
		r.Status, r.Reason = "failed", "interrupted"
		r.LogKept = false
		if r.FinishedAt.IsZero() {
			r.FinishedAt = r.StartedAt
		}
		r.SetDuration()
		return
	}
	from := fromLog(&JobLogs{}, l)
	r.Status, r.Reason, r.LogKept = from.Status, from.Reason, true
	if r.FinishedAt.IsZero() {
		r.FinishedAt = from.FinishedAt
	}
	if r.StartedAt.IsZero() {
		r.StartedAt = from.StartedAt
	}
	r.SetDuration()
}

// fromLog makes the record of a run from its log file.
func fromLog(j *JobLogs, l *LogInfo) Record {
	r := Record{Job: j.Job, Kind: APIKind(j.Kind), Counter: l.Counter, Status: l.Status, Count: 1,
		FailedCommand: -1, LogKept: true, Key: RunKey(l.Counter)}
	f, err := os.Open(l.Path)
	if err != nil {
		return r
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil {
		r.FinishedAt = fi.ModTime().UTC()
		head := make([]byte, len(time.DateTime))
		if _, err := io.ReadFull(f, head); err == nil {
			if t, err := time.Parse(time.DateTime, string(head)); err == nil {
				r.StartedAt = t
			}
		}
		if l.Status == "failed" && fi.Size() > 0 {
			tail := make([]byte, min(fi.Size(), 256))
			if _, err := f.ReadAt(tail, fi.Size()-int64(len(tail))); err == nil && bytes.Contains(tail, interruptedMark) {
				r.Reason = "interrupted"
			}
		}
	}
	if r.StartedAt.After(r.FinishedAt) {
		r.StartedAt = r.FinishedAt
	}
	r.SetDuration()
	return r
}
