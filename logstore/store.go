package logstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// Kind selects the family of a job; it is also the directory name under
// var/lib/karajo and var/log/karajo and the <kind> of log line prefixes.
type Kind string

// The two kinds of jobs.
const (
	KindJob     Kind = "job"      // exec jobs
	KindJobHTTP Kind = "job_http" // HTTP jobs
)

// dirMode is the mode of every directory the Store creates (SPEC 3.1).
const dirMode = 0o700

// fileMode is the mode of log and state files (SPEC 3.2).
const fileMode = 0o600

// Store is the on-disk home of all job state and logs under one dir_base.
// It is safe for concurrent use by different jobs, provided each job's
// files are touched by one actor at a time. Its only mutable part is the
// group commit of finished logs (see Finish), which has its own lock.
type Store struct {
	base    string
	now     func() time.Time
	commit  *committer   // group commit of finished logs; its own lock
	flush   lazyFlush    // background flushes of appended deliveries files; its own lock
	records recordWriter // queued writes of delivery records (deliverylog.go); its own lock

	noBlanks atomic.Bool // blank logs are not supported here (blanklog.go)
}

// New returns a Store rooted at dirBase (made absolute with filepath.Abs).
// now is the clock used for log line prefixes; nil means time.Now. New
// creates nothing; see Prepare.
func New(dirBase string, now func() time.Time) (*Store, error) {
	base, err := filepath.Abs(dirBase)
	if err != nil {
		return nil, fmt.Errorf("dir_base %q: %w", dirBase, err)
	}
	if now == nil {
		now = time.Now
	}
	return &Store{base: base, now: now, commit: &committer{}}, nil
}

// Base returns the absolute dir_base.
func (s *Store) Base() string { return s.base }

// PrepareBase creates (mode 0700, with parents) the directories shared by
// all jobs: var/lib/karajo/<kind>/, var/log/karajo/<kind>/ and
// var/run/karajo/<kind>/ for both kinds (SPEC 3.1). Existing directories
// are left as they are.
func (s *Store) PrepareBase() error {
	for _, top := range []string{"lib", "log", "run"} {
		for _, kind := range []Kind{KindJob, KindJobHTTP} {
			d := filepath.Join(s.base, "var", top, "karajo", string(kind))
			if err := os.MkdirAll(d, dirMode); err != nil {
				return fmt.Errorf("prepare %s: %w", d, err)
			}
		}
	}
	return nil
}

// Prepare creates (mode 0700) the job's work directory
// var/lib/karajo/<kind>/<id>/ and its log directory
// var/log/karajo/<kind>/<id>/, with the shared directories of PrepareBase
// when they are missing. Existing directories are left as they are; an
// existing entry that is not a directory is an error.
//
// It costs one stat per directory when they exist, and a stat and a mkdir
// when they do not (MkdirAll would stat each parent too).
func (s *Store) Prepare(kind Kind, id string) error {
	if err := checkJob(kind, id); err != nil {
		return fmt.Errorf("prepare %s %s: %w", kind, id, err)
	}
	for _, d := range []string{s.WorkDir(kind, id), s.LogDir(kind, id)} {
		if err := s.mkdir(d); err != nil {
			return fmt.Errorf("prepare %s %s: %w", kind, id, err)
		}
	}
	return nil
}

// mkdir creates the directory d whose parent is a shared directory: one
// stat when it exists (a restart), a stat and a mkdir when it does not.
func (s *Store) mkdir(d string) error {
	fi, err := os.Stat(d)
	switch {
	case err == nil && !fi.IsDir():
		return fmt.Errorf("%s: %w", d, syscall.ENOTDIR)
	case err == nil:
		return nil
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	err = os.Mkdir(d, dirMode)
	if errors.Is(err, fs.ErrNotExist) { // a shared directory is missing
		if err := s.PrepareBase(); err != nil {
			return err
		}
		err = os.Mkdir(d, dirMode)
	}
	if errors.Is(err, fs.ErrExist) { // created meanwhile, or a dangling symlink
		if fi, serr := os.Stat(d); serr != nil || !fi.IsDir() {
			return fmt.Errorf("%s: exists and is not a directory: %w", d, syscall.ENOTDIR)
		}
		return nil
	}
	return err
}

// WorkDir returns $dir_base/var/lib/karajo/<kind>/<id>, the working directory
// of an exec job's commands. kind and id are not checked here; Prepare does.
func (s *Store) WorkDir(kind Kind, id string) string {
	return filepath.Join(s.base, "var", "lib", "karajo", string(kind), id)
}

// LogDir returns $dir_base/var/log/karajo/<kind>/<id>, the directory of the
// job's log files. kind and id are not checked here; Prepare does.
func (s *Store) LogDir(kind Kind, id string) string {
	return filepath.Join(s.base, "var", "log", "karajo", string(kind), id)
}

// StatePath returns $dir_base/var/lib/karajo/<kind>/<id>.state, the job's
// state file (IMP-8). kind and id are not checked here.
func (s *Store) StatePath(kind Kind, id string) string {
	return filepath.Join(s.base, "var", "lib", "karajo", string(kind), id+".state")
}

// State is what survives a restart beyond the log files (IMP-8).
type State struct {
	Counter int64 `json:"counter"` // highest counter ever used
	Paused  bool  `json:"paused"`
	// Cursor is the nominal time of the last schedule point the job took
	// (or of its last pause or resume): catch-up after downtime starts
	// after it. Zero when the job has none.
	Cursor time.Time `json:"cursor,omitzero"`
}

// SaveState writes the job's state file atomically: a temporary file in the
// same directory is written, fsynced and renamed over the state file, then
// the directory is fsynced. Readers see the old or the new state, never a
// mix. The temporary file is removed when SaveState fails.
func (s *Store) SaveState(kind Kind, id string, st State) error {
	if err := s.saveState(kind, id, st); err != nil {
		return fmt.Errorf("save state of %s %s: %w", kind, id, err)
	}
	return nil
}

func (s *Store) saveState(kind Kind, id string, st State) error {
	if err := checkJob(kind, id); err != nil {
		return err
	}
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	data = append(data, '\n')
	return WriteAtomic(s.StatePath(kind, id), data)
}

// LoadState reads the job's state file. A missing file gives (State{}, false,
// nil). A file that cannot be read or does not hold a valid state gives
// (State{}, false, err), err wrapping ErrCorrupt for bad content, so the
// caller can warn and derive the state from the logs as v0.9.3 does.
func (s *Store) LoadState(kind Kind, id string) (State, bool, error) {
	if err := checkJob(kind, id); err != nil {
		return State{}, false, fmt.Errorf("load state of %s %s: %w", kind, id, err)
	}
	path := s.StatePath(kind, id)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return State{}, false, nil
	}
	if err != nil {
		return State{}, false, fmt.Errorf("load state of %s %s: %w", kind, id, err)
	}
	var st State
	if !bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) {
		return State{}, false, fmt.Errorf("load state of %s %s: %s: %w: not a JSON object", kind, id, path, ErrCorrupt)
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return State{}, false, fmt.Errorf("load state of %s %s: %s: %w: %w", kind, id, path, ErrCorrupt, err)
	}
	if st.Counter < 0 {
		return State{}, false, fmt.Errorf("load state of %s %s: %s: %w: negative counter %d", kind, id, path, ErrCorrupt, st.Counter)
	}
	return st, true, nil
}

// Remove deletes the log file name of the job (retention). A missing file is
// not an error. name must be a plain file name (see Open).
func (s *Store) Remove(kind Kind, id string, name string) error {
	if err := checkFile(kind, id, name); err != nil {
		return fmt.Errorf("remove log %s of %s %s: %w", name, kind, id, err)
	}
	err := os.Remove(filepath.Join(s.LogDir(kind, id), name))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove log %s of %s %s: %w", name, kind, id, err)
	}
	return nil
}

// Open opens the log file name of the job for reading. name must be a plain
// file name of the job's log directory: "", ".", "..", and names with '/' or
// NUL are refused with an error wrapping ErrBadName.
func (s *Store) Open(kind Kind, id string, name string) (*os.File, error) {
	if err := checkFile(kind, id, name); err != nil {
		return nil, fmt.Errorf("open log %q of %s %s: %w", name, kind, id, err)
	}
	f, err := os.Open(filepath.Join(s.LogDir(kind, id), name))
	if err != nil {
		return nil, fmt.Errorf("open log of %s %s: %w", kind, id, err)
	}
	return f, nil
}

// checkJob refuses an unknown kind and an ID that is not a plain,
// dot-free path element.
func checkJob(kind Kind, id string) error {
	if kind != KindJob && kind != KindJobHTTP {
		return fmt.Errorf("kind %q: %w", kind, ErrBadName)
	}
	if id == "" || strings.ContainsAny(id, "./\x00") {
		return fmt.Errorf("job ID %q: %w", id, ErrBadName)
	}
	return nil
}

// checkFile is checkJob plus a check that name is a plain file name.
func checkFile(kind Kind, id, name string) error {
	if err := checkJob(kind, id); err != nil {
		return err
	}
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return fmt.Errorf("file name %q: %w", name, ErrBadName)
	}
	return nil
}

// syncDir fsyncs a directory so that a rename or a new entry in it is
// durable. File systems that cannot fsync a directory (EINVAL) are tolerated.
// WriteAtomic writes data to path (mode 0600, its directory made when
// missing): a temporary file beside it is written, fsynced and renamed
// over path, then the directory is fsynced. Readers see the old content
// or the new, never a part; a crash leaves at most a temporary file.
func WriteAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp") // mode 0600
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = f.Close() // may already be closed; the first error matters
			_ = os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP) {
		err = nil
	}
	return errors.Join(err, d.Close())
}
