package cluster

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// viewListener records the views and ownerships a node is told.
type viewListener struct {
	testListener
	views chan viewSeen
	owned chan Job
}

type viewSeen struct {
	j    Job
	node string
	view string // "" = the node's session ended
}

func (l viewListener) View(j Job, node string, b []byte) { l.views <- viewSeen{j, node, string(b)} }

func (l viewListener) Owned(j Job) { l.owned <- j }

// TestViewsPublished: the owner's views reach the other node batched
// (a burst of changes is a few puts, the last one told), a view is told
// gone with its owner's session, and the next owner is told it owns the
// job.
func TestViewsPublished(t *testing.T) {
	j := Job{Kind: "job", ID: "a"}
	ls := []viewListener{
		{views: make(chan viewSeen, 1000), owned: make(chan Job, 10)},
		{views: make(chan viewSeen, 1000), owned: make(chan Job, 10)},
	}
	nodes := make([]*Etcd, 2)
	for i := range nodes {
		nodes[i] = testNodesL(t, "views", 1, func(o *Options) { o.Node = []string{"n1", "n2"}[i] }, ls[i])[0]
	}
	owner := waitLeader(t, nodes, j, nil)
	oi := 0
	if owner == nodes[1] {
		oi = 1
	}
	other, ol := nodes[1-oi], ls[1-oi]
	select {
	case got := <-ls[oi].owned:
		if got != j {
			t.Errorf("owner told it owns %v", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the owner was not told it owns the job")
	}
	for i := range 50 {
		owner.Publish(j, map[string]int{"n": i})
	}
	var last viewSeen
	for last.view != `{"n":49}` {
		select {
		case last = <-ol.views:
			if last.node != owner.opts.Node || last.j != j {
				t.Fatalf("told %+v", last)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("the last view not told; last %+v", last)
		}
	}
	r, err := other.cli.Get(context.Background(), other.keys.view(j))
	if err != nil || len(r.Kvs) != 1 {
		t.Fatalf("view key: %v %v", r, err)
	}
	if v := r.Kvs[0].Version; v > 10 {
		t.Errorf("50 changes in a burst took %d puts", v)
	}
	if r.Kvs[0].Lease != int64(owner.cur.Load().sess.Lease()) {
		t.Errorf("the view is not on the owner's session lease")
	}

	kill(t, owner)
	deadline := time.After(15 * time.Second)
	for gone := false; !gone; {
		select {
		case v := <-ol.views:
			gone = v.view == "" && v.node == owner.opts.Node
		case <-deadline:
			t.Fatal("the dead owner's view not told gone")
		}
	}
	select {
	case got := <-ol.owned:
		if got != j || other.Owns(j) != nil {
			t.Errorf("the next owner told %v, owns: %v", got, other.Owns(j))
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the next owner was not told it owns the job")
	}
}

// TestJoining: a node joined in the background coordinates as NewEtcd's;
// a node whose job set differs fails to join and answers every call
// unavailable.
func TestJoining(t *testing.T) {
	j := Job{Kind: "job", ID: "a"}
	opts := func(node, hash string) Options {
		return Options{Cluster: "joining", Node: node, Advertise: "http://127.0.0.1:1", TTL: 2 * time.Second, JobSet: JobSet{"job/a": hash}}
	}
	good := Join(context.Background(), newClient(t), opts("n1", "h"))
	if _, err := good.Wait(); err != nil {
		t.Fatal(err)
	}
	good.Run(testListener{})
	t.Cleanup(func() { good.Close(true) })
	deadline := time.Now().Add(15 * time.Second)
	for good.Owns(j) != nil && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := good.Begin(context.Background(), j, time.Time{}, 1, RunInfo{}); err != nil {
		t.Fatalf("begin once joined: %v", err)
	}

	bad := Join(context.Background(), newClient(t), opts("n2", "other"))
	if _, err := bad.Wait(); err == nil || !strings.Contains(err.Error(), "differs") {
		t.Fatalf("a differing job set joined: %v", err)
	}
	if _, err := bad.Begin(context.Background(), j, time.Time{}, 1, RunInfo{}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("begin after a failed join: %v", err)
	}
	if err := bad.Owns(j); !errors.Is(err, ErrUnavailable) {
		t.Errorf("owns after a failed join: %v", err)
	}
	bad.Publish(j, 1) // dropped
	if err := bad.Close(false); err != nil {
		t.Errorf("close after a failed join: %v", err)
	}
}

// TestJobSetLists: nodes loading one set write its list once; a set no
// live node holds any more is deleted by the next node that joins.
func TestJobSetLists(t *testing.T) {
	a, b := JobSet{"job/a": "h"}, JobSet{"job/a": "h2"}
	ns := testNodes(t, "lists", 2, nil) // both load JobSet{"job/a": "h"}
	k := ns[0].keys
	r, err := ns[0].cli.Get(context.Background(), k.jobsetList(a.sum()))
	if err != nil || len(r.Kvs) != 1 || r.Kvs[0].Version != 1 {
		t.Fatalf("list of the set shared by two nodes: %v %v", r, err)
	}
	for _, n := range ns {
		if err := n.Close(); err != nil {
			t.Fatal(err)
		}
	}
	n3 := testNodes(t, "lists", 1, func(o *Options) { o.Node, o.JobSet = "n3", b })[0]
	tr, err := n3.cli.Txn(context.Background()).Then(clientv3.OpGet(k.jobsetList(a.sum())), clientv3.OpGet(k.jobsetList(b.sum()))).Commit()
	if err != nil {
		t.Fatal(err)
	}
	if old, cur := tr.Responses[0].GetResponseRange().Count, tr.Responses[1].GetResponseRange().Count; old != 0 || cur != 1 {
		t.Errorf("after the set changed: old list %d, new list %d; want 0, 1", old, cur)
	}
}
