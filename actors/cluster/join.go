package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Joining is a coordinator whose join (NewEtcd: the job-set check, the
// first session) runs in the background, so that a node loads its jobs
// while it joins: a start costs the longer of the two, not their sum.
// Until the join is over, it starts nothing: Begin and the other calls
// that need etcd wait for it (bounded by their context), Owns answers
// ErrUnavailable and Publish drops the view (views are published again
// when the node comes to own a shard). Run takes effect once joined.
type Joining struct {
	node string
	done chan struct{}
	e    *Etcd         // after done; nil when the join failed
	err  error         // after done
	ran  chan struct{} // closed once Run took effect (or could not)
}

// Join starts joining the cluster in the background (NewEtcd with cli
// and opts); Wait returns its outcome.
func Join(ctx context.Context, cli *clientv3.Client, opts Options) *Joining {
	j := &Joining{node: opts.Node, done: make(chan struct{}), ran: make(chan struct{})}
	go func() {
		defer close(j.done)
		j.e, j.err = joinPatiently(ctx, cli, opts)
	}()
	return j
}

// joinPatience is how long a start keeps trying to join while etcd is
// unavailable or too slow to answer (a loaded etcd while every node
// starts at once) before it gives up.
const joinPatience = 30 * time.Second

// joinPatiently runs NewEtcd until it succeeds, fails for another reason
// than ErrUnavailable (a job set that differs), or joinPatience passed.
func joinPatiently(ctx context.Context, cli *clientv3.Client, opts Options) (*Etcd, error) {
	deadline := time.Now().Add(joinPatience)
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, 2*time.Second) {
		e, err := NewEtcd(ctx, cli, opts)
		if err == nil || !errors.Is(err, ErrUnavailable) || time.Now().Add(wait).After(deadline) {
			return e, err
		}
		if opts.Log != nil {
			opts.Log.Warn("cluster: join: trying again", "in", wait, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("join: %w: %w", ErrUnavailable, ctx.Err())
		case <-time.After(wait):
		}
	}
}

// Wait waits for the join and returns the coordinator, or why the node
// could not join.
func (j *Joining) Wait() (*Etcd, error) {
	<-j.done
	return j.e, j.err
}

// joined returns the coordinator once joined, waiting at most for ctx.
func (j *Joining) joined(ctx context.Context) (*Etcd, error) {
	select {
	case <-j.done:
	case <-ctx.Done():
		return nil, fmt.Errorf("still joining the cluster: %w", ErrUnavailable)
	}
	if j.err != nil {
		return nil, fmt.Errorf("not joined: %w: %w", ErrUnavailable, j.err)
	}
	return j.e, nil
}

// now returns the coordinator if the join is over and succeeded.
func (j *Joining) now() *Etcd {
	select {
	case <-j.done:
		return j.e
	default:
		return nil
	}
}

// Begin implements Coordinator.
func (j *Joining) Begin(ctx context.Context, job Job, point time.Time, next int64, info RunInfo) (Claim, error) {
	e, err := j.joined(ctx)
	if err != nil {
		return Claim{}, fmt.Errorf("begin %s: %w", job, err)
	}
	return e.Begin(ctx, job, point, next, info)
}

// Attempt implements Coordinator (a claim exists only once joined).
func (j *Joining) Attempt(ctx context.Context, c Claim, n int) error {
	e, err := j.joined(ctx)
	if err != nil {
		return err
	}
	return e.Attempt(ctx, c, n)
}

// Finish implements Coordinator (a claim exists only once joined).
func (j *Joining) Finish(c Claim) {
	if e := j.now(); e != nil {
		e.Finish(c)
	}
}

// SetPaused implements Coordinator.
func (j *Joining) SetPaused(ctx context.Context, job Job, paused bool) error {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	e, err := j.joined(ctx)
	if err != nil {
		return fmt.Errorf("pause %s: %w", job, err)
	}
	return e.SetPaused(ctx, job, paused)
}

// Owns implements Coordinator.
func (j *Joining) Owns(job Job) error {
	if e := j.now(); e != nil {
		return e.Owns(job)
	}
	return fmt.Errorf("%s: not joined yet: %w", job, ErrUnavailable)
}

// Owner implements Coordinator.
func (j *Joining) Owner(ctx context.Context, job Job) (Owner, error) {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	e, err := j.joined(ctx)
	if err != nil {
		return Owner{}, fmt.Errorf("owner of %s: %w", job, err)
	}
	return e.Owner(ctx, job)
}

// Nodes implements Coordinator.
func (j *Joining) Nodes(ctx context.Context) ([]Owner, error) {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	e, err := j.joined(ctx)
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	return e.Nodes(ctx)
}

// Node implements Coordinator.
func (j *Joining) Node() string { return j.node }

// Publish implements Coordinator.
func (j *Joining) Publish(job Job, v any) {
	if e := j.now(); e != nil {
		e.Publish(job, v)
	}
}

// Run implements Coordinator: the coordinator runs once joined (at once
// if it is); a failed join runs nothing. Called once.
func (j *Joining) Run(l Listener) {
	go func() {
		defer close(j.ran)
		if e, err := j.Wait(); err == nil {
			e.Run(l)
		}
	}()
}

// Close leaves the cluster (Etcd.Close) once the join and Run are over;
// ran says whether Run was called.
func (j *Joining) Close(ran bool) error {
	e, err := j.Wait()
	if err != nil {
		return nil
	}
	if ran {
		<-j.ran
	}
	return e.Close()
}
