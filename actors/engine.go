package actors

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/karajo/karajo/actors/cluster"
	"github.com/karajo/karajo/config"
	"github.com/karajo/karajo/logstore"
	"github.com/karajo/karajo/logstore/history"
)

// Engine is the running actor system of one karajo server: the supervisor
// and a job actor per job. Its ID → actor tables are immutable maps behind
// an atomic pointer, replaced whole by Reload.
type Engine struct {
	system *actor.ActorSystem
	root   *actor.RootContext
	sup    *actor.PID
	tables atomic.Pointer[jobTables] // replaced whole by Reload
	log    *slog.Logger
	store  *logstore.Store // its queued delivery records are written before Shutdown returns

	groups          *groupSet
	sweeper         *sweeper
	cgroups         *cgroups
	dirs            *dirPrep
	hist            *history.Store // nil without a history (history.go)
	recorder        *actor.PID     // writes hist; nil without
	partitionPolicy string
	coord           cluster.Coordinator
	stopOnce        sync.Once
	stopErr         error
}

// startTimeout bounds how long Start waits for each job to load its state.
const startTimeout = time.Minute

// Options are the engine's settings beyond the configuration.
type Options struct {
	// ListenAddress is the bound address of the HTTP listener: the target
	// of JobHttps whose http_url is a path. An unspecified host means
	// this machine.
	ListenAddress string
	// Version is sent in the User-Agent of JobHttp requests.
	Version string
	// Metrics records the engine's metrics; nil records nothing.
	Metrics *Metrics
	// NoHistory leaves the run history off (benchmarks compare with it).
	NoHistory bool
	// Coordinator decides whether a run may start here; nil is
	// cluster.Local (a single host).
	Coordinator cluster.Coordinator
	// PartitionPolicy is [cluster] partition_policy: "kill" ends the runs
	// in progress when the node loses its session; "finish" lets them end.
	PartitionPolicy string
}

// Start spawns the supervisor, the notifier and one actor per job of env.
// Each job loads its state from store and arms its timer, so the HTTP
// listener must be bound before Start is called (IMP-5). Start returns once
// every job has loaded its state.
func Start(env *config.Env, store *logstore.Store, log *slog.Logger, opts Options) (*Engine, error) {
	if err := store.PrepareBase(); err != nil {
		return nil, fmt.Errorf("dir_base: %w", err)
	}
	// No run is in progress yet: payload files are what a crash left.
	if n, err := store.ClearPayloads(); err != nil {
		log.Warn("remove payload files left by a crash", "err", err)
	} else if n > 0 {
		log.Info("removed payload files left by a crash", "files", n)
	}
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return log.With("component", "actor")
	}))
	restarts := &restartCounts{}
	system.EventStream.Subscribe(func(evt any) {
		if e, ok := evt.(*actor.SupervisorEvent); ok {
			log.Error("actor failed", "actor", e.Child.Id, "reason", fmt.Sprint(e.Reason), "directive", e.Directive.String())
			if e.Directive == actor.RestartDirective {
				restarts.inc(e.Child.Id)
			}
		}
	})
	e := &Engine{system: system, root: system.Root, log: log, store: store}
	base, err := filepath.Abs(env.DirBase)
	if err != nil {
		return nil, fmt.Errorf("dir_base: %w", err)
	}
	history := e.startHistoryAsync(store, opts.NoHistory) // meanwhile: process groups, sweep, cgroups, census
	e.groups = newGroupSet(openGroups(store, log), log)
	e.sweeper = newSweeper(tokenPrefix(base), log)
	e.sweeper.subreaper = becomeSubreaper()
	if n := e.sweeper.sweepAll(); n > 0 {
		log.Warn("killed processes of runs that a crash left running", "count", n)
	}
	e.cgroups = setupCgroups(env.Cgroup, log)
	rt := runtime{blanks: new(atomic.Int64), selfURL: selfURL(opts.ListenAddress), version: opts.Version, groups: e.groups, metrics: opts.Metrics,
		grace: env.KillGrace, sweeper: e.sweeper, cgroups: e.cgroups, tokens: e.sweeper.prefix, restarts: restarts, coord: cmp.Or[cluster.Coordinator](opts.Coordinator, cluster.Local{})}
	e.partitionPolicy, e.coord = opts.PartitionPolicy, rt.coord
	// What the shared directories hold, listed once instead of a failed
	// open per job and file.
	census := map[logstore.Kind]*logstore.Census{
		logstore.KindJob:     store.TakeCensus(logstore.KindJob),
		logstore.KindJobHTTP: store.TakeCensus(logstore.KindJobHTTP),
	}
	opts.Metrics.reserveJobs(len(env.Jobs) + len(env.JobHTTPs))
	e.dirs = newDirPrep(env, store, log, census) // begins once the jobs have loaded
	rt.dirs = e.dirs
	rt.history = history()
	sup, err := e.root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return newSupervisor(env, store, log, rt, census) }), "supervisor")
	if err != nil {
		return nil, fmt.Errorf("spawn supervisor: %w", err)
	}
	e.sup = sup
	pids, err := Ask[*jobPIDs](e.root, sup, &listJobs{}, startTimeout)
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	e.tables.Store(&jobTables{jobs: pids.byID, httpJobs: pids.httpByID})
	// Wait until every job has loaded: each tells the supervisor its view
	// once its Started message is handled.
	if _, err := Ask[*awaitLoaded](e.root, sup, &awaitLoaded{}, startTimeout); err != nil {
		return nil, fmt.Errorf("load jobs: %w", err)
	}
	for _, c := range census {
		c.Close() // its start index: used by the loads only
	}
	if rt.history != nil {
		e.root.Send(rt.history, &histServing{}) // recorder.go: reconcile a little later
	}
	e.dirs.start(env)
	rt.coord.Run(clusterListener{e: e}) // clusterhook.go
	return e, nil
}

// each calls fn for every job actor from a few goroutines and returns the
// first error.
func (e *Engine) each(fn func(*actor.PID) error) error {
	pids := make(chan *actor.PID)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for pid := range pids {
				if err := fn(pid); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	t := e.tables.Load()
	for _, pid := range t.jobs {
		pids <- pid
	}
	for _, pid := range t.httpJobs {
		pids <- pid
	}
	close(pids)
	wg.Wait()
	return first
}

// PathKey is the form under which webhook paths are matched: lower-case,
// without surrounding slashes (SPEC 4.2).
func PathKey(p string) string {
	return strings.ToLower(strings.Trim(strings.TrimSpace(p), "/"))
}

// Root is the context used to send requests to the engine's actors.
func (e *Engine) Root() *actor.RootContext { return e.root }

// Supervisor is the PID of the supervisor (GetJobs).
func (e *Engine) Supervisor() *actor.PID { return e.sup }

// Job returns the actor of the exec job with this exact ID.
func (e *Engine) Job(id string) (*actor.PID, bool) {
	pid, ok := e.tables.Load().jobs[id]
	return pid, ok
}

// JobHTTP returns the actor of the JobHttp with this exact ID.
func (e *Engine) JobHTTP(id string) (*actor.PID, bool) {
	pid, ok := e.tables.Load().httpJobs[id]
	return pid, ok
}

// selfURL is the base URL of this server seen from itself.
func selfURL(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "http://" + listen
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// jobTables maps job IDs to their actors; never changed once published.
type jobTables struct {
	jobs     map[string]*actor.PID // exec jobs
	httpJobs map[string]*actor.PID // JobHttps
}

// Changes lists what a Reload did, by kind and job ID.
type Changes struct {
	Added, Removed, Changed []string // "job:<id>" or "job_http:<id>"
}

// Reload applies a new, already validated configuration: added jobs start,
// removed jobs stop once their run in progress (if any) has ended, changed
// jobs keep their counter, status and logs and use the new settings from
// their next run on; max_job_running and the notifs follow the new config.
// dir_base and listen_address cannot change without a restart: the caller
// keeps the old values.
func (e *Engine) Reload(env *config.Env) (Changes, error) {
	r, err := Ask[*reloaded](e.root, e.sup, &reload{env: env}, startTimeout)
	if err != nil {
		return Changes{}, fmt.Errorf("reload: %w", err)
	}
	e.tables.Store(&jobTables{jobs: r.byID, httpJobs: r.httpByID})
	e.dirs.start(env) // existing directories cost a stat each
	return r.changes, nil
}

// Kill sends SIGKILL to the process groups of every command running now,
// for an emergency stop that cannot wait for Shutdown. The runs are not
// recorded: the next start finalises them as interrupted.
func (e *Engine) Kill() int {
	return e.groups.killAll() + e.cgroups.killAll() + e.sweeper.sweepAll()
}

// Shutdown stops the engine: no more slots are granted, timers stop,
// waiting triggers are dropped, and every run in progress is canceled
// (its process group killed) and recorded as canceled. It returns when all
// jobs have stopped or ctx is done.
func (e *Engine) Shutdown(ctx context.Context) error {
	e.stopOnce.Do(func() { e.stopErr = e.shutdown(ctx) })
	return e.stopErr
}

func (e *Engine) shutdown(ctx context.Context) error {
	e.dirs.close()
	deadline, ok := ctx.Deadline()
	timeout := time.Until(deadline)
	if !ok || timeout <= 0 {
		timeout = 15 * time.Second
		deadline = time.Now().Add(timeout)
	}
	if _, err := Ask[*stopGranting](e.root, e.sup, &stopGranting{}, timeout); err != nil {
		return fmt.Errorf("stop supervisor: %w", err)
	}
	err := e.each(func(pid *actor.PID) error {
		_, err := Ask[*jobStopped](e.root, pid, &stopJob{}, time.Until(deadline))
		return err
	})
	e.stopHistory(time.Until(deadline))
	if err == nil { // every job stopped: its logs are final
		e.writeStartIndex(deadline) // startindex.go
	}
	e.system.Shutdown()
	e.store.WaitRecords() // the delivery records the jobs queued
	e.sweeper.flush()
	if err != nil {
		return fmt.Errorf("stop jobs: %w", err)
	}
	if e.groups.table != nil {
		if err := e.groups.table.Close(); err != nil {
			e.log.Warn("close process-group table", "err", err)
		}
	}
	return nil
}

// openGroups opens the store's process-group table and kills the groups
// a crash of the previous server left running. Without a table (it cannot
// be written) the server runs on and logs why: only a later crash would
// leave groups behind unkilled.
func openGroups(store *logstore.Store, log *slog.Logger) *logstore.GroupTable {
	table, left, err := store.OpenGroups()
	for _, g := range left {
		if killLeftover(g) {
			log.Warn("killed a process group a crash left running", "pgid", g.PGID)
		}
	}
	if err != nil {
		log.Error("process-group table", "err", err)
		return nil
	}
	return table
}
