package schedule

import (
	"testing"
	"time"
)

// fuzzZones are the zones the fuzz targets evaluate in.
var fuzzZones = []string{"UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kolkata", "Pacific/Apia"}

// checkNext fails unless s.Next(after) is strictly after after or the
// zero time ("never"), and is a fixed point of the zone's offsets.
func checkNext(t *testing.T, expr string, s Schedule, after time.Time) {
	t.Helper()
	next := s.Next(after)
	if next.IsZero() {
		return
	}
	if !next.After(after) {
		t.Fatalf("%q.Next(%v) = %v, not after", expr, after, next)
	}
	if again := s.Next(next.Add(-time.Nanosecond)); !again.Equal(next) {
		t.Fatalf("%q.Next(%v) = %v, but Next(just before it) = %v", expr, after, next, again)
	}
}

// FuzzParseCron parses arbitrary cron expressions. ParseCron must not
// panic; whatever parses has a Next that is after its argument or reports
// "never" (the zero time).
func FuzzParseCron(f *testing.F) {
	for _, s := range []string{"*/2 * * * * *", "30 2 * * *", "0 0 29 2 1", "0 9 * * mon-fri", "@every 90s",
		"@weekly", "0 0 30 2 *", "5-1 * * * *", "*/0 * * * *", "0 0 1-7/2 jan-dec 7", "* * * * * 8"} {
		f.Add(s, int64(1741442400), uint8(1))
	}
	f.Fuzz(func(t *testing.T, expr string, sec int64, zone uint8) {
		loc, err := LoadZone(fuzzZones[int(zone)%len(fuzzZones)])
		if err != nil {
			t.Fatal(err)
		}
		s, err := ParseCron(expr, loc)
		if err != nil {
			if s != nil {
				t.Fatalf("ParseCron(%q) = %v, %v", expr, s, err)
			}
			return
		}
		const span = 200 * 366 * 24 * 3600 // about two centuries each side of 1970
		checkNext(t, expr, s, time.Unix(sec%span, 0))
	})
}

// FuzzParseSchedule parses arbitrary karajo schedules strictly: no panic,
// and whatever parses has a Next after its argument on a whole minute.
func FuzzParseSchedule(f *testing.F) {
	for _, s := range []string{"minutely", "hourly@0, 30", "daily@25:99,6", "weekly@mon-fri@09:00",
		"monthly@30,31@12:00", "monthly@31", "MONTHLY@0,32@x", "yearly", "weekly@@@", "daily@-1:-1:-1"} {
		f.Add(s, int64(1706696130), int64(0))
	}
	f.Fuzz(func(t *testing.T, expr string, sec, nsec int64) {
		s, err := ParseKarajo(expr, nil)
		if err != nil {
			if s != nil {
				t.Fatalf("ParseKarajo(%q) = %v, %v", expr, s, err)
			}
			return
		}
		const span = 1000 * 366 * 24 * 3600
		after := time.Unix(sec%span, nsec%int64(time.Second))
		next := s.Next(after)
		if !next.After(after) || next.Second() != 0 || next.Nanosecond() != 0 || next.Sub(after) > 62*24*time.Hour {
			t.Fatalf("ParseKarajo(%q).Next(%v) = %v", expr, after, next)
		}
	})
}
