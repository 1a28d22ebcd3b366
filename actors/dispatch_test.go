package actors

import (
	"sync"
	"sync/atomic"
	"testing"
)

// TestWorkerDispatcherRunsEverything: batches scheduled from many
// goroutines, and from inside running batches (as actors send to each
// other), all run, and Schedule never waits for a busy worker.
func TestWorkerDispatcherRunsEverything(t *testing.T) {
	d := &workerDispatcher{idle: make(chan func())}
	var ran atomic.Int64
	var wg sync.WaitGroup
	const senders, each = 8, 500
	block := make(chan struct{})
	wg.Add(1)
	d.Schedule(func() { defer wg.Done(); <-block }) // a worker stuck in a long batch
	for range senders {
		wg.Go(func() {
			for range each {
				wg.Add(1)
				d.Schedule(func() {
					defer wg.Done()
					ran.Add(1)
					wg.Add(1)
					d.Schedule(func() { defer wg.Done(); ran.Add(1) }) // nested
				})
			}
		})
	}
	close(block)
	wg.Wait()
	if got := ran.Load(); got != 2*senders*each {
		t.Errorf("%d batches ran, want %d", got, 2*senders*each)
	}
}
