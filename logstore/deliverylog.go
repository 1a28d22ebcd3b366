package logstore

import (
	"fmt"
	"sync"
	"time"
)

// recordWriter writes the delivery records of every job (issue 15's
// inspector) off the job actors: a webhook request costs its job a queue
// append instead of an open, a write and a close of a file (and, every
// delivery_retention requests, a rewrite with two fsyncs). One goroutine,
// started when something is queued and gone when nothing is, takes what
// queued during recordGather and writes it in order: the appends to one file in a batch with
// one open and one write; a rewrite drops the appends queued before it
// (its data holds the records it keeps). Records are an inspection aid:
// a kill of karajo loses those still queued (a few milliseconds' worth);
// a clean stop writes them all (Engine.Shutdown waits, WaitRecords).
type recordWriter struct {
	mu      sync.Mutex
	queue   []recordOp
	active  bool
	queued  int64      // ops queued so far
	written int64      // ops written so far (in order: the first written ones)
	done    *sync.Cond // broadcast after each batch
	writes  int64      // files written (tests)
}

// recordOp is one queued append or rewrite of a records file.
type recordOp struct {
	path    string
	data    []byte
	replace bool        // data is the whole file (written atomically), else appended
	onErr   func(error) // told of a failed write; may be nil
}

// QueueDeliveryLog queues line (one record, ending in '\n') to be appended
// to the job's delivery records, and returns at once. onErr, when not nil,
// is called (from another goroutine) if the write fails.
func (s *Store) QueueDeliveryLog(kind Kind, id string, line []byte, onErr func(error)) error {
	if err := checkJob(kind, id); err != nil {
		return fmt.Errorf("append delivery record of %s %s: %w", kind, id, err)
	}
	s.records.add(recordOp{path: s.DeliveryLogPath(kind, id), data: line, onErr: onErr})
	return nil
}

// QueueDeliveryLogRewrite queues the replacement of the job's delivery
// records by data (atomic and durable, as SaveDeliveryLog), and returns at
// once; onErr as for QueueDeliveryLog.
func (s *Store) QueueDeliveryLogRewrite(kind Kind, id string, data []byte, onErr func(error)) error {
	if err := checkJob(kind, id); err != nil {
		return fmt.Errorf("save delivery records of %s %s: %w", kind, id, err)
	}
	s.records.add(recordOp{path: s.DeliveryLogPath(kind, id), data: data, replace: true, onErr: onErr})
	return nil
}

// WaitRecords returns once every delivery record queued so far is written.
func (s *Store) WaitRecords() { s.records.wait() }

func (w *recordWriter) add(op recordOp) {
	w.mu.Lock()
	w.queue = append(w.queue, op)
	w.queued++
	start := !w.active
	w.active = true
	w.mu.Unlock()
	if start {
		go w.loop()
	}
}

// wait returns once the ops queued before it was called are written,
// however many are queued meanwhile.
func (w *recordWriter) wait() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done == nil {
		w.done = sync.NewCond(&w.mu)
	}
	for target := w.queued; w.written < target; {
		w.done.Wait()
	}
}

// recordGather is how long the writer lets records gather before it
// writes a batch: under a stream of requests a file is appended once per
// gather, not once per request.
var recordGather = 5 * time.Millisecond

// loop writes batches until nothing is queued.
func (w *recordWriter) loop() {
	for {
		time.Sleep(recordGather)
		w.mu.Lock()
		batch := w.queue
		w.queue = nil
		if len(batch) == 0 {
			w.active = false
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
		files := mergeRecords(batch)
		for _, f := range files {
			var err error
			if f.replace {
				err = WriteAtomic(f.path, f.data)
			} else {
				err = appendFile(f.path, f.data)
			}
			if err != nil && f.onErr != nil {
				f.onErr(err)
			}
		}
		w.mu.Lock()
		w.written += int64(len(batch))
		w.writes += int64(len(files))
		if w.done != nil {
			w.done.Broadcast()
		}
		w.mu.Unlock()
	}
}

// mergeRecords turns a batch into one write per file, in the order each
// file first appears: a rewrite followed by the appends after it, or the
// appends alone. What a rewrite replaces (earlier appends and rewrites of
// the batch) is dropped.
func mergeRecords(batch []recordOp) []recordOp {
	var out []recordOp
	at := map[string]int{}
	for _, op := range batch {
		i, ok := at[op.path]
		switch {
		case !ok:
			i = len(out)
			at[op.path] = i
			op.data = append([]byte(nil), op.data...)
			out = append(out, op)
		case op.replace:
			out[i].data = append(out[i].data[:0], op.data...)
			out[i].replace = true
		default:
			out[i].data = append(out[i].data, op.data...)
		}
		if op.onErr != nil {
			out[i].onErr = op.onErr
		}
	}
	return out
}
