package logstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// A BlankLog is the file of a run log made before its run is due: an
// unnamed file (O_TMPFILE) in the job's log directory. Making the inode
// is most of the cost of creating a log (about 125 µs of CPU when 100
// jobs create theirs at the same instant, against about 20 µs to give an
// existing file its name), so a scheduled run can take a blank made ahead
// of its due instant and only name it then (Name). A blank has no name:
// nothing of it is left on disk when it is discarded or when karajo dies
// before naming it, so it never stands for a run that did not start.
type BlankLog struct {
	s    *Store
	f    *os.File
	dir  string
	kind Kind
	id   string
}

// errNoBlanks marks a store whose file system (or kernel, or /proc) does
// not support blank logs; Blank then fails at once.
var errNoBlanks = errors.New("unnamed files (O_TMPFILE) not supported here")

// Blank makes a blank log in the job's log directory, which must exist
// (Prepare). Where unnamed files are not supported it fails, and keeps
// failing without a system call: logs are then made by Create alone.
func (s *Store) Blank(kind Kind, id string) (*BlankLog, error) {
	if s.noBlanks.Load() {
		return nil, errNoBlanks
	}
	if err := checkJob(kind, id); err != nil {
		return nil, fmt.Errorf("blank log of %s %s: %w", kind, id, err)
	}
	dir := s.LogDir(kind, id)
	fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, fileMode)
	if err != nil {
		if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EISDIR) || errors.Is(err, unix.EINVAL) {
			s.noBlanks.Store(true)
		}
		return nil, fmt.Errorf("blank log of %s %s: %w", kind, id, err)
	}
	return &BlankLog{s: s, f: os.NewFile(uintptr(fd), dir), dir: dir, kind: kind, id: id}, nil
}

// Name gives the blank the in-progress name of run counter and returns it
// as that run's log, as Create would have made it: an existing name is an
// error (the blank stays usable), never replaced. When naming is not
// possible here (no /proc), the blank is discarded and the log is made by
// Create, and later blanks are refused.
func (b *BlankLog) Name(counter int64) (*RunLog, error) {
	if b.f == nil {
		return nil, fmt.Errorf("name blank log of %s %s: %w", b.kind, b.id, os.ErrClosed)
	}
	if counter < 0 {
		return nil, fmt.Errorf("create log %d of %s %s: negative counter: %w", counter, b.kind, b.id, ErrBadName)
	}
	name := FormatName(b.id, counter, "")
	path := filepath.Join(b.dir, name)
	proc := "/proc/self/fd/" + strconv.Itoa(int(b.f.Fd()))
	err := unix.Linkat(unix.AT_FDCWD, proc, unix.AT_FDCWD, path, unix.AT_SYMLINK_FOLLOW)
	switch {
	case err == nil:
	case errors.Is(err, unix.EEXIST):
		return nil, fmt.Errorf("create log of %s %s: %w", b.kind, b.id, &os.PathError{Op: "link", Path: path, Err: err})
	default:
		b.s.noBlanks.Store(true)
		b.Discard()
		return b.s.Create(b.kind, b.id, counter)
	}
	f := b.f
	b.f = nil
	return b.s.newRunLog(f, b.dir, name, b.kind, b.id, counter), nil
}

// Discard closes a blank that will not be used; nothing is left on disk.
// It is a no-op after Name or Discard.
func (b *BlankLog) Discard() {
	if b.f != nil {
		_ = b.f.Close()
		b.f = nil
	}
}
