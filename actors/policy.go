package actors

import (
	"math"
	"time"

	"github.com/karajo/karajo/config"
)

// This file holds the decisions of run control as pure types: what
// happens to a trigger or a tick that arrives now (overlapPolicy), and
// what happens after an attempt ended (retryPolicy). The job actor keeps
// the state and performs the effects; these only decide.

// arrival is what asks a job for a run.
type arrival int

const (
	byTrigger arrival = iota // a webhook, run_now or session Run
	byTick                   // the job's timer
)

// jobPhase is where a job stands when a trigger or tick arrives.
type jobPhase int

const (
	phaseIdle         jobPhase = iota // no run
	phaseWaiting                      // a run waits for a global slot
	phaseRunning                      // an attempt of a run executes
	phaseRetryPending                 // a run waits for its next attempt
)

// overlapAction is what a job does with a trigger or tick.
type overlapAction int

const (
	actStart    overlapAction = iota // ask for a slot and run
	actQueue                         // keep it waiting behind the run in progress
	actRefuse                        // refuse a trigger as busy (429); the queue of one is full
	actSkip                          // refuse a trigger (429) or drop a tick: overlap = "skip"; counted
	actDrop                          // drop a tick: one tick already waits
	actReplace                       // end the run in progress (cancel it) and queue this one
	actCoalesce                      // the run waiting for a slot serves it: nothing to add
)

// overlapPolicy decides a job's overlap = "queue", "skip", "replace" or
// "parallel".
type overlapPolicy struct {
	overlap     string
	maxParallel int // runs at once under "parallel" (max_parallel)
}

// newOverlapPolicy returns the overlap policy of rc.
func newOverlapPolicy(rc config.RunControl) overlapPolicy {
	return overlapPolicy{overlap: rc.Overlap, maxParallel: rc.MaxParallel}
}

// decide returns what to do with an arrival a while the job is in phase
// ph with runs runs in flight (waiting for a slot, running or waiting for
// a retry); queued tells whether one of the same kind already waits
// behind the runs. Only "parallel" counts runs; the others look at ph.
func (p overlapPolicy) decide(a arrival, ph jobPhase, runs int, queued bool) overlapAction {
	if p.overlap == config.OverlapParallel {
		return p.parallel(a, runs, queued)
	}
	if ph == phaseIdle {
		return actStart
	}
	switch p.overlap {
	case config.OverlapSkip:
		return actSkip
	case config.OverlapReplace:
		switch {
		case ph == phaseWaiting && a == byTrigger:
			return actCoalesce
		case ph == phaseWaiting || queued:
			return p.full(a)
		}
		return actReplace
	}
	if queued {
		return p.full(a)
	}
	return actQueue
}

// parallel decides overlap = "parallel": below max_parallel runs in
// flight another starts; at the bound it is "queue" (one waits, more are
// refused or dropped).
func (p overlapPolicy) parallel(a arrival, runs int, queued bool) overlapAction {
	switch {
	case runs < max(p.maxParallel, 1):
		return actStart
	case queued:
		return p.full(a)
	}
	return actQueue
}

// full is the answer to an arrival whose queue of one is taken.
func (overlapPolicy) full(a arrival) overlapAction {
	if a == byTrigger {
		return actRefuse
	}
	return actDrop
}

// attemptOutcome is how one attempt of a run ended.
type attemptOutcome int

const (
	outcomeSuccess  attemptOutcome = iota // every command exited 0
	outcomeFailed                         // a command failed or could not start
	outcomeTimeout                        // the attempt's timeout killed it
	outcomeCanceled                       // cancel, pause, replace or shutdown ended it
)

// retryPolicy decides whether a run gets another attempt and when.
type retryPolicy struct {
	retries   int
	delay     time.Duration
	backoff   float64
	maxDelay  time.Duration
	jitter    float64
	onFailed  bool
	onTimeout bool
}

// newRetryPolicy returns the retry policy of rc.
func newRetryPolicy(rc config.RunControl) retryPolicy {
	return retryPolicy{retries: rc.Retries, delay: rc.RetryDelay, backoff: rc.RetryBackoff, maxDelay: rc.RetryMaxDelay,
		jitter: rc.RetryJitter, onFailed: rc.RetryOnFailed, onTimeout: rc.RetryOnTimeout}
}

// attempts is the number of attempts a run may have.
func (p retryPolicy) attempts() int { return p.retries + 1 }

// next decides after attempt (1-based) ended with o: whether another
// attempt follows, and after how long. rnd, in [0, 1), picks the jitter.
func (p retryPolicy) next(attempt int, o attemptOutcome, rnd float64) (bool, time.Duration) {
	if attempt > p.retries {
		return false, 0
	}
	switch {
	case o == outcomeFailed && p.onFailed, o == outcomeTimeout && p.onTimeout:
		return true, p.wait(attempt, rnd)
	}
	return false, 0
}

// wait returns the wait after attempt (1-based): delay × backoff^(attempt-1),
// moved by up to ±jitter of itself, never over maxDelay nor under zero.
func (p retryPolicy) wait(attempt int, rnd float64) time.Duration {
	d := float64(p.delay) * math.Pow(p.backoff, float64(attempt-1))
	d = min(d, float64(p.maxDelay))
	d *= 1 + p.jitter*(2*rnd-1)
	return time.Duration(max(min(d, float64(p.maxDelay)), 0))
}
