package actors

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/karajo/karajo/config"
	"github.com/karajo/karajo/logstore"
)

// benchCgroupDir mounts cgroup2 on a temporary directory and returns a new
// child of it; the benchmark is skipped when that is not possible.
func benchCgroupDir(b *testing.B) string {
	b.Helper()
	mnt, err := os.MkdirTemp("", "karajo-cg2-bench-")
	if err != nil {
		b.Fatal(err)
	}
	if err := syscall.Mount("none", mnt, "cgroup2", 0, ""); err != nil {
		_ = os.Remove(mnt)
		b.Skipf("skipped: mount -t cgroup2: %v", err)
	}
	dir := filepath.Join(mnt, "karajo-bench")
	if err := os.Mkdir(dir, 0o755); err != nil && !os.IsExist(err) {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = os.Remove(dir)
		if err := syscall.Unmount(mnt, 0); err == nil {
			_ = os.Remove(mnt)
		}
	})
	return dir
}

// newRunBenchCgroup is newRunBench with [karajo] cgroup = cg.
func newRunBenchCgroup(b *testing.B, cg string) *runBench {
	b.Helper()
	dir := b.TempDir()
	env := &config.Env{DirBase: dir, MaxJobRunning: 1, Secret: "s3cret", Cgroup: cg,
		Jobs: []*config.Job{{ID: "j", Name: "j", Path: "/j", Commands: []string{"true"}, LogRetention: 2}}}
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
	sub := e.Subscribe(64)
	b.Cleanup(sub.Close)
	return &runBench{e: e, sub: sub}
}

// BenchmarkRunCgroup measures one whole run of an exec job whose command
// is "true" in a cgroup of its own (mkdir, fork into it, kill check,
// rmdir), against the same runs without cgroups measured in the same
// benchmark ("x-nocgroup": the ratio of the two).
func BenchmarkRunCgroup(b *testing.B) {
	cg := benchCgroupDir(b)
	on, off := newRunBenchCgroup(b, cg), newRunBenchCgroup(b, "off")
	if off.e.cgroups != nil || on.e.cgroups == nil {
		b.Fatal("engines: want one with cgroups, one without")
	}
	b.ReportAllocs()
	b.ResetTimer()
	var tOn, tOff time.Duration
	for i := range b.N {
		t0 := time.Now()
		on.trigger(b)
		on.waitRun(b, int64(i+1))
		t1 := time.Now()
		off.trigger(b)
		off.waitRun(b, int64(i+1))
		tOn, tOff = tOn+t1.Sub(t0), tOff+time.Since(t1)
	}
	b.StopTimer()
	b.ReportMetric(float64(tOn.Nanoseconds())/float64(b.N), "ns/run-cgroup")
	b.ReportMetric(float64(tOff.Nanoseconds())/float64(b.N), "ns/run-nocgroup")
	b.ReportMetric(float64(tOn)/float64(tOff), "x-nocgroup")
}
