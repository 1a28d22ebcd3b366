package schedule

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// karajoKinds are the kinds of karajo's own schedule syntax.
var karajoKinds = []string{"minutely", "hourly", "daily", "weekly", "monthly"}

// weekdayNames maps the accepted day names (lower case) to weekdays.
var weekdayNames = map[string]int{
	"sunday": 0, "sun": 0, "monday": 1, "mon": 1, "tuesday": 2, "tue": 2,
	"wednesday": 3, "wed": 3, "thursday": 4, "thu": 4, "friday": 5, "fri": 5,
	"saturday": 6, "sat": 6,
}

// IsKarajo reports whether expr is in karajo's own syntax: its kind (the
// part before the first '@') is minutely, hourly, daily, weekly or monthly.
func IsKarajo(expr string) bool {
	kind, _, _ := strings.Cut(expr, "@")
	kind = strings.ToLower(strings.TrimSpace(kind))
	for _, k := range karajoKinds {
		if kind == k {
			return true
		}
	}
	return false
}

// ParseKarajo parses karajo's schedule syntax strictly: "minutely",
// "hourly[@M,…]", "daily[@T,…]", "weekly[@D,…][@T,…]" and
// "monthly[@N,…][@T,…]". Case-insensitive; items are trimmed; a missing
// or empty part takes its default (minute 0, 00:00, Sunday, day 1).
// Minutes, weekdays and days of month accept ranges (mon-fri, 0-30).
// Every malformed part is refused with the part at fault. Points are on
// whole minutes; daily, weekly and monthly are fixed-time, minutely and
// hourly are not. loc nil is UTC.
func ParseKarajo(expr string, l *time.Location) (Schedule, error) {
	parts := strings.Split(strings.ToLower(expr), "@")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	kind := parts[0]
	maxParts := map[string]int{"minutely": 1, "hourly": 2, "daily": 2, "weekly": 3, "monthly": 3}[kind]
	if maxParts == 0 {
		return nil, fmt.Errorf("unknown schedule kind %q: want minutely, hourly, daily, weekly or monthly", kind)
	}
	if len(parts) > maxParts {
		return nil, fmt.Errorf("%s takes at most %d part(s) after the kind, %q has %d", kind, maxParts-1, expr, len(parts)-1)
	}
	part := func(i int) string {
		if i < len(parts) {
			return parts[i]
		}
		return ""
	}
	base := Cron{expr: strings.TrimSpace(expr), loc: loc(l), sec: 1, hour: 1<<24 - 1, min: 1<<60 - 1,
		dom: (1<<32 - 1) &^ 1, month: (1<<13 - 1) &^ 1, dow: 1<<7 - 1, domStar: true, dowStar: true}
	var err error
	switch kind {
	case "minutely":
		return &base, nil
	case "hourly":
		if base.min, err = intList(part(1), "minute", 0, 59, 0); err != nil {
			return nil, err
		}
		return &base, nil
	case "weekly":
		if base.dow, err = dayList(part(1)); err != nil {
			return nil, err
		}
		base.dowStar = false
	case "monthly":
		if base.dom, err = intList(part(1), "day of month", 1, 31, 1); err != nil {
			return nil, err
		}
		base.domStar = false
	}
	timesPart := part(1)
	if kind != "daily" {
		timesPart = part(2)
	}
	return atTimes(base, timesPart)
}

// atTimes returns base at each time of list (one Cron per distinct minute,
// a Union when there are several).
func atTimes(base Cron, list string) (Schedule, error) {
	base.fixed = true
	byMinute := map[int]uint64{}
	var order []int
	if list == "" {
		list = "00:00"
	}
	for it := range strings.SplitSeq(list, ",") {
		h, m, err := parseClock(strings.TrimSpace(it))
		if err != nil {
			return nil, err
		}
		if _, ok := byMinute[m]; !ok {
			order = append(order, m)
		}
		byMinute[m] |= 1 << h
	}
	u := &Union{Expr: base.expr}
	for _, m := range order {
		c := base
		c.min, c.hour = 1<<m, byMinute[m]
		u.Members = append(u.Members, &c)
	}
	if len(u.Members) == 1 {
		return u.Members[0], nil
	}
	return u, nil
}

// parseClock parses H, H:MM or H:MM:SS (seconds must be 00-59 and are
// ignored: points are on whole minutes).
func parseClock(s string) (h, m int, err error) {
	f := strings.Split(s, ":")
	if s == "" || len(f) > 3 {
		return 0, 0, fmt.Errorf("time %q: want H, H:MM or H:MM:SS", s)
	}
	lim := []int{23, 59, 59}
	name := []string{"hour", "minute", "second"}
	v := make([]int, 3)
	for i, x := range f {
		n, err := strconv.Atoi(x)
		if err != nil || x == "" || x[0] == '+' || x[0] == '-' || len(x) > 2 || (i > 0 && len(x) != 2) {
			return 0, 0, fmt.Errorf("time %q: %s %q is not a number (want H, H:MM or H:MM:SS, 24-hour)", s, name[i], x)
		}
		if n > lim[i] {
			return 0, 0, fmt.Errorf("time %q: %s %d out of range 0-%d", s, name[i], n, lim[i])
		}
		v[i] = n
	}
	return v[0], v[1], nil
}

// intList parses a list of integers and ranges in [lo, hi]; empty is def.
func intList(list, what string, lo, hi, def int) (uint64, error) {
	if list == "" {
		return 1 << def, nil
	}
	var set uint64
	for it := range strings.SplitSeq(list, ",") {
		it = strings.TrimSpace(it)
		a, b, isRange := strings.Cut(it, "-")
		x, errA := strconv.Atoi(strings.TrimSpace(a))
		y := x
		var errB error
		if isRange {
			y, errB = strconv.Atoi(strings.TrimSpace(b))
		}
		switch {
		case errA != nil || errB != nil:
			return 0, fmt.Errorf("%s %q is not a number or range", what, it)
		case x < lo || y > hi || x > hi || y < lo:
			return 0, fmt.Errorf("%s %q out of range %d-%d", what, it, lo, hi)
		case x > y:
			return 0, fmt.Errorf("%s range %q: start after end", what, it)
		}
		for v := x; v <= y; v++ {
			set |= 1 << v
		}
	}
	return set, nil
}

// dayList parses weekday names and ranges (mon-fri); empty is Sunday.
func dayList(list string) (uint64, error) {
	if list == "" {
		return 1, nil
	}
	var set uint64
	for it := range strings.SplitSeq(list, ",") {
		it = strings.TrimSpace(it)
		a, b, isRange := strings.Cut(it, "-")
		x, okA := weekdayNames[strings.TrimSpace(a)]
		y, okB := x, true
		if isRange {
			y, okB = weekdayNames[strings.TrimSpace(b)]
		}
		switch {
		case !okA || !okB:
			return 0, fmt.Errorf("weekday %q: want sun…sat or sunday…saturday, or a range such as mon-fri", it)
		case x > y:
			return 0, fmt.Errorf("weekday range %q: start after end (weeks start on Sunday)", it)
		}
		for v := x; v <= y; v++ {
			set |= 1 << v
		}
	}
	return set, nil
}
