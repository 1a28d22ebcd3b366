package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Owner implements Coordinator: without a round trip when this node owns
// the job; else one transaction reading the shard's leader (the oldest
// key of its election) and the nodes' addresses.
func (e *Etcd) Owner(ctx context.Context, j Job) (Owner, error) {
	err := e.Owns(j)
	switch {
	case err == nil:
		return Owner{Node: e.opts.Node, URL: e.opts.Advertise, Mine: true}, nil
	case !errors.Is(err, ErrNotOwner):
		return Owner{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	r, err := e.cli.Txn(ctx).Then(
		clientv3.OpGet(e.keys.shard(shardOf(j, e.opts.Shards))+"/", append(clientv3.WithFirstCreate(), clientv3.WithPrefix())...),
		clientv3.OpGet(e.keys.prefix+"node/", clientv3.WithPrefix()),
	).Commit()
	if err != nil {
		return Owner{}, fmt.Errorf("owner of %s: %w: %w", j, ErrUnavailable, err)
	}
	lead := r.Responses[0].GetResponseRange().Kvs
	if len(lead) == 0 {
		return Owner{}, fmt.Errorf("owner of %s: no node leads its shard: %w", j, ErrUnavailable)
	}
	node := string(lead[0].Value)
	for _, kv := range r.Responses[1].GetResponseRange().Kvs {
		if string(kv.Key) == e.keys.node(node) {
			return Owner{Node: node, URL: string(kv.Value)}, nil
		}
	}
	return Owner{}, fmt.Errorf("owner of %s: node %s has no address: %w", j, node, ErrUnavailable)
}

// Nodes implements Coordinator: one read of the live nodes' addresses
// (their keys live on their session leases), this node left out.
func (e *Etcd) Nodes(ctx context.Context) ([]Owner, error) {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	r, err := e.cli.Get(ctx, e.keys.prefix+"node/", clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w: %w", ErrUnavailable, err)
	}
	var nodes []Owner
	for _, kv := range r.Kvs {
		name := strings.TrimPrefix(string(kv.Key), e.keys.prefix+"node/")
		if name != e.opts.Node {
			nodes = append(nodes, Owner{Node: name, URL: string(kv.Value)})
		}
	}
	return nodes, nil
}
