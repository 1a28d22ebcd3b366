package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Begin implements Coordinator. On the fast path it is one round trip:
// a transaction that succeeds only if this node still holds the shard's
// leader key (same create revision), the job's state key is unchanged
// since this node last read or wrote it, and the point key is absent; it
// writes the new state (counter, point, open run), the point key (on the
// point lease) and the running key (on this node's session lease). When
// the state changed meanwhile, the same round trip returns it and Begin
// tries again with it.
func (e *Etcd) Begin(ctx context.Context, j Job, point time.Time, next int64, info RunInfo) (Claim, error) {
	c, err := e.begin(ctx, j, point, next, info)
	if err != nil && !point.IsZero() && errors.Is(err, ErrUnavailable) {
		e.missedPoint(j) // catch.go: its catch-up rule decides once etcd answers
	}
	return c, err
}

func (e *Etcd) begin(ctx context.Context, j Job, point time.Time, next int64, info RunInfo) (Claim, error) {
	t := e.cur.Load()
	if t == nil {
		return Claim{}, fmt.Errorf("begin %s: no session: %w", j, ErrUnavailable)
	}
	l := t.lead[shardOf(j, e.opts.Shards)].Load()
	if l == nil {
		return Claim{}, fmt.Errorf("begin %s: %w", j, ErrNotOwner)
	}
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	js := e.jobState(j)
	js.mu.Lock()
	defer js.mu.Unlock()
	// A paused flag in the cache may be stale (a resume through another
	// node): only a fresh read says the job is paused.
	if !js.known || js.st.Paused {
		if err := e.read(ctx, j, js); err != nil {
			return Claim{}, err
		}
	}
	var pl clientv3.LeaseID
	if !point.IsZero() {
		var err error
		if pl, err = e.pointLease(ctx); err != nil {
			return Claim{}, err
		}
	}
	for range maxTries {
		c, done, err := e.tryBegin(ctx, t, l, j, js, point, pl, next, info)
		if done || err != nil {
			return c, err
		}
	}
	return Claim{}, fmt.Errorf("begin %s: the state kept changing under %d tries: %w", j, maxTries, ErrUnavailable)
}

// tryBegin is one transaction of Begin; done is false when the state had
// changed (js now holds the new one).
func (e *Etcd) tryBegin(ctx context.Context, t *term, l *leader, j Job, js *jobState, point time.Time, pl clientv3.LeaseID, next int64,
	info RunInfo) (Claim, bool, error) {
	switch {
	case js.st.Paused:
		return Claim{}, true, fmt.Errorf("begin %s: %w", j, ErrPaused)
	case !point.IsZero() && point.UnixNano() <= js.st.Point:
		return Claim{}, true, fmt.Errorf("begin %s at %s: %w", j, point.UTC().Format(time.RFC3339), ErrPointTaken)
	}
	ns := js.st
	ns.Counter = max(js.st.Counter+1, next)
	sk := e.keys.state(j)
	cmps := []clientv3.Cmp{
		clientv3.Compare(clientv3.CreateRevision(l.key), "=", l.rev),
		clientv3.Compare(clientv3.ModRevision(sk), "=", js.rev),
	}
	marker := newRunMarker(e.opts.Node, ns.Counter, info)
	then := []clientv3.Op{
		clientv3.OpPut(e.keys.run(j, ns.Counter), marker.encode(), clientv3.WithLease(t.sess.Lease())),
		clientv3.OpPut(e.keys.open(j, ns.Counter), marker.encode()),
	}
	elses := []clientv3.Op{clientv3.OpGet(sk), clientv3.OpGet(l.key)}
	if !point.IsZero() {
		ns.Point = point.UnixNano()
		pk := e.keys.point(j, point)
		cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(pk), "=", 0))
		then = append(then, clientv3.OpPut(pk, e.opts.Node, clientv3.WithLease(pl)))
		elses = append(elses, clientv3.OpGet(pk, clientv3.WithCountOnly()))
	}
	then = append(then, clientv3.OpPut(sk, ns.encode()))
	r, err := e.cli.Txn(ctx).If(cmps...).Then(then...).Else(elses...).Commit()
	if err != nil {
		return Claim{}, true, fmt.Errorf("begin %s: %w: %w", j, ErrUnavailable, err)
	}
	if r.Succeeded {
		js.st, js.rev = ns, r.Header.Revision
		return Claim{Job: j, Counter: ns.Counter, Point: point}, true, nil
	}
	if lr := r.Responses[1].GetResponseRange(); len(lr.Kvs) == 0 || lr.Kvs[0].CreateRevision != l.rev {
		t.lead[shardOf(j, e.opts.Shards)].CompareAndSwap(l, nil)
		return Claim{}, true, fmt.Errorf("begin %s: deposed: %w", j, ErrNotOwner)
	}
	if !point.IsZero() && r.Responses[2].GetResponseRange().Count > 0 {
		return Claim{}, true, fmt.Errorf("begin %s at %s: %w", j, point.UTC().Format(time.RFC3339), ErrPointTaken)
	}
	if err := js.set((*clientv3.GetResponse)(r.Responses[0].GetResponseRange())); err != nil {
		return Claim{}, true, err
	}
	return Claim{}, false, nil
}

// Finish implements Coordinator: in the background, one round trip
// deleting the run's running and open keys.
func (e *Etcd) Finish(c Claim) {
	e.finMu.Lock()
	defer e.finMu.Unlock()
	if e.closed {
		// Closed: the session is revoked with the open key left, so the
		// shard's next leader reports the run lost.
		e.opts.Log.Warn("cluster: run ended after the node left the cluster", "job", c.Job.String(), "counter", c.Counter)
		return
	}
	e.finishing.Add(1)
	go func() {
		defer e.finishing.Done()
		e.finishRetried(c)
	}()
}

// finishRetried records the end of run c, trying again while etcd is
// away (until Close gives up on it): a run whose end is not recorded
// would be reported lost, and run again, once its node's session ends.
func (e *Etcd) finishRetried(c Claim) {
	backoff := 100 * time.Millisecond
	for i := 0; ; i++ {
		err := e.finish(e.finCtx, c)
		if err == nil {
			if i > 0 {
				e.opts.Log.Info("cluster: end of a run recorded after all", "job", c.Job.String(), "counter", c.Counter)
			}
			return
		}
		if i == 0 {
			e.opts.Log.Warn("cluster: record the end of a run: trying again", "job", c.Job.String(), "counter", c.Counter, "err", err)
		}
		select {
		case <-e.finCtx.Done():
			e.opts.Log.Warn("cluster: end of a run not recorded: it will be reported lost", "job", c.Job.String(), "counter", c.Counter)
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

func (e *Etcd) finish(ctx context.Context, c Claim) error {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	_, err := e.cli.Txn(ctx).Then(clientv3.OpDelete(e.keys.run(c.Job, c.Counter)), clientv3.OpDelete(e.keys.open(c.Job, c.Counter))).Commit()
	if err != nil {
		return fmt.Errorf("finish %s #%d: %w: %w", c.Job, c.Counter, ErrUnavailable, err)
	}
	return nil
}

// Attempt implements Coordinator: it rewrites the run's open key with
// attempt n (a read and a compared write), unless the run was already
// reported lost.
func (e *Etcd) Attempt(ctx context.Context, c Claim, n int) error {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	ok := e.keys.open(c.Job, c.Counter)
	r, err := e.cli.Get(ctx, ok)
	if err != nil {
		return fmt.Errorf("attempt %d of %s #%d: %w: %w", n, c.Job, c.Counter, ErrUnavailable, err)
	}
	if len(r.Kvs) == 0 {
		return fmt.Errorf("attempt %d of %s #%d: the run is no longer open (reported lost)", n, c.Job, c.Counter)
	}
	var m runMarker
	if err := json.Unmarshal(r.Kvs[0].Value, &m); err != nil {
		return fmt.Errorf("attempt %d of %s #%d: run marker: %w", n, c.Job, c.Counter, err)
	}
	m.Attempt = n
	_, err = e.cli.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(ok), "=", r.Kvs[0].ModRevision)).
		Then(clientv3.OpPut(ok, m.encode())).Commit()
	if err != nil {
		return fmt.Errorf("attempt %d of %s #%d: %w: %w", n, c.Job, c.Counter, ErrUnavailable, err)
	}
	return nil
}

// SetPaused implements Coordinator. It is not fenced by leadership: any
// node may pause or resume a job. Like a single host, it moves the
// job's point cursor to now: points that fall while the job is paused
// are never caught up.
func (e *Etcd) SetPaused(ctx context.Context, j Job, paused bool) error {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	js := e.jobState(j)
	js.mu.Lock()
	defer js.mu.Unlock()
	js.known = false // a stale cache could think the flag already set
	return e.update(ctx, j, js, func(s *state) bool {
		was := s.Paused
		s.Paused = paused
		s.Point = max(s.Point, time.Now().UnixNano())
		return was != paused
	})
}

// update applies change to the job's state with a compare on its mod
// revision, re-reading and retrying when it moved.
func (e *Etcd) update(ctx context.Context, j Job, js *jobState, change func(*state) bool) error {
	sk := e.keys.state(j)
	for range maxTries {
		if !js.known {
			if err := e.read(ctx, j, js); err != nil {
				return err
			}
		}
		ns := js.st
		if !change(&ns) {
			return nil
		}
		r, err := e.cli.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(sk), "=", js.rev)).Then(clientv3.OpPut(sk, ns.encode())).Else(clientv3.OpGet(sk)).Commit()
		if err != nil {
			return fmt.Errorf("update %s: %w: %w", j, ErrUnavailable, err)
		}
		if r.Succeeded {
			js.st, js.rev = ns, r.Header.Revision
			return nil
		}
		if err := js.set((*clientv3.GetResponse)(r.Responses[0].GetResponseRange())); err != nil {
			return err
		}
	}
	return fmt.Errorf("update %s: the state kept changing under %d tries: %w", j, maxTries, ErrUnavailable)
}

// Paused reads whether the job is paused in the cluster's state.
func (e *Etcd) Paused(ctx context.Context, j Job) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	js := e.jobState(j)
	js.mu.Lock()
	defer js.mu.Unlock()
	if err := e.read(ctx, j, js); err != nil {
		return false, err
	}
	return js.st.Paused, nil
}
