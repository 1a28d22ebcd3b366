package schedule

import (
	"strings"
	"testing"
	"time"
)

// utc builds a UTC time; sec and nsec default to 0 when omitted.
func utc(y int, mo time.Month, d, h, mi int, sn ...int) time.Time {
	sec, nsec := 0, 0
	if len(sn) > 0 {
		sec = sn[0]
	}
	if len(sn) > 1 {
		nsec = sn[1]
	}
	return time.Date(y, mo, d, h, mi, sec, nsec, time.UTC)
}

// TestKarajoNext: SPEC 8.4's worked examples and more, in UTC.
func TestKarajoNext(t *testing.T) {
	tests := []struct {
		schedule    string
		after, want time.Time
	}{
		{"minutely", utc(2024, 1, 31, 10, 15, 30), utc(2024, 1, 31, 10, 16)},
		{"hourly", utc(2024, 1, 31, 10, 15, 30), utc(2024, 1, 31, 11, 0)},
		{"hourly@0,30", utc(2024, 1, 31, 10, 29, 59), utc(2024, 1, 31, 10, 30)},
		{"hourly@0,30", utc(2024, 1, 31, 10, 30), utc(2024, 1, 31, 11, 0)},
		{"hourly@45,15", utc(2024, 1, 31, 23, 50), utc(2024, 2, 1, 0, 15)},
		{"hourly@0-10", utc(2024, 1, 31, 10, 5, 30), utc(2024, 1, 31, 10, 6)},
		{"daily", utc(2024, 1, 31, 10, 15, 30), utc(2024, 2, 1, 0, 0)},
		{"daily@06:00,18:30", utc(2024, 1, 31, 6, 0), utc(2024, 1, 31, 18, 30)},
		{"daily@6", utc(2024, 1, 31, 5, 0), utc(2024, 1, 31, 6, 0)},
		{"daily@06:30:45", utc(2024, 1, 31, 6, 0), utc(2024, 1, 31, 6, 30)},
		{"daily@18:30,06:00", utc(2024, 1, 31, 7, 0), utc(2024, 1, 31, 18, 30)},
		{"daily@00:00", utc(2024, 12, 31, 23, 59, 59, 999999999), utc(2025, 1, 1, 0, 0)},
		{"daily@06:00", utc(2024, 1, 31, 6, 0, 30), utc(2024, 2, 1, 6, 0)},
		{"weekly", utc(2024, 1, 31, 10, 0), utc(2024, 2, 4, 0, 0)},
		{"weekly@mon,fri@09:00", utc(2024, 1, 31, 10, 0), utc(2024, 2, 2, 9, 0)},
		{"weekly@Wednesday@09:00,12:00", utc(2024, 1, 31, 10, 0), utc(2024, 1, 31, 12, 0)},
		{"weekly@mon-fri@09:00", utc(2024, 2, 2, 10, 0), utc(2024, 2, 5, 9, 0)},
		{"weekly@ Mon , Fri @ 09:00", utc(2024, 1, 31, 10, 0), utc(2024, 2, 2, 9, 0)},
		{"monthly", utc(2024, 1, 31, 10, 0), utc(2024, 2, 1, 0, 0)},
		{"monthly@1,15@18:00", utc(2024, 1, 15, 17, 59), utc(2024, 1, 15, 18, 0)},
		{"MONTHLY@15@08:00", utc(2024, 1, 15, 8, 0), utc(2024, 2, 15, 8, 0)},
		{"monthly@30,31@12:00", utc(2024, 2, 10, 10, 0), utc(2024, 3, 30, 12, 0)},
		{"monthly@31", utc(2024, 1, 31, 10, 0), utc(2024, 3, 31, 0, 0)},
		{"monthly@29", utc(2023, 1, 29, 0, 0), utc(2023, 3, 29, 0, 0)},
		{"monthly@29", utc(2024, 1, 29, 0, 0), utc(2024, 2, 29, 0, 0)},
		{" daily ", utc(2024, 1, 31, 10, 0), utc(2024, 2, 1, 0, 0)},
	}
	for _, tt := range tests {
		s, err := ParseKarajo(tt.schedule, nil)
		if err != nil {
			t.Errorf("ParseKarajo(%q): %v", tt.schedule, err)
			continue
		}
		if got := s.Next(tt.after); !got.Equal(tt.want) {
			t.Errorf("%q.Next(%v) = %v, want %v", tt.schedule, tt.after, got, tt.want)
		}
	}
}

// TestRefused: every malformed expression is refused with the part at fault.
func TestRefused(t *testing.T) {
	tests := []struct{ expr, want string }{
		{"weekly@mon-fry@09:00", `weekday "mon-fry"`},
		{"weekly@fri-mon", `start after end`},
		{"daily@2:30pm", `time "2:30pm": minute "30pm" is not a number`},
		{"daily@25:99", `hour 25 out of range 0-23`},
		{"daily@07:75", `minute 75 out of range 0-59`},
		{"hourly@75", `minute "75" out of range 0-59`},
		{"hourly@x", `minute "x" is not a number`},
		{"hourly@15@junk", `at most 1 part`},
		{"minutely@5", `at most 0 part`},
		{"monthly@0", `day of month "0" out of range 1-31`},
		{"monthly@32", `out of range 1-31`},
		{"daily@,18:00", `time "": want`},
		{"yearly", `unknown schedule kind "yearly"`},
		{"0 9 * * mon-fry", `field 5 (day of week): unknown name "fry"`},
		{"0 9 * * * * *", `7 fields`},
		{"60 * * * *", `field 1 (minute): 60 out of range 0-59`},
		{"* * * * * 8", `field 6 (day of week): 8 out of range 0-7`},
		{"*/0 * * * *", `field 1 (minute): step "0"`},
		{"5-1 * * * *", `field 1 (minute): range "5-1": start after end`},
		{"0 0 30 2 *", `never fires`},
		{"0 0 31 4,6,9,11 *", `never fires`},
		{"0 0 1 foo *", `field 4 (month): unknown name "foo"`},
		{"1,,2 * * * *", `empty list item`},
		{"@every 500ms", `under the 1s minimum`},
		{"@every", `@every wants a duration`},
		{"@every5s", `@every wants a duration`},
		{"@fortnightly", `unknown macro`},
		{"", `0 fields`},
	}
	for _, tt := range tests {
		s, err := Parse(tt.expr, nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q) = %v, %v; want an error containing %q", tt.expr, s, err, tt.want)
		}
	}
	if _, err := LoadZone("Mars/Olympus"); err == nil || !strings.Contains(err.Error(), `unknown time zone "Mars/Olympus"`) {
		t.Errorf("LoadZone(Mars/Olympus) = %v", err)
	}
}

// TestAccepted: forms every cron user writes.
func TestAccepted(t *testing.T) {
	for _, expr := range []string{"*/5 * * * mon-fri", "0 0 1 1 *", "@yearly", "@ANNUALLY", "@monthly", "@daily",
		"@midnight", "@hourly", "@every 1s", "@every 1h30m", "0 0 29 2 *", "0 0 29 2 1", "0 12 * * SAT,sun",
		"0 0 L * *"[:0] + "0 0 1-7/2 * *", "0/15 * * * *", "30 2 * Dec 7", "*/2 * * * * *"} {
		if _, err := Parse(expr, nil); err != nil {
			t.Errorf("Parse(%q): %v", expr, err)
		}
	}
}

func TestJitterAndGap(t *testing.T) {
	at := utc(2025, 1, 1, 0, 0)
	a, b := Jitter("job-a", at, 30*time.Second), Jitter("job-a", at, 30*time.Second)
	if a != b || a < 0 || a > 30*time.Second || a%time.Second != 0 {
		t.Errorf("Jitter = %v, %v; want the same whole seconds in [0, 30s]", a, b)
	}
	seen := map[time.Duration]bool{}
	for i := range 50 {
		seen[Jitter("job-a", at.Add(time.Duration(i)*time.Minute), 30*time.Second)] = true
	}
	if len(seen) < 10 {
		t.Errorf("Jitter over 50 ticks took %d values; want it spread", len(seen))
	}
	if j := Jitter("x", at, 900*time.Millisecond); j != 0 {
		t.Errorf("Jitter under 1s = %v, want 0", j)
	}
	s, _ := Parse("0 9 * * mon-fri", nil)
	if g := MinGap(s, at); g != 24*time.Hour {
		t.Errorf("MinGap(weekdays 09:00) = %v, want 24h", g)
	}
	s, _ = Parse("*/2 * * * * *", nil)
	if g := MinGap(s, at); g != 2*time.Second {
		t.Errorf("MinGap(*/2 s) = %v, want 2s", g)
	}
}
