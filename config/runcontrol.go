package config

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Defaults of the run control keys (README "Run control").
const (
	// DefaultKillGrace is the [karajo] kill_grace when none is configured:
	// how long a run's processes have between SIGTERM and SIGKILL on
	// timeout, cancel and shutdown.
	DefaultKillGrace = 2 * time.Second
	// DefaultRetryDelay is the retry_delay of jobs that configure none:
	// the wait before the second attempt.
	DefaultRetryDelay = 30 * time.Second
	// DefaultRetryBackoff is the retry_backoff of jobs that configure
	// none: each further wait is the previous one times this.
	DefaultRetryBackoff = 2.0
	// DefaultRetryMaxDelay is the retry_max_delay of jobs that configure
	// none: no wait is longer.
	DefaultRetryMaxDelay = 15 * time.Minute
	// DefaultRetryJitter is the retry_jitter of jobs that configure none:
	// each wait is moved by up to ±20 %.
	DefaultRetryJitter = 0.2
	// MaxRetries is the largest accepted retries.
	MaxRetries = 100
)

// Overlap policies: the values of RunControl.Overlap.
const (
	// OverlapQueue keeps one trigger and one tick waiting behind the run
	// in progress (v0.9.3, SPEC 7.5); more triggers get 429.
	OverlapQueue = "queue"
	// OverlapSkip refuses a trigger (429) and drops a tick while a run is
	// in progress.
	OverlapSkip = "skip"
	// OverlapReplace cancels the run in progress; the new one starts when
	// it has ended.
	OverlapReplace = "replace"
	// OverlapParallel starts up to MaxParallel runs of the job at once,
	// each with its own counter and log; beyond that it is OverlapQueue.
	OverlapParallel = "parallel"
)

// Outcomes of an attempt that retry_on may name.
const (
	// RetryOnFailed retries an attempt that failed (a command exited
	// non-zero or could not start).
	RetryOnFailed = "failed"
	// RetryOnTimeout retries an attempt killed by its timeout.
	RetryOnTimeout = "timeout"
)

// RunControl is the run control of an exec job: its timeout, what happens
// to a trigger or tick while it runs, and its retries.
type RunControl struct {
	Timeout        time.Duration // per attempt; the job's timeout, else [karajo] job_timeout; 0 = none
	Overlap        string        // OverlapQueue (default), OverlapSkip, OverlapReplace or OverlapParallel
	MaxParallel    int           // runs at once; 1 unless Overlap is OverlapParallel
	Retries        int           // further attempts after a failed one, 0..MaxRetries
	RetryDelay     time.Duration // wait before the first retry
	RetryBackoff   float64       // factor between waits, at least 1
	RetryMaxDelay  time.Duration // cap of every wait, at least RetryDelay
	RetryJitter    float64       // each wait is moved by up to ±RetryJitter of itself, 0..1
	RetryOnFailed  bool          // retry_on holds "failed"
	RetryOnTimeout bool          // retry_on holds "timeout"
	// Configured is true when the job sets a run control key or gets a
	// timeout from [karajo] job_timeout: its logs name their trigger.
	Configured bool
}

// runControlTOML holds the run control keys of a [job."name"] table.
type runControlTOML struct {
	Timeout       duration `toml:"timeout"`
	Overlap       string   `toml:"overlap"`
	MaxParallel   *int     `toml:"max_parallel"`
	Retries       int      `toml:"retries"`
	RetryDelay    duration `toml:"retry_delay"`
	RetryBackoff  *float64 `toml:"retry_backoff"`
	RetryMaxDelay duration `toml:"retry_max_delay"`
	RetryJitter   *float64 `toml:"retry_jitter"`
	RetryOn       []string `toml:"retry_on"`
}

// karajoRunTOML holds the run control keys of [karajo].
type karajoRunTOML struct {
	JobTimeout duration `toml:"job_timeout"`
	KillGrace  duration `toml:"kill_grace"`
	Cgroup     string   `toml:"cgroup"`
}

// envRun checks [karajo] job_timeout and kill_grace.
func (c *checker) envRun(file string, env *Env, k *karajoRunTOML) {
	env.JobTimeout = c.nonNegative(file, "karajo.job_timeout", k.JobTimeout)
	env.KillGrace = c.nonNegative(file, "karajo.kill_grace", k.KillGrace)
	if k.KillGrace.raw == "" || env.KillGrace == 0 {
		env.KillGrace = DefaultKillGrace
	}
	env.Cgroup = c.cgroup(file, k.Cgroup)
}

// nonNegative returns the value of d, recording an error for a bad or
// negative one.
func (c *checker) nonNegative(file, key string, d duration) time.Duration {
	v := c.duration(file, key, d)
	if v < 0 {
		c.fail(file, key, "must not be negative, got %v", v)
		return 0
	}
	return v
}

// runControl checks the run control keys of an exec job (table is its
// formatted key) and applies their defaults.
func (c *checker) runControl(env *Env, file, table string, t *runControlTOML) RunControl {
	rc := RunControl{
		Timeout:       c.nonNegative(file, table+".timeout", t.Timeout),
		Overlap:       strings.ToLower(strings.TrimSpace(t.Overlap)),
		MaxParallel:   1,
		Retries:       t.Retries,
		RetryDelay:    c.nonNegative(file, table+".retry_delay", t.RetryDelay),
		RetryMaxDelay: c.nonNegative(file, table+".retry_max_delay", t.RetryMaxDelay),
		RetryBackoff:  DefaultRetryBackoff,
		RetryJitter:   DefaultRetryJitter,
		RetryOnFailed: true,
	}
	if t.Timeout.raw == "" {
		rc.Timeout = env.JobTimeout
	}
	c.overlap(file, table, t, &rc)
	if rc.Retries < 0 || rc.Retries > MaxRetries {
		c.fail(file, table+".retries", "must be 0 to %d, got %d", MaxRetries, rc.Retries)
	}
	if t.RetryDelay.raw == "" {
		rc.RetryDelay = DefaultRetryDelay
	}
	if t.RetryMaxDelay.raw == "" {
		rc.RetryMaxDelay = max(DefaultRetryMaxDelay, rc.RetryDelay)
	}
	if rc.RetryMaxDelay < rc.RetryDelay {
		c.fail(file, table+".retry_max_delay", "must not be shorter than retry_delay (%v), got %v", rc.RetryDelay, rc.RetryMaxDelay)
	}
	if b := t.RetryBackoff; b != nil {
		rc.RetryBackoff = *b
		if !(*b >= 1) || math.IsInf(*b, 0) {
			c.fail(file, table+".retry_backoff", "must be a number of at least 1, got %v", *b)
		}
	}
	if j := t.RetryJitter; j != nil {
		rc.RetryJitter = *j
		if !(*j >= 0 && *j <= 1) {
			c.fail(file, table+".retry_jitter", "must be 0 to 1 (a fraction of the delay), got %v", *j)
		}
	}
	c.retryOn(file, table, t.RetryOn, &rc)
	rc.Configured = rc.Timeout > 0 || t.Timeout.raw != "" || t.Overlap != "" || t.MaxParallel != nil || t.Retries != 0 ||
		t.RetryDelay.raw != "" || t.RetryBackoff != nil || t.RetryMaxDelay.raw != "" || t.RetryJitter != nil || t.RetryOn != nil
	return rc
}

// overlap checks overlap and max_parallel.
func (c *checker) overlap(file, table string, t *runControlTOML, rc *RunControl) {
	switch rc.Overlap {
	case "":
		rc.Overlap = OverlapQueue
	case OverlapQueue, OverlapSkip, OverlapReplace, OverlapParallel:
	default:
		c.fail(file, table+".overlap", "unknown policy %q: want queue, skip, replace or parallel", t.Overlap)
	}
	switch mp := t.MaxParallel; {
	case mp == nil && rc.Overlap == OverlapParallel:
		c.fail(file, table+".max_parallel", "missing: overlap = \"parallel\" needs max_parallel (at least 1)")
	case mp == nil:
	case rc.Overlap != OverlapParallel:
		c.fail(file, table+".max_parallel", "only valid with overlap = \"parallel\", not %q", rc.Overlap)
	case *mp < 1:
		c.fail(file, table+".max_parallel", "must be at least 1, got %d", *mp)
	default:
		rc.MaxParallel = *mp
	}
}

// retryOn checks retry_on; absent means ["failed"].
func (c *checker) retryOn(file, table string, on []string, rc *RunControl) {
	if on == nil {
		return
	}
	rc.RetryOnFailed = false
	for i, v := range on {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case RetryOnFailed:
			rc.RetryOnFailed = true
		case RetryOnTimeout:
			rc.RetryOnTimeout = true
		default:
			c.fail(file, fmt.Sprintf("%s.retry_on[%d]", table, i), "unknown outcome %q: want \"failed\" or \"timeout\" (a cancel never retries)", v)
		}
	}
}
