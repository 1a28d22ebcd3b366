package logstore

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"
)

// StartIndexStats tells what WriteStartIndex did.
type StartIndexStats struct {
	Jobs    int // entries written
	Reused  int // entries of the previous index whose files had not changed
	Scanned int // jobs whose files were read
	Left    int // jobs left out: changed too recently, or files the index cannot stand for
}

// startIndexWorkers is how many jobs WriteStartIndex stats and reads at once.
const startIndexWorkers = 4

// WriteStartIndex writes the start index of kind for the jobs ids (see
// startindex.go), atomically: made when karajo stops cleanly, once every
// job has stopped and its logs are durable. A job whose log directory and
// state file have not changed since the previous index keeps its entry
// (two stats); the others are read as Recover would read them, without
// changing anything. A job whose files changed less than
// its margin ago is read again once the margin has passed (so a stop that
// has just written state files waits that long: 50 ms), unless ctx
// ends first, in which case it is left out. A job with anything Recover
// would warn about, finalise or prune is left out: its next start reads
// its files. When ctx ends before the entries are made, nothing is
// written.
func (s *Store) WriteStartIndex(ctx context.Context, kind Kind, ids []string) (StartIndexStats, error) {
	var stats StartIndexStats
	if err := checkJob(kind, "x"); err != nil {
		return stats, fmt.Errorf("start index: %w", err)
	}
	logDir, libDir, err := s.kindDirs(kind)
	if err != nil {
		return stats, fmt.Errorf("start index of %s: %w", kind, err)
	}
	defer logDir.Close()
	defer libDir.Close()
	prev := map[string]*indexEntry{}
	if old := s.readIndexEntries(kind); old != nil {
		for i := range old {
			prev[old[i].id] = &old[i]
		}
	}
	written := time.Now()
	entries := s.indexPass(ctx, kind, ids, prev, logDir, libDir)
	var (
		late  []string
		ready time.Time
	)
	for i := range entries {
		e := &entries[i]
		if e.id != "" && !e.fromBefore && !e.trusted() {
			late = append(late, e.id)
			ready = later(ready, e.logs.trustedFrom(), e.state.trustedFrom())
			e.id = ""
		}
	}
	if err := ctx.Err(); err != nil {
		return stats, fmt.Errorf("start index of %s: %w", kind, err)
	}
	if len(late) > 0 && waitMargin(ctx, ready) {
		entries = append(entries, s.indexPass(ctx, kind, late, nil, logDir, libDir)...)
	}
	out := entries[:0]
	for _, e := range entries {
		switch {
		case e.id == "" || !e.fromBefore && !e.trusted():
			continue
		case e.fromBefore:
			stats.Reused++
		default:
			stats.Scanned++
		}
		out = append(out, e)
	}
	stats.Jobs, stats.Left = len(out), len(ids)-len(out)
	if err := WriteAtomic(s.StartIndexPath(kind), encodeStartIndex(kind, written, out)); err != nil {
		return stats, fmt.Errorf("start index of %s: %w", kind, err)
	}
	return stats, nil
}

// readIndexEntries reads the kind's current index; nil without a usable one.
func (s *Store) readIndexEntries(kind Kind) []indexEntry {
	data, err := os.ReadFile(s.StartIndexPath(kind))
	if err != nil {
		return nil
	}
	_, entries, err := parseStartIndex(data, kind)
	if err != nil {
		return nil
	}
	return entries
}

// waitMargin waits until ready (at most startIndexCoarseMargin and a
// second), and reports whether it could before ctx's deadline.
func waitMargin(ctx context.Context, ready time.Time) bool {
	wait := min(time.Until(ready.Add(10*time.Millisecond)), startIndexCoarseMargin+time.Second)
	if d, ok := ctx.Deadline(); ok && time.Until(d) < wait+time.Second {
		return false
	}
	t := time.NewTimer(max(wait, 0))
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// later returns the latest of ts.
func later(ts ...time.Time) time.Time {
	var l time.Time
	for _, t := range ts {
		if t.After(l) {
			l = t
		}
	}
	return l
}

// indexPass makes the entries of ids (in order) from a few goroutines: an
// entry of prev when the stamps still match, else the files read. An
// entry whose ID is "" could not be made.
func (s *Store) indexPass(ctx context.Context, kind Kind, ids []string, prev map[string]*indexEntry, logDir, libDir *os.File) []indexEntry {
	entries := make([]indexEntry, len(ids))
	next := make(chan int)
	var wg sync.WaitGroup
	for range startIndexWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				entries[i] = s.indexEntryOf(kind, ids[i], prev[ids[i]], logDir, libDir)
			}
		}()
	}
	for i := range ids {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	return entries
}

// indexEntryOf makes the entry of one job: p when its stamps still match,
// else its files read (scanEntry). The entry's ID is "" when none can be
// made.
func (s *Store) indexEntryOf(kind Kind, id string, p *indexEntry, logDir, libDir *os.File) indexEntry {
	at := time.Now()
	logs, state, err := stamps(logDir, libDir, id)
	if err != nil {
		return indexEntry{}
	}
	if p != nil && p.logs == logs && p.state == state {
		e := *p
		e.fromBefore = true
		return e
	}
	e, ok := s.scanEntry(kind, id, logs, state)
	if !ok {
		return indexEntry{}
	}
	e.stampedAt = at
	return e
}

// scanEntry reads the job's log directory and state file as Recover does,
// changing nothing, after they were stamped logs and state. ok is false
// when Recover would have something to say or do: an entry it ignores or
// finalises, a state file it cannot read.
func (s *Store) scanEntry(kind Kind, id string, logs, state fileStamp) (indexEntry, bool) {
	e := indexEntry{id: id, logs: logs, state: state}
	var fl []found
	if !logs.absent() {
		d, entries, err := openLogDir(s.LogDir(kind, id))
		if err != nil || d == nil {
			return e, false
		}
		defer d.Close()
		for _, de := range entries {
			ref, ok := ParseName(de.Name())
			if de.IsDir() || !ok {
				return e, false
			}
			mtime, err := mtimeAt(d, ref.Name)
			if err != nil {
				return e, false
			}
			e.rec.Counter = max(e.rec.Counter, ref.Counter)
			fl = append(fl, found{ref: ref, mtime: mtime})
		}
	}
	e.rec.Logs = refsOf(settle(&e.rec, fl))
	var st State
	if !state.absent() {
		var ok bool
		var err error
		if st, ok, err = s.LoadState(kind, id); err != nil || !ok {
			return e, false
		}
	}
	applyState(&e.rec, st, !state.absent())
	return e, indexable(&e)
}
