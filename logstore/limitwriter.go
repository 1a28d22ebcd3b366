package logstore

import (
	"fmt"
)

// Guard is how a run writes its RunLog: it caps the command's output at a
// number of bytes (max_log_bytes) and keeps the first write error instead
// of passing it on, so that the run can go on draining its command's
// output and end failed with the reason (issue 14: a full disk never makes
// a truncated log a success, and never floods the server's log).
//
// Output past the cap is dropped after one marker line; karajo's own
// lines (Line) are not counted, so a capped log still ends with its
// status. After the first write error, everything is dropped until
// Finish, which tries once more to write one line saying why.
//
// Like RunLog, a Guard is not safe for concurrent use.
type Guard struct {
	rl      *RunLog
	limit   int64 // 0: no cap
	n       int64 // output bytes written
	capped  bool  // the cap was reached and its marker written
	err     error // first write error
	onError func(error)
}

// Guarded returns a Guard writing l. limit caps the output written with
// Write, in bytes (0 or less: no cap). onError, if not nil, is called once,
// with the first write error, when it happens.
func (l *RunLog) Guarded(limit int64, onError func(error)) *Guard {
	return &Guard{rl: l, limit: max(limit, 0), onError: onError}
}

// CapMarker returns the line written when output reaches a cap of limit
// bytes.
func CapMarker(limit int64) string {
	return fmt.Sprintf("!!! karajo: output reached max_log_bytes (%d bytes): the rest of it is not logged", limit)
}

// Write writes command output, up to the cap. It always reports all of p
// written and no error, so that a copy loop keeps draining the command;
// the first error is kept for Err.
func (g *Guard) Write(p []byte) (int, error) {
	n := len(p)
	if g.err != nil || g.capped {
		return n, nil
	}
	if g.limit > 0 && g.n+int64(len(p)) > g.limit {
		p = p[:g.limit-g.n]
		g.capped = true
	}
	if len(p) > 0 {
		if _, err := g.rl.Write(p); err != nil {
			g.fail(err)
			return n, nil
		}
		g.n += int64(len(p))
	}
	if g.capped {
		g.line(CapMarker(g.limit), true)
	}
	return n, nil
}

// Line writes one of karajo's own lines (see RunLog.Line); it is not
// counted against the cap. After a write error it writes nothing.
func (g *Guard) Line(msg string) error {
	if g.err != nil {
		return g.err
	}
	g.line(msg, false)
	return g.err
}

// line writes msg on a line of its own when own is true (ending an
// unfinished line first), else as RunLog.Line does.
func (g *Guard) line(msg string, own bool) {
	var err error
	if own {
		err = g.rl.ownLine(msg)
	} else {
		err = g.rl.Line(msg)
	}
	if err != nil {
		g.fail(err)
	}
}

// fail keeps err if it is the first error, and reports it.
func (g *Guard) fail(err error) {
	if g.err != nil {
		return
	}
	g.err = err
	if g.onError != nil {
		g.onError(err)
	}
}

// Hold is RunLog.Hold.
func (g *Guard) Hold() { g.rl.Hold() }

// Release is RunLog.Release; its error is kept and reported as any write
// error.
func (g *Guard) Release() {
	if err := g.rl.Release(); err != nil {
		g.fail(err)
	}
}

// Err returns the first write error, or nil.
func (g *Guard) Err() error { return g.err }

// Capped reports whether output reached the cap.
func (g *Guard) Capped() bool { return g.capped }

// Finish finishes the RunLog with status (see RunLog.Finish). After a
// write error it first tries once to write a line saying why: a full disk
// may have room for it again, and the log then says where it stops.
func (g *Guard) Finish(status string) (LogRef, error) {
	p, err := g.Seal(status)
	if err != nil {
		return LogRef{}, err
	}
	return p.Wait()
}

// Seal seals the RunLog with status (see RunLog.Seal), after the line
// Finish writes for a write error.
func (g *Guard) Seal(status string) (*Sealed, error) {
	if g.err != nil {
		g.rl.err = nil
		_ = g.rl.ownLine("!!! karajo: the log is incomplete: " + g.err.Error())
	}
	return g.rl.Seal(status)
}

// Unwrap returns the RunLog the Guard writes.
func (g *Guard) Unwrap() *RunLog { return g.rl }

// ownLine writes msg as a line of its own: an unfinished line is ended
// first.
func (l *RunLog) ownLine(msg string) error {
	if l.mask != nil { // what the masker holds back first
		if err := l.write(nil, true); err != nil {
			return err
		}
	}
	if l.midLine {
		return l.write([]byte("\n"+msg+"\n"), true)
	}
	return l.Line(msg)
}
