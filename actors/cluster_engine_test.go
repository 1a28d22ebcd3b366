package actors

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/karajo/karajo/actors/cluster"
	"github.com/karajo/karajo/actors/cluster/devetcd"
	"github.com/karajo/karajo/config"
	"github.com/karajo/karajo/config/schedule"
	"github.com/karajo/karajo/logstore"
)

// TestEnginesShareOnePoint: three engines in one process, each with an
// etcd coordinator on an embedded etcd, run an every-second job: each
// point runs once, on one engine at a time, counters increase; when the
// owner's coordinator is closed (its node gone), another engine runs the
// next points.
func TestEnginesShareOnePoint(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded etcd")
	}
	t.Parallel()
	srv, err := devetcd.Start(t.TempDir(), "http://127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	file := filepath.Join(t.TempDir(), "ticks")
	coords := make([]*cluster.Etcd, 3)
	for i := range coords {
		coords[i] = startClusterEngine(t, srv.Endpoint, fmt.Sprintf("e%d", i+1), file)
	}
	waitTicks := func(n int) map[string]int {
		deadline := time.Now().Add(20 * time.Second)
		for {
			by, total := engineTicks(t, file)
			if total >= n {
				return by
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d ticks after 20 s, want %d", total, n)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	by := waitTicks(3)
	if len(by) != 1 {
		t.Fatalf("one shard, ticks on several engines: %v", by)
	}
	for i, c := range coords {
		if c.Owns(cluster.Job{Kind: "job", ID: "tick"}) == nil {
			c.Close() // the owner's node is gone
			t.Logf("closed the coordinator of e%d", i+1)
			break
		}
	}
	_, total := engineTicks(t, file)
	if by = waitTicks(total + 3); len(by) < 2 {
		t.Errorf("no other engine took over: %v", by)
	}
}

// startClusterEngine starts an engine named node with the tick job and
// an etcd coordinator.
func startClusterEngine(t *testing.T, endpoint, node, file string) *cluster.Etcd {
	t.Helper()
	s, err := schedule.ParseCron("* * * * * *", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	job := &config.Job{ID: "tick", Name: "tick", Sched: s, LogRetention: 100,
		Commands: []string{`echo "$KARAJO_NODE $KARAJO_JOB_COUNTER $KARAJO_SCHEDULED_AT" >> ` + file},
		Timing:   config.Timing{Cron: []string{"* * * * * *"}, Timezone: "UTC", Location: time.UTC, NewKeys: true}}
	env := &config.Env{DirBase: t.TempDir(), MaxJobRunning: 2, Jobs: []*config.Job{job}, Secret: "s3cret"}
	_, _, coord := startCoordEngine(t, endpoint, "engines", node, env)
	return coord
}

// startCoordEngine starts an engine on env with an etcd coordinator of
// node in cluster name; both stop when the test ends.
func startCoordEngine(t *testing.T, endpoint, name, node string, env *config.Env) (*Engine, *logstore.Store, *cluster.Etcd) {
	t.Helper()
	cli, err := cluster.Dial(cluster.ClientConfig{Endpoints: []string{endpoint}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	coord, err := cluster.NewEtcd(context.Background(), cli, cluster.Options{Cluster: name, Node: node, TTL: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	store, err := logstore.New(env.DirBase, nil)
	if err != nil {
		t.Fatal(err)
	}
	e, err := Start(env, store, slog.New(slog.NewTextHandler(io.Discard, nil)),
		Options{ListenAddress: "127.0.0.1:1", Version: "test", Coordinator: coord, PartitionPolicy: "kill"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := e.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		coord.Close()
	})
	return e, store, coord
}

// engineTicks checks the shared record (each point once, counters
// increasing) and counts the ticks by node.
func engineTicks(t *testing.T, file string) (map[string]int, int) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	by, points := map[string]int{}, map[string]bool{}
	total, prev := 0, int64(0)
	for l := range strings.SplitSeq(strings.TrimSpace(string(data)), "\n") {
		var node, point string
		var c int64
		if _, err := fmt.Sscan(l, &node, &c, &point); err != nil {
			continue // empty, or a line being written
		}
		if points[point] {
			t.Errorf("point %s ran twice", point)
		}
		if c <= prev {
			t.Errorf("counter %d after %d", c, prev)
		}
		points[point], prev = true, c
		by[node]++
		total++
	}
	return by, total
}
