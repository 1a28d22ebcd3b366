package schedule

import "time"

// Next returns the first due instant strictly after after, in the
// expression's zone, under the DST rules of the package comment, or the
// zero time when there is none within about a century.
//
// The zone's time line is walked one offset segment at a time (bounds from
// time.Time.ZoneBounds). Within a segment, wall time is instant + offset,
// so the first matching wall time is found in a zone-free calendar.
func (c *Cron) Next(after time.Time) time.Time {
	inst := after.Unix() + 1 // whole seconds strictly after after
	stop := inst + int64(horizon/time.Second)
	for inst <= stop {
		at := time.Unix(inst, 0).In(c.loc)
		start, end := at.ZoneBounds()
		_, off := at.Zone()
		lowW, endW := inst+int64(off), stop+int64(off)
		if !end.IsZero() {
			endW = end.Unix() + int64(off) - 1
		}
		if c.fixed && !start.IsZero() {
			_, prev := start.Add(-time.Second).In(c.loc).Zone()
			if d := prev - off; d > 0 && d <= maxFoldGap {
				// Second pass of a fold of up to 3 h: fixed-time points ran in the first.
				lowW = max(lowW, start.Unix()+int64(off)+int64(d))
			} else if d < 0 && -d <= maxFoldGap && inst == start.Unix() {
				// At the end of a gap of up to 3 h: its fixed-time points run now.
				if _, ok := c.nextWall(start.Unix()+int64(prev), lowW-1); ok {
					return start.In(c.loc)
				}
			}
		}
		if w, ok := c.nextWall(lowW, endW); ok {
			return time.Unix(w-int64(off), 0).In(c.loc)
		}
		if end.IsZero() {
			return time.Time{}
		}
		_, next := end.In(c.loc).Zone()
		if d := next - off; c.fixed && d > 0 && d <= maxFoldGap {
			// A gap of up to 3 h: fixed-time points inside it run at its end.
			if _, ok := c.nextWall(end.Unix()+int64(off), end.Unix()+int64(next)-1); ok {
				return end.In(c.loc)
			}
		}
		inst = end.Unix()
	}
	return time.Time{}
}

// nextWall returns the first wall time (seconds since the epoch of a
// zone-free calendar) in [from, to] that the fields match.
func (c *Cron) nextWall(from, to int64) (int64, bool) {
	if from > to {
		return 0, false
	}
	days := floorDiv(from, 86400)
	sod := int(from - days*86400)
	y, mo, d := civil(days)
	h, mi, s := sod/3600, sod/60%60, sod%60
	for {
		if days*86400 > to {
			return 0, false
		}
		if c.month&(1<<mo) == 0 {
			nm := nextBit(c.month, mo+1)
			if nm < 0 {
				y, nm = y+1, nextBit(c.month, 1)
			}
			mo, d, h, mi, s = nm, 1, 0, 0, 0
			days = daysFromCivil(y, mo, d)
			continue
		}
		if dim := daysIn(y, mo); d > dim || !c.dayMatches(days, d) {
			days, h, mi, s = days+c.daySkip(days, d, dim), 0, 0, 0
			y, mo, d = civil(days)
			continue
		}
		if h, mi, s = c.timeOfDay(h, mi, s); h < 0 {
			days, h, mi, s = days+1, 0, 0, 0
			y, mo, d = civil(days)
			continue
		}
		w := days*86400 + int64(h*3600+mi*60+s)
		return w, w <= to
	}
}

// timeOfDay returns the first matching time of day at or after h:mi:s, or
// h = -1 when none is left today.
func (c *Cron) timeOfDay(h, mi, s int) (int, int, int) {
	for h < 24 {
		nh := nextBit(c.hour, h)
		if nh < 0 || nh > 23 {
			return -1, 0, 0
		}
		if nh != h {
			h, mi, s = nh, 0, 0
		}
		nm := nextBit(c.min, mi)
		if nm < 0 || nm > 59 {
			h, mi, s = h+1, 0, 0
			continue
		}
		if nm != mi {
			mi, s = nm, 0
		}
		ns := nextBit(c.sec, s)
		if ns < 0 || ns > 59 {
			mi, s = mi+1, 0
			if mi == 60 {
				h, mi = h+1, 0
			}
			continue
		}
		return h, mi, ns
	}
	return -1, 0, 0
}

// daySkip returns how many days from day d (days since the epoch) of a
// month of dim days the next day that can match is: the next listed day
// of month (or the 1st of the next month) and the next listed weekday are
// each a lower bound; both must match (AND) or either may (OR).
func (c *Cron) daySkip(days int64, d, dim int) int64 {
	domSkip := int64(dim - d + 1)
	if d < dim {
		if nd := nextBit(c.dom, d+1); nd > 0 && nd <= dim {
			domSkip = int64(nd - d)
		}
	}
	if domSkip < 1 {
		domSkip = 1
	}
	wd := int(floorMod(days+4, 7))
	dowSkip := int64(1)
	for k := 1; k <= 7; k++ {
		if c.dow&(1<<((wd+k)%7)) != 0 {
			dowSkip = int64(k)
			break
		}
	}
	if c.domStar || c.dowStar {
		return max(domSkip, dowSkip)
	}
	return min(domSkip, dowSkip)
}

// dayMatches applies Vixie cron's rule: when both day fields are
// restricted either matches; when one starts with '*' both must.
func (c *Cron) dayMatches(days int64, d int) bool {
	wd := int(floorMod(days+4, 7)) // 1970-01-01 was a Thursday
	domOK, dowOK := c.dom&(1<<d) != 0, c.dow&(1<<wd) != 0
	if c.domStar || c.dowStar {
		return domOK && dowOK
	}
	return domOK || dowOK
}

// daysIn returns the number of days of month mo of year y.
func daysIn(y, mo int) int {
	switch mo {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns the days since 1970-01-01 of a proleptic
// Gregorian date (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := floorDiv(int64(y), 400)
	yoe := int64(y) - era*400
	mp := int64((m + 9) % 12)
	doy := (153*mp+2)/5 + int64(d) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// civil is the inverse of daysFromCivil.
func civil(z int64) (y, m, d int) {
	z += 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = int(doy - (153*mp+2)/5 + 1)
	m = int(mp + 3)
	if m > 12 {
		m -= 12
	}
	y = int(yoe + era*400)
	if m <= 2 {
		y++
	}
	return y, m, d
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }
