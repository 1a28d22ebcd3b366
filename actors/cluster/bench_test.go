package cluster

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkBeginFinish is the coordinator's cost per run on the fast path
// (etcd embedded in the test process, on loopback): Begin's transaction
// and Finish's. BenchmarkBeginLocal is the single host's, the baseline.
func BenchmarkBeginFinish(b *testing.B) {
	t := &testing.T{}
	nodes := testNodesB(b, t)
	j := Job{Kind: "job", ID: "a"}
	n := nodes[0]
	ctx := context.Background()
	b.ResetTimer()
	for i := range b.N {
		c, err := n.Begin(ctx, j, time.Time{}, int64(i+1), RunInfo{})
		if err != nil {
			b.Fatal(err)
		}
		if err := n.finish(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBeginPoint is Begin for a scheduled point (with its point key).
func BenchmarkBeginPoint(b *testing.B) {
	nodes := testNodesB(b, &testing.T{})
	j := Job{Kind: "job", ID: "a"}
	n := nodes[0]
	ctx := context.Background()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b.ResetTimer()
	for i := range b.N {
		if _, err := n.Begin(ctx, j, base.Add(time.Duration(i)*time.Second), 1, RunInfo{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBeginLocal(b *testing.B) {
	var l Local
	j := Job{Kind: "job", ID: "a"}
	for i := range b.N {
		c, _ := l.Begin(context.Background(), j, time.Time{}, int64(i+1), RunInfo{})
		l.Finish(c)
	}
}

var benchCluster int

// testNodesB starts one leading node of a fresh cluster for a benchmark.
func testNodesB(b *testing.B, _ *testing.T) []*Etcd {
	b.Helper()
	benchCluster++
	cli, err := Dial(ClientConfig{Endpoints: []string{benchEtcd(b)}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cli.Close() })
	e, err := NewEtcd(context.Background(), cli, Options{Cluster: fmt.Sprintf("bench%d", benchCluster), Node: "n1", TTL: 5 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	e.Run(testListener{})
	b.Cleanup(func() { e.Close() })
	for e.Owns(Job{Kind: "job", ID: "a"}) != nil {
		time.Sleep(5 * time.Millisecond)
	}
	return []*Etcd{e}
}
