package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/karajo/karajo/config/schedule"
)

// Catch-up policies of cron and schedule jobs: the values of
// Timing.CatchUp.
const (
	// CatchUpNone runs nothing that fell due while the server was down.
	CatchUpNone = "none"
	// CatchUpLatest runs the newest missed point once.
	CatchUpLatest = "latest"
	// CatchUpAll runs every missed point (the newest CatchUpMax), oldest first.
	CatchUpAll = "all"
)

// Built-in variables of a run started by a schedule (see VarJobID).
const (
	// VarRunTrigger is "timer" or "catch-up".
	VarRunTrigger = "KARAJO_RUN_TRIGGER"
	// VarScheduledAt is the run's nominal time, RFC 3339 in UTC.
	VarScheduledAt = "KARAJO_SCHEDULED_AT"
)

// Defaults of the catch-up keys.
const (
	// DefaultCatchUpWindow is catch_up_window when none is configured:
	// points older than this at start are dropped.
	DefaultCatchUpWindow = 24 * time.Hour
	// DefaultCatchUpMax is catch_up_max when none is configured.
	DefaultCatchUpMax = 10
)

// timingTOML holds the schedule keys added after v0.9.3, shared by exec
// jobs and JobHTTPs (embedded in jobTOML and jobHTTPTOML).
type timingTOML struct {
	Cron          any      `toml:"cron"` // a string or a list of strings
	Timezone      string   `toml:"timezone"`
	CatchUp       string   `toml:"catch_up"`
	CatchUpWindow duration `toml:"catch_up_window"`
	CatchUpMax    int      `toml:"catch_up_max"`
	Jitter        duration `toml:"jitter"`
}

// Timing is the validated schedule of a job beyond v0.9.3's keys: its cron
// expressions, zone, catch-up policy and jitter. Sched (in Job and JobHTTP)
// is built from Cron or Schedule in Location.
type Timing struct {
	Cron          []string       // as configured; nil = none
	Timezone      string         // the effective IANA zone name: the job's, else [karajo]'s, else "UTC"
	Location      *time.Location // Timezone loaded (from the embedded zone database when the host has none)
	CatchUp       string         // CatchUpNone, CatchUpLatest or CatchUpAll; "" for interval and unscheduled jobs
	CatchUpWindow time.Duration  // at least 1s; default 24h
	CatchUpMax    int            // at least 1; default 10
	Jitter        time.Duration  // 0 = none; shorter than the shortest gap between two due times
	NewKeys       bool           // the job uses a key added after v0.9.3 (cron, timezone, catch_up*, jitter)
}

// zone checks a timezone key; "" is fallback.
func (c *checker) zone(file, key, name string, fallback *time.Location) *time.Location {
	if name == "" {
		return fallback
	}
	loc, err := schedule.LoadZone(name)
	if err != nil {
		c.fail(file, key, "%v: want an IANA name such as \"Europe/Berlin\" or \"UTC\"", err)
		return fallback
	}
	return loc
}

// timer checks schedule, interval and the keys of timingTOML, common to
// both job kinds (SPEC 8.1). It returns the parsed schedule (nil for an
// interval or no timer), the interval and the Timing.
func (c *checker) timer(env *Env, file, table, sched string, interval duration, t *timingTOML) (schedule.Schedule, time.Duration, Timing) {
	tm := Timing{Location: c.zone(file, table+".timezone", t.Timezone, env.Location)}
	tm.Timezone = tm.Location.String()
	tm.NewKeys = t.Cron != nil || t.Timezone != "" || t.CatchUp != "" || t.CatchUpWindow.raw != "" ||
		t.CatchUpMax != 0 || t.Jitter.raw != "" || (env.Timezone != "" && sched != "")
	iv := c.duration(file, table+".interval", interval)
	if interval.err == nil && strings.TrimSpace(interval.raw) != "" && iv <= 0 {
		c.fail(file, table+".interval", "must be a positive duration, got %q (leave interval out for no interval)", interval.raw)
		iv = 0
	}
	var sc schedule.Schedule
	switch {
	case t.Cron != nil:
		if sched != "" || interval.raw != "" {
			c.fail(file, table+".cron", "cron, schedule and interval are mutually exclusive: set only one")
		}
		tm.Cron = c.cronList(file, table+".cron", t.Cron)
		sc = c.cronSchedule(file, table+".cron", tm.Cron, tm.Location)
		iv = 0
	case sched != "":
		var err error
		if sc, err = schedule.ParseKarajo(sched, tm.Location); err != nil {
			c.fail(file, table+".schedule", "%v", err)
		}
		if iv > 0 {
			c.warn(file, table+".interval", "ignored because schedule is set")
		}
		iv = 0
	case iv > 0 && iv < MinInterval:
		c.warn(file, table+".interval", "%v raised to %v", iv, MinInterval)
		iv = MinInterval
	}
	c.catchUp(file, table, t, sc, &tm)
	return sc, iv, tm
}

// cronList returns the expressions of a cron value: a string or a list of
// strings, none empty.
func (c *checker) cronList(file, key string, v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for i, x := range v {
			s, ok := x.(string)
			if !ok {
				c.fail(file, fmt.Sprintf("%s[%d]", key, i+1), "want a string, got %T", x)
				continue
			}
			out = append(out, s)
		}
		if len(v) == 0 {
			c.fail(file, key, "empty list: want at least one expression")
		}
		return out
	}
	c.fail(file, key, "want a cron expression or a list of them, got %T", v)
	return nil
}

// cronSchedule parses each expression (items of a list are reported as
// cron[1], cron[2], ... from 1) and returns their union.
func (c *checker) cronSchedule(file, key string, exprs []string, loc *time.Location) schedule.Schedule {
	u := &schedule.Union{Expr: strings.Join(exprs, "; ")}
	for i, e := range exprs {
		k := key
		if len(exprs) > 1 {
			k = fmt.Sprintf("%s[%d]", key, i+1)
		}
		s, err := schedule.ParseCron(e, loc)
		if err != nil {
			c.fail(file, k, "%q: %v", e, err)
			continue
		}
		u.Members = append(u.Members, s)
	}
	switch {
	case len(u.Members) == 0:
		return nil
	case len(u.Members) == 1 && len(exprs) == 1:
		return u.Members[0]
	}
	return u
}

// catchUp checks catch_up, catch_up_window, catch_up_max and jitter.
// They apply to cron and schedule jobs only.
func (c *checker) catchUp(file, table string, t *timingTOML, sc schedule.Schedule, tm *Timing) {
	tm.CatchUpWindow = c.duration(file, table+".catch_up_window", t.CatchUpWindow)
	tm.Jitter = c.duration(file, table+".jitter", t.Jitter)
	if sc == nil {
		keys := []string{"catch_up", "catch_up_window", "catch_up_max", "jitter"}
		for i, set := range []bool{t.CatchUp != "", t.CatchUpWindow.raw != "", t.CatchUpMax != 0, t.Jitter.raw != ""} {
			if set {
				c.fail(file, table+"."+keys[i], "applies to cron and schedule jobs only")
			}
		}
		return
	}
	switch tm.CatchUp = strings.ToLower(strings.TrimSpace(t.CatchUp)); tm.CatchUp {
	case "":
		tm.CatchUp = CatchUpNone
	case CatchUpNone, CatchUpLatest, CatchUpAll:
	default:
		c.fail(file, table+".catch_up", "%q: want none, latest or all", t.CatchUp)
	}
	switch {
	case t.CatchUpWindow.raw == "":
		tm.CatchUpWindow = DefaultCatchUpWindow
	case tm.CatchUpWindow < time.Second && t.CatchUpWindow.err == nil:
		c.fail(file, table+".catch_up_window", "%v: want at least 1s", tm.CatchUpWindow)
	}
	switch {
	case t.CatchUpMax == 0:
		tm.CatchUpMax = DefaultCatchUpMax
	case t.CatchUpMax < 0:
		c.fail(file, table+".catch_up_max", "%d: want at least 1", t.CatchUpMax)
	default:
		tm.CatchUpMax = t.CatchUpMax
	}
	if tm.Jitter < 0 {
		c.fail(file, table+".jitter", "%v: want a positive duration", tm.Jitter)
	} else if tm.Jitter > 0 {
		if gap := schedule.MinGap(sc, time.Now()); gap > 0 && tm.Jitter >= gap {
			c.fail(file, table+".jitter", "%v: not shorter than the shortest gap between two due times (%v)", tm.Jitter, gap)
		}
	}
}
