package cluster

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// The owner of a job publishes the job's view (status, last run, logs:
// whatever the actors put in it) under view/<kind>/<id>, on its session
// lease, so that every node's environment shows the owner's view and a
// dead owner's views expire with it. Writes are batched: Publish only
// records the latest view of a job, and a writer flushes the recorded
// views at most once per viewEvery, one transaction per shard and chunk,
// fenced by the shard's leadership (a deposed owner's views are dropped).

// Bounds of the view writer.
const (
	// viewEvery is the least time between two flushes of views: a job
	// that changes ten times in it costs one put.
	viewEvery = 200 * time.Millisecond
	// maxTxnOps is etcd's default --max-txn-ops.
	maxTxnOps = 128
	// maxTxnBytes keeps a flush's transaction under etcd's default
	// request limit (1.5 MiB).
	maxTxnBytes = 1 << 20
	// viewWriters bounds the transactions of one flush in flight.
	viewWriters = 4
	// viewBudget bounds the views of one flush: a start's every view
	// (10,000 jobs) is spread over about a second instead of flooding etcd
	// while the other nodes join.
	viewBudget = 2048
)

// viewQueue holds the latest view of every job this node published and
// which of them wait to be written.
type viewQueue struct {
	mu      sync.Mutex
	latest  map[Job]any      // every view published, as given
	pending map[Job]struct{} // to write at the next flush
	kick    chan struct{}    // buffered 1: a flush is due
}

// viewRecord is the value of a view key: the publishing node and the
// view as the actors encoded it.
type viewRecord struct {
	Node string          `json:"node"`
	View json.RawMessage `json:"view"`
}

// Publish implements Coordinator: it records v as job's latest view
// (v must not change after) and returns at once; the view is written
// with the next flush if this node leads the job's shard then, else when
// it comes to lead it.
func (e *Etcd) Publish(j Job, v any) {
	q := &e.views
	q.mu.Lock()
	if q.latest == nil {
		q.latest, q.pending = map[Job]any{}, map[Job]struct{}{}
	}
	q.latest[j] = v
	q.pending[j] = struct{}{}
	q.mu.Unlock()
	e.kickViews()
}

func (e *Etcd) kickViews() {
	select {
	case e.views.kick <- struct{}{}:
	default:
	}
}

// tellOwned tells the listener every job of this node's set in shard k,
// which this node just came to lead: their actors publish their views,
// since the views of the former owner expire with it.
func (e *Etcd) tellOwned(k int) {
	for name := range e.opts.JobSet {
		kind, id, ok := strings.Cut(name, "/")
		if j := (Job{Kind: kind, ID: id}); ok && shardOf(j, e.opts.Shards) == k {
			e.lis.Owned(j)
		}
	}
}

// writeViews flushes the queued views for the term, at most once per
// viewEvery, until ctx ends.
func (e *Etcd) writeViews(ctx context.Context, t *term) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-e.views.kick:
		}
		e.flushViews(ctx, t)
		select {
		case <-ctx.Done():
			return
		case <-time.After(viewEvery):
		}
	}
}

// flushViews writes the queued views of the shards this node leads, in
// transactions of at most maxTxnOps views or maxTxnBytes, viewWriters of
// them at once (etcd commits concurrent transactions together); views of
// other shards are dropped, those not written for an etcd error are
// queued again.
func (e *Etcd) flushViews(ctx context.Context, t *term) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, viewWriters)
	for k, views := range e.takeViews(t) {
		l := t.lead[k].Load()
		if l == nil {
			continue
		}
		for _, c := range e.chunkViews(t, views) {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				e.putViews(ctx, t, l, c.ops, c.jobs)
			})
		}
	}
	wg.Wait()
}

// viewChunk is one transaction of a flush.
type viewChunk struct {
	ops  []clientv3.Op
	jobs []Job
}

// chunkViews cuts the puts of views into transactions.
func (e *Etcd) chunkViews(t *term, views []jobView) []viewChunk {
	node, _ := json.Marshal(e.opts.Node) // a string: cannot fail
	var out []viewChunk
	var c viewChunk
	size := 0
	for _, jv := range views {
		val := make([]byte, 0, len(node)+len(jv.enc)+18)
		val = append(append(append(append(val, `{"node":`...), node...), `,"view":`...), jv.enc...)
		val = append(val, '}')
		if len(c.ops) == maxTxnOps || (len(c.ops) > 0 && size+len(val) > maxTxnBytes) {
			out, c, size = append(out, c), viewChunk{}, 0
		}
		c.ops = append(c.ops, clientv3.OpPut(e.keys.view(jv.job), string(val), clientv3.WithLease(t.sess.Lease())))
		c.jobs = append(c.jobs, jv.job)
		size += len(val)
	}
	if len(c.ops) > 0 {
		out = append(out, c)
	}
	return out
}

type jobView struct {
	job Job
	enc json.RawMessage
}

// takeViews takes up to viewBudget views off the queue and encodes those
// of the shards this node leads in term t, grouped by shard; the others
// are dropped. What is left is flushed next time.
func (e *Etcd) takeViews(t *term) map[int][]jobView {
	q := &e.views
	q.mu.Lock()
	taken := make(map[Job]any, min(len(q.pending), viewBudget))
	for j := range q.pending {
		if len(taken) == viewBudget {
			break // the rest with the next flush
		}
		if t.lead[shardOf(j, e.opts.Shards)].Load() != nil {
			taken[j] = q.latest[j]
		}
		delete(q.pending, j)
	}
	more := len(q.pending) > 0
	q.mu.Unlock()
	if more {
		e.kickViews()
	}
	out := map[int][]jobView{}
	for j, v := range taken {
		b, err := json.Marshal(v)
		if err != nil {
			e.opts.Log.Warn("cluster: encode a job's view", "job", j.String(), "err", err)
			continue
		}
		k := shardOf(j, e.opts.Shards)
		out[k] = append(out[k], jobView{job: j, enc: b})
	}
	return out
}

// putViews writes one chunk of views, fenced by the leadership l.
func (e *Etcd) putViews(ctx context.Context, t *term, l *leader, ops []clientv3.Op, jobs []Job) {
	pctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	r, err := e.cli.Txn(pctx).If(clientv3.Compare(clientv3.CreateRevision(l.key), "=", l.rev)).Then(ops...).Commit()
	switch {
	case err != nil:
		if ctx.Err() != nil {
			return
		}
		e.opts.Log.Warn("cluster: publish the jobs' views", "views", len(ops), "err", err)
		e.requeue(jobs)
	case !r.Succeeded:
		t.lead[shardOf(jobs[0], e.opts.Shards)].CompareAndSwap(l, nil)
	}
}

// requeue queues jobs again (their latest views) after a failed write.
func (e *Etcd) requeue(jobs []Job) {
	q := &e.views
	q.mu.Lock()
	for _, j := range jobs {
		q.pending[j] = struct{}{}
	}
	q.mu.Unlock()
	e.kickViews()
}

// watchViews tells the listener the views other nodes published: every
// one when the term begins and each change after; a view whose node's
// lease expired is told with a nil view.
func (e *Etcd) watchViews(ctx context.Context) {
	r, err := e.cli.Get(ctx, e.keys.views(), clientv3.WithPrefix())
	if err != nil {
		e.opts.Log.Warn("cluster: read the jobs' views", "err", err)
		return
	}
	for _, kv := range r.Kvs {
		e.tellView(kv.Key, kv.Value, false)
	}
	wc := e.cli.Watch(clientv3.WithRequireLeader(ctx), e.keys.views(), clientv3.WithPrefix(), clientv3.WithPrevKV(),
		clientv3.WithRev(r.Header.Revision+1))
	for wr := range wc {
		for _, ev := range wr.Events {
			if ev.Type == clientv3.EventTypeDelete {
				if ev.PrevKv != nil {
					e.tellView(ev.PrevKv.Key, ev.PrevKv.Value, true)
				}
				continue
			}
			e.tellView(ev.Kv.Key, ev.Kv.Value, false)
		}
	}
}

// tellView passes one view key to the listener, unless this node wrote it.
func (e *Etcd) tellView(key, val []byte, gone bool) {
	j, ok := e.keys.parseViewKey(string(key))
	if !ok {
		return
	}
	var rec viewRecord
	if err := json.Unmarshal(val, &rec); err != nil || rec.Node == e.opts.Node {
		return
	}
	if gone {
		rec.View = nil
	}
	e.lis.View(j, rec.Node, rec.View)
}

// parseViewKey returns the job of a view key.
func (k keys) parseViewKey(key string) (Job, bool) {
	s, found := strings.CutPrefix(key, k.views())
	kind, id, ok := strings.Cut(s, "/")
	if !found || !ok || strings.Contains(id, "/") {
		return Job{}, false
	}
	return Job{Kind: kind, ID: id}, true
}
