package logstore

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

// payloadDirMode lets a run user (user =) reach its own payload file by
// name, without listing the others.
const payloadDirMode = 0o711

// PayloadDir returns var/run/karajo/payload/: the payload files of the
// runs in progress (pass_payload = "file"), outside the log directories.
func (s *Store) PayloadDir() string {
	return filepath.Join(s.base, "var", "run", "karajo", "payload")
}

// WritePayload writes the webhook body r of run counter of exec job id to
// PayloadDir()/<id>.<counter> with mode 0600, owned by uid:gid when uid
// is not negative, and returns its absolute path. The caller removes it
// with RemovePayload when the run ends; ClearPayloads removes what a
// crash left.
func (s *Store) WritePayload(id string, counter int64, r io.Reader, uid, gid int) (string, error) {
	if err := checkJob(KindJob, id); err != nil {
		return "", fmt.Errorf("write payload of job %s: %w", id, err)
	}
	dir := s.PayloadDir()
	if err := os.MkdirAll(dir, payloadDirMode); err != nil {
		return "", fmt.Errorf("write payload of job %s: %w", id, err)
	}
	path, err := filepath.Abs(filepath.Join(dir, id+"."+strconv.FormatInt(counter, 10)))
	if err != nil {
		return "", fmt.Errorf("write payload of job %s: %w", id, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fileMode)
	if err != nil {
		return "", fmt.Errorf("write payload of job %s: %w", id, err)
	}
	_, err = io.Copy(f, r)
	if err == nil && uid >= 0 {
		err = f.Chown(uid, gid)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return "", fmt.Errorf("write payload of job %s: %w", id, err)
	}
	return path, nil
}

// RemovePayload removes a payload file written by WritePayload; a missing
// file is no error.
func (s *Store) RemovePayload(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove payload: %w", err)
	}
	return nil
}

// ClearPayloads removes every file in PayloadDir(): at start no run is in
// progress, so what is there was left by a crash. It returns how many it
// removed.
func (s *Store) ClearPayloads() (int, error) {
	dir := s.PayloadDir()
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("clear payloads: %w", err)
	}
	n := 0
	var errs []error
	for _, e := range entries {
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	if err := errors.Join(errs...); err != nil {
		return n, fmt.Errorf("clear payloads: %w", err)
	}
	return n, nil
}

// ShareWorkDir readies the work directory of exec job id for commands
// that run as uid:gid (user =): it is chowned to them, and the
// directories from dir_base down to it, and to PayloadDir, get the
// search bit for others (o+x: a path can be followed, nothing listed).
// dir_base itself and what is above it are the operator's to open.
func (s *Store) ShareWorkDir(id string, uid, gid int) error {
	if err := checkJob(KindJob, id); err != nil {
		return fmt.Errorf("share work directory of job %s: %w", id, err)
	}
	work := s.WorkDir(KindJob, id)
	for _, d := range []string{
		filepath.Join(s.base, "var"),
		filepath.Join(s.base, "var", "lib"),
		filepath.Join(s.base, "var", "lib", "karajo"),
		filepath.Join(s.base, "var", "lib", "karajo", string(KindJob)),
		filepath.Join(s.base, "var", "run"),
		filepath.Join(s.base, "var", "run", "karajo"),
	} {
		fi, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("share work directory of job %s: %w", id, err)
		}
		if fi.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(d, fi.Mode().Perm()|0o011); err != nil {
				return fmt.Errorf("share work directory of job %s: %w", id, err)
			}
		}
	}
	if err := os.Chown(work, uid, gid); err != nil {
		return fmt.Errorf("share work directory of job %s: %w", id, err)
	}
	return nil
}
