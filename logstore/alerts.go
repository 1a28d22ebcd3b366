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

// SaveAlerts replaces the job's alert file with data, atomically and
// durably (temporary file, fsync, rename, fsync of the directory).
func (s *Store) SaveAlerts(kind Kind, id string, data []byte) error {
	if err := checkJob(kind, id); err != nil {
		return fmt.Errorf("save alerts of %s %s: %w", kind, id, err)
	}
	if err := WriteAtomic(s.AlertsPath(kind, id), data); err != nil {
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
