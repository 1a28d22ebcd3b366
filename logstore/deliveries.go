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

// DeliveryLogPath is where a job's delivery records are kept (issue 15,
// the delivery inspector): one JSON object a line, oldest first, beside
// its state file.
func (s *Store) DeliveryLogPath(kind Kind, id string) string {
	return filepath.Join(s.base, "var", "lib", "karajo", string(kind), id+".deliverylog")
}

// AppendDeliveryLog appends line (one record, ending in '\n') to the
// job's delivery records. It is not fsynced: a record is an inspection
// aid, and a crash loses at most the last few.
func (s *Store) AppendDeliveryLog(kind Kind, id string, line []byte) error {
	if err := checkJob(kind, id); err != nil {
		return fmt.Errorf("append delivery record of %s %s: %w", kind, id, err)
	}
	p := s.DeliveryLogPath(kind, id)
	if err := os.MkdirAll(filepath.Dir(p), dirMode); err != nil {
		return fmt.Errorf("append delivery record of %s %s: %w", kind, id, err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("append delivery record of %s %s: %w", kind, id, err)
	}
	_, err = f.Write(line)
	if err = errors.Join(err, f.Close()); err != nil {
		return fmt.Errorf("append delivery record of %s %s: %w", kind, id, err)
	}
	return nil
}

// SaveDeliveryLog replaces the job's delivery records with data,
// atomically (it drops the oldest past the retention).
func (s *Store) SaveDeliveryLog(kind Kind, id string, data []byte) error {
	if err := checkJob(kind, id); err != nil {
		return fmt.Errorf("save delivery records of %s %s: %w", kind, id, err)
	}
	if err := WriteAtomic(s.DeliveryLogPath(kind, id), data); err != nil {
		return fmt.Errorf("save delivery records of %s %s: %w", kind, id, err)
	}
	return nil
}

// LoadDeliveryLog returns the job's delivery records file, nil when there
// is none.
func (s *Store) LoadDeliveryLog(kind Kind, id string) ([]byte, error) {
	if err := checkJob(kind, id); err != nil {
		return nil, fmt.Errorf("load delivery records of %s %s: %w", kind, id, err)
	}
	data, err := os.ReadFile(s.DeliveryLogPath(kind, id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load delivery records of %s %s: %w", kind, id, err)
	}
	return data, nil
}
