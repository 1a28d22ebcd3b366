package cluster

import (
	"context"
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

// checkJobSet compares this node's job set with those the live nodes
// published; a difference refuses to join.
func (e *Etcd) checkJobSet(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	r, err := e.cli.Get(ctx, e.keys.jobsets(), clientv3.WithPrefix())
	if err != nil {
		return fmt.Errorf("etcd: read the cluster's job sets: %w: %w", ErrUnavailable, err)
	}
	for _, kv := range r.Kvs {
		node := strings.TrimPrefix(string(kv.Key), e.keys.jobsets())
		if node == e.opts.Node {
			continue // this node's own, from a session not yet expired
		}
		var other JobSet
		if err := json.Unmarshal(kv.Value, &other); err != nil {
			return fmt.Errorf("etcd: job set of node %s: %w", node, err)
		}
		if d := e.opts.JobSet.Diff(other, node); d != "" {
			return fmt.Errorf("the job set differs from the cluster's: %s", d)
		}
	}
	return nil
}
