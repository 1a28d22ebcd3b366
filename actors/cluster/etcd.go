package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// Defaults of Options.
const (
	DefaultTTL = 10 * time.Second
	// pointTTL is how long a point key lives; older points are refused by
	// the state's point cursor anyway.
	pointTTL = time.Hour
	// opTimeout bounds one etcd request of the run path.
	opTimeout = 2 * time.Second
	// joinTimeout bounds each etcd request of a start's join: every node
	// starting at once loads etcd (the first owner writes every view).
	joinTimeout = 10 * time.Second
	// maxTries bounds the retries of a transaction whose state changed.
	maxTries = 5
)

// Options configure an Etcd coordinator.
type Options struct {
	Cluster   string        // cluster name: keys live under /karajo/<Cluster>/
	Node      string        // this node's name, unique in the cluster
	Advertise string        // URL other nodes reach this one at
	TTL       time.Duration // session lease; 0 = DefaultTTL
	Shards    int           // elections; 0 = 1
	JobSet    JobSet        // the jobs this node loaded; must match every live node's
	Log       *slog.Logger
}

// Etcd coordinates the nodes of one cluster through etcd.
type Etcd struct {
	cli    *clientv3.Client
	opts   Options
	keys   keys
	cur    atomic.Pointer[term] // nil between sessions
	states sync.Map             // Job → *jobState (cache of the job's state key)
	missed sync.Map             // Job → struct{}: a point Begin could not start for want of etcd (catch.go)
	points struct {
		sync.Mutex
		id      clientv3.LeaseID
		granted time.Time
	}
	views     viewQueue          // the views this node publishes (view.go)
	stale     []string           // job-set lists no live node holds, deleted by openTerm (jobset.go)
	setJSON   string             // opts.JobSet encoded
	setSum    string             // its sum
	first     *term              // the session opened by NewEtcd, for Run
	finishing sync.WaitGroup     // Finish calls in flight, awaited by Close
	finMu     sync.Mutex         // orders Finish's Add before Close's Wait
	closed    bool               // under finMu: Close began
	finCtx    context.Context    // of Finish's writes; canceled by Close
	finCancel context.CancelFunc // when Close has waited opTimeout for them
	lis       Listener
	cancel    context.CancelFunc
	done      chan struct{}
}

// term is one session of this node and the shards it leads in it.
type term struct {
	sess *concurrency.Session
	lead []atomic.Pointer[leader] // by shard; nil = not leading
}

type leader struct {
	key string
	rev int64
}

// jobState caches a job's state key as last read or written here.
type jobState struct {
	mu    sync.Mutex
	known bool
	st    state
	rev   int64 // mod revision of the state key; 0 = absent
}

// NewEtcd joins the cluster with client cli: it checks the job set
// against the live nodes', opens a session and campaigns for every
// shard in the background. It returns once the first session is open.
func NewEtcd(ctx context.Context, cli *clientv3.Client, opts Options) (*Etcd, error) {
	if opts.TTL <= 0 {
		opts.TTL = DefaultTTL
	}
	opts.Shards = max(opts.Shards, 1)
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	e := &Etcd{cli: cli, opts: opts, keys: newKeys(opts.Cluster), done: make(chan struct{})}
	e.finCtx, e.finCancel = context.WithCancel(context.Background())
	e.views.kick = make(chan struct{}, 1)
	e.setJSON = opts.JobSet.encode()
	e.setSum = sumOf(e.setJSON)
	if err := e.checkJobSet(ctx); err != nil {
		return nil, err
	}
	t, err := e.openTerm(ctx, joinTimeout)
	if err != nil {
		return nil, err
	}
	e.first = t
	e.cancel = func() { t.sess.Orphan() }
	return e, nil
}

// Run implements Coordinator: it campaigns for every shard in the
// background, term after term, until Close.
func (e *Etcd) Run(l Listener) {
	e.lis = l
	lctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	go e.loop(lctx, e.first)
}

// openTerm grants a session lease (bounded by ctx), publishes the node's
// address and job set on it, and returns the new term.
func (e *Etcd) openTerm(ctx context.Context, timeout time.Duration) (*term, error) {
	gctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ttl := int64(max(1, e.opts.TTL/time.Second))
	lease, err := e.cli.Grant(gctx, ttl)
	if err != nil {
		return nil, fmt.Errorf("etcd: grant session lease: %w: %w", ErrUnavailable, err)
	}
	sess, err := concurrency.NewSession(e.cli, concurrency.WithLease(lease.ID), concurrency.WithTTL(int(ttl)))
	if err != nil {
		return nil, fmt.Errorf("etcd: session: %w: %w", ErrUnavailable, err)
	}
	list := e.keys.jobsetList(e.setSum)
	ops := e.publishOps(lease.ID) // jobset.go
	_, err = e.cli.Txn(gctx).If(clientv3.Compare(clientv3.CreateRevision(list), "=", 0)).
		Then(append(ops, clientv3.OpPut(list, e.setJSON))...).Else(ops...).Commit()
	if err != nil {
		sess.Orphan()
		return nil, fmt.Errorf("etcd: publish node: %w: %w", ErrUnavailable, err)
	}
	e.stale = nil // deleted: the lists are checked again at the next start only
	return &term{sess: sess, lead: make([]atomic.Pointer[leader], e.opts.Shards)}, nil
}

// loop runs terms one after the other until Close: in each, a campaign
// per shard; when the session ends, every leadership with it.
func (e *Etcd) loop(ctx context.Context, t *term) {
	defer close(e.done)
	backoff := 100 * time.Millisecond
	for {
		e.runTerm(ctx, t)
		if ctx.Err() != nil {
			return
		}
		for t = nil; t == nil; {
			var err error
			if t, err = e.openTerm(ctx, opTimeout); err != nil {
				e.opts.Log.Warn("cluster: no session", "err", err)
				select {
				case <-ctx.Done():
					return
				case <-time.After(backoff):
				}
				backoff = min(2*backoff, e.opts.TTL/2)
			}
		}
		backoff = 100 * time.Millisecond
	}
}

func (e *Etcd) runTerm(ctx context.Context, t *term) {
	e.cur.Store(t)
	e.lis.Session(true)
	tctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for k := range e.opts.Shards {
		// Not waited for: a campaign canceled while etcd is unreachable
		// resigns with the client's own context (concurrency package)
		// and returns only once etcd answers or the client is closed.
		go e.campaign(tctx, t, k)
	}
	wg.Go(func() { e.watchLost(tctx, t) })
	wg.Go(func() { e.watchStates(tctx) })
	wg.Go(func() { e.watchViews(tctx) })
	wg.Go(func() { e.writeViews(tctx, t) })
	wg.Go(func() { e.watchMissed(tctx, t) })
	select {
	case <-t.sess.Done():
		e.opts.Log.Warn("cluster: session ended: this node starts nothing until the next", "node", e.opts.Node)
	case <-ctx.Done():
	}
	e.cur.CompareAndSwap(t, nil)
	for k := range t.lead {
		t.lead[k].Store(nil)
	}
	cancel()
	wg.Wait()
	if ctx.Err() == nil {
		e.lis.Session(false)
	}
}

// campaign makes this node the leader of shard k for the term, then
// reaps the runs lost by earlier owners and has the shard's jobs catch
// up on the points missed while no node could start them (catch.go).
func (e *Etcd) campaign(ctx context.Context, t *term, k int) {
	el := concurrency.NewElection(t.sess, e.keys.shard(k))
	if err := el.Campaign(ctx, e.opts.Node); err != nil {
		if ctx.Err() == nil {
			e.opts.Log.Warn("cluster: campaign failed", "shard", k, "err", err)
			t.sess.Orphan() // let the loop start over with a new session
		}
		return
	}
	t.lead[k].Store(&leader{key: el.Key(), rev: el.Rev()})
	e.opts.Log.Info("cluster: leading shard", "shard", k, "node", e.opts.Node)
	e.tellOwned(k)
	e.reapAll(ctx, t, k)
	e.catchUpShard(ctx, k)
	<-ctx.Done()
	if e.cur.Load() == nil { // the session is gone: nothing to resign
		return
	}
}

// Owns implements Coordinator.
func (e *Etcd) Owns(j Job) error {
	t := e.cur.Load()
	switch {
	case t == nil:
		return fmt.Errorf("%s: no session: %w", j, ErrUnavailable)
	case t.lead[shardOf(j, e.opts.Shards)].Load() == nil:
		return fmt.Errorf("%s: %w", j, ErrNotOwner)
	}
	return nil
}

// Node implements Coordinator.
func (e *Etcd) Node() string { return e.opts.Node }

// Close revokes the session (so that the other nodes take over at once:
// its leader keys go with it) and stops the coordinator.
func (e *Etcd) Close() error {
	e.finMu.Lock()
	e.closed = true
	e.finMu.Unlock()
	fins := make(chan struct{})
	go func() { e.finishing.Wait(); close(fins) }()
	select {
	case <-fins:
	case <-time.After(opTimeout): // etcd away: the runs are reported lost
		e.finCancel()
		<-fins
	}
	e.finCancel()
	t := e.cur.Load()
	if e.lis == nil { // never ran
		t = e.first
	} else {
		e.cancel()
		<-e.done
	}
	if t == nil {
		return nil
	}
	if err := t.sess.Close(); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("etcd: close session: %w", err)
	}
	return nil
}

func (e *Etcd) jobState(j Job) *jobState {
	if v, ok := e.states.Load(j); ok {
		return v.(*jobState)
	}
	v, _ := e.states.LoadOrStore(j, &jobState{})
	return v.(*jobState)
}

// read refreshes js from etcd.
func (e *Etcd) read(ctx context.Context, j Job, js *jobState) error {
	r, err := e.cli.Get(ctx, e.keys.state(j))
	if err != nil {
		return fmt.Errorf("etcd: read state of %s: %w: %w", j, ErrUnavailable, err)
	}
	return js.set(r)
}

// set stores the state a range response holds (none: absent).
func (js *jobState) set(r *clientv3.GetResponse) error {
	if r == nil || len(r.Kvs) == 0 {
		js.st, js.rev, js.known = state{}, 0, true
		return nil
	}
	st, err := decodeState(r.Kvs[0].Value)
	if err != nil {
		return err
	}
	js.st, js.rev, js.known = st, r.Kvs[0].ModRevision, true
	return nil
}

// pointLease returns the lease of point keys, granting a new one when
// the current one is older than half its TTL.
func (e *Etcd) pointLease(ctx context.Context) (clientv3.LeaseID, error) {
	p := &e.points
	p.Lock()
	defer p.Unlock()
	if p.id != 0 && time.Since(p.granted) < pointTTL/2 {
		return p.id, nil
	}
	l, err := e.cli.Grant(ctx, int64(pointTTL/time.Second))
	if err != nil {
		return 0, fmt.Errorf("etcd: grant point lease: %w: %w", ErrUnavailable, err)
	}
	p.id, p.granted = l.ID, time.Now()
	return p.id, nil
}
