package cluster

import (
	"context"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Catch-up in a cluster: the job's state holds its point cursor (the
// latest scheduled point a run started for, or the time of its last
// pause or resume). When a node becomes able to start a job's runs again
// it tells the job actor the cursor (Listener.CatchUp), and the job's
// catch_up rule decides which points after it run now; each goes through
// Begin with its point, so the point keys and the cursor keep every point
// to at most one run, even when two nodes catch up at once.
//
// A node becomes able to start runs again when
//   - it is elected leader of a shard: every job of the shard (a failover,
//     etcd back after an outage longer than the TTL, the cluster's start);
//   - etcd answers again after Begin could not reach it for a point while
//     this node kept its session (an outage shorter than the TTL).

// missedRetry is how often a node retries reading the cursors of the
// jobs whose points it could not start.
const missedRetry = 500 * time.Millisecond

// missedPoint notes that a point of j could not be started for want of
// etcd.
func (e *Etcd) missedPoint(j Job) {
	e.missed.Store(j, struct{}{})
}

// watchMissed tells the cursors of the jobs with missed points once etcd
// answers, for the shards this node leads in term t.
func (e *Etcd) watchMissed(ctx context.Context, t *term) {
	tk := time.NewTicker(missedRetry)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
		}
		var jobs []Job
		e.missed.Range(func(k, _ any) bool {
			jobs = append(jobs, k.(Job))
			return true
		})
		if len(jobs) == 0 {
			continue
		}
		states, err := e.readStates(ctx)
		if err != nil {
			continue // etcd still away: try again
		}
		for _, j := range jobs {
			e.missed.Delete(j)
			if t.lead[shardOf(j, e.opts.Shards)].Load() != nil {
				e.tellCursor(j, states[j])
			}
		}
	}
}

// catchUpShard tells the cursor of every job of shard k, which this node
// has just been elected to lead.
func (e *Etcd) catchUpShard(ctx context.Context, k int) {
	states, err := e.readStates(ctx)
	if err != nil {
		e.opts.Log.Warn("cluster: read the jobs' states for catch-up", "shard", k, "err", err)
		return
	}
	for j, st := range states {
		if shardOf(j, e.opts.Shards) == k {
			e.tellCursor(j, st)
		}
	}
}

// tellCursor passes the job's cursor to the listener, unless it has none
// or is paused.
func (e *Etcd) tellCursor(j Job, st state) {
	if st.Point == 0 || st.Paused {
		return
	}
	e.lis.CatchUp(j, time.Unix(0, st.Point).UTC())
}

// readStates reads every job's state in one range.
func (e *Etcd) readStates(ctx context.Context) (map[Job]state, error) {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	r, err := e.cli.Get(ctx, e.keys.states(), clientv3.WithPrefix())
	if err != nil {
		return nil, err
	}
	out := make(map[Job]state, len(r.Kvs))
	for _, kv := range r.Kvs {
		j, ok := e.keys.parseStateKey(string(kv.Key))
		if !ok {
			continue
		}
		if st, err := decodeState(kv.Value); err == nil {
			out[j] = st
		}
	}
	return out, nil
}
