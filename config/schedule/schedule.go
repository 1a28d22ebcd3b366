package schedule

import (
	"fmt"
	"hash/fnv"
	"strings"
	"sync"
	"time"
)

// Schedule is anything that has due instants. Next returns the first due
// instant strictly after after, in the schedule's zone, or the zero time
// when there is none (within about a century). Implementations are
// immutable and safe for concurrent use.
type Schedule interface {
	Next(after time.Time) time.Time
	String() string
}

// horizon bounds every search: a schedule with no point within it never
// fires.
const horizon = 100 * 366 * 24 * time.Hour

// maxFoldGap is the largest offset change treated as a DST gap or fold
// (ISC cron); larger jumps replay and suppress nothing.
const maxFoldGap = 3 * 60 * 60

// zones caches the loaded zones by name: 100,000 jobs in one zone share
// one *time.Location (a few KB of transitions) instead of a copy each.
var zones sync.Map // string → *time.Location

// LoadZone resolves an IANA zone name; "" is UTC. The error says which
// name is unknown. Every call with the same name returns the same
// *time.Location.
func LoadZone(name string) (*time.Location, error) {
	if name == "" || name == "UTC" {
		return time.UTC, nil
	}
	if l, ok := zones.Load(name); ok {
		return l.(*time.Location), nil
	}
	if strings.ContainsAny(name, " \t") || name == "Local" {
		return nil, fmt.Errorf("unknown time zone %q", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q", name)
	}
	l, _ := zones.LoadOrStore(name, loc)
	return l.(*time.Location), nil
}

// Parse parses anything a job's cron or schedule key accepts: karajo's
// syntax when expr starts with minutely, hourly, daily, weekly or monthly
// (or is one word not starting with '@'), else a cron expression or macro.
// Times are in loc (nil is UTC).
func Parse(expr string, loc *time.Location) (Schedule, error) {
	s := strings.TrimSpace(expr)
	if IsKarajo(s) || (s != "" && s[0] != '@' && !strings.ContainsAny(s, " \t")) {
		return ParseKarajo(expr, loc)
	}
	return ParseCron(expr, loc)
}

// Union is a schedule whose due instants are those of all its members
// (a cron key holding a list, or a karajo schedule with several times).
// An instant due in several members is due once.
type Union struct {
	Members []Schedule
	Expr    string // what String returns
}

// Next returns the earliest Next of the members.
func (u *Union) Next(after time.Time) time.Time {
	var best time.Time
	for _, m := range u.Members {
		if t := m.Next(after); !t.IsZero() && (best.IsZero() || t.Before(best)) {
			best = t
		}
	}
	return best
}

// String returns the expression the union was built from.
func (u *Union) String() string { return u.Expr }

// Every is "@every <duration>": due on every multiple of D since the Unix
// epoch, in absolute time, so restarts do not move it.
type Every struct {
	D   time.Duration
	Loc *time.Location // for display only
}

// Next returns the first multiple of D strictly after after.
func (e *Every) Next(after time.Time) time.Time {
	n := after.UnixNano()
	d := int64(e.D)
	k := n / d
	if n < 0 && n%d != 0 {
		k--
	}
	return time.Unix(0, (k+1)*d).In(loc(e.Loc))
}

// String returns "@every " and the duration.
func (e *Every) String() string { return "@every " + e.D.String() }

// Interval is karajo's interval: due D after the instant given (the end of
// the previous run). It counts absolute time.
type Interval struct {
	D   time.Duration
	Loc *time.Location // for display only
}

// Next returns after + D.
func (iv *Interval) Next(after time.Time) time.Time { return after.Add(iv.D).In(loc(iv.Loc)) }

// String returns the duration.
func (iv *Interval) String() string { return iv.D.String() }

// loc is l, or UTC when l is nil.
func loc(l *time.Location) *time.Location {
	if l == nil {
		return time.UTC
	}
	return l
}

// Upcoming returns the next n due instants of s strictly after after (fewer
// when s stops firing).
func Upcoming(s Schedule, after time.Time, n int) []time.Time {
	out := make([]time.Time, 0, n)
	for len(out) < n {
		t := s.Next(after)
		if t.IsZero() {
			break
		}
		out = append(out, t)
		after = t
	}
	return out
}

// MinGap returns the shortest real time between two consecutive due
// instants of s among those of the two years after from (at most 5000
// instants are looked at). It is 0 when s has fewer than two instants
// there.
func MinGap(s Schedule, from time.Time) time.Duration {
	end := from.AddDate(2, 0, 0)
	prev := s.Next(from)
	var gap time.Duration
	for i := 0; i < 5000 && !prev.IsZero() && prev.Before(end); i++ {
		t := s.Next(prev)
		if t.IsZero() {
			break
		}
		if d := t.Sub(prev); gap == 0 || d < gap {
			gap = d
		}
		prev = t
	}
	return gap
}

// Jitter returns the delay of the run of job id due at due, for a jitter
// of max: a whole number of seconds in [0, max], the same for the same job
// and due instant whatever the process (an FNV-1a hash of both), so a
// preview shows it and a restart does not move it. It is 0 when max < 1s.
func Jitter(id string, due time.Time, max time.Duration) time.Duration {
	secs := int64(max / time.Second)
	if secs <= 0 {
		return 0
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%d", id, due.Unix())
	return time.Duration(h.Sum64()%uint64(secs+1)) * time.Second
}
