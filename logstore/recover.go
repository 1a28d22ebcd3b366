package logstore

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultRetention is the number of logs kept per job when log_retention is
// not positive (SPEC 1.10).
const DefaultRetention = 5

// statusFailed is the status given to a run interrupted by a crash.
const statusFailed = "failed"

// statusSuccess is the status of a run that succeeded.
const statusSuccess = "success"

// statusPaused is the status of v0.9.3's no-op runs of a paused job.
const statusPaused = "paused"

// Recovered is a job's state rebuilt at start (SPEC 3.3, IMP-8, IMP-9,
// IMP-10).
type Recovered struct {
	Logs         []LogRef  // ascending counter, pruned to retention (pruned files deleted)
	Counter      int64     // max(state file counter, highest log counter)
	StateCounter int64     // the state file's counter; 0 without a readable state file
	Status       string    // status of the highest-counter log; "" when there are no logs
	Paused       bool      // the state file's flag; without a readable state file: highest-counter log status == "paused"
	LastRun      time.Time // latest mtime among log files, rounded to the nearest second, UTC; zero if none
	LastSuccess  time.Time // latest mtime among logs with status success, truncated to the second, UTC; zero if none
	Cursor       time.Time // the state file's schedule cursor; zero without one
	Warnings     []string  // ignored entries, unreadable state file, finalised interrupted runs, failed deletions
}

// Recover rebuilds the job from its log directory and state file, with the
// rules described in the package documentation: invalid entries are ignored
// with a warning and never deleted, the job's own interrupted run logs are
// finalised as failed, logs beyond retention (<= 0 means DefaultRetention)
// are deleted. A missing log directory means no logs. Problems with single
// entries and an unreadable state file are Warnings, not errors; the error is
// for a log directory that cannot be read.
func (s *Store) Recover(kind Kind, id string, retention int) (Recovered, error) {
	return s.RecoverIn(nil, kind, id, retention)
}

// RecoverIn is Recover with a census taken at start: when it knows the job
// has no state file or no log directory, that is not opened, and when the
// kind's start index holds the job and one stat each shows its log
// directory and state file unchanged since, the files are not read at all
// (startindex.go).
func (s *Store) RecoverIn(c *Census, kind Kind, id string, retention int) (Recovered, error) {
	var rec Recovered
	if err := checkJob(kind, id); err != nil {
		return rec, fmt.Errorf("recover %s %s: %w", kind, id, err)
	}
	if retention <= 0 {
		retention = DefaultRetention
	}
	if rec, ok := c.fromIndex(id, retention); ok {
		return rec, nil
	}
	dir := s.LogDir(kind, id)
	var (
		d       *os.File // the log directory: the files are stat'ed relative to it
		entries []os.DirEntry
	)
	if c.HasLogs(id) {
		var err error
		if d, entries, err = openLogDir(dir); err != nil {
			return rec, fmt.Errorf("recover %s %s: %w", kind, id, err)
		}
		if d != nil {
			defer d.Close()
		}
	}
	warn := func(format string, args ...any) {
		rec.Warnings = append(rec.Warnings, fmt.Sprintf(format, args...))
	}

	var logs []found
	var maxCounter int64 // also counts in-progress files that could not be finalised
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() {
			warn("%s: ignored sub-directory %q", dir, name)
			continue
		}
		ref, ok := ParseName(name)
		if !ok {
			owner, counter, inProgress := parseInProgress(name)
			if !inProgress || owner != id || !e.Type().IsRegular() {
				warn("%s: ignored %q: not a log file name <id>.<counter>.<status>", dir, name)
				continue
			}
			maxCounter = max(maxCounter, counter)
			done, err := s.finalise(kind, id, dir, name)
			if done == "" {
				warn("%s: interrupted run log %q not finalised: %v", dir, name, err)
				continue
			}
			warn("%s: interrupted run log %q finalised as %q", dir, name, done)
			if err != nil {
				warn("%s: %v", dir, err)
			}
			ref = LogRef{JobID: id, Counter: counter, Status: statusFailed, Name: done}
		}
		mtime, err := mtimeAt(d, ref.Name)
		if err != nil {
			warn("%s: ignored %q: %v", dir, ref.Name, err)
			continue
		}
		maxCounter = max(maxCounter, ref.Counter)
		logs = append(logs, found{ref: ref, mtime: mtime})
	}

	logs = settle(&rec, logs)
	if n := len(logs) - retention; n > 0 {
		for _, l := range logs[:n] {
			if err := s.Remove(kind, id, l.ref.Name); err != nil {
				warn("prune: %v", err)
			}
		}
		logs = logs[n:]
	}
	rec.Logs = refsOf(logs)
	rec.Counter = maxCounter

	var (
		st   State
		ok   bool
		serr error
	)
	if c.HasState(id) {
		st, ok, serr = s.LoadState(kind, id)
	}
	if serr != nil {
		warn("%v; state derived from the logs", serr)
	}
	applyState(&rec, st, ok && serr == nil)
	return rec, nil
}

// found is a log file found in a job's log directory.
type found struct {
	ref   LogRef
	mtime time.Time
}

// refsOf returns the logs' references, in their order.
func refsOf(logs []found) []LogRef {
	refs := make([]LogRef, len(logs))
	for i, l := range logs {
		refs[i] = l.ref
	}
	return refs
}

// settle sorts logs by counter (then name) and sets rec's LastRun,
// LastSuccess and Status from them; it returns the sorted logs.
func settle(rec *Recovered, logs []found) []found {
	slices.SortFunc(logs, func(a, b found) int {
		return cmp.Or(cmp.Compare(a.ref.Counter, b.ref.Counter), cmp.Compare(a.ref.Name, b.ref.Name))
	})
	for _, l := range logs {
		if l.mtime.After(rec.LastRun) {
			rec.LastRun = l.mtime
		}
		if l.ref.Status == statusSuccess && l.mtime.After(rec.LastSuccess) {
			rec.LastSuccess = l.mtime
		}
	}
	if !rec.LastSuccess.IsZero() {
		rec.LastSuccess = rec.LastSuccess.Truncate(time.Second).UTC()
	}
	if !rec.LastRun.IsZero() {
		rec.LastRun = rec.LastRun.Round(time.Second).UTC()
	}
	if len(logs) > 0 {
		rec.Status = logs[len(logs)-1].ref.Status
	}
	return logs
}

// applyState sets what the state file says (ok: it was read), or without
// one the paused flag the logs imply (v0.9.3).
func applyState(rec *Recovered, st State, ok bool) {
	if !ok {
		rec.Paused = rec.Status == statusPaused
		return
	}
	rec.Counter = max(rec.Counter, st.Counter)
	rec.StateCounter = st.Counter
	rec.Paused = st.Paused
	rec.Cursor = st.Cursor
}

// finalise closes the in-progress log name of a run interrupted by a crash
// (SPEC 3.2): it appends the line "<P>!!! <kind>: <id>: interrupted, server
// stopped", after a newline if the file does not end with one, restores the
// file's modification time (the run's last output), renames it to
// "<name>.failed" and fsyncs the directory. An existing "<name>.failed" is
// never overwritten. It returns the new name once the rename is done, with
// an error if the directory could not be fsynced after it.
func (s *Store) finalise(kind Kind, id, dir, name string) (string, error) {
	done := name + "." + statusFailed
	path, donePath := filepath.Join(dir, name), filepath.Join(dir, done)
	if _, err := os.Lstat(donePath); !errors.Is(err, fs.ErrNotExist) {
		if err == nil {
			err = fs.ErrExist
		}
		return "", fmt.Errorf("%s: %w", done, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return "", err
	}
	info, err := f.Stat()
	if err != nil {
		return "", errors.Join(err, f.Close())
	}
	line := make([]byte, 0, 128)
	if size := info.Size(); size > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, size-1); err != nil {
			return "", errors.Join(err, f.Close())
		}
		if last[0] != '\n' {
			line = append(line, '\n')
		}
	}
	line = appendPrefix(line, s.now(), kind, id)
	line = fmt.Appendf(line, "!!! %s: %s: interrupted, server stopped\n", kind, id)
	if _, err := f.WriteAt(line, info.Size()); err != nil {
		return "", errors.Join(err, f.Close())
	}
	if err := f.Sync(); err != nil {
		return "", errors.Join(err, f.Close())
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	mtime := info.ModTime()
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		return "", err
	}
	if err := os.Rename(path, donePath); err != nil {
		return "", err
	}
	return done, syncDir(dir)
}

// openLogDir opens a job's log directory and lists it sorted by name (as
// os.ReadDir does: warnings come in a stable order). A missing directory
// is (nil, nil, nil).
func openLogDir(dir string) (*os.File, []os.DirEntry, error) {
	d, err := os.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	entries, err := d.ReadDir(-1)
	if err != nil {
		return nil, nil, errors.Join(err, d.Close())
	}
	slices.SortFunc(entries, func(a, b os.DirEntry) int { return cmp.Compare(a.Name(), b.Name()) })
	return d, entries, nil
}

// mtimeAt returns the modification time of name in the directory d, not
// following a symbolic link: one fstatat(2) relative to d, instead of an
// lstat(2) that walks every component of the whole path again (at start,
// once per log of every job).
func mtimeAt(d *os.File, name string) (time.Time, error) {
	var st unix.Stat_t
	if err := fdCall(d, "fstatat", func(fd int) error {
		return unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	}); err != nil {
		return time.Time{}, err
	}
	return time.Unix(st.Mtim.Unix()), nil
}
