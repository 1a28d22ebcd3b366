package logstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// AlertsPath is where a job's alert state is kept (issue 16: failure
// streak, last success, alerts sent), beside its state file.
func (s *Store) AlertsPath(kind Kind, id string) string {
	return filepath.Join(s.base, "var", "lib", "karajo", string(kind), id+".alerts")
}

// SaveAlerts replaces the job's alert file with data, in place and not
// durably: it is written after every run, and a rename (or a truncation to
// zero) makes ext4 flush the file at once, which would cost a run a
// millisecond or more. After a crash the file may be an older one, a torn
// one or empty; the job detects each (stale counter, invalid JSON)
// against its durable logs and rebuilds the state from them. Only the
// job's actor writes it, and only at start is it read.
func (s *Store) SaveAlerts(kind Kind, id string, data []byte) (err error) {
	if err := checkJob(kind, id); err != nil {
		return fmt.Errorf("save alerts of %s %s: %w", kind, id, err)
	}
	f, err := os.OpenFile(s.AlertsPath(kind, id), os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("save alerts of %s %s: %w", kind, id, err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("save alerts of %s %s: %w", kind, id, cerr)
		}
	}()
	if _, err := f.WriteAt(data, 0); err != nil {
		return fmt.Errorf("save alerts of %s %s: %w", kind, id, err)
	}
	if err := f.Truncate(int64(len(data))); err != nil {
		return fmt.Errorf("save alerts of %s %s: %w", kind, id, err)
	}
	return nil
}

// LoadAlerts returns the job's alert file, nil when there is none.
func (s *Store) LoadAlerts(kind Kind, id string) ([]byte, error) {
	if err := checkJob(kind, id); err != nil {
		return nil, fmt.Errorf("load alerts of %s %s: %w", kind, id, err)
	}
	data, err := os.ReadFile(s.AlertsPath(kind, id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load alerts of %s %s: %w", kind, id, err)
	}
	return data, nil
}
