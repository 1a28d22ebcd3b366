package cluster

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/karajo/karajo/actors/cluster/devetcd"
)

var (
	etcdOnce sync.Once
	etcdURL  string
	etcdErr  error
)

// testEtcd returns the endpoint of one embedded etcd shared by the
// package's tests (each test uses a cluster name of its own).
func testEtcd(t *testing.T) string {
	t.Helper()
	if err := startTestEtcd(); err != nil {
		t.Fatal(err)
	}
	return etcdURL
}

func benchEtcd(b *testing.B) string {
	b.Helper()
	if err := startTestEtcd(); err != nil {
		b.Fatal(err)
	}
	return etcdURL
}

func startTestEtcd() error {
	etcdOnce.Do(func() {
		dir, err := os.MkdirTemp("", "karajo-etcd-")
		if err != nil {
			etcdErr = err
			return
		}
		s, err := devetcd.Start(dir, "http://127.0.0.1:0")
		etcdURL, etcdErr = "", err
		if err == nil {
			etcdURL = s.Endpoint
		}
	})
	return etcdErr
}

func newClient(t *testing.T) *clientv3.Client {
	t.Helper()
	return newClientOf(t, testEtcd(t))
}

// newClientOf dials the etcd members at endpoints.
func newClientOf(t *testing.T, endpoints ...string) *clientv3.Client {
	t.Helper()
	cli, err := Dial(ClientConfig{Endpoints: endpoints})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// testListener records what the coordinator tells the jobs.
type testListener struct {
	lost    chan LostRun
	paused  chan bool
	catchUp chan catchUp
}

func (l testListener) Lost(r LostRun) {
	if l.lost != nil {
		l.lost <- r
	}
}

func (l testListener) State(_ Job, _ int64, p bool) {
	if l.paused != nil {
		select {
		case l.paused <- p:
		default:
		}
	}
}

func (testListener) Session(bool) {}

func (testListener) View(Job, string, []byte) {}

func (testListener) Owned(Job) {}

func (l testListener) CatchUp(j Job, cursor time.Time) {
	if l.catchUp != nil {
		select {
		case l.catchUp <- catchUp{j, cursor}:
		default:
		}
	}
}

type catchUp struct {
	j      Job
	cursor time.Time
}

// testNodes starts n coordinators of cluster name with a 2 s TTL.
func testNodes(t *testing.T, name string, n int, tune func(*Options)) []*Etcd {
	return testNodesL(t, name, n, tune, testListener{})
}

func testNodesL(t *testing.T, name string, n int, tune func(*Options), l Listener) []*Etcd {
	t.Helper()
	return testNodesAt(t, []string{testEtcd(t)}, name, n, tune, l)
}

// testNodesAt starts n coordinators of cluster name, talking to the etcd
// members at endpoints, with a 2 s TTL.
func testNodesAt(t *testing.T, endpoints []string, name string, n int, tune func(*Options), l Listener) []*Etcd {
	t.Helper()
	nodes := make([]*Etcd, n)
	for i := range nodes {
		o := Options{Cluster: name, Node: fmt.Sprintf("n%d", i+1), Advertise: fmt.Sprintf("http://127.0.0.1:%d", 40000+i), TTL: 2 * time.Second,
			JobSet: JobSet{"job/a": "h"}}
		if tune != nil {
			tune(&o)
		}
		e, err := NewEtcd(context.Background(), newClientOf(t, endpoints...), o)
		if err != nil {
			t.Fatal(err)
		}
		nodes[i] = e
		e.Run(l)
		t.Cleanup(func() { e.Close() })
	}
	return nodes
}

// waitLeader waits until one of nodes owns j and returns it.
func waitLeader(t *testing.T, nodes []*Etcd, j Job, not *Etcd) *Etcd {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		for _, n := range nodes {
			if n != not && n.Owns(j) == nil {
				return n
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("no node leads")
	return nil
}

// kill revokes a node's session lease, as its death or partition would
// once the TTL passes.
func kill(t *testing.T, e *Etcd) {
	t.Helper()
	if cur := e.cur.Load(); cur != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if _, err := e.cli.Revoke(ctx, cur.sess.Lease()); err != nil && !errors.Is(err, context.Canceled) {
			t.Logf("revoke: %v", err)
		}
	}
}

// TestAtMostOncePerPoint: three nodes try every point of an every-second
// job (points on a fake clock, one every 40 ms) while sessions are killed
// at random; each point starts at most once, counters strictly increase
// and are never reused, and more than one node ran points.
func TestAtMostOncePerPoint(t *testing.T) {
	t.Parallel()
	nodes := testNodes(t, "once", 3, nil)
	j := Job{Kind: "job", ID: "a"}
	waitLeader(t, nodes, j, nil)
	var (
		mu      sync.Mutex
		byPoint = map[int64]string{}
		counts  []int64
		ran     = map[string]int{}
	)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	const points = 150
	for _, n := range nodes {
		wg.Go(func() {
			for i := range points {
				p := base.Add(time.Duration(i) * time.Second)
				c, err := n.Begin(context.Background(), j, p, 1, RunInfo{})
				if err == nil {
					mu.Lock()
					if prev, dup := byPoint[p.Unix()]; dup {
						t.Errorf("point %d started twice: by %s and %s", i, prev, n.Node())
					}
					byPoint[p.Unix()] = n.Node()
					if len(counts) > 0 && c.Counter <= counts[len(counts)-1] {
						t.Errorf("counter %d after %d", c.Counter, counts[len(counts)-1])
					}
					counts = append(counts, c.Counter)
					ran[n.Node()]++
					mu.Unlock()
					n.Finish(c)
				} else if !errors.Is(err, ErrNotOwner) && !errors.Is(err, ErrPointTaken) && !errors.Is(err, ErrUnavailable) {
					t.Errorf("begin: %v", err)
				}
				time.Sleep(40 * time.Millisecond)
			}
		})
	}
	wg.Go(func() {
		r := rand.New(rand.NewPCG(1, 2))
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(800+r.IntN(800)) * time.Millisecond):
				kill(t, nodes[r.IntN(len(nodes))])
			}
		}
	})
	time.Sleep(points * 40 * time.Millisecond)
	close(stop)
	wg.Wait()
	t.Logf("points started: %d of %d; by node: %v", len(byPoint), points, ran)
	if len(ran) < 2 {
		t.Errorf("one node ran every point (%v): no leader change was exercised", ran)
	}
	if len(byPoint) < points/4 {
		t.Errorf("only %d of %d points started", len(byPoint), points)
	}
}

// TestPausedStartsNothing: a pause sent through one node stops the
// leader from starting anything, until resumed.
func TestPausedStartsNothing(t *testing.T) {
	t.Parallel()
	nodes := testNodes(t, "paused", 3, nil)
	j := Job{Kind: "job", ID: "a"}
	l := waitLeader(t, nodes, j, nil)
	if _, err := l.Begin(context.Background(), j, time.Time{}, 1, RunInfo{}); err != nil {
		t.Fatal(err) // warms the leader's cache, so that the pause must be seen through the fence
	}
	other := nodes[0]
	if other == l {
		other = nodes[1]
	}
	if o, err := other.Owner(context.Background(), j); err != nil || o.Node != l.Node() || o.URL != l.opts.Advertise || o.Mine {
		t.Fatalf("owner seen from %s: %+v %v, want %s", other.Node(), o, err, l.Node())
	}
	if o, err := l.Owner(context.Background(), j); err != nil || !o.Mine {
		t.Fatalf("owner seen from the leader: %+v %v", o, err)
	}
	if err := other.SetPaused(context.Background(), j, true); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if _, err := n.Begin(context.Background(), j, time.Time{}, 1, RunInfo{}); err == nil {
			t.Fatalf("%s started a run of a paused job", n.Node())
		} else if n == l && !errors.Is(err, ErrPaused) {
			t.Fatalf("leader: %v, want ErrPaused", err)
		}
	}
	if err := other.SetPaused(context.Background(), j, false); err != nil {
		t.Fatal(err)
	}
	c, err := l.Begin(context.Background(), j, time.Time{}, 1, RunInfo{})
	if err != nil || c.Counter != 2 {
		t.Fatalf("after resume: %+v %v", c, err)
	}
}

// TestDeposedLeaderFenced: a node that still holds its old leadership
// (as it would for a moment after its lease expired) cannot start a run:
// its transaction compares the leader key's create revision.
func TestDeposedLeaderFenced(t *testing.T) {
	t.Parallel()
	nodes := testNodes(t, "fenced", 2, nil)
	j := Job{Kind: "job", ID: "a"}
	a := waitLeader(t, nodes, j, nil)
	stale := a.cur.Load().lead[0].Load()
	kill(t, a)
	b := waitLeader(t, nodes, j, a)
	// a's next session: alive, but waiting behind b.
	var cur *term
	for deadline := time.Now().Add(10 * time.Second); cur == nil || cur.sess.Lease() == 0; {
		if cur = a.cur.Load(); time.Now().After(deadline) {
			t.Fatal("no new session")
		}
		time.Sleep(10 * time.Millisecond)
	}
	js := a.jobState(j)
	js.mu.Lock()
	_, _, err := a.tryBegin(context.Background(), cur, stale, j, js, time.Time{}, 0, 1, RunInfo{})
	js.mu.Unlock()
	if !errors.Is(err, ErrNotOwner) {
		t.Fatalf("deposed leader's begin: %v, want ErrNotOwner", err)
	}
	if c, err := b.Begin(context.Background(), j, time.Time{}, 1, RunInfo{}); err != nil || c.Counter != 1 {
		t.Fatalf("new leader: %+v %v", c, err)
	}
}

// TestLostRunReported: a run whose node loses its session is reported
// once, by the shard's next leader.
func TestLostRunReported(t *testing.T) {
	t.Parallel()
	lost := make(chan LostRun, 8)
	nodes := testNodesL(t, "lost", 3, nil, testListener{lost: lost})
	j := Job{Kind: "job", ID: "a"}
	a := waitLeader(t, nodes, j, nil)
	p := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c, err := a.Begin(context.Background(), j, p, 7, RunInfo{Trigger: "timer", Scheduled: p})
	if err != nil || c.Counter != 7 {
		t.Fatalf("%+v %v", c, err)
	}
	if err := a.Attempt(context.Background(), c, 2); err != nil {
		t.Fatal(err)
	}
	a.Close() // its session is revoked with the run still open
	select {
	case l := <-lost:
		want := LostRun{Job: j, Counter: 7, Node: a.Node(), RunInfo: RunInfo{Attempt: 2, Trigger: "timer", Scheduled: p}}
		if l != want {
			t.Fatalf("lost %+v, want %+v", l, want)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("lost run not reported")
	}
	select {
	case l := <-lost:
		t.Fatalf("reported twice: %+v", l)
	case <-time.After(500 * time.Millisecond):
	}
	b := waitLeader(t, nodes, j, a)
	if c, err := b.Begin(context.Background(), j, time.Time{}, 1, RunInfo{}); err != nil || c.Counter != 8 {
		t.Fatalf("next run: %+v %v", c, err)
	}
}

// TestJobSetDiffers: a node whose jobs differ from a live node's refuses
// to join and names the difference.
func TestJobSetDiffers(t *testing.T) {
	t.Parallel()
	testNodes(t, "jobset", 1, nil)
	_, err := NewEtcd(context.Background(), newClient(t), Options{Cluster: "jobset", Node: "n9", JobSet: JobSet{"job/a": "other", "job/b": "h"}})
	if err == nil {
		t.Fatal("joined with another job set")
	}
	for _, want := range []string{"job/a differs from node n1's", "job/b is not loaded by node n1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%v: does not say %q", err, want)
		}
	}
}

// TestCatchUpOnTakeover: the node elected after the owner is lost is
// told the job's cursor (the latest point started), paused jobs not;
// a point it then catches up runs once, and the old point never again.
func TestCatchUpOnTakeover(t *testing.T) {
	t.Parallel()
	cu := make(chan catchUp, 16)
	nodes := testNodesL(t, "catchup", 2, nil, testListener{catchUp: cu})
	j, pj := Job{Kind: "job", ID: "a"}, Job{Kind: "job", ID: "p"}
	a := waitLeader(t, nodes, j, nil)
	p1 := time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC)
	c, err := a.Begin(context.Background(), j, p1, 1, RunInfo{Trigger: "timer", Scheduled: p1})
	if err != nil {
		t.Fatal(err)
	}
	a.Finish(c)
	if _, err := a.Begin(context.Background(), pj, p1, 1, RunInfo{}); err != nil {
		t.Fatal(err)
	}
	if err := a.SetPaused(context.Background(), pj, true); err != nil {
		t.Fatal(err)
	}
	for len(cu) > 0 {
		<-cu // told at a's own election, before any point
	}
	a.Close()
	b := waitLeader(t, nodes, j, a)
	select {
	case got := <-cu:
		if got.j != j || !got.cursor.Equal(p1) {
			t.Fatalf("catch-up told %+v, want %s at %s", got, j, p1)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no catch-up told to the new owner")
	}
	select {
	case got := <-cu:
		t.Fatalf("told more: %+v (a paused job is not told)", got)
	case <-time.After(300 * time.Millisecond):
	}
	if _, err := b.Begin(context.Background(), j, p1, 1, RunInfo{}); !errors.Is(err, ErrPointTaken) {
		t.Fatalf("the point the lost owner started, again: %v", err)
	}
	p2 := p1.Add(time.Second)
	if _, err := b.Begin(context.Background(), j, p2, 1, RunInfo{Trigger: "catch-up"}); err != nil {
		t.Fatalf("catch-up point: %v", err)
	}
	if _, err := b.Begin(context.Background(), j, p2, 1, RunInfo{Trigger: "timer"}); !errors.Is(err, ErrPointTaken) {
		t.Fatalf("the caught-up point, again: %v", err)
	}
}

// TestCatchUpAfterMissedPoint: a point Begin could not start for want of
// etcd (here: a canceled request) makes the owner tell the job's cursor
// once etcd answers.
func TestCatchUpAfterMissedPoint(t *testing.T) {
	t.Parallel()
	cu := make(chan catchUp, 16)
	nodes := testNodesL(t, "missed", 1, nil, testListener{catchUp: cu})
	j := Job{Kind: "job", ID: "a"}
	a := waitLeader(t, nodes, j, nil)
	p1 := time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC)
	if _, err := a.Begin(context.Background(), j, p1, 1, RunInfo{}); err != nil {
		t.Fatal(err)
	}
	for len(cu) > 0 {
		<-cu
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := a.Begin(ctx, j, p1.Add(time.Second), 1, RunInfo{}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("begin without etcd: %v", err)
	}
	select {
	case got := <-cu:
		if got.j != j || !got.cursor.Equal(p1) {
			t.Fatalf("catch-up told %+v, want %s at %s", got, j, p1)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no catch-up told after the missed point")
	}
}
