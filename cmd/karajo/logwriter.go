package main

import (
	"io"
	"sync"
)

// logWriter is what karajo's log handler writes to: a line goes into a
// buffer and one goroutine writes what gathered to the real output (stderr)
// in one write. slog's handler holds its lock while it writes, so with the
// output written directly every job actor logging a run's start or end
// waited for the others' write(2) calls, and under load for a preempted
// lock holder; now the lock is held for a copy.
//
// Nothing is lost on a clean exit: Close writes what is buffered before it
// returns, and run closes the writer before karajo exits (also on the
// second-signal exit). A kill of karajo loses the lines not yet written
// (the goroutine writes as soon as a line comes, so it is behind by at
// most one write). When the output blocks (a full pipe nobody reads),
// writers wait once maxLogBuffer bytes are buffered, as they waited on the
// output before.
type logWriter struct {
	out io.Writer

	mu      sync.Mutex
	buf     []byte // lines not yet handed to the goroutine
	spare   []byte // the goroutine's last buffer, reused
	wake    chan struct{}
	drained *sync.Cond // signalled after each write: waiting writers and Close
	closing bool
	closed  bool // the goroutine has ended: writes go straight to out
	err     error
}

// exitLog is the server's log output while it serves, for the exit that
// skips run's deferred Close (the second signal).
var exitLog io.Closer

// maxLogBuffer is how many bytes may wait for the output before a writer
// waits too.
const maxLogBuffer = 1 << 20

func newLogWriter(out io.Writer) *logWriter {
	w := &logWriter{out: out, wake: make(chan struct{}, 1)}
	w.drained = sync.NewCond(&w.mu)
	go w.loop()
	return w
}

// Write buffers p (one log line from slog) and returns; it always reports
// all of p written, or the output's error once it failed.
func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return w.out.Write(p)
	}
	for len(w.buf) > maxLogBuffer && !w.closed {
		w.drained.Wait()
	}
	if w.closed { // ended while this writer waited
		w.mu.Unlock()
		return w.out.Write(p)
	}
	w.buf = append(w.buf, p...)
	err := w.err
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// loop writes what gathered until Close, then what is left.
func (w *logWriter) loop() {
	for range w.wake {
		w.mu.Lock()
		b := w.buf
		w.buf = w.spare[:0]
		if len(b) == 0 && w.closing {
			w.closed = true
			w.drained.Broadcast()
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
		var err error
		if len(b) > 0 {
			_, err = w.out.Write(b)
		}
		w.mu.Lock()
		w.spare = b
		if err != nil && w.err == nil {
			w.err = err
		}
		w.drained.Broadcast()
		closing := w.closing
		w.mu.Unlock()
		if closing {
			select { // once more: what came meanwhile, then the end
			case w.wake <- struct{}{}:
			default:
			}
		}
	}
}

// Close writes every buffered line and makes later writes go straight to
// the output. It may be called more than once.
func (w *logWriter) Close() error {
	w.mu.Lock()
	w.closing = true
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for !w.closed {
		w.drained.Wait()
	}
	return w.err
}
