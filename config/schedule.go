package config

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// errScheduleKind is returned by ParseSchedule for a kind other than
// minutely, hourly, daily, weekly or monthly.
var errScheduleKind = errors.New("unknown schedule kind")

// Schedule is a parsed karajo schedule (SPEC 8.4): a kind and the lists of
// minutes, times of day, weekdays or days of month that go with it. Every
// list is sorted, without duplicates and never empty for the kinds that
// use it. A Schedule is immutable and safe for concurrent use.
type Schedule struct {
	kind     string         // "minutely", "hourly", "daily", "weekly" or "monthly"
	minutes  []int          // hourly: minutes of the hour, 0-59
	times    []int          // daily, weekly, monthly: minutes of the day, 0-1439
	weekdays []time.Weekday // weekly
	mdays    []int          // monthly: days of the month, 1-31
}

// weekdayNames maps the accepted day names (lower case) to weekdays.
var weekdayNames = map[string]time.Weekday{
	"sunday": time.Sunday, "sun": time.Sunday,
	"monday": time.Monday, "mon": time.Monday,
	"tuesday": time.Tuesday, "tue": time.Tuesday,
	"wednesday": time.Wednesday, "wed": time.Wednesday,
	"thursday": time.Thursday, "thu": time.Thursday,
	"friday": time.Friday, "fri": time.Friday,
	"saturday": time.Saturday, "sat": time.Saturday,
}

// ParseSchedule parses a schedule such as "hourly@0,30", "daily@06:00",
// "weekly@mon,fri@09:00" or "monthly@1,15@18:00" (SPEC 8.4). It is
// case-insensitive and trims the kind and every list item ([IMP-29]).
// Only the kind is validated: an error wrapping "unknown schedule kind" is
// returned for anything but minutely, hourly, daily, weekly and monthly
// (including the empty string; callers treat "" as "no schedule"). Every
// other malformed part falls back to its default: a bad minute, day name or
// day of month is dropped (day 0 included, [IMP-30]) and an empty list
// becomes 0, Sunday or 1; a bad hour or minute in a time becomes 0.
// Empty list items are ignored.
func ParseSchedule(s string) (*Schedule, error) {
	fields := strings.Split(strings.ToLower(s), "@")
	field := func(i int) string {
		if i < len(fields) {
			return fields[i]
		}
		return ""
	}
	sc := &Schedule{kind: strings.TrimSpace(fields[0])}
	switch sc.kind {
	case "minutely":
	case "hourly":
		sc.minutes = parseInts(field(1), 0, 59, 0)
	case "daily":
		sc.times = parseTimes(field(1))
	case "weekly":
		sc.weekdays = parseWeekdays(field(1))
		sc.times = parseTimes(field(2))
	case "monthly":
		sc.mdays = parseInts(field(1), 1, 31, 1)
		sc.times = parseTimes(field(2))
	default:
		return nil, fmt.Errorf("%w %q", errScheduleKind, strings.TrimSpace(fields[0]))
	}
	return sc, nil
}

// items splits a comma-separated list and trims its items, leaving out the
// empty ones.
func items(list string) []string {
	var out []string
	for it := range strings.SplitSeq(list, ",") {
		if it = strings.TrimSpace(it); it != "" {
			out = append(out, it)
		}
	}
	return out
}

// parseInts returns the integers of list within [lo, hi], sorted and
// without duplicates; others are dropped. An empty result is {def}.
func parseInts(list string, lo, hi, def int) []int {
	var out []int
	for _, it := range items(list) {
		if n, err := strconv.Atoi(it); err == nil && lo <= n && n <= hi {
			out = append(out, n)
		}
	}
	return sortedOr(out, def)
}

// parseTimes returns the times H[:MM[:SS]] of list as minutes of the day,
// sorted and without duplicates. Seconds are ignored; an hour outside 0-23
// or a minute outside 0-59 (or one that is not a number) becomes 0. An
// empty result is {0} (00:00).
func parseTimes(list string) []int {
	var out []int
	for _, it := range items(list) {
		parts := strings.Split(it, ":")
		h := clock(parts[0], 23)
		m := 0
		if len(parts) > 1 {
			m = clock(parts[1], 59)
		}
		out = append(out, h*60+m)
	}
	return sortedOr(out, 0)
}

// clock parses a trimmed hour or minute; out of [0, hi] or unparsable is 0.
func clock(s string, hi int) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 || n > hi {
		return 0
	}
	return n
}

// parseWeekdays returns the days named in list, sorted from Sunday and
// without duplicates; unknown names are dropped. An empty result is
// {Sunday}.
func parseWeekdays(list string) []time.Weekday {
	var out []time.Weekday
	for _, it := range items(list) {
		if d, ok := weekdayNames[it]; ok {
			out = append(out, d)
		}
	}
	if len(out) == 0 {
		return []time.Weekday{time.Sunday}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// sortedOr sorts xs and removes duplicates; an empty xs becomes {def}.
func sortedOr(xs []int, def int) []int {
	if len(xs) == 0 {
		return []int{def}
	}
	slices.Sort(xs)
	return slices.Compact(xs)
}

// Next returns the first point of the schedule strictly after after, in
// UTC and on a whole minute. Only hours and minutes are compared: after is
// first converted to UTC and truncated to the minute, so at 06:00:30 the
// next point of "daily@06:00" is tomorrow. A listed day of month that a
// month lacks is skipped in that month ([IMP-30]). Next is a pure function;
// on a nil Schedule it returns the zero time.
func (s *Schedule) Next(after time.Time) time.Time {
	if s == nil {
		return time.Time{}
	}
	after = after.UTC()
	y, mo, d := after.Date()
	today := time.Date(y, mo, d, 0, 0, 0, 0, time.UTC)
	hour := today.Add(time.Duration(after.Hour()) * time.Hour)
	now := hour.Add(time.Duration(after.Minute()) * time.Minute) // after, truncated to the minute
	cur := after.Hour()*60 + after.Minute()                      // minute of the day

	switch s.kind {
	case "minutely":
		return now.Add(time.Minute)
	case "hourly":
		for _, m := range s.minutes {
			if m > now.Minute() {
				return hour.Add(time.Duration(m) * time.Minute)
			}
		}
		return hour.Add(time.Hour + time.Duration(s.minutes[0])*time.Minute)
	}

	// daily, weekly, monthly: walk the days from today. A listed day of
	// month comes again within 62 days, a listed weekday within 7.
	for i := 0; i <= 400; i++ {
		day := today.AddDate(0, 0, i)
		if !s.hasDay(day) {
			continue
		}
		if i > 0 {
			return day.Add(time.Duration(s.times[0]) * time.Minute)
		}
		for _, t := range s.times {
			if t > cur {
				return day.Add(time.Duration(t) * time.Minute)
			}
		}
	}
	return time.Time{} // not reached: every kind has a day within 400 days
}

// hasDay reports whether the schedule has points on day.
func (s *Schedule) hasDay(day time.Time) bool {
	switch s.kind {
	case "weekly":
		return slices.Contains(s.weekdays, day.Weekday())
	case "monthly":
		return slices.Contains(s.mdays, day.Day())
	}
	return true // daily
}

// String returns the schedule in its canonical form, with every default
// spelled out: "minutely", "hourly@0,30", "daily@06:00,18:30",
// "weekly@mon,fri@09:00" or "monthly@1,15@18:00". ParseSchedule of the
// result gives the same schedule.
func (s *Schedule) String() string {
	if s == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString(s.kind)
	switch s.kind {
	case "hourly":
		b.WriteByte('@')
		writeList(&b, s.minutes, strconv.Itoa)
	case "daily":
		b.WriteByte('@')
		writeList(&b, s.times, hhmm)
	case "weekly":
		b.WriteByte('@')
		writeList(&b, s.weekdays, func(d time.Weekday) string { return strings.ToLower(d.String()[:3]) })
		b.WriteByte('@')
		writeList(&b, s.times, hhmm)
	case "monthly":
		b.WriteByte('@')
		writeList(&b, s.mdays, strconv.Itoa)
		b.WriteByte('@')
		writeList(&b, s.times, hhmm)
	}
	return b.String()
}

// writeList writes the items of xs, formatted by f, separated by commas.
func writeList[T any](b *strings.Builder, xs []T, f func(T) string) {
	for i, x := range xs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(f(x))
	}
}

// hhmm formats a minute of the day as HH:MM.
func hhmm(t int) string { return fmt.Sprintf("%02d:%02d", t/60, t%60) }
