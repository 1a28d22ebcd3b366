package logstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
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

// AppendDeliveries appends lines (ending in '\n') to the job's deliveries
// file. They are written before it returns, so a crash or a kill of
// karajo keeps them (the page cache outlives the process); the flush to
// the disk (fdatasync) runs in the background right after, one at a time
// per file, covering the appends that came meanwhile. An OS crash can
// lose the last milliseconds of appends: the price of not waiting for the
// disk in a webhook's answer (issue 15's p50 budget). SaveDeliveries,
// which compacts the file, is fully durable.
func (s *Store) AppendDeliveries(kind Kind, id string, lines []byte) error {
	if err := checkJob(kind, id); err != nil {
		return fmt.Errorf("append deliveries of %s %s: %w", kind, id, err)
	}
	p := s.DeliveriesPath(kind, id)
	if err := appendFile(p, lines); err != nil {
		return fmt.Errorf("append deliveries of %s %s: %w", kind, id, err)
	}
	s.flush.request(p)
	return nil
}

// appendFile appends data to the file at p (made, mode 0600, with its
// directory, when missing).
func appendFile(p string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(p), dirMode); err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	return errors.Join(err, f.Close())
}

// lazyFlush runs the background fdatasync of appended files: at most one
// per file at a time, and one more when appends came during it.
type lazyFlush struct {
	mu      sync.Mutex
	pending map[string]*bool // path → appended since its flush began
	wg      sync.WaitGroup
}

// request flushes the file at p soon.
func (l *lazyFlush) request(p string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if dirty, ok := l.pending[p]; ok {
		*dirty = true
		return
	}
	if l.pending == nil {
		l.pending = map[string]*bool{}
	}
	dirty := new(bool)
	l.pending[p] = dirty
	l.wg.Add(1)
	go l.run(p, dirty)
}

// run flushes p until no append came during the last flush. A failed
// flush is not reported: the data is written, and the next compaction
// (SaveDeliveries) writes it durably or fails loudly.
func (l *lazyFlush) run(p string, dirty *bool) {
	defer l.wg.Done()
	for {
		if f, err := os.Open(p); err == nil {
			_ = fdatasync(f)
			_ = f.Close()
		}
		l.mu.Lock()
		if !*dirty {
			delete(l.pending, p)
			l.mu.Unlock()
			return
		}
		*dirty = false
		l.mu.Unlock()
	}
}

// WaitFlushed waits for the background flushes of appended files begun
// so far (AppendDeliveries).
func (s *Store) WaitFlushed() { s.flush.wg.Wait() }

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
	if err := appendFile(s.DeliveryLogPath(kind, id), line); err != nil {
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
	s.records.wait() // what a job queued before (the job removed and added again by a reload)
	data, err := os.ReadFile(s.DeliveryLogPath(kind, id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load delivery records of %s %s: %w", kind, id, err)
	}
	return data, nil
}
