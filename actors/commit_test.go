package actors

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/karajo/karajo/config"
)

// TestGroupCommitUnderLoad runs 200 short runs, 20 at a time (20 jobs,
// max_job_running 20, each triggered again once its run has ended), and
// checks the store's group commit: every run's log went through it, and no
// batch took more than one data flush. How many runs share a batch depends
// on the machine's timing and is only logged.
func TestGroupCommitUnderLoad(t *testing.T) {
	const jobs, runs = 20, 10
	var cfgs []*config.Job
	for i := range jobs {
		cfgs = append(cfgs, &config.Job{ID: fmt.Sprintf("g%d", i), Path: fmt.Sprintf("/g%d", i), Commands: []string{"true"}, LogRetention: 3})
	}
	e, store := startEngine(t, jobs, cfgs...)
	before := store.CommitStats()
	var wg sync.WaitGroup
	for i := range jobs {
		id := fmt.Sprintf("g%d", i)
		wg.Go(func() {
			for c := int64(1); c <= runs; c++ {
				if _, err := ask[*JobView](t, e, id, &Trigger{}); err != nil {
					t.Errorf("trigger %s: %v", id, err)
					return
				}
				waitJob(t, e, id, fmt.Sprintf("run %d to end", c), func(v JobView) bool {
					return idle(v) && len(v.Logs) > 0 && v.Logs[len(v.Logs)-1].Counter == c && v.Logs[len(v.Logs)-1].Status == StatusSuccess
				})
			}
		})
	}
	wg.Wait()
	st := store.CommitStats()
	st.Batches -= before.Batches
	st.Logs -= before.Logs
	st.DataFlushes -= before.DataFlushes
	if st.Logs != jobs*runs {
		t.Errorf("%d logs committed, want %d", st.Logs, jobs*runs)
	}
	if st.DataFlushes != st.Batches {
		t.Errorf("%d data flushes for %d batches: want one per batch", st.DataFlushes, st.Batches)
	}
	t.Logf("%d runs in %d batches (%.1f per flush), %d flushes of renames alone", st.Logs, st.Batches,
		float64(st.Logs)/float64(max(st.Batches, 1)), st.NameFlushes-before.NameFlushes)
}

// TestGroupCommitPipelined hammers 8 jobs (max_job_running 8) with
// triggers, each sent while the job's run is in progress, so that runs
// start while earlier logs flush (pipeline.go), until 200 runs have been
// reported; then checks that every run's log went through the group commit
// with one data flush per batch, and that each job's runs were reported
// in counter order with final logs.
func TestGroupCommitPipelined(t *testing.T) {
	const jobs, runs = 8, 200
	var cfgs []*config.Job
	for i := range jobs {
		cfgs = append(cfgs, &config.Job{ID: fmt.Sprintf("h%d", i), Path: fmt.Sprintf("/h%d", i), Commands: []string{"true"}, LogRetention: 100})
	}
	e, store := startEngine(t, jobs, cfgs...)
	before := store.CommitStats()
	var accepted atomic.Int64
	var wg sync.WaitGroup
	for i := range jobs {
		id := fmt.Sprintf("h%d", i)
		wg.Go(func() {
			for accepted.Load() < runs {
				if _, err := ask[*JobView](t, e, id, &Trigger{}); err == nil {
					accepted.Add(1)
				} else if !errors.Is(err, ErrJobBusy) {
					t.Errorf("trigger %s: %v", id, err)
					return
				} else {
					time.Sleep(time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	var total int64
	for i := range jobs {
		id := fmt.Sprintf("h%d", i)
		v := waitJob(t, e, id, "its runs reported", func(v JobView) bool { return idle(v) })
		for k, l := range v.Logs {
			if l.Counter != int64(k+1) || l.Status != StatusSuccess {
				t.Errorf("job %s: log %d = %+v", id, k, l)
			}
		}
		total += int64(len(v.Logs))
	}
	st := store.CommitStats()
	st.Batches -= before.Batches
	st.Logs -= before.Logs
	st.DataFlushes -= before.DataFlushes
	if st.Logs != total || total < runs {
		t.Errorf("%d logs committed, %d runs reported (at least %d accepted)", st.Logs, total, runs)
	}
	if st.DataFlushes != st.Batches {
		t.Errorf("%d data flushes for %d batches: want one per batch", st.DataFlushes, st.Batches)
	}
	t.Logf("%d runs in %d batches (%.1f per flush)", st.Logs, st.Batches, float64(st.Logs)/float64(max(st.Batches, 1)))
}
