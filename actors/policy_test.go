package actors

import (
	"fmt"
	"testing"
	"time"

	"github.com/karajo/karajo/config"
)

// TestOverlapDecide is the whole table: every policy × trigger or tick ×
// phase × whether one of the same kind already waits.
func TestOverlapDecide(t *testing.T) {
	type row struct {
		a      arrival
		ph     jobPhase
		queued bool
	}
	all := func(act overlapAction) map[row]overlapAction {
		m := map[row]overlapAction{}
		for _, a := range []arrival{byTrigger, byTick} {
			for _, ph := range []jobPhase{phaseIdle, phaseWaiting, phaseRunning, phaseRetryPending} {
				for _, q := range []bool{false, true} {
					m[row{a, ph, q}] = act
					if ph == phaseIdle {
						m[row{a, ph, q}] = actStart
					}
				}
			}
		}
		return m
	}
	queue := all(actQueue)
	for _, ph := range []jobPhase{phaseWaiting, phaseRunning, phaseRetryPending} {
		queue[row{byTrigger, ph, true}] = actRefuse
		queue[row{byTick, ph, true}] = actDrop
	}
	skip := all(actSkip)
	replace := all(actReplace)
	replace[row{byTrigger, phaseWaiting, false}] = actCoalesce
	replace[row{byTrigger, phaseWaiting, true}] = actCoalesce
	replace[row{byTick, phaseWaiting, false}] = actDrop
	replace[row{byTick, phaseWaiting, true}] = actDrop
	for _, ph := range []jobPhase{phaseRunning, phaseRetryPending} {
		replace[row{byTrigger, ph, true}] = actRefuse
		replace[row{byTick, ph, true}] = actDrop
	}
	for policy, want := range map[string]map[row]overlapAction{
		config.OverlapQueue: queue, config.OverlapSkip: skip, config.OverlapReplace: replace,
	} {
		if len(want) != 16 {
			t.Fatalf("%s: table has %d rows, want 16", policy, len(want))
		}
		for r, act := range want {
			if got := (overlapPolicy{overlap: policy, maxParallel: 3}).decide(r.a, r.ph, runsIn(r.ph), r.queued); got != act {
				t.Errorf("%s: decide(arrival %d, phase %d, queued %v) = %d, want %d", policy, r.a, r.ph, r.queued, got, act)
			}
		}
	}
}

// runsIn is the number of runs in flight of a one-run job in phase ph.
func runsIn(ph jobPhase) int {
	if ph == phaseIdle {
		return 0
	}
	return 1
}

// TestOverlapParallel is the table of overlap = "parallel": below
// max_parallel runs in flight (whatever their phase) another starts; at
// the bound it is "queue": one trigger and one tick wait, more are
// refused (429) or dropped.
func TestOverlapParallel(t *testing.T) {
	tests := []struct {
		max    int
		a      arrival
		ph     jobPhase
		runs   int
		queued bool
		want   overlapAction
	}{
		{1, byTrigger, phaseIdle, 0, false, actStart},
		{1, byTick, phaseIdle, 0, false, actStart},
		{1, byTrigger, phaseRunning, 1, false, actQueue},
		{1, byTick, phaseRunning, 1, false, actQueue},
		{1, byTrigger, phaseRunning, 1, true, actRefuse},
		{1, byTick, phaseRunning, 1, true, actDrop},
		{3, byTrigger, phaseRunning, 1, false, actStart},
		{3, byTick, phaseRunning, 2, false, actStart},
		{3, byTrigger, phaseWaiting, 2, false, actStart},
		{3, byTrigger, phaseRetryPending, 2, false, actStart},
		{3, byTrigger, phaseRunning, 3, false, actQueue},
		{3, byTick, phaseWaiting, 3, false, actQueue},
		{3, byTrigger, phaseRetryPending, 3, false, actQueue},
		{3, byTrigger, phaseRunning, 3, true, actRefuse},
		{3, byTick, phaseRunning, 3, true, actDrop},
		{3, byTrigger, phaseRunning, 4, false, actQueue}, // over the bound after a reload lowered it
		{0, byTrigger, phaseIdle, 0, false, actStart},    // an unset bound counts as 1
		{0, byTrigger, phaseRunning, 1, false, actQueue},
	}
	for _, tc := range tests {
		p := overlapPolicy{overlap: config.OverlapParallel, maxParallel: tc.max}
		if got := p.decide(tc.a, tc.ph, tc.runs, tc.queued); got != tc.want {
			t.Errorf("max_parallel %d: decide(arrival %d, phase %d, runs %d, queued %v) = %d, want %d",
				tc.max, tc.a, tc.ph, tc.runs, tc.queued, got, tc.want)
		}
	}
}

// TestRetryNext checks which outcomes retry, and that the attempts stop
// at retries+1.
func TestRetryNext(t *testing.T) {
	rc := config.RunControl{Retries: 2, RetryDelay: time.Second, RetryBackoff: 2, RetryMaxDelay: time.Minute, RetryOnFailed: true}
	p := newRetryPolicy(rc)
	pt := p
	pt.onFailed, pt.onTimeout = false, true
	tests := []struct {
		p       retryPolicy
		attempt int
		o       attemptOutcome
		want    bool
	}{
		{p, 1, outcomeSuccess, false},
		{p, 1, outcomeFailed, true},
		{p, 2, outcomeFailed, true},
		{p, 3, outcomeFailed, false}, // the last of 3 attempts
		{p, 1, outcomeTimeout, false},
		{p, 1, outcomeCanceled, false},
		{pt, 1, outcomeTimeout, true},
		{pt, 1, outcomeFailed, false},
		{pt, 1, outcomeCanceled, false},
		{newRetryPolicy(config.RunControl{RetryOnFailed: true}), 1, outcomeFailed, false}, // retries = 0
	}
	for _, tt := range tests {
		if got, _ := tt.p.next(tt.attempt, tt.o, 0.5); got != tt.want {
			t.Errorf("next(%d, %d) with %+v = %v, want %v", tt.attempt, tt.o, tt.p, got, tt.want)
		}
	}
	if p.attempts() != 3 {
		t.Errorf("attempts() = %d, want 3", p.attempts())
	}
}

// TestRetryWait checks the backoff, its cap, and that the jitter stays
// within ±jitter of the wait.
func TestRetryWait(t *testing.T) {
	p := retryPolicy{retries: 10, delay: time.Second, backoff: 2, maxDelay: 10 * time.Second, onFailed: true}
	for attempt, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 8 * time.Second, 5: 10 * time.Second, 9: 10 * time.Second} {
		if got := p.wait(attempt, 0.9); got != want {
			t.Errorf("wait(%d) without jitter = %v, want %v", attempt, got, want)
		}
	}
	p.jitter = 0.2
	for attempt := 1; attempt <= 5; attempt++ {
		base := (retryPolicy{delay: p.delay, backoff: p.backoff, maxDelay: p.maxDelay}).wait(attempt, 0)
		lo, hi := time.Duration(float64(base)*0.8), min(time.Duration(float64(base)*1.2), p.maxDelay)
		seen := map[bool]bool{}
		for i := range 100 {
			rnd := float64(i) / 100
			got := p.wait(attempt, rnd)
			if got < lo || got > hi {
				t.Errorf("wait(%d, %v) = %v, want within [%v, %v]", attempt, rnd, got, lo, hi)
			}
			seen[got < base] = true
		}
		if !seen[true] {
			t.Errorf("wait(%d): jitter never shortened the wait", attempt)
		}
	}
	if got := p.wait(1, 0); got != 800*time.Millisecond {
		t.Errorf("wait(1, 0) = %v, want 800ms (−20 %%)", got)
	}
	if got := fmt.Sprint(p.wait(2, 0.75)); got != "2.2s" {
		t.Errorf("wait(2, 0.75) = %s, want 2.2s (+10 %%)", got)
	}
}
