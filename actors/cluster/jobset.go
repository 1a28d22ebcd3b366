package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// JobSet is the set of jobs a node loaded: a hash of each job's settings
// by "<kind>/<id>". Every node of a cluster must load the same set.
type JobSet map[string]string

func (s JobSet) encode() string {
	b, _ := json.Marshal(s) // map[string]string: cannot fail
	return string(b)
}

// Diff names how s differs from other (held by node), at most a few
// differences; "" when they are equal.
func (s JobSet) Diff(other JobSet, node string) string {
	var d []string
	for k, h := range s {
		switch oh, ok := other[k]; {
		case !ok:
			d = append(d, fmt.Sprintf("%s is not loaded by node %s", k, node))
		case oh != h:
			d = append(d, fmt.Sprintf("%s differs from node %s's", k, node))
		}
	}
	for k := range other {
		if _, ok := s[k]; !ok {
			d = append(d, fmt.Sprintf("%s is loaded by node %s only", k, node))
		}
	}
	slices.Sort(d)
	if len(d) > 5 {
		d = append(d[:5], fmt.Sprintf("and %d more", len(d)-5))
	}
	return strings.Join(d, "; ")
}

// A node publishes its set in two keys: jobset/<node> (on its session
// lease) holds the set's sum, and jobsetlist/<sum> (no lease) the set by
// job, written only when absent: nodes loading the same set (the normal
// case) write about 100 bytes at a start, whatever the number of jobs,
// and a node compares sums, reading a list only to name how it differs.
// A list whose sum no live node holds is deleted by the next node that
// joins.

// sum is the hex SHA-256 of the encoded set.
func (s JobSet) sum() string { return sumOf(s.encode()) }

// sumOf is the hex SHA-256 of an encoded set.
func sumOf(enc string) string {
	h := sha256.Sum256([]byte(enc))
	return hex.EncodeToString(h[:])
}

// checkJobSet compares this node's job set with those the live nodes
// published; a difference refuses to join. It notes the lists no live
// node holds (e.stale) for openTerm to delete.
func (e *Etcd) checkJobSet(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, joinTimeout)
	defer cancel()
	r, err := e.cli.Txn(ctx).Then(
		clientv3.OpGet(e.keys.jobsets(), clientv3.WithPrefix()),
		clientv3.OpGet(e.keys.jobsetLists(), clientv3.WithPrefix(), clientv3.WithKeysOnly()),
	).Commit()
	if err != nil {
		return fmt.Errorf("etcd: read the cluster's job sets: %w: %w", ErrUnavailable, err)
	}
	mine, live := e.setSum, map[string]bool{}
	for _, kv := range r.Responses[0].GetResponseRange().Kvs {
		node := strings.TrimPrefix(string(kv.Key), e.keys.jobsets())
		if node == e.opts.Node {
			continue // this node's own, from a session not yet expired
		}
		live[string(kv.Value)] = true
		if string(kv.Value) == mine {
			continue
		}
		if err := e.diffJobSet(ctx, node, kv.Value); err != nil {
			return err
		}
	}
	e.stale = e.stale[:0]
	for _, kv := range r.Responses[1].GetResponseRange().Kvs {
		if sum := strings.TrimPrefix(string(kv.Key), e.keys.jobsetLists()); !live[sum] && sum != mine {
			e.stale = append(e.stale, string(kv.Key))
		}
	}
	return nil
}

// diffJobSet names how this node's set differs from node's, whose sum (or,
// from an older node, whole set) is val.
func (e *Etcd) diffJobSet(ctx context.Context, node string, val []byte) error {
	list := val
	if len(val) == 0 || val[0] != '{' {
		r, err := e.cli.Get(ctx, e.keys.jobsetList(string(val)))
		if err != nil {
			return fmt.Errorf("etcd: read the job set of node %s: %w: %w", node, ErrUnavailable, err)
		}
		if len(r.Kvs) == 0 {
			return fmt.Errorf("the job set differs from the cluster's: node %s loaded another (its list is not in etcd)", node)
		}
		list = r.Kvs[0].Value
	}
	var other JobSet
	if err := json.Unmarshal(list, &other); err != nil {
		return fmt.Errorf("etcd: job set of node %s: %w", node, err)
	}
	if d := e.opts.JobSet.Diff(other, node); d != "" {
		return fmt.Errorf("the job set differs from the cluster's: %s", d)
	}
	return nil
}

// publishOps are the operations of openTerm's transaction that publish
// this node (on lease): its address and its set's sum, and the stale
// lists' deletion. The list itself is put by the same transaction when
// absent (see openTerm).
func (e *Etcd) publishOps(lease clientv3.LeaseID) []clientv3.Op {
	ops := []clientv3.Op{
		clientv3.OpPut(e.keys.node(e.opts.Node), e.opts.Advertise, clientv3.WithLease(lease)),
		clientv3.OpPut(e.keys.jobset(e.opts.Node), e.setSum, clientv3.WithLease(lease)),
	}
	for _, k := range e.stale {
		ops = append(ops, clientv3.OpDelete(k))
	}
	return ops
}
