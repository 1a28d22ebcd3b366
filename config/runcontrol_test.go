package config

import (
	"strings"
	"testing"
	"time"
)

// defaultRunControl is the run control of a job that sets none of its keys
// under a [karajo] without job_timeout.
var defaultRunControl = RunControl{
	Overlap:       OverlapQueue,
	MaxParallel:   1,
	RetryDelay:    DefaultRetryDelay,
	RetryBackoff:  DefaultRetryBackoff,
	RetryMaxDelay: DefaultRetryMaxDelay,
	RetryJitter:   DefaultRetryJitter,
	RetryOnFailed: true,
}

// TestRunControlValues checks the run control keys that load, with their
// defaults and the [karajo] default timeout.
func TestRunControlValues(t *testing.T) {
	tests := []struct {
		name, karajo, job string
		want              func(rc *RunControl)
		killGrace         time.Duration
	}{
		{name: "defaults", want: func(*RunControl) {}, killGrace: DefaultKillGrace},
		{name: "env timeout", karajo: `job_timeout = "1h"` + "\nkill_grace = \"5s\"",
			want: func(rc *RunControl) { rc.Timeout = time.Hour }, killGrace: 5 * time.Second},
		{name: "job timeout wins", karajo: `job_timeout = "1h"`, job: `timeout = "90s"`,
			want: func(rc *RunControl) { rc.Timeout = 90 * time.Second }, killGrace: DefaultKillGrace},
		{name: "explicit zero timeout is none", karajo: `job_timeout = "1h"`, job: `timeout = "0s"`,
			want: func(*RunControl) {}, killGrace: DefaultKillGrace},
		{name: "retries", job: "retries = 3\nretry_delay = \"1s\"\nretry_backoff = 3\nretry_max_delay = \"10s\"\nretry_jitter = 0\nretry_on = [\"timeout\", \"failed\"]",
			want: func(rc *RunControl) {
				rc.Retries, rc.RetryDelay, rc.RetryBackoff, rc.RetryMaxDelay, rc.RetryJitter = 3, time.Second, 3, 10*time.Second, 0
				rc.RetryOnTimeout = true
			}, killGrace: DefaultKillGrace},
		{name: "retry_on timeout only", job: `retry_on = ["timeout"]`,
			want: func(rc *RunControl) { rc.RetryOnFailed, rc.RetryOnTimeout = false, true }, killGrace: DefaultKillGrace},
		{name: "long delay raises default max", job: `retry_delay = "1h"`,
			want: func(rc *RunControl) { rc.RetryDelay, rc.RetryMaxDelay = time.Hour, time.Hour }, killGrace: DefaultKillGrace},
		{name: "skip", job: `overlap = "Skip"`, want: func(rc *RunControl) { rc.Overlap = OverlapSkip }, killGrace: DefaultKillGrace},
		{name: "replace", job: `overlap = "replace"`, want: func(rc *RunControl) { rc.Overlap = OverlapReplace }, killGrace: DefaultKillGrace},
		{name: "parallel", job: "overlap = \"parallel\"\nmax_parallel = 3",
			want: func(rc *RunControl) { rc.Overlap, rc.MaxParallel = OverlapParallel, 3 }, killGrace: DefaultKillGrace},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := load(t, "[karajo]\nsecret = \"s\"\n"+tt.karajo+"\n[job.a]\ncommands = [\"true\"]\n"+tt.job+"\n")
			if err != nil {
				t.Fatal(err)
			}
			want := defaultRunControl
			tt.want(&want)
			want.Configured = tt.name != "defaults"
			if got := env.Jobs[0].RunControl; got != want {
				t.Errorf("RunControl = %+v, want %+v", got, want)
			}
			if env.KillGrace != tt.killGrace {
				t.Errorf("KillGrace = %v, want %v", env.KillGrace, tt.killGrace)
			}
		})
	}
}

// TestRunControlInvalid checks that every bad run control value is
// refused with its file, key and reason.
func TestRunControlInvalid(t *testing.T) {
	tests := []struct{ name, karajo, job, want string }{
		{"bad job_timeout", `job_timeout = "soon"`, "", `karajo.toml: karajo.job_timeout: invalid duration "soon"`},
		{"negative job_timeout", `job_timeout = "-1s"`, "", `karajo.job_timeout: must not be negative, got -1s`},
		{"negative kill_grace", `kill_grace = "-1s"`, "", `karajo.kill_grace: must not be negative`},
		{"relative cgroup", `cgroup = "karajo"`, "", `karajo.toml: karajo.cgroup: must be "auto", "off" or an absolute path, got "karajo"`},
		{"missing cgroup", `cgroup = "/nonexistent/karajo-cg"`, "", `karajo.cgroup: /nonexistent/karajo-cg: no such file or directory`},
		{"not a cgroup2", `cgroup = "/tmp"`, "", `karajo.cgroup: /tmp is not a directory of a cgroup2 file system`},
		{"bad timeout", "", `timeout = "1 minute"`, `job."a".timeout: invalid duration "1 minute"`},
		{"negative timeout", "", `timeout = "-5s"`, `job."a".timeout: must not be negative, got -5s`},
		{"negative retries", "", `retries = -1`, `job."a".retries: must be 0 to 100, got -1`},
		{"too many retries", "", `retries = 101`, `job."a".retries: must be 0 to 100, got 101`},
		{"negative retry_delay", "", `retry_delay = "-1s"`, `job."a".retry_delay: must not be negative`},
		{"max below delay", "", "retry_delay = \"1m\"\nretry_max_delay = \"30s\"", `job."a".retry_max_delay: must not be shorter than retry_delay (1m0s), got 30s`},
		{"backoff below 1", "", `retry_backoff = 0.5`, `job."a".retry_backoff: must be a number of at least 1, got 0.5`},
		{"backoff nan", "", `retry_backoff = nan`, `job."a".retry_backoff: must be a number of at least 1`},
		{"jitter above 1", "", `retry_jitter = 1.5`, `job."a".retry_jitter: must be 0 to 1`},
		{"negative jitter", "", `retry_jitter = -0.1`, `job."a".retry_jitter: must be 0 to 1`},
		{"unknown retry_on", "", `retry_on = ["failed", "canceled"]`, `job."a".retry_on[1]: unknown outcome "canceled"`},
		{"unknown overlap", "", `overlap = "allow"`, `job."a".overlap: unknown policy "allow": want queue, skip, replace or parallel`},
		{"max_parallel without parallel", "", `max_parallel = 2`, `job."a".max_parallel: only valid with overlap = "parallel", not "queue"`},
		{"parallel without max_parallel", "", `overlap = "parallel"`, `job."a".max_parallel: missing`},
		{"max_parallel below 1", "", "overlap = \"parallel\"\nmax_parallel = 0", `job."a".max_parallel: must be at least 1, got 0`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, "[karajo]\nsecret = \"s\"\n"+tt.karajo+"\n[job.a]\ncommands = [\"true\"]\n"+tt.job+"\n")
			if err == nil {
				t.Fatalf("Load: no error, want %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load: %v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}
