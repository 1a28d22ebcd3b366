package actors

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/karajo/karajo/config"
	"github.com/karajo/karajo/logstore"
)

// Run statuses, as they appear in log file names and job views.
const (
	StatusStarted  = "started"
	StatusRunning  = "running"
	StatusSuccess  = "success"
	StatusFailed   = "failed"
	StatusCanceled = "canceled"
	StatusPaused   = "paused"
)

// startHook, when set, is called right before each command is started:
// benchmarks use it to time the engine's path from a trigger to the fork.
// It is set only while no engine runs.
var startHook func()

// killGrace is how long a canceled command's process group has between
// SIGTERM and SIGKILL; drainGrace how long output is still read after the
// group was killed (a process that escaped the group may hold the pipe).
var (
	killGrace  = 2 * time.Second
	drainGrace = time.Second
)

// execRun is the work of one execution of an exec job (run by a runChild):
// the commands, each as shell + [command] (default "/bin/sh -c") in its own
// process group, with their output streamed to the run's log. Canceling
// kills the process group.
type execRun struct {
	id       string
	counter  int64
	commands []string
	shell    []string // program and arguments before the command
	env      []string // the whole environment of the commands (environ)
	begin    string   // the log's first line (duePoint.beginLine); "" = "=== BEGIN"
	workDir  string
	rl       *logstore.Guard // the run's log: capped, write errors kept (runstart.go)
	log      *slog.Logger
	store    *logstore.Store
	groups   *groupSet

	trigger string        // KARAJO_RUN_TRIGGER: timer, webhook or api
	token   string        // KARAJO_RUN_TOKEN: marks the run's processes (kill.go)
	timeout time.Duration // of each attempt; 0 = none
	grace   time.Duration // SIGTERM to SIGKILL
	retry   retryPolicy
	metrics *Metrics
	sweeper *sweeper // kills the processes that carry token; may be nil
	cgroups *cgroups // a cgroup per command; nil = none

	cfg         *config.Job // pass_payload and payload_env
	payload     *Payload    // of the webhook that triggered the run; nil for other runs
	payloadFile string      // written for pass_payload "file" or "stdin"; "" = none
	exited      func()      // called once the commands ended and the log is sealed; may be nil (pipeline.go)

	pgidHolder           // process group of the command running now (enginestate.go)
	firstPID   int       // of the run's first command: its processes have PIDs from it on (kill.go)
	attempt    int       // of the attempt in progress or the last one, 1-based; before the first, the attempts a lost node made
	note       string    // a line after the first one: why a re-run (clusterhook.go)
	lastErr    error     // why the last attempt failed
	begun      time.Time // start of the first attempt
	failedCmd  int       // 1 + index of the command that failed the last attempt; 0 = none
}

// entrySyncDelay is how long a run goes before its log's directory entry
// is fsynced. Shorter runs pay no fsync for it: the store's group commit
// flushes the final name after the rename anyway, and a run that was never
// durable leaves nothing behind to conflict with after a crash of the
// machine.
var entrySyncDelay = 500 * time.Millisecond

// runChild is the child actor of one run of either kind: it does the
// run's work in a goroutine (never in Receive), sends the result to its
// parent, and cancels the work on cancelRun.
//
// It also makes the run's log entry durable without delaying anyone: the
// directory entry of the in-progress log is fsynced once the run has gone
// on for entrySyncDelay. The parent is told twice (pipeline.go): that the
// commands ended once the log is sealed (runExited, sent by the work), and
// that the run finished after the log's content is durable (runFinished;
// the store's group commit shares one flush among the runs that finish
// together, and flushes their final names right after).
//
// The logs that log_retention drops when the run starts (obsolete) are
// deleted while the work starts, and are gone before the parent is told.
type runChild struct {
	work     func(context.Context) *runFinished
	rl       *logstore.RunLog
	log      *slog.Logger
	obsolete []string // log file names to delete
	store    *logstore.Store
	kind     logstore.Kind
	id       string
	cancel   context.CancelFunc // of the attempt in progress

	// abandon ends a run that waits for its next attempt (exec runs with
	// retries only): it finishes the log as the run stood.
	abandon func(why string) *runFinished
}

// Receive implements actor.Actor.
func (r *runChild) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		r.startAttempt(ctx, true)
	case *nextAttempt:
		r.startAttempt(ctx, false)
	case *cancelRun:
		if r.cancel != nil {
			r.cancel()
		}
	case *endRun:
		// A run waiting for its next attempt ends as it stood.
		root, parent, why := ctx.ActorSystem().Root, ctx.Parent(), msg.why
		go func() {
			root.Send(parent, r.abandon(why)) // its Finish flushed the log
		}()
	case actor.AutoReceiveMessage, actor.SystemMessage:
	}
}

// startAttempt runs the work (one attempt of the run) in a goroutine; the
// first one also deletes the logs that retention dropped.
func (r *runChild) startAttempt(ctx actor.Context, first bool) {
	c, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	root, parent := ctx.ActorSystem().Root, ctx.Parent()
	go func() {
		var pruned chan struct{}
		if first && len(r.obsolete) > 0 {
			pruned = make(chan struct{})
			go func() {
				defer close(pruned)
				r.prune()
			}()
		}
		entry := time.AfterFunc(entrySyncDelay, r.syncDir)
		fin := r.work(c)
		entry.Stop()
		cancel()
		if pruned != nil {
			<-pruned
		}
		root.Send(parent, fin)
		if fin.retryIn > 0 {
			// The run goes on after a gap: its entry (and counter) must
			// not wait for the end. A finished log's final name is
			// flushed by the store's group commit.
			r.syncDir()
		}
	}()
}

// prune deletes the log files that retention dropped; failures are logged.
func (r *runChild) prune() {
	for _, name := range r.obsolete {
		if err := r.store.Remove(r.kind, r.id, name); err != nil {
			r.log.Error("remove old log", string(r.kind), r.id, "log", name, "err", err)
		}
	}
}

// syncDir fsyncs the run log's directory; a failure is logged.
func (r *runChild) syncDir() {
	if err := r.rl.SyncDir(); err != nil {
		r.log.Warn("sync run log", "log", r.rl.Name(), "err", err)
	}
}

// line writes one of karajo's lines; a write error is kept by the Guard
// (and reported once by it).
func (r *execRun) line(msg string) { _ = r.rl.Line(msg) }

// runCommand runs one command in its own process group with its output
// streamed to the log. It returns when the shell has exited and its output
// is drained, or promptly after ctx is canceled (the group is killed).
func (r *execRun) runCommand(ctx context.Context, command string) error {
	pr, pw, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("output pipe: %w", err)
	}
	defer pr.Close()
	cmd := exec.Command(r.shell[0], append(r.shell[1:len(r.shell):len(r.shell)], command)...)
	cmd.Dir = r.workDir
	cmd.Env = r.attemptEnv()
	cmd.Stdout, cmd.Stderr = pw, pw
	stdin, err := r.payloadStdin()
	if err != nil {
		pw.Close()
		return err
	}
	if stdin != nil {
		cmd.Stdin = stdin
		defer stdin.Close()
	}
	// Its own process group, so that cancel reaches every process; and
	// SIGKILL to the shell should this server die without a chance to
	// cancel (the group is then killed at the next start).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: credential(r.cfg)}
	// And its own cgroup, where there is one: no process leaves it.
	cg := r.cgroups.create(r.id, r.counter)
	defer cg.close() // after the kills below: whatever is left dies
	cg.attr(cmd.SysProcAttr)
	if cg != nil {
		r.cgroup.Store(&cg.path)
		defer r.cgroup.Store(nil)
	}
	r.rl.Release() // the lines held since the run began (execute), before the command can write
	if startHook != nil {
		startHook()
	}
	lo := bootTicks(false)
	err = startCommand(cmd)
	hi := bootTicks(true)
	pw.Close() // the children hold their own copies
	if err != nil {
		return err
	}
	pgid := cmd.Process.Pid
	r.groups.add(pgid, lo, hi)
	defer r.groups.remove(pgid)
	r.pgid.Store(int64(pgid))
	if r.firstPID == 0 {
		r.firstPID = pgid
	}
	defer r.pgid.Store(0)

	copied := make(chan struct{})
	go func() {
		defer close(copied)
		r.copyOutput(pr)
	}()
	waited := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		forgetChild(pgid) // reaped by os/exec (reaper.go)
		waited <- err
	}()

	select {
	case err = <-waited:
		// The shell is gone; its background children may still write.
		select {
		case <-copied:
			return err
		case <-ctx.Done():
		}
	case <-ctx.Done():
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		cg.signal(syscall.SIGTERM)
		select {
		case err = <-waited:
		case <-time.After(r.grace):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			cg.kill()
			err = <-waited
		}
	}
	// Canceled: no process of the group may survive, and a process that
	// escaped it must not keep the run alive through the pipe.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	cg.kill()
	_ = pr.SetReadDeadline(time.Now().Add(drainGrace))
	<-copied
	return err
}

// copyPool recycles the buffers of copyOutput (32 KiB per command).
var copyPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// copyOutput streams the pipe into the run log until EOF or the read
// deadline, with one fixed buffer.
func (r *execRun) copyOutput(pr *os.File) {
	bp := copyPool.Get().(*[]byte)
	defer copyPool.Put(bp)
	buf := *bp
	for {
		n, err := pr.Read(buf)
		if n > 0 {
			_, _ = r.rl.Write(buf[:n]) // never fails: the Guard keeps the error
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, os.ErrDeadlineExceeded) {
				r.log.Warn("read command output", "job", r.id, "counter", r.counter, "err", err)
			}
			return
		}
	}
}
