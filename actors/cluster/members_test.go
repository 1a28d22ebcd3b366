package cluster

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/karajo/karajo/actors/cluster/devetcd"
)

// TestEtcdMemberLost: the coordinators talk to a three-member etcd
// cluster; its leader member is stopped while three nodes take the
// points of an every-second job (one every 40 ms). The remaining two
// members keep a quorum, so points go on being started after the loss
// (the clients move to a live endpoint, the sessions survive or are
// renewed), and none is started twice. Then a second member is stopped:
// no quorum, so nothing starts at all (Begin fails), until the test ends.
func TestEtcdMemberLost(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three embedded etcd members")
	}
	t.Parallel()
	base := t.TempDir()
	members, err := devetcd.StartMembers([]string{filepath.Join(base, "m1"), filepath.Join(base, "m2"), filepath.Join(base, "m3")})
	if err != nil {
		t.Fatal(err)
	}
	closed := map[int]bool{}
	var closeMu sync.Mutex
	closeMember := func(i int) {
		closeMu.Lock()
		defer closeMu.Unlock()
		if !closed[i] {
			closed[i] = true
			members[i].Close()
		}
	}
	t.Cleanup(func() {
		for i := range members {
			closeMember(i)
		}
	})
	var endpoints []string
	for _, m := range members {
		endpoints = append(endpoints, m.Endpoint)
	}
	nodes := testNodesAt(t, endpoints, "members", 3, nil, testListener{})
	j := Job{Kind: "job", ID: "a"}
	waitLeader(t, nodes, j, nil)

	var (
		mu      sync.Mutex
		started = map[int]time.Time{} // point → when it started
	)
	points := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for _, n := range nodes {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-time.After(40 * time.Millisecond):
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				c, err := n.Begin(ctx, j, points.Add(time.Duration(i)*time.Second), 1, RunInfo{})
				cancel()
				if err == nil {
					mu.Lock()
					if _, dup := started[i]; dup {
						t.Errorf("point %d started twice", i)
					}
					started[i] = time.Now()
					mu.Unlock()
					n.Finish(c)
				} else if !errors.Is(err, ErrNotOwner) && !errors.Is(err, ErrPointTaken) && !errors.Is(err, ErrUnavailable) &&
					!errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("begin: %v", err)
				}
			}
		})
	}
	count := func(after time.Time) int {
		mu.Lock()
		defer mu.Unlock()
		k := 0
		for _, at := range started {
			if at.After(after) {
				k++
			}
		}
		return k
	}
	time.Sleep(time.Second)
	leader := -1
	for i, m := range members {
		if m.IsLeader() {
			leader = i
		}
	}
	if leader < 0 {
		t.Fatal("no etcd member leads")
	}
	lostAt := time.Now()
	closeMember(leader)
	t.Logf("stopped etcd member m%d, the leader", leader+1)
	deadline := time.Now().Add(20 * time.Second)
	for count(lostAt) < 10 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if k := count(lostAt); k < 10 {
		t.Fatalf("%d points started in 20 s after one of three etcd members was lost; want ≥ 10", k)
	}
	t.Logf("%d points started after the loss; first after %v", count(lostAt), firstAfter(started, &mu, lostAt))
	second := (leader + 1) % len(members)
	closeMember(second)
	noQuorum := time.Now()
	time.Sleep(3 * time.Second)
	// A Begin already past its checks when the quorum went may still land.
	if k := count(noQuorum.Add(time.Second)); k != 0 {
		t.Errorf("%d points started without an etcd quorum", k)
	}
	close(stop)
	wg.Wait()
}

// firstAfter returns how long after t0 the first point started.
func firstAfter(started map[int]time.Time, mu *sync.Mutex, t0 time.Time) time.Duration {
	mu.Lock()
	defer mu.Unlock()
	var first time.Duration = -1
	for _, at := range started {
		if d := at.Sub(t0); d > 0 && (first < 0 || d < first) {
			first = d
		}
	}
	return first
}
