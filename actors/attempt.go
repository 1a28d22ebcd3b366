package actors

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/karajo/karajo/config"
	"github.com/karajo/karajo/logstore"
)

// errTimedOut is the cause of an attempt's context when its timeout passed.
var errTimedOut = errors.New("timed out")

// errHalted ends a run whose commands an emergency stop killed.
var errHalted = errors.New("interrupted: karajo exits at once")

// execute runs one attempt of the run: the commands in order, stopping at
// the first failure, within the job's timeout. When the retry policy
// gives the run another attempt it returns a runFinished with retryIn set
// and the log left open; otherwise it finishes the log and returns what
// the parent needs to record the run.
func (r *execRun) execute(ctx context.Context) *runFinished {
	r.attempt++
	if r.begun.IsZero() { // the run's first attempt (a re-run begins later than 1)
		r.begun = time.Now()
		r.rl.Hold() // the first lines reach the file in one write, before the fork (runCommand)
		r.line(cmp.Or(r.begin, beginPrefix))
		if r.note != "" {
			r.line(r.note)
		}
		if err := r.prepareUser(); err != nil {
			return r.finish(outcomeFailed, err)
		}
		if err := r.preparePayload(); err != nil {
			return r.finish(outcomeFailed, err)
		}
	}
	if n := r.retry.attempts(); n > 1 {
		r.line("")
		r.line(fmt.Sprintf("=== ATTEMPT %d/%d", r.attempt, n))
	}
	o, err := r.runAttempt(ctx)
	r.metrics.attemptEnded(r.id, o)
	if again, wait := r.retry.next(r.attempt, o, rand.Float64()); again {
		r.lastErr = err
		r.line(fmt.Sprintf("!!! job: %s: attempt %d/%d: %v; next attempt in %v", r.id, r.attempt, r.retry.attempts(), err, wait.Round(time.Millisecond)))
		r.sweep()
		return &runFinished{counter: r.counter, attempt: r.attempt, again: true, retryIn: wait, err: err,
			status: StatusFailed, timedOut: o == outcomeTimeout, exitCode: exitCodeOf(err), failedCmd: r.failedCmd} // for the attempt's history record
	}
	return r.finish(o, err)
}

// runAttempt runs the commands of one attempt and tells how it ended.
func (r *execRun) runAttempt(ctx context.Context) (attemptOutcome, error) {
	actx := ctx
	if r.timeout > 0 {
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeoutCause(ctx, r.timeout, errTimedOut)
		defer cancel()
	}
	var err error
	r.failedCmd = 0
	for i, command := range r.commands {
		if actx.Err() != nil {
			break
		}
		r.line("")
		r.line(fmt.Sprintf("--- Execute %2d: %s", i, command))
		err = r.runCommand(actx, command)
		r.rl.Release() // no-op unless runCommand failed before its fork
		if err != nil && actx.Err() == nil {
			r.failedCmd = i + 1
			return outcomeFailed, err
		}
	}
	switch {
	case ctx.Err() != nil:
		return outcomeCanceled, nil
	case actx.Err() != nil && errors.Is(context.Cause(actx), errTimedOut):
		return outcomeTimeout, fmt.Errorf("timed out after %v, killed", r.timeout)
	}
	return outcomeSuccess, nil
}

// finish writes the last lines of the run for outcome o, finishes its log
// and returns the run's result.
func (r *execRun) finish(o attemptOutcome, err error) *runFinished {
	if r.groups != nil && r.groups.halted.Load() {
		// An emergency stop killed the commands and karajo exits now: the
		// log is left unnamed, and the next start records the run as
		// interrupted instead of as anything this run could claim.
		return &runFinished{counter: r.counter, status: StatusFailed, attempt: r.attempt, err: errHalted}
	}
	fin := &runFinished{counter: r.counter, status: StatusSuccess, attempt: r.attempt, timedOut: o == outcomeTimeout}
	if fin.logErr = logFailure(r.rl); fin.logErr != nil && o == outcomeSuccess {
		o, err = outcomeFailed, fin.logErr
	}
	switch o {
	case outcomeSuccess:
		r.line("=== DONE")
		r.line("=== job: " + r.id + ": finished.")
	case outcomeFailed, outcomeTimeout:
		fin.status, fin.err = StatusFailed, err
		fin.exitCode, fin.failedCmd = exitCodeOf(err), r.failedCmd
		r.line("!!! job: " + r.id + ": " + err.Error())
	case outcomeCanceled:
		fin.status = StatusCanceled
		r.line("??? CANCELED")
	}
	r.sweep()
	r.removePayload()
	fin.dur = time.Since(r.begun)
	ref, err := finishLog(r.rl, fin.status, r.exited)
	if err != nil {
		r.log.Error("finish run log", "job", r.id, "counter", r.counter, "err", err)
	}
	fin.ref = ref
	return fin
}

// finishLog seals the run's log with status, calls exited (when not nil:
// the job may start its next run now, pipeline.go) and returns when the
// log is durable and final.
func finishLog(g *logstore.Guard, status string, exited func()) (logstore.LogRef, error) {
	sealed, err := g.Seal(status)
	if err != nil {
		return logstore.LogRef{}, err
	}
	if exited != nil {
		exited()
	}
	return sealed.Wait()
}

// abandon ends a run that waits for its next attempt (pause, cancel,
// replace or shutdown): it is recorded as it stood, failed.
func (r *execRun) abandon(why string) *runFinished {
	r.line("??? job: " + r.id + ": no further attempt: " + why)
	err := r.lastErr
	if err == nil {
		err = errors.New("no further attempt: " + why)
	}
	return r.finish(outcomeFailed, err)
}

// sweep asks for the processes that carry the run's token to be killed:
// those that left the process group (setsid, double fork).
func (r *execRun) sweep() {
	if r.sweeper != nil && r.token != "" {
		r.sweeper.kill(attemptToken(r.token, r.attempt), r.firstPID)
	}
}

// runVars returns the run control variables of a run's environment,
// for runFacts.extra: the first attempt's number and token (attemptEnv
// changes them) and the trigger.
func runVars(trigger, token string) []config.Var {
	return []config.Var{
		{Name: attemptVar, Value: "1"},
		{Name: config.VarRunTrigger, Value: trigger},
		{Name: tokenVar, Value: attemptToken(token, 1)},
	}
}

// attemptToken is the token of one attempt of the run with token: each
// attempt has its own, so that the sweep after an attempt never reaches
// the next one's processes.
func attemptToken(token string, attempt int) string {
	return token + "." + strconv.Itoa(attempt)
}

// attemptVar holds the number of the attempt, 1-based.
const attemptVar = "KARAJO_RUN_ATTEMPT"

// attemptEnv returns the environment of the commands of the attempt in
// progress: env, with KARAJO_RUN_ATTEMPT set to its number.
func (r *execRun) attemptEnv() []string {
	if r.attempt <= 1 {
		return r.env
	}
	env := slices.Clone(r.env)
	for i, kv := range env {
		switch {
		case strings.HasPrefix(kv, attemptVar+"="):
			env[i] = attemptVar + "=" + strconv.Itoa(r.attempt)
		case strings.HasPrefix(kv, tokenVar+"="):
			env[i] = tokenVar + "=" + attemptToken(r.token, r.attempt)
		}
	}
	return env
}
