package schedule

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// The property test compares Next with a brute-force evaluator written
// apart from it: it walks every real minute (or second) of a zone's time
// line, looks at the wall clock there, and applies the DST rules in words:
// a fixed-time point whose wall time was already seen within the last 3 h
// is a second pass and does not run; when the wall clock jumps forward by
// up to 3 h, fixed-time points inside the jump run at the first instant
// after it. It uses neither the parser nor ZoneBounds: expressions are
// generated together with their sets.

// propZones are the zones of the property test: DST north and south,
// half-hour and 45-minute offsets, a 30-minute DST, zones that changed
// their standard offset or skipped a day.
var propZones = []string{
	"UTC", "America/New_York", "America/Los_Angeles", "America/Sao_Paulo", "America/Santiago",
	"America/St_Johns", "Europe/Berlin", "Europe/London", "Europe/Moscow", "Europe/Volgograd",
	"Asia/Kolkata", "Asia/Kathmandu", "Asia/Tehran", "Asia/Pyongyang", "Australia/Sydney",
	"Australia/Lord_Howe", "Australia/Adelaide", "Pacific/Auckland", "Pacific/Chatham",
	"Pacific/Apia", "Africa/Casablanca", "America/Havana",
}

// genField is a generated cron field: its text and its set.
type genField struct {
	text string
	set  map[int]bool
	star bool // the text starts with '*'
}

// newField generates one field between lo and hi (inclusive).
func newField(r *rand.Rand, lo, hi int) genField {
	f := genField{set: map[int]bool{}}
	add := func(a, b, step int) {
		for v := a; v <= b; v += step {
			f.set[v] = true
		}
	}
	switch r.IntN(6) {
	case 0:
		f.text, f.star = "*", true
		add(lo, hi, 1)
	case 1:
		step := 1 + r.IntN(max(1, (hi-lo)/2))
		f.text, f.star = fmt.Sprintf("*/%d", step), true
		add(lo, hi, step)
	case 2:
		v := lo + r.IntN(hi-lo+1)
		f.text = fmt.Sprint(v)
		add(v, v, 1)
	case 3:
		a := lo + r.IntN(hi-lo+1)
		b := a + r.IntN(hi-a+1)
		f.text = fmt.Sprintf("%d-%d", a, b)
		add(a, b, 1)
	case 4:
		a := lo + r.IntN(hi-lo+1)
		b := a + r.IntN(hi-a+1)
		step := 1 + r.IntN(5)
		f.text = fmt.Sprintf("%d-%d/%d", a, b, step)
		add(a, b, step)
	default:
		var parts []string
		for range 1 + r.IntN(3) {
			v := lo + r.IntN(hi-lo+1)
			parts = append(parts, fmt.Sprint(v))
			f.set[v] = true
		}
		f.text = strings.Join(parts, ",")
	}
	return f
}

// genCron is a generated expression.
type genCron struct {
	text                       string
	sec, min, hour, dom, month genField
	dow                        genField
	seconds                    bool
}

func newGenCron(r *rand.Rand, seconds bool) genCron {
	g := genCron{seconds: seconds, sec: genField{text: "0", set: map[int]bool{0: true}}}
	if seconds {
		g.sec = newField(r, 0, 59)
	}
	g.min, g.hour = newField(r, 0, 59), newField(r, 0, 23)
	g.dom, g.month, g.dow = newField(r, 1, 31), newField(r, 1, 12), newField(r, 0, 6)
	// Most points of interest are near DST transitions at night: favour
	// small hours so that many expressions fire there.
	if r.IntN(2) == 0 && !g.hour.star {
		v := r.IntN(4)
		g.hour = genField{text: fmt.Sprint(v), set: map[int]bool{v: true}}
	}
	parts := []string{g.min.text, g.hour.text, g.dom.text, g.month.text, g.dow.text}
	if seconds {
		parts = append([]string{g.sec.text}, parts...)
	}
	g.text = strings.Join(parts, " ")
	return g
}

// matches applies the fields to a wall clock, with Vixie's day rule.
func (g genCron) matches(w time.Time) bool {
	if !g.sec.set[w.Second()] || !g.min.set[w.Minute()] || !g.hour.set[w.Hour()] || !g.month.set[int(w.Month())] {
		return false
	}
	dom, dow := g.dom.set[w.Day()], g.dow.set[int(w.Weekday())]
	if g.dom.star || g.dow.star {
		return dom && dow
	}
	return dom || dow
}

// wall returns the wall clock of t in loc as a zone-free time.
func wall(t time.Time, loc *time.Location) time.Time {
	w := t.In(loc)
	return time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), 0, time.UTC)
}

// bruteForce returns the instants in [from, to) at which g fires in loc.
func bruteForce(g genCron, loc *time.Location, from, to time.Time, step time.Duration) []time.Time {
	fixed := !g.min.star && !g.hour.star
	var out []time.Time
	for t := from; t.Before(to); t = t.Add(step) {
		w, prev := wall(t, loc), wall(t.Add(-step), loc)
		fire := g.matches(w)
		if fire && fixed {
			for back := 15 * time.Minute; back <= 3*time.Hour; back += 15 * time.Minute {
				if wall(t.Add(-back), loc).Equal(w) {
					fire = false // a second pass
					break
				}
			}
		}
		if jump := w.Sub(prev); !fire && fixed && jump > step && jump <= 3*time.Hour+step {
			for x := prev.Add(step); x.Before(w); x = x.Add(step) {
				if g.matches(x) {
					fire = true // a point inside a gap runs at its end
					break
				}
			}
		}
		if fire {
			out = append(out, t)
		}
	}
	return out
}

// windowStart picks where a window starts: half the time just before a
// transition of the zone, else anywhere in 2024-2028.
func windowStart(r *rand.Rand, loc *time.Location, span time.Duration) time.Time {
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	t := base.Add(time.Duration(r.Int64N(int64(5 * 365 * 24 * time.Hour)))).Truncate(time.Minute)
	if r.IntN(2) == 0 {
		if _, end := t.In(loc).ZoneBounds(); !end.IsZero() {
			t = end.Add(-time.Duration(r.Int64N(int64(span))))
		}
	}
	return t.Truncate(time.Minute)
}

func TestNextAgainstBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 2026))
	n5, n6 := 2000, 200
	if testing.Short() {
		n5, n6 = 300, 30
	}
	run := func(n int, seconds bool, span, step time.Duration) {
		checked := 0
		for i := 0; i < n; i++ {
			zone := propZones[i%len(propZones)]
			loc, err := LoadZone(zone)
			if err != nil {
				t.Fatal(err)
			}
			g := newGenCron(r, seconds)
			s, err := ParseCron(g.text, loc)
			if err != nil {
				if strings.Contains(err.Error(), "never fires") {
					continue
				}
				t.Fatalf("ParseCron(%q): %v", g.text, err)
			}
			from := windowStart(r, loc, span)
			to := from.Add(span)
			want := bruteForce(g, loc, from, to, step)
			var got []time.Time
			for x := s.Next(from.Add(-time.Nanosecond)); !x.IsZero() && x.Before(to); x = s.Next(x) {
				got = append(got, x)
			}
			if !slices.EqualFunc(got, want, time.Time.Equal) {
				t.Fatalf("%q in %s over [%v, %v):\n next  %v\n brute %v", g.text, zone, from.In(loc), to.In(loc), got, want)
			}
			checked++
		}
		t.Logf("seconds=%v: %d expressions agree over %v windows", seconds, checked, span)
	}
	run(n5, false, 36*time.Hour, time.Minute)
	run(n6, true, 2*time.Hour, time.Second)
}
