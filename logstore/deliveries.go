package logstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// DeliveriesPath is where a job's accepted webhook delivery ids are kept
// (issue 15, replay protection), beside its state file.
func (s *Store) DeliveriesPath(kind Kind, id string) string {
	return filepath.Join(s.base, "var", "lib", "karajo", string(kind), id+".deliveries")
}

// SaveDeliveries replaces the job's deliveries file with data, atomically
// and durably (temporary file, fsync, rename, fsync of the directory).
func (s *Store) SaveDeliveries(kind Kind, id string, data []byte) error {
	if err := checkJob(kind, id); err != nil {
		return fmt.Errorf("save deliveries of %s %s: %w", kind, id, err)
	}
	if err := WriteAtomic(s.DeliveriesPath(kind, id), data); err != nil {
		return fmt.Errorf("save deliveries of %s %s: %w", kind, id, err)
	}
	return nil
}

// LoadDeliveries returns the job's deliveries file, nil when there is none.
func (s *Store) LoadDeliveries(kind Kind, id string) ([]byte, error) {
	if err := checkJob(kind, id); err != nil {
		return nil, fmt.Errorf("load deliveries of %s %s: %w", kind, id, err)
	}
	data, err := os.ReadFile(s.DeliveriesPath(kind, id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load deliveries of %s %s: %w", kind, id, err)
	}
	return data, nil
}
