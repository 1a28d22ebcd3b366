package logstore

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestFinishWaitsForDurableContent blocks the committer's data flush and
// checks that Finish neither returns nor exposes the final name before the
// flush has completed: a run is never reported finished (Finish returning
// is what lets the run child report it) before its log is durable.
func TestFinishWaitsForDurableContent(t *testing.T) {
	s := newStore(t, fixedClock(t0), KindJob, "j")
	entered, release := make(chan string, 4), make(chan struct{})
	var flushed []string // "data"/"names", in order, once complete
	var mu sync.Mutex
	s.commit.testFlush = func(what string, n int) {
		entered <- what
		if what == "data" {
			<-release
		}
		mu.Lock()
		flushed = append(flushed, what)
		mu.Unlock()
	}
	l, err := s.Create(KindJob, "j", 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Line("hello"); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := l.Finish("success")
		done <- err
	}()
	if what := <-entered; what != "data" {
		t.Fatalf("first flush = %q, want data", what)
	}
	select {
	case err := <-done:
		t.Fatalf("Finish returned (%v) while its data flush was blocked", err)
	case <-time.After(50 * time.Millisecond):
	}
	final := filepath.Join(s.LogDir(KindJob, "j"), "j.1.success")
	if _, err := os.Stat(final); err == nil {
		t.Fatal("final name exists before the data flush completed")
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("Finish: %v", err)
	}
	mu.Lock()
	if len(flushed) < 1 || flushed[0] != "data" {
		t.Errorf("flushes complete when Finish returned = %v, want data first", flushed)
	}
	mu.Unlock()
	if _, err := os.Stat(final); err != nil {
		t.Fatalf("final log after Finish: %v", err)
	}
	// The rename is flushed right after, with nothing else queued.
	if what := <-entered; what != "names" {
		t.Errorf("second flush = %q, want names", what)
	}
	waitIdle(t, s)
	st := s.CommitStats()
	if st != (CommitStats{Batches: 1, Logs: 1, DataFlushes: 1, NameFlushes: 1}) {
		t.Errorf("stats = %+v", st)
	}
}

// TestGroupCommitOneFlushPerBatch finishes 200 logs at once while the
// first flush is held, so that the other 199 queue behind it: they must be
// made durable by one flush (plus one for the last batch's names), not 199.
func TestGroupCommitOneFlushPerBatch(t *testing.T) {
	const n = 200
	s := newStore(t, fixedClock(t0), KindJob, "j")
	first, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	s.commit.testFlush = func(what string, _ int) {
		once.Do(func() {
			close(first)
			<-release
		})
	}
	logs := make([]*RunLog, n)
	for i := range logs {
		l, err := s.Create(KindJob, "j", int64(i+1))
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Line(fmt.Sprint("run ", i+1)); err != nil {
			t.Fatal(err)
		}
		logs[i] = l
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	wg.Go(func() {
		_, err := logs[0].Finish("success")
		errs <- err
	})
	<-first // the first log's flush is in progress (held)
	for _, l := range logs[1:] {
		wg.Go(func() {
			_, err := l.Finish("failed")
			errs <- err
		})
	}
	for deadline := time.Now().Add(10 * time.Second); queued(s) < n-1; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d logs queued", queued(s), n-1)
		}
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	waitIdle(t, s)
	st := s.CommitStats()
	want := CommitStats{Batches: 2, Logs: n, DataFlushes: 2, NameFlushes: 1}
	if st != want {
		t.Errorf("stats = %+v, want %+v", st, want)
	}
	ents, err := os.ReadDir(s.LogDir(KindJob, "j"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != n {
		t.Errorf("%d files in the log directory, want %d", len(ents), n)
	}
	for i, e := range ents {
		if filepath.Ext(e.Name()) != ".failed" && filepath.Ext(e.Name()) != ".success" {
			t.Errorf("file %d: %s is not final", i, e.Name())
		}
	}
}

// queued returns the number of logs waiting for the committer.
func queued(s *Store) int {
	s.commit.mu.Lock()
	defer s.commit.mu.Unlock()
	return len(s.commit.queue)
}

// waitIdle waits until the committer's goroutine has exited.
func waitIdle(t *testing.T, s *Store) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		s.commit.mu.Lock()
		active := s.commit.active
		s.commit.mu.Unlock()
		if !active {
			s.commit.names.Wait()
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("committer still active after 10 s")
		}
	}
}

// BenchmarkFinish measures a short log's whole life (create, one line,
// Finish) one at a time ("serial": each Finish flushes alone) and from 8
// goroutines at once ("parallel-8": Finish calls share flushes).
func BenchmarkFinish(b *testing.B) {
	for _, par := range []int{1, 8} {
		name := "serial"
		if par > 1 {
			name = fmt.Sprintf("parallel-%d", par)
		}
		b.Run(name, func(b *testing.B) {
			s := newStore(b, fixedClock(t0), KindJob, "j")
			var next atomic.Int64
			b.ResetTimer()
			var wg sync.WaitGroup
			for range par {
				wg.Go(func() {
					for {
						c := next.Add(1)
						if c > int64(b.N) {
							return
						}
						l, err := s.Create(KindJob, "j", c)
						if err != nil {
							b.Error(err)
							return
						}
						_ = l.Line("=== BEGIN")
						if _, err := l.Finish("success"); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			st := s.CommitStats()
			b.ReportMetric(float64(st.Logs)/float64(max(st.Batches, 1)), "logs/batch")
		})
	}
}

// TestSealQueuesInOrder: Seal returns at once while a flush is held, the
// sealed logs are not final before their flush, and they become durable
// in the order they were sealed (Wait of a later one never returns before
// an earlier one's).
func TestSealQueuesInOrder(t *testing.T) {
	s := newStore(t, fixedClock(t0), KindJob, "j")
	first, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	s.SetFlushHook(func(what string, _ int) {
		if what == "data" {
			once.Do(func() {
				close(first)
				<-release
			})
		}
	})
	sealed := make([]*Sealed, 4)
	for i := range sealed {
		l, err := s.Create(KindJob, "j", int64(i+1))
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Line(fmt.Sprint("run ", i+1)); err != nil {
			t.Fatal(err)
		}
		if sealed[i], err = l.Seal("success"); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			<-first // the first log's flush is held; the others queue behind it
		}
	}
	last := make(chan error, 1)
	go func() {
		_, err := sealed[len(sealed)-1].Wait()
		last <- err
	}()
	select {
	case err := <-last:
		t.Fatalf("Wait of the last log returned (%v) while the first flush is held", err)
	case <-time.After(50 * time.Millisecond):
	}
	for i := range sealed {
		if _, err := os.Stat(filepath.Join(s.LogDir(KindJob, "j"), fmt.Sprintf("j.%d.success", i+1))); err == nil {
			t.Errorf("log %d final before its flush", i+1)
		}
	}
	close(release)
	if err := <-last; err != nil {
		t.Fatal(err)
	}
	// The last log is final: every earlier one must be too.
	for i, p := range sealed[:len(sealed)-1] {
		select {
		case <-p.r.done:
		default:
			t.Errorf("log %d final, log %d not", len(sealed), i+1)
		}
	}
	if _, err := sealed[0].Wait(); err != nil { // again: the same answer
		t.Errorf("second Wait: %v", err)
	}
	waitIdle(t, s)
	if st := s.CommitStats(); st.Batches != 2 || st.DataFlushes != 2 || st.Logs != 4 {
		t.Errorf("stats = %+v, want 4 logs in 2 batches, one data flush each", st)
	}
}
