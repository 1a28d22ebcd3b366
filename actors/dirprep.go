package actors

import (
	"log/slog"
	"sync"
	"time"

	"github.com/karajo/karajo/config"
	"github.com/karajo/karajo/logstore"
)

// dirPrep creates the jobs' work and log directories (SPEC 3.1) in the
// background, after the jobs have loaded and the API answers. With 100,000
// jobs a fresh dir_base needs 200,000 mkdir calls, seconds of work that the
// file system serialises per parent directory; a start need not wait for
// them. A job never depends on it: its actor prepares its own directories
// before its first run (logstore.Store.Prepare is idempotent and safe
// against a concurrent call).
type dirPrep struct {
	store *logstore.Store
	log   *slog.Logger

	mu     sync.Mutex
	stop   chan struct{} // closed by close
	closed bool
	wg     sync.WaitGroup
}

func newDirPrep(store *logstore.Store, log *slog.Logger) *dirPrep {
	return &dirPrep{store: store, log: log, stop: make(chan struct{})}
}

// start prepares the directories of every job of env in a goroutine.
func (p *dirPrep) start(env *config.Env) {
	type ref struct {
		kind logstore.Kind
		id   string
	}
	refs := make([]ref, 0, len(env.Jobs)+len(env.JobHTTPs))
	for _, j := range env.Jobs {
		refs = append(refs, ref{logstore.KindJob, j.ID})
	}
	for _, j := range env.JobHTTPs {
		refs = append(refs, ref{logstore.KindJobHTTP, j.ID})
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		start := time.Now()
		for _, r := range refs {
			select {
			case <-p.stop:
				return
			default:
			}
			if err := p.store.Prepare(r.kind, r.id); err != nil {
				p.log.Warn("prepare job directories", string(r.kind), r.id, "err", err)
			}
		}
		p.log.Info("job directories ready", "jobs", len(refs), "took", time.Since(start).Round(time.Millisecond))
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
