package actors

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/karajo/karajo/config"
	"github.com/karajo/karajo/logstore"
)

// dirPrep creates the jobs' work and log directories (SPEC 3.1) in the
// background, after the jobs have loaded and the API answers. With 100,000
// jobs a fresh dir_base needs 200,000 mkdir calls, seconds of work that the
// file system serialises per parent directory; a start need not wait for
// them. The jobs due at start (interval jobs that never ran here: no log
// directory in the census) go first, in the configuration's order (the
// order the jobs are spawned, and mostly the order their runs are
// admitted), so that most of their first runs find their directories made
// and do no mkdir while they hold a run slot; every other job follows (an
// existing directory costs a stat).
//
// A job never waits for the pass: when its directories are not made yet
// at its first run, its actor makes them itself (logstore.Store.Prepare
// is idempotent and safe against a concurrent call), and a failure is
// that run's error.
type dirPrep struct {
	store *logstore.Store
	log   *slog.Logger

	// due lists the jobs due at start; dueAt indexes it and made[i] is
	// set once due[i]'s directories exist. due and dueAt are never
	// changed after newDirPrep.
	due   []dirRef
	dueAt map[dirRef]int
	made  []atomic.Bool

	mu     sync.Mutex
	stop   chan struct{} // closed by close
	closed bool
	begun  bool // the first start has run
	wg     sync.WaitGroup
}

// dirPassGate, when a test sets it, holds the pass at start after the jobs
// due at start until it is closed; nil (always, outside tests) holds
// nothing.
var dirPassGate chan struct{}

// dirRef names one job's directories.
type dirRef struct {
	kind logstore.Kind
	id   string
}

// newDirPrep returns the pass for env, with the jobs census says are due
// at start first.
func newDirPrep(env *config.Env, store *logstore.Store, log *slog.Logger, census map[logstore.Kind]*logstore.Census) *dirPrep {
	p := &dirPrep{store: store, log: log, stop: make(chan struct{}), dueAt: map[dirRef]int{}}
	for _, j := range env.Jobs {
		if dueAtStart(j.Interval, j.ID, census[logstore.KindJob]) {
			p.addDue(dirRef{logstore.KindJob, j.ID})
		}
	}
	for _, j := range env.JobHTTPs {
		if dueAtStart(j.Interval, j.ID, census[logstore.KindJobHTTP]) {
			p.addDue(dirRef{logstore.KindJobHTTP, j.ID})
		}
	}
	p.made = make([]atomic.Bool, len(p.due))
	return p
}

// dueAtStart reports whether a job runs as soon as it has loaded: an
// interval job without a log directory has never run here (SPEC 8.2).
func dueAtStart(interval time.Duration, id string, c *logstore.Census) bool {
	return interval > 0 && c != nil && !c.HasLogs(id)
}

func (p *dirPrep) addDue(r dirRef) {
	p.dueAt[r] = len(p.due)
	p.due = append(p.due, r)
}

// first makes the directories of the jobs due at start, then those of
// rest.
func (p *dirPrep) first(rest []dirRef) {
	t0 := time.Now()
	for i, r := range p.due {
		if p.stopped() {
			return
		}
		p.made[i].Store(p.prepare(r))
	}
	if len(p.due) > 0 {
		p.log.Info("directories of the jobs due at start ready", "jobs", len(p.due), "took", time.Since(t0).Round(time.Millisecond))
	}
	if g := dirPassGate; g != nil {
		select {
		case <-g:
		case <-p.stop:
			return
		}
	}
	p.pass(rest, len(p.due), t0)
}

// prepare makes r's directories; a failure is logged (the job's own
// attempt at its first run reports it as that run's error).
func (p *dirPrep) prepare(r dirRef) bool {
	if err := p.store.Prepare(r.kind, r.id); err != nil {
		p.log.Warn("prepare job directories", string(r.kind), r.id, "err", err)
		return false
	}
	return true
}

func (p *dirPrep) stopped() bool {
	select {
	case <-p.stop:
		return true
	default:
		return false
	}
}

// pass makes the directories of refs and logs when it is over, counting
// the already made jobs and the time since t0.
func (p *dirPrep) pass(refs []dirRef, made int, t0 time.Time) {
	for _, r := range refs {
		if p.stopped() {
			return
		}
		p.prepare(r)
	}
	p.log.Info("job directories ready", "jobs", made+len(refs), "took", time.Since(t0).Round(time.Millisecond))
}

// done reports whether the pass has made the directories of the job.
// Only jobs due at start are tracked; for the others it is false.
func (p *dirPrep) done(kind logstore.Kind, id string) bool {
	if p == nil {
		return false
	}
	i, ok := p.dueAt[dirRef{kind, id}]
	return ok && p.made[i].Load()
}

// start prepares the directories of every job of env in a goroutine:
// when the engine has started, those due at start first; after a reload,
// all in the order of env.
func (p *dirPrep) start(env *config.Env) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	first := !p.begun
	p.begun = true
	refs := make([]dirRef, 0, len(env.Jobs)+len(env.JobHTTPs))
	add := func(r dirRef) {
		if _, due := p.dueAt[r]; !first || !due {
			refs = append(refs, r)
		}
	}
	for _, j := range env.Jobs {
		add(dirRef{logstore.KindJob, j.ID})
	}
	for _, j := range env.JobHTTPs {
		add(dirRef{logstore.KindJobHTTP, j.ID})
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		if first {
			p.first(refs)
		} else {
			p.pass(refs, 0, time.Now())
		}
	}()
}

// close stops the preparation and waits until no directory is being made.
func (p *dirPrep) close() {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.stop)
	}
	p.mu.Unlock()
	p.wg.Wait()
}
