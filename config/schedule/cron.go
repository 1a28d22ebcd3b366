package schedule

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// Cron is a parsed cron expression in a time zone. Fields are bit sets:
// bit i set means value i is listed.
type Cron struct {
	expr    string
	loc     *time.Location
	sec     uint64 // 0-59
	min     uint64 // 0-59
	hour    uint64 // 0-23
	dom     uint64 // 1-31
	month   uint64 // 1-12
	dow     uint64 // 0-6, Sunday = 0
	domStar bool   // the day-of-month field starts with '*'
	dowStar bool   // the day-of-week field starts with '*'
	fixed   bool   // neither minute nor hour starts with '*'
}

// fieldSpec describes one cron field.
type fieldSpec struct {
	name   string
	lo, hi int
	names  map[string]int
}

var (
	monthNames = map[string]int{"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
		"jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12}
	dowNames = map[string]int{"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}

	specSec   = fieldSpec{name: "second", lo: 0, hi: 59}
	specMin   = fieldSpec{name: "minute", lo: 0, hi: 59}
	specHour  = fieldSpec{name: "hour", lo: 0, hi: 23}
	specDom   = fieldSpec{name: "day of month", lo: 1, hi: 31}
	specMonth = fieldSpec{name: "month", lo: 1, hi: 12, names: monthNames}
	specDow   = fieldSpec{name: "day of week", lo: 0, hi: 7, names: dowNames}
)

// macros are the @ forms that stand for a 5-field expression.
var macros = map[string]string{
	"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
	"@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
}

// ParseCron parses a cron expression: 5 fields (minute hour day-of-month
// month day-of-week), 6 with seconds first, a macro (@yearly, @annually,
// @monthly, @weekly, @daily, @midnight, @hourly) or "@every <duration>"
// (at least 1s). Names are case-insensitive; 7 is Sunday. The error names
// the field at fault. An expression that can never fire (0 0 30 2 *) is
// refused. loc nil is UTC.
func ParseCron(expr string, l *time.Location) (Schedule, error) {
	l = loc(l)
	s := strings.TrimSpace(expr)
	if rest, ok := strings.CutPrefix(strings.ToLower(s), "@every"); ok {
		d, err := time.ParseDuration(strings.TrimSpace(rest))
		if err != nil || rest == "" || (rest[0] != ' ' && rest[0] != '\t') {
			return nil, fmt.Errorf("@every wants a duration such as \"@every 30s\"")
		}
		if d < time.Second {
			return nil, fmt.Errorf("@every %v: under the 1s minimum", d)
		}
		return &Every{D: d, Loc: l}, nil
	}
	if strings.HasPrefix(s, "@") {
		m, ok := macros[strings.ToLower(s)]
		if !ok {
			return nil, fmt.Errorf("unknown macro %q", s)
		}
		c, err := parseFields(m, l)
		if err == nil {
			c.expr = s
		}
		return c, err
	}
	c, err := parseFields(s, l)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// parseFields parses 5 or 6 space-separated fields.
func parseFields(s string, l *time.Location) (*Cron, error) {
	f := strings.Fields(s)
	if len(f) != 5 && len(f) != 6 {
		return nil, fmt.Errorf("%d fields: want 5 (minute hour day-of-month month day-of-week) or 6 (seconds first)", len(f))
	}
	c := &Cron{expr: s, loc: l, sec: 1}
	specs := []fieldSpec{specMin, specHour, specDom, specMonth, specDow}
	dst := []*uint64{&c.min, &c.hour, &c.dom, &c.month, &c.dow}
	if len(f) == 6 {
		specs = append([]fieldSpec{specSec}, specs...)
		dst = append([]*uint64{&c.sec}, dst...)
	}
	for i, text := range f {
		set, err := parseField(text, specs[i])
		if err != nil {
			return nil, fmt.Errorf("field %d (%s): %w", i+1, specs[i].name, err)
		}
		*dst[i] = set
	}
	if c.dow&(1<<7) != 0 {
		c.dow = c.dow&^(1<<7) | 1
	}
	n := len(f)
	c.domStar, c.dowStar = f[n-3][0] == '*', f[n-1][0] == '*'
	c.fixed = f[n-5][0] != '*' && f[n-4][0] != '*'
	if !c.canFire() {
		return nil, fmt.Errorf("%q never fires: no listed month has a listed day", s)
	}
	return c, nil
}

// canFire reports whether some listed month has a listed day (29 February
// counts). With day-of-week restricted and day-of-month restricted too,
// either matches (OR), which always fires.
func (c *Cron) canFire() bool {
	if !c.domStar && !c.dowStar {
		return true
	}
	maxDay := [13]int{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}
	for m := 1; m <= 12; m++ {
		if c.month&(1<<m) != 0 && c.dom&(1<<(maxDay[m]+1)-1) != 0 {
			return true
		}
	}
	return false
}

// parseField parses a comma list of items: *, N, N-M, name, with /step.
func parseField(text string, sp fieldSpec) (uint64, error) {
	var set uint64
	for item := range strings.SplitSeq(text, ",") {
		if item == "" {
			return 0, fmt.Errorf("empty list item in %q", text)
		}
		rng, stepText, hasStep := strings.Cut(item, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepText)
			if err != nil || n < 1 {
				return 0, fmt.Errorf("step %q: want a whole number of at least 1", stepText)
			}
			step = n
		}
		lo, hi, err := parseRange(rng, sp, hasStep)
		if err != nil {
			return 0, err
		}
		for v := lo; v <= hi; v += step {
			set |= 1 << v
		}
	}
	return set, nil
}

// parseRange parses *, N, N-M or a name; "N/step" means N to the maximum.
func parseRange(rng string, sp fieldSpec, stepped bool) (lo, hi int, err error) {
	if rng == "*" {
		return sp.lo, sp.hi, nil
	}
	a, b, isRange := strings.Cut(rng, "-")
	if lo, err = parseValue(a, sp); err != nil {
		return 0, 0, err
	}
	switch {
	case isRange:
		if hi, err = parseValue(b, sp); err != nil {
			return 0, 0, err
		}
		if lo > hi {
			return 0, 0, fmt.Errorf("range %q: start after end", rng)
		}
	case stepped:
		hi = sp.hi
	default:
		hi = lo
	}
	return lo, hi, nil
}

// parseValue parses a number within the field's bounds or a name.
func parseValue(s string, sp fieldSpec) (int, error) {
	if v, ok := sp.names[strings.ToLower(s)]; ok {
		return v, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		if sp.names != nil && s != "" && (s[0] < '0' || s[0] > '9') {
			return 0, fmt.Errorf("unknown name %q", s)
		}
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if n < sp.lo || n > sp.hi {
		return 0, fmt.Errorf("%d out of range %d-%d", n, sp.lo, sp.hi)
	}
	return n, nil
}

// String returns the expression as written (trimmed).
func (c *Cron) String() string { return c.expr }

// Location returns the zone of the expression.
func (c *Cron) Location() *time.Location { return c.loc }

// FixedTime reports whether neither the minute nor the hour field starts
// with '*', which decides the DST rules that apply.
func (c *Cron) FixedTime() bool { return c.fixed }

// nextBit returns the smallest set bit of set that is >= from, or -1.
func nextBit(set uint64, from int) int {
	if from > 63 {
		return -1
	}
	rest := set >> uint(from) << uint(from)
	if rest == 0 {
		return -1
	}
	return bits.TrailingZeros64(rest)
}
