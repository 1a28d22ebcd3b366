package history

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// FileName is the history file's path under dir_base.
const FileName = "var/lib/karajo/history.db"

// Retention limits of history_retention.
const (
	DefaultRetention = 1000
	MinRetention     = 1
	MaxRetention     = 1_000_000
)

// countsBucket holds each job bucket's record count (uint64, big-endian).
var countsBucket = []byte("counts")

// openTimeout bounds the wait for the file's lock (another karajo on the
// same dir_base holds it).
const openTimeout = 2 * time.Second

// Store is an open history file. Its methods are safe for concurrent use
// (bbolt serialises writers and lets readers go on beside them); karajo
// writes from one goroutine only.
type Store struct {
	db   *bolt.DB
	path string
	now  func() time.Time // the clean mark's clock (cleanmark.go)
}

// Opened tells how Open found the file.
type Opened struct {
	Created    bool   // there was no file (or it was moved aside): everything comes from the logs
	MovedAside string // the unreadable file's new name, "" if none
	Reason     error  // why it was unreadable
	Unchecked  bool   // as a clean close left it: its job buckets were not read (cleanmark.go)
}

// Open opens (or creates, mode 0600) the history file at path. A file that
// cannot be opened or read as a history (corrupt, truncated, no
// permission) is renamed to "<path>.broken-<UTC time>" and a new one is
// created; Opened says so. Only a file it can neither open nor move aside
// (or one locked by another process) is an error.
func Open(path string) (*Store, Opened, error) {
	var o Opened
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, o, fmt.Errorf("history: %w", err)
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		o.Created = true
	}
	o.Unchecked = takeCleanMark(path)
	s, err := openDB(path, !o.Unchecked)
	if err == nil || errors.Is(err, berrors.ErrTimeout) {
		return s, o, err
	}
	o.Reason = err
	o.MovedAside = fmt.Sprintf("%s.broken-%s", path, time.Now().UTC().Format("20060102T150405.000000000"))
	if rerr := os.Rename(path, o.MovedAside); rerr != nil {
		return nil, o, fmt.Errorf("history %s unreadable (%w) and not moved aside: %w", path, err, rerr)
	}
	o.Created, o.Unchecked = true, false
	s, err = openDB(path, true)
	return s, o, err
}

// openDB opens the bbolt file and checks that its root (and, with check,
// every job bucket's root page) can be read.
func openDB(path string, check bool) (s *Store, err error) {
	defer func() {
		if p := recover(); p != nil { // bbolt panics on some corrupt pages
			err = fmt.Errorf("history %s: corrupt: %v", path, p)
		}
	}()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: openTimeout})
	if err != nil {
		return nil, fmt.Errorf("history %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(countsBucket); err != nil {
			return err
		}
		if !check {
			return nil
		}
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			b.Cursor().Last() // reads each bucket's root page
			return nil
		})
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("history %s: %w", path, err)
	}
	return &Store{db: db, path: path, now: time.Now}, nil
}

// Path returns the file's path.
func (s *Store) Path() string { return s.path }

// Close closes the file and marks it closed cleanly (cleanmark.go): the
// next Open of the unchanged file skips reading every job bucket.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return err
	}
	if err := writeCleanMark(s.path, s.now()); err != nil {
		return fmt.Errorf("history %s: closed, not marked clean: %w", s.path, err)
	}
	return nil
}

// Put is one record to write, in the bucket of Kind ("job" or "job_http")
// and Job, with the job's history_retention Keep (0 = DefaultRetention).
type Put struct {
	Kind   string
	Rec    Record
	Keep   int
	Delete bool // remove the record at Rec.Key instead (a queued run that did not start as that counter)
}

// Write writes puts in one transaction (one flush). A record replaces the
// one with the same key; a skipped record with Key.Seq 0 gets a new unique
// Seq, set in puts so that the caller can replace it later. Each touched
// job is pruned to its retention, oldest first.
func (s *Store) Write(puts []Put) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		keep := map[string]int{}
		for i := range puts {
			name, err := s.put(tx, &puts[i])
			if err != nil {
				return err
			}
			keep[name] = cmpRetention(puts[i].Keep)
		}
		for name, k := range keep {
			if err := prune(tx, []byte(name), k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("history: write %d records: %w", len(puts), err)
	}
	return nil
}

func cmpRetention(k int) int {
	if k <= 0 {
		return DefaultRetention
	}
	return k
}

// put writes one record and returns its bucket's name.
func (s *Store) put(tx *bolt.Tx, p *Put) (string, error) {
	name := Bucket(p.Kind, p.Rec.Job)
	b, err := tx.CreateBucketIfNotExists(name)
	if err != nil {
		return "", fmt.Errorf("bucket %s: %w", name, err)
	}
	if p.Delete {
		if k := p.Rec.Key.bytes(); b.Get(k) != nil {
			if err := b.Delete(k); err != nil {
				return "", fmt.Errorf("delete in %s: %w", name, err)
			}
			addCount(tx, name, -1)
		}
		return string(name), nil
	}
	if p.Rec.Status == StatusSkipped && p.Rec.Key.Seq == 0 {
		p.Rec.Key.Seq = uint64(max(time.Now().UnixNano(), 1))
		for b.Get(p.Rec.Key.bytes()) != nil {
			p.Rec.Key.Seq++
		}
	}
	k := p.Rec.Key.bytes()
	fresh := b.Get(k) == nil
	v, err := json.Marshal(&p.Rec)
	if err != nil {
		return "", fmt.Errorf("encode record: %w", err)
	}
	if err := b.Put(k, v); err != nil {
		return "", fmt.Errorf("put %s: %w", name, err)
	}
	if fresh {
		addCount(tx, name, 1)
	}
	return string(name), nil
}

func count(tx *bolt.Tx, name []byte) int64 {
	v := tx.Bucket(countsBucket).Get(name)
	if len(v) != 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(v))
}

func addCount(tx *bolt.Tx, name []byte, d int64) {
	v := make([]byte, 8)
	binary.BigEndian.PutUint64(v, uint64(max(count(tx, name)+d, 0)))
	_ = tx.Bucket(countsBucket).Put(name, v) // cannot fail in a writable tx with a valid key
}

// prune deletes the oldest records of bucket name beyond keep.
func prune(tx *bolt.Tx, name []byte, keep int) error {
	n := count(tx, name) - int64(keep)
	if n <= 0 {
		return nil
	}
	b := tx.Bucket(name)
	old := make([][]byte, 0, n)
	c := b.Cursor()
	for k, _ := c.First(); k != nil && int64(len(old)) < n; k, _ = c.Next() {
		old = append(old, append([]byte(nil), k...))
	}
	for _, k := range old {
		if err := b.Delete(k); err != nil {
			return fmt.Errorf("prune %s: %w", name, err)
		}
	}
	addCount(tx, name, -int64(len(old)))
	return nil
}

// Count returns the number of records of a job.
func (s *Store) Count(kind, id string) (n int64) {
	_ = s.db.View(func(tx *bolt.Tx) error {
		n = count(tx, Bucket(kind, id))
		return nil
	})
	return n
}

// Query selects records of one job.
type Query struct {
	Kind, Job string
	Before    int64 // only records of runs before this counter; 0 = from the newest
	Cursor    Key   // only records before this place (Record.Cursor); zero = none, else Before is ignored
	Limit     int   // at most this many; 0 = all
	NoSkipped bool  // leave out the runs that did not happen
	Attempts  bool  // include the records of retry attempts (Record.IsAttempt)
	Since     time.Time
}

// Runs returns the job's records, newest first, as q selects them. With
// Since set, it stops at the first record older than Since.
func (s *Store) Runs(q Query) ([]Record, error) {
	var out []Record
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(Bucket(q.Kind, q.Job))
		if b == nil {
			return nil
		}
		c := b.Cursor()
		var k, v []byte
		from := q.Cursor
		if from == (Key{}) && q.Before > 0 {
			from = RunKey(q.Before)
		}
		if from != (Key{}) {
			if k, _ = c.Seek(from.bytes()); k == nil {
				k, v = c.Last()
			} else {
				k, v = c.Prev()
			}
		} else {
			k, v = c.Last()
		}
		for ; k != nil && (q.Limit <= 0 || len(out) < q.Limit); k, v = c.Prev() {
			var r Record
			if err := json.Unmarshal(v, &r); err != nil {
				continue // a record of a later version: leave it out
			}
			r.Key, _ = parseKey(k)
			r.Cursor = r.Key.Cursor()
			if !q.Since.IsZero() && r.Time().Before(q.Since) {
				break
			}
			if (q.NoSkipped && r.Status == StatusSkipped) || (!q.Attempts && r.IsAttempt()) {
				continue
			}
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("history: query %s/%s: %w", q.Kind, q.Job, err)
	}
	return out, nil
}

// Get returns the record of run counter of a job.
func (s *Store) Get(kind, id string, counter int64) (r Record, ok bool) {
	_ = s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(Bucket(kind, id))
		if b == nil {
			return nil
		}
		v := b.Get(RunKey(counter).bytes())
		ok = v != nil && json.Unmarshal(v, &r) == nil
		r.Key = RunKey(counter)
		return nil
	})
	return r, ok
}
