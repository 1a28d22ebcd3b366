package cluster

import (
	"context"
	"encoding/json"
	"strings"

	"go.etcd.io/etcd/api/v3/mvccpb"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// A run whose node is lost leaves its open key behind while its running
// key goes with the node's session lease. The leader of the job's shard
// finds such runs when it is elected and whenever a running key of
// another node's lease disappears, removes the open key in a transaction
// fenced by its leadership (so exactly one node reports the run) and
// reports it through Options.OnLost.

// watchLost watches running keys for the term and reaps a shard this node
// leads when another node's running key is deleted.
func (e *Etcd) watchLost(ctx context.Context, t *term) {
	wc := e.cli.Watch(clientv3.WithRequireLeader(ctx), e.keys.running(), clientv3.WithPrefix(), clientv3.WithPrevKV(),
		clientv3.WithFilterPut())
	for wr := range wc {
		shards := map[int]bool{}
		for _, ev := range wr.Events {
			if ev.PrevKv == nil || clientv3.LeaseID(ev.PrevKv.Lease) == t.sess.Lease() {
				continue // this node's own finish
			}
			if j, _, ok := parseRunKey(e.keys.running(), string(ev.Kv.Key)); ok {
				shards[shardOf(j, e.opts.Shards)] = true
			}
		}
		for k := range shards {
			if t.lead[k].Load() != nil {
				e.reapAll(ctx, t, k)
			}
		}
	}
}

// reapAll reports every lost run of shard k, while this node leads it.
func (e *Etcd) reapAll(ctx context.Context, t *term, k int) {
	l := t.lead[k].Load()
	if l == nil {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	r, err := e.cli.Txn(rctx).Then(
		clientv3.OpGet(e.keys.opens(), clientv3.WithPrefix()),
		clientv3.OpGet(e.keys.running(), clientv3.WithPrefix(), clientv3.WithKeysOnly()),
	).Commit()
	if err != nil {
		e.opts.Log.Warn("cluster: list open runs", "shard", k, "err", err)
		return
	}
	live := map[string]bool{}
	for _, kv := range r.Responses[1].GetResponseRange().Kvs {
		j, n, _ := parseRunKey(e.keys.running(), string(kv.Key))
		live[e.keys.open(j, n)] = true
	}
	for _, kv := range r.Responses[0].GetResponseRange().Kvs {
		j, n, ok := parseRunKey(e.keys.opens(), string(kv.Key))
		if !ok || live[string(kv.Key)] || shardOf(j, e.opts.Shards) != k {
			continue
		}
		var m runMarker
		_ = json.Unmarshal(kv.Value, &m) // a bad value still names the run
		e.reap(rctx, l, LostRun{Job: j, Counter: n, Node: m.Node, RunInfo: m.info()})
	}
}

// reap removes a lost run's open key, fenced by leadership and by the
// running key's absence, and reports it when the removal succeeds.
func (e *Etcd) reap(ctx context.Context, l *leader, lr LostRun) {
	ok := e.keys.open(lr.Job, lr.Counter)
	r, err := e.cli.Txn(ctx).If(
		clientv3.Compare(clientv3.CreateRevision(l.key), "=", l.rev),
		clientv3.Compare(clientv3.CreateRevision(ok), ">", 0),
		clientv3.Compare(clientv3.CreateRevision(e.keys.run(lr.Job, lr.Counter)), "=", 0),
	).Then(clientv3.OpDelete(ok)).Commit()
	if err != nil {
		e.opts.Log.Warn("cluster: record lost run", "job", lr.Job.String(), "counter", lr.Counter, "err", err)
		return
	}
	if r.Succeeded {
		e.opts.Log.Warn("cluster: run lost with its node", "job", lr.Job.String(), "counter", lr.Counter, "node", lr.Node)
		e.lis.Lost(lr)
	}
}

// watchStates tells the listener every job's state at the start of the
// term and every change after, and keeps the cache of states current.
func (e *Etcd) watchStates(ctx context.Context) {
	r, err := e.cli.Get(ctx, e.keys.states(), clientv3.WithPrefix())
	if err != nil {
		e.opts.Log.Warn("cluster: read the jobs' states", "err", err)
		return
	}
	for _, kv := range r.Kvs {
		if j, ok := e.keys.parseStateKey(string(kv.Key)); ok {
			if st, err := decodeState(kv.Value); err == nil {
				e.cacheState(j, st, kv.ModRevision)
				e.lis.State(j, st.Counter, st.Paused)
			}
		}
	}
	e.cacheAbsent(r.Kvs)
	wc := e.cli.Watch(clientv3.WithRequireLeader(ctx), e.keys.states(), clientv3.WithPrefix(), clientv3.WithFilterDelete(),
		clientv3.WithRev(r.Header.Revision+1))
	for wr := range wc {
		for _, ev := range wr.Events {
			j, ok := e.keys.parseStateKey(string(ev.Kv.Key))
			if !ok {
				continue
			}
			st, err := decodeState(ev.Kv.Value)
			if err != nil {
				continue
			}
			e.cacheState(j, st, ev.Kv.ModRevision)
			e.lis.State(j, st.Counter, st.Paused)
		}
	}
}

// cacheState keeps st (of mod revision rev) as the job's cached state
// unless the cache holds a later one: the first run of a job on this
// node then needs no read before its transaction (which compares the
// revision anyway).
func (e *Etcd) cacheState(j Job, st state, rev int64) {
	js := e.jobState(j)
	js.mu.Lock()
	if rev > js.rev {
		js.st, js.rev, js.known = st, rev, true
	}
	js.mu.Unlock()
}

// cacheAbsent records, for every job of this node's set whose state key
// the range kvs did not hold, that it has none (revision 0), unless the
// cache knows better.
func (e *Etcd) cacheAbsent(kvs []*mvccpb.KeyValue) {
	seen := make(map[string]bool, len(kvs))
	for _, kv := range kvs {
		seen[strings.TrimPrefix(string(kv.Key), e.keys.states())] = true
	}
	for name := range e.opts.JobSet {
		kind, id, ok := strings.Cut(name, "/")
		if !ok || seen[name] {
			continue
		}
		js := e.jobState(Job{Kind: kind, ID: id})
		js.mu.Lock()
		if !js.known {
			js.st, js.rev, js.known = state{}, 0, true
		}
		js.mu.Unlock()
	}
}
