package logstore

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// scratchSize is the capacity of a RunLog's one scratch buffer. Output is
// copied through it with the prefixes; a piece larger than it is written
// straight from the caller's slice.
const scratchSize = 64 << 10

// scratchPool recycles the scratch buffers of finished logs: a run would
// otherwise allocate 64 KiB, most of a short run's garbage.
var scratchPool = sync.Pool{New: func() any { b := make([]byte, 0, scratchSize); return &b }}

// getScratch returns an empty scratch buffer of capacity scratchSize.
func getScratch() []byte { return (*scratchPool.Get().(*[]byte))[:0] }

// putScratch hands a log's scratch buffer back once the log is done with it.
func putScratch(b []byte) {
	if cap(b) == scratchSize {
		b = b[:0]
		scratchPool.Put(&b)
	}
}

// RunLog is the log file of one run in progress, streamed to disk under the
// in-progress name "<id>.<counter>" (IMP-9). It is not safe for concurrent
// use: one goroutine writes it (wrap it in a lock to merge stdout and stderr
// from two goroutines; exec.Cmd does that itself when both are the same
// io.Writer).
type RunLog struct {
	f       *os.File // nil after Finish
	dir     string
	name    string
	kind    Kind
	id      string
	counter int64
	now     func() time.Time
	commit  *committer
	mask    *masker            // nil without secrets
	emitFn  func([]byte) error // l.emit, bound once
	callNow time.Time          // the clock of the current write call, read lazily

	midLine bool   // the last byte written was not '\n'
	held    bool   // writes wait in buf until Release (Hold)
	err     error  // first write error; later writes return it
	buf     []byte // scratch, capacity scratchSize, never grown
	pfx     []byte // prefix of second pfxSec
	pfxSec  int64
}

// newRunLog returns the log of run counter of the job, written to f, the
// file name in dir.
func (s *Store) newRunLog(f *os.File, dir, name string, kind Kind, id string, counter int64) *RunLog {
	return &RunLog{
		f:       f,
		dir:     dir,
		name:    name,
		kind:    kind,
		id:      id,
		counter: counter,
		now:     s.now,
		commit:  s.commit,
		buf:     getScratch(),
		pfxSec:  -1 << 63,
	}
}

// Create starts the log of run counter of the job: it creates the file
// "<id>.<counter>" in the job's log directory with mode 0600 and O_EXCL (so
// an in-progress name is never reused). The log directory must exist
// (Prepare). counter must not be negative.
//
// Create does not fsync the directory: the entry already survives a crash
// of this process (the kernel keeps it), and the caller makes it survive a
// crash of the machine with SyncDir once the run's work has started, so
// that no fsync delays the command. Recover finalises an in-progress log.
func (s *Store) Create(kind Kind, id string, counter int64) (*RunLog, error) {
	if err := checkJob(kind, id); err != nil {
		return nil, fmt.Errorf("create log %d of %s %s: %w", counter, kind, id, err)
	}
	if counter < 0 {
		return nil, fmt.Errorf("create log %d of %s %s: negative counter: %w", counter, kind, id, ErrBadName)
	}
	dir := s.LogDir(kind, id)
	name := FormatName(id, counter, "")
	path := filepath.Join(dir, name)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
	if err != nil {
		return nil, fmt.Errorf("create log of %s %s: %w", kind, id, err)
	}
	return s.newRunLog(f, dir, name, kind, id, counter), nil
}

// SyncDir fsyncs the log directory, so that the log's entry survives a
// crash of the machine: its creation (and with it the run's counter, SPEC
// 3.1) while the run goes, its rename after Finish. It may be called from
// any goroutine, also while the log is written and after Finish.
func (l *RunLog) SyncDir() error {
	if err := syncDir(l.dir); err != nil {
		return fmt.Errorf("sync log directory of %s: %w", l.name, err)
	}
	return nil
}

// Name returns the in-progress file name "<id>.<counter>".
func (l *RunLog) Name() string { return l.name }

// Path returns the absolute path of the in-progress file.
func (l *RunLog) Path() string { return filepath.Join(l.dir, l.name) }

// Counter returns the run's counter.
func (l *RunLog) Counter() int64 { return l.counter }

// Ref returns the LogRef of the in-progress log (Status "").
func (l *RunLog) Ref() LogRef {
	return LogRef{JobID: l.id, Counter: l.counter, Name: l.name}
}

// Write implements io.Writer for raw command output. The prefix is inserted
// at the start of every line (IMP-27), including the lines inside one chunk;
// the clock is read once per call, so all lines of one chunk, which arrived
// together, carry the same time. Output that does not end with '\n' is continued
// by the next Write or Line on the same line, without a prefix. All of p
// reaches the file (write(2)) before Write returns. Memory does not grow
// with the output. After the first error, Write returns that error.
func (l *RunLog) Write(p []byte) (int, error) {
	if err := l.write(p, false); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Line writes msg as one log line: if the previous write left an unfinished
// line, msg continues it (no prefix), else it starts with the prefix; then
// "\n". A msg with newlines gets the prefix on each of its lines.
// Line("") ends an unfinished line, or writes a line of just the prefix.
func (l *RunLog) Line(msg string) error {
	b := make([]byte, len(msg)+1)
	copy(b, msg)
	b[len(msg)] = '\n'
	return l.write(b, true)
}

// write copies p to the file through the scratch buffer, with prefixes,
// through the masker when secrets are set. final says that p ends a
// piece that no secret continues (a Line): nothing of it is held back.
func (l *RunLog) write(p []byte, final bool) error {
	if l.f == nil {
		return fmt.Errorf("write log %s: %w", l.name, os.ErrClosed)
	}
	if l.err != nil {
		return l.err
	}
	l.callNow = time.Time{} // read once per call, when the first prefix is due
	var err error
	if l.mask != nil {
		err = l.mask.feed(p, final, l.emitFn)
	} else {
		err = l.emit(p)
	}
	if err != nil {
		return l.fail(err)
	}
	if l.held {
		return nil
	}
	if err := l.flush(); err != nil {
		return l.fail(err)
	}
	return nil
}

// Hold makes the writes that follow wait in the log's buffer (up to its
// size) until Release or Seal, so that a run's first lines, written one
// by one, reach the file in one write: the run path to the fork makes one
// system call for them instead of three.
func (l *RunLog) Hold() { l.held = true }

// Release ends Hold: what waited is written now. It returns the write's
// error, kept as every write error is.
func (l *RunLog) Release() error {
	l.held = false
	if l.f == nil || l.err != nil {
		return l.err
	}
	if err := l.flush(); err != nil {
		return l.fail(err)
	}
	return nil
}

// emit puts p into the scratch buffer with a prefix at the start of every
// line; the buffer is flushed when full.
func (l *RunLog) emit(p []byte) error {
	for len(p) > 0 {
		if !l.midLine {
			if l.callNow.IsZero() {
				l.callNow = l.now()
			}
			if err := l.put(l.prefix(l.callNow)); err != nil {
				return err
			}
			l.midLine = true
		}
		var seg []byte
		if i := bytes.IndexByte(p, '\n'); i >= 0 {
			seg, p = p[:i+1], p[i+1:]
			l.midLine = false
		} else {
			seg, p = p, nil
		}
		if err := l.put(seg); err != nil {
			return err
		}
	}
	return nil
}

// SetSecrets makes the log replace every occurrence of each non-empty
// secret by Masked ("***"), in command output (also when a secret is split
// across writes) and in lines. Call it before the first write. The end of
// the output that may begin a secret is held back until the next Write,
// Line or Finish; so a live reader may see the last few bytes of an
// unfinished line later.
func (l *RunLog) SetSecrets(secrets []string) {
	l.mask = newMasker(secrets)
	if l.mask != nil {
		l.emitFn = l.emit
	}
}

// prefix returns the prefix for time now, formatted at most once per second.
func (l *RunLog) prefix(now time.Time) []byte {
	t := now.Truncate(time.Second)
	if sec := t.Unix(); sec != l.pfxSec {
		l.pfx = appendPrefix(l.pfx[:0], t, l.kind, l.id)
		l.pfxSec = sec
	}
	return l.pfx
}

// put appends b to the scratch buffer, flushing it first when b does not
// fit; a b larger than the whole buffer is written directly.
func (l *RunLog) put(b []byte) error {
	if len(l.buf)+len(b) <= cap(l.buf) {
		l.buf = append(l.buf, b...)
		return nil
	}
	if err := l.flush(); err != nil {
		return err
	}
	if len(b) > cap(l.buf) {
		_, err := l.f.Write(b)
		return err
	}
	l.buf = append(l.buf, b...)
	return nil
}

// flush writes the scratch buffer to the file and empties it.
func (l *RunLog) flush() error {
	if len(l.buf) == 0 {
		return nil
	}
	_, err := l.f.Write(l.buf)
	l.buf = l.buf[:0]
	return err
}

// fail records the first write error.
func (l *RunLog) fail(err error) error {
	l.buf = l.buf[:0]
	l.err = fmt.Errorf("write log %s: %w", l.Path(), err)
	return l.err
}

// Finish makes the log durable and final: it queues the file for the
// Store's group commit and returns when the file's data is on disk
// (fdatasync, or one syncfs shared with the other logs that finished
// meanwhile), the file is closed and renamed to "<id>.<counter>.<status>".
// It returns the finished log's LogRef. The content is on disk before the
// final name exists, so a crash never leaves a final log with missing
// content. The rename itself is made durable by the committer's next
// flush, right after Finish returns (a rename lost to a crash of the
// machine leaves the in-progress name, finalised as interrupted by
// Recover). status must be non-empty and free of '.', '/' and NUL; a bad
// status is refused (wrapping ErrBadName) before anything else and the
// RunLog stays usable. Otherwise the RunLog must not be used after Finish,
// even when it fails. If the rename succeeded but a flush or close failed,
// the returned LogRef is valid (Name != "") along with the error; if the
// rename failed the file keeps its in-progress name and is finalised as
// failed by the next Recover.
//
// Finish is Seal followed by Wait.
func (l *RunLog) Finish(status string) (LogRef, error) {
	p, err := l.Seal(status)
	if err != nil {
		return LogRef{}, err
	}
	return p.Wait()
}

// Sealed is a finished log on its way to disk: Seal queued it for the
// Store's group commit, and Wait tells when it is durable and final.
type Sealed struct {
	r        *commitReq
	id, name string
	counter  int64
	status   string
	errFlush error // writing what was buffered
}

// Seal ends the log with status and queues it for the group commit
// without waiting for the flush: the run's work may go on (its slot be
// released, the next run start) while the log is made durable. Logs are
// committed in the order they were sealed, so an earlier log is never
// durable after a later one. The log is not final, and must not be
// reported finished, before Wait returns. status is checked as Finish
// does: a bad status (ErrBadName) or a log already finished is refused
// and nothing is queued. The RunLog must not be used after Seal.
func (l *RunLog) Seal(status string) (*Sealed, error) {
	if l.f == nil {
		return nil, fmt.Errorf("finish log %s: %w", l.name, os.ErrClosed)
	}
	if status == "" || strings.ContainsAny(status, "./\x00") {
		return nil, fmt.Errorf("finish log %s: status %q: %w", l.name, status, ErrBadName)
	}
	if l.mask != nil && l.err == nil {
		_ = l.write(nil, true) // what was held back; an error is in l.err
	}
	errFlush := l.flush()
	f := l.f
	putScratch(l.buf)
	l.f, l.buf, l.pfx = nil, nil, nil
	name := FormatName(l.id, l.counter, status)
	r := &commitReq{f: f, dir: l.dir, from: l.name, to: name}
	l.commit.enqueue(r)
	return &Sealed{r: r, id: l.id, name: l.name, counter: l.counter, status: status, errFlush: errFlush}, nil
}

// Wait returns when the sealed log's data is on disk, the file is closed
// and renamed to its final name, with what Finish returns. It may be
// called more than once, from any goroutine.
func (p *Sealed) Wait() (LogRef, error) {
	<-p.r.done
	r := p.r
	if r.renameErr != nil {
		return LogRef{}, fmt.Errorf("finish log %s: %w", p.name, errors.Join(p.errFlush, r.flushErr, r.renameErr))
	}
	ref := LogRef{JobID: p.id, Counter: p.counter, Status: p.status, Name: r.to}
	if err := errors.Join(p.errFlush, r.flushErr); err != nil {
		return ref, fmt.Errorf("finish log %s: %w", r.to, err)
	}
	return ref, nil
}

// fdatasync flushes f's data and the metadata needed to read it back (its
// size), not its times: cheaper than fsync for a log.
func fdatasync(f *os.File) error {
	return fdCall(f, "fdatasync", syscall.Fdatasync)
}

// fdCall calls call on f's descriptor, again while it is interrupted
// (EINTR), and names op and the file in its error.
func fdCall(f *os.File, op string, call func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for {
			if serr = call(int(fd)); serr != syscall.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	if serr != nil {
		return &os.PathError{Op: op, Path: f.Name(), Err: serr}
	}
	return nil
}

// Discard closes the log and removes its file: the run it was made for
// never started (it was refused, or the job was paused or stopped while it
// waited for a slot). The RunLog must not be used after Discard.
func (l *RunLog) Discard() error {
	if l.f == nil {
		return fmt.Errorf("discard log %s: %w", l.name, os.ErrClosed)
	}
	f := l.f
	putScratch(l.buf)
	l.f, l.buf, l.pfx = nil, nil, nil
	errClose := f.Close()
	if err := os.Remove(filepath.Join(l.dir, l.name)); err != nil {
		return fmt.Errorf("discard log %s: %w", l.name, errors.Join(errClose, err))
	}
	return nil
}
