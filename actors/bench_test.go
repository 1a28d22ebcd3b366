package actors

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/karajo/karajo/config"
	"github.com/karajo/karajo/logstore"
)

// benchJobs returns n webhook-only jobs (nothing runs unless triggered).
func benchJobs(n int) []*config.Job {
	jobs := make([]*config.Job, 0, n)
	for i := range n {
		id := fmt.Sprintf("job%05d", i)
		jobs = append(jobs, &config.Job{ID: id, Name: "Job " + id, Path: "/" + id, Commands: []string{"true"}, LogRetention: 5})
	}
	return jobs
}

// benchEngine starts an engine over n webhook-only jobs (nothing runs)
// in a fresh dir_base and stops it at cleanup.
func benchEngine(b *testing.B, n int) *Engine {
	b.Helper()
	return benchEngineWith(b, benchJobs(n)...)
}

// benchEngineWith starts an engine over jobs, max_job_running 1, in a
// fresh dir_base and stops it at cleanup.
func benchEngineWith(b *testing.B, jobs ...*config.Job) *Engine {
	b.Helper()
	return benchEngineMax(b, 1, jobs...)
}

// benchEngineMax is benchEngineWith with max_job_running maxRunning.
func benchEngineMax(b *testing.B, maxRunning int, jobs ...*config.Job) *Engine {
	b.Helper()
	dir := b.TempDir()
	env := &config.Env{DirBase: dir, MaxJobRunning: maxRunning, Jobs: jobs, Secret: "s3cret"}
	store, err := logstore.New(dir, nil)
	if err != nil {
		b.Fatal(err)
	}
	e, err := Start(env, store, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{ListenAddress: "127.0.0.1:1", Version: "bench"})
	if err != nil {
		b.Fatalf("Start: %v", err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := e.Shutdown(ctx); err != nil {
			b.Errorf("Shutdown: %v", err)
		}
	})
	return e
}

// reportRatio reports took (the measured loop) as a multiple of the
// baseline loop's time, per operation: a same-run ratio that survives a
// noisy shared machine better than ns/op.
func reportRatio(b *testing.B, took time.Duration, baseline func(n int) time.Duration, unit string) {
	b.Helper()
	b.StopTimer()
	if base := baseline(b.N); base > 0 {
		b.ReportMetric(float64(took)/float64(base), unit)
	}
}

// chanRoundTrip sends n requests to a goroutine over a channel and waits
// for each reply: the cheapest request/reply between goroutines.
func chanRoundTrip(n int) time.Duration {
	reqs := make(chan chan *JobView)
	view := &JobView{ID: "x"}
	go func() {
		for reply := range reqs {
			reply <- view
		}
	}()
	defer close(reqs)
	reply := make(chan *JobView)
	start := time.Now()
	for range n {
		reqs <- reply
		<-reply
	}
	return time.Since(start)
}

// BenchmarkAskRoundTrip measures Ask(GetJob) to one job actor (what every
// trigger, pause and log read pays), against a bare channel round trip
// between two goroutines ("x-chan").
func BenchmarkAskRoundTrip(b *testing.B) {
	e := benchEngine(b, 1)
	pid, _ := e.Job("job00000")
	b.Run("GetJob", func(b *testing.B) {
		b.ReportAllocs()
		start := time.Now()
		for range b.N {
			if _, err := Ask[*JobView](e.Root(), pid, &GetJob{}, 10*time.Second); err != nil {
				b.Fatal(err)
			}
		}
		reportRatio(b, time.Since(start), chanRoundTrip, "x-chan")
	})
}

// askPing is the baseline of the supervisor benchmarks: an Ask with an
// empty reply.
func askPing(b *testing.B, e *Engine) func(int) time.Duration {
	return func(n int) time.Duration {
		start := time.Now()
		for range n {
			if _, err := Ask[*Pong](e.Root(), e.Supervisor(), &Ping{}, 10*time.Second); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start)
	}
}

// BenchmarkGetJobs measures GetJobs over 1,000 jobs (a sorted copy of
// every view, used by event subscribers), against an Ask of Ping to the
// same supervisor ("x-ping").
// The engine starts once, in the parent, so ramping b.N does not start it
// again.
func BenchmarkGetJobs(b *testing.B) {
	e := benchEngine(b, 1000)
	b.Run("jobs=1000", func(b *testing.B) {
		b.ReportAllocs()
		start := time.Now()
		for range b.N {
			l, err := Ask[*JobList](e.Root(), e.Supervisor(), &GetJobs{}, 10*time.Second)
			if err != nil {
				b.Fatal(err)
			}
			if len(l.Jobs) != 1000 {
				b.Fatalf("GetJobs: %d jobs, want 1000", len(l.Jobs))
			}
		}
		reportRatio(b, time.Since(start), askPing(b, e), "x-ping")
	})
}

// BenchmarkGetSnapshot measures GetSnapshot over 1,000 unchanged jobs
// (what every environment request asks), from one goroutine and from
// many at once, against Ping ("x-ping").
func BenchmarkGetSnapshot(b *testing.B) {
	e := benchEngine(b, 1000)
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		start := time.Now()
		for range b.N {
			if _, err := Ask[*Snapshot](e.Root(), e.Supervisor(), &GetSnapshot{}, 10*time.Second); err != nil {
				b.Fatal(err)
			}
		}
		reportRatio(b, time.Since(start), askPing(b, e), "x-ping")
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(16) // 16 × GOMAXPROCS askers, like many HTTP clients
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := Ask[*Snapshot](e.Root(), e.Supervisor(), &GetSnapshot{}, 10*time.Second); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkSnapshotEncode measures the supervisor building its snapshot
// after a change (once per change, not per request), for 1,000 and 10,000
// jobs, each with 5 logs. "jobs=N" changes every job before each snapshot,
// so all are encoded again (the cost after start-up or a reload);
// "changed-one/jobs=N" changes one job, so only it is encoded and the rest
// of the snapshot is copied (the cost of a poll after a run or a pause).
// It reports ns per job, which stays flat if the cost is linear in the
// number of jobs.
func BenchmarkSnapshotEncode(b *testing.B) {
	for _, tt := range []struct {
		name string
		n    int
		all  bool
	}{
		{"jobs=1000", 1000, true},
		{"jobs=10000", 10000, true},
		{"changed-one/jobs=1000", 1000, false},
		{"changed-one/jobs=10000", 10000, false},
	} {
		b.Run(tt.name, func(b *testing.B) {
			n := tt.n
			s := &supervisor{views: make(map[string]JobView, n), httpViews: map[string]JobHTTPView{}}
			now := time.Date(2026, 11, 28, 16, 40, 0, 0, time.UTC)
			views := make([]JobView, 0, n)
			for i := range n {
				id := fmt.Sprintf("job%05d", i)
				v := JobView{Path: "/" + id, AuthKind: "hmac-sha256", HeaderSign: "X-Karajo-Sign",
					Commands: []string{"echo hello $KARAJO_JOB_COUNTER", "echo done"}, LastRun: now, NextRun: now.Add(time.Hour),
					ID: id, Name: "Job " + id, Description: "A <b>bench</b> job.", Status: "success", Schedule: "hourly@0,30", LogRetention: 5}
				for c := int64(1); c <= 5; c++ {
					v.Logs = append(v.Logs, LogRefView{JobID: id, Name: fmt.Sprintf("%s.%d.success", id, c), Status: "success", Counter: c})
				}
				views = append(views, v)
				s.setView(v)
			}
			snap, err := s.snapshot()
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(snap.Jobs)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				// A change, as jobChanged makes it: the next read encodes again.
				if tt.all {
					for _, v := range views {
						s.setView(v)
					}
				} else {
					v := views[i%n]
					v.Status = [2]string{"started", "success"}[i%2]
					s.setView(v)
				}
				s.gen++
				if _, err := s.snapshot(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/job")
		})
	}
}

// BenchmarkStart measures Start and Shutdown of an engine over n
// webhook-only jobs whose directories already exist (a restart), and
// reports ns per job, which stays flat when start-up is linear.
func BenchmarkStart(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("jobs=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			env := &config.Env{DirBase: dir, MaxJobRunning: 1, Jobs: benchJobs(n), Secret: "s3cret"}
			store, err := logstore.New(dir, nil)
			if err != nil {
				b.Fatal(err)
			}
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			start := func() {
				e, err := Start(env, store, log, Options{ListenAddress: "127.0.0.1:1", Version: "bench"})
				if err != nil {
					b.Fatalf("Start: %v", err)
				}
				if _, err := Ask[*Snapshot](e.Root(), e.Supervisor(), &GetSnapshot{}, time.Minute); err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				if err := e.Shutdown(ctx); err != nil {
					b.Fatalf("Shutdown: %v", err)
				}
			}
			start() // the first start creates the directories
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				start()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/job")
		})
	}
}
