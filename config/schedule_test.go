package config

import (
	"errors"
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

func TestScheduleNext(t *testing.T) {
	tests := []struct {
		name     string
		schedule string
		after    time.Time
		want     time.Time
	}{
		// SPEC 8.4 worked examples.
		{"spec minutely", "minutely", utc(2024, 1, 31, 10, 15, 30), utc(2024, 1, 31, 10, 16)},
		{"spec hourly", "hourly", utc(2024, 1, 31, 10, 15, 30), utc(2024, 1, 31, 11, 0)},
		{"spec hourly@0,30 before", "hourly@0,30", utc(2024, 1, 31, 10, 29, 59), utc(2024, 1, 31, 10, 30)},
		{"spec hourly@0,30 on", "hourly@0,30", utc(2024, 1, 31, 10, 30), utc(2024, 1, 31, 11, 0)},
		{"spec hourly bad items", "hourly@45,15,99,x", utc(2024, 1, 31, 23, 50), utc(2024, 2, 1, 0, 15)},
		{"spec daily", "daily", utc(2024, 1, 31, 10, 15, 30), utc(2024, 2, 1, 0, 0)},
		{"spec daily two times", "daily@06:00,18:30", utc(2024, 1, 31, 6, 0), utc(2024, 1, 31, 18, 30)},
		{"spec daily@6", "daily@6", utc(2024, 1, 31, 5, 0), utc(2024, 1, 31, 6, 0)},
		{"spec weekly", "weekly", utc(2024, 1, 31, 10, 0), utc(2024, 2, 4, 0, 0)},
		{"spec weekly mon,fri", "weekly@mon,fri@09:00", utc(2024, 1, 31, 10, 0), utc(2024, 2, 2, 9, 0)},
		{"spec weekly today later", "weekly@Wednesday@09:00,12:00", utc(2024, 1, 31, 10, 0), utc(2024, 1, 31, 12, 0)},
		{"spec monthly", "monthly", utc(2024, 1, 31, 10, 0), utc(2024, 2, 1, 0, 0)},
		{"spec monthly today later", "monthly@1,15@18:00", utc(2024, 1, 15, 17, 59), utc(2024, 1, 15, 18, 0)},
		{"spec MONTHLY on the point", "MONTHLY@15@08:00", utc(2024, 1, 15, 8, 0), utc(2024, 2, 15, 8, 0)},
		{"spec monthly 30,31 through Feb", "monthly@30,31@12:00", utc(2024, 2, 10, 10, 0), utc(2024, 3, 30, 12, 0)},
		{"spec monthly@31 IMP-30", "monthly@31", utc(2024, 1, 31, 10, 0), utc(2024, 3, 31, 0, 0)},
		{"spec 06:00:30 is past 06:00", "daily@06:00", utc(2024, 1, 31, 6, 0, 30), utc(2024, 2, 1, 6, 0)},

		// Month days.
		{"monthly 30,31 non-leap Feb", "monthly@30,31", utc(2023, 1, 31, 0, 0), utc(2023, 3, 30, 0, 0)},
		{"monthly 30,31 leap Feb", "monthly@30,31", utc(2024, 1, 31, 0, 0), utc(2024, 3, 30, 0, 0)},
		{"monthly@29 non-leap", "monthly@29", utc(2023, 1, 29, 0, 0), utc(2023, 3, 29, 0, 0)},
		{"monthly@29 leap", "monthly@29", utc(2024, 1, 29, 0, 0), utc(2024, 2, 29, 0, 0)},
		{"monthly@31 skips April", "monthly@31", utc(2024, 3, 31, 0, 0), utc(2024, 5, 31, 0, 0)},
		{"monthly@31 Dec to Jan", "monthly@31@23:59", utc(2024, 12, 31, 23, 59), utc(2025, 1, 31, 23, 59)},
		{"monthly day 0 dropped", "monthly@0,10", utc(2024, 1, 31, 10, 0), utc(2024, 2, 10, 0, 0)},
		{"monthly only day 0 is day 1", "monthly@0", utc(2024, 1, 31, 10, 0), utc(2024, 2, 1, 0, 0)},
		{"monthly 32 dropped", "monthly@32,5", utc(2024, 1, 6, 0, 0), utc(2024, 2, 5, 0, 0)},
		{"monthly later day this month", "monthly@5,20@08:00", utc(2024, 1, 5, 9, 0), utc(2024, 1, 20, 8, 0)},
		{"monthly items with spaces", "monthly@ 5 , 20 @ 08:00", utc(2024, 1, 5, 9, 0), utc(2024, 1, 20, 8, 0)},

		// Weekly.
		{"weekly wraps to next week", "weekly@mon@09:00", utc(2024, 1, 31, 10, 0), utc(2024, 2, 5, 9, 0)},
		{"weekly today only, time passed", "weekly@wed@09:00", utc(2024, 1, 31, 10, 0), utc(2024, 2, 7, 9, 0)},
		{"weekly saturday to sunday", "weekly@sun", utc(2024, 2, 3, 23, 59, 59), utc(2024, 2, 4, 0, 0)},
		{"weekly duplicates and unknown", "weekly@fri,friday,FRI,noday@09:00", utc(2024, 1, 31, 10, 0), utc(2024, 2, 2, 9, 0)},
		{"weekly only unknown is sunday", "weekly@funday", utc(2024, 1, 31, 10, 0), utc(2024, 2, 4, 0, 0)},
		{"weekly trimmed names", "weekly@ Mon , Fri @ 09:00", utc(2024, 1, 31, 10, 0), utc(2024, 2, 2, 9, 0)},

		// Hourly.
		{"hourly items with spaces", "hourly@0, 30", utc(2024, 1, 31, 10, 10), utc(2024, 1, 31, 10, 30)},
		{"hourly duplicates", "hourly@30,30,30", utc(2024, 1, 31, 10, 30), utc(2024, 1, 31, 11, 30)},
		{"hourly out of range only", "hourly@60,-1", utc(2024, 1, 31, 10, 10), utc(2024, 1, 31, 11, 0)},
		{"hourly year rollover", "hourly@5", utc(2024, 12, 31, 23, 5), utc(2025, 1, 1, 0, 5)},
		{"hourly after @ ignored", "hourly@15@junk", utc(2024, 1, 31, 10, 10), utc(2024, 1, 31, 10, 15)},

		// Daily and times.
		{"daily 25:99 is midnight", "daily@25:99", utc(2024, 1, 31, 10, 0), utc(2024, 2, 1, 0, 0)},
		{"daily 6 is 06:00", "daily@6", utc(2024, 1, 31, 5, 59, 59), utc(2024, 1, 31, 6, 0)},
		{"daily seconds ignored", "daily@06:30:45", utc(2024, 1, 31, 6, 0), utc(2024, 1, 31, 6, 30)},
		{"daily bad minute is 0", "daily@07:xx", utc(2024, 1, 31, 6, 0), utc(2024, 1, 31, 7, 0)},
		{"daily duplicate times", "daily@06:00,6,06:00:30", utc(2024, 1, 31, 6, 0), utc(2024, 2, 1, 6, 0)},
		{"daily unsorted", "daily@18:30,06:00", utc(2024, 1, 31, 7, 0), utc(2024, 1, 31, 18, 30)},
		{"daily year rollover", "daily@00:00", utc(2024, 12, 31, 23, 59, 59, 999999999), utc(2025, 1, 1, 0, 0)},
		{"daily empty items ignored", "daily@,18:00,", utc(2024, 1, 31, 7, 0), utc(2024, 1, 31, 18, 0)},
		{"minutely rest ignored", "minutely@5", utc(2024, 1, 31, 10, 15, 0, 1), utc(2024, 1, 31, 10, 16)},
		{"minutely exactly on minute", "minutely", utc(2024, 1, 31, 10, 15), utc(2024, 1, 31, 10, 16)},
		{"minutely year rollover", "Minutely", utc(2024, 12, 31, 23, 59, 30), utc(2025, 1, 1, 0, 0)},
		{"kind trimmed", " daily ", utc(2024, 1, 31, 10, 0), utc(2024, 2, 1, 0, 0)},

		// after in another location: converted to UTC first.
		{"non-UTC after", "daily@06:00", time.Date(2024, 1, 31, 1, 0, 0, 0, time.FixedZone("EST", -5*3600)), utc(2024, 2, 1, 6, 0)},
		{"non-UTC after same day", "daily@06:00", time.Date(2024, 1, 31, 6, 59, 0, 0, time.FixedZone("CET", 3600)), utc(2024, 1, 31, 6, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseSchedule(tt.schedule)
			if err != nil {
				t.Fatalf("ParseSchedule(%q): %v", tt.schedule, err)
			}
			got := s.Next(tt.after)
			if !got.Equal(tt.want) || got.Location() != time.UTC {
				t.Errorf("%q.Next(%v) = %v, want %v", tt.schedule, tt.after, got, tt.want)
			}
		})
	}
}

func TestParseScheduleString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"minutely", "minutely"},
		{"MINUTELY@x", "minutely"},
		{"hourly", "hourly@0"},
		{"hourly@45,15,99,x", "hourly@15,45"},
		{"hourly@0, 30", "hourly@0,30"},
		{"daily", "daily@00:00"},
		{"daily@25:99,6,18:30:10", "daily@00:00,06:00,18:30"},
		{"weekly", "weekly@sun@00:00"},
		{"weekly@Friday,mon,FRI@9", "weekly@mon,fri@09:00"},
		{"monthly", "monthly@1@00:00"},
		{"monthly@31,0,32,1, 15@18:00", "monthly@1,15,31@18:00"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			s, err := ParseSchedule(tt.in)
			if err != nil {
				t.Fatalf("ParseSchedule(%q): %v", tt.in, err)
			}
			if got := s.String(); got != tt.want {
				t.Errorf("ParseSchedule(%q).String() = %q, want %q", tt.in, got, tt.want)
			}
			again, err := ParseSchedule(s.String())
			if err != nil || again.String() != tt.want {
				t.Errorf("ParseSchedule(%q) = %v, %v; want %q", s.String(), again, err, tt.want)
			}
		})
	}
}

func TestParseScheduleKind(t *testing.T) {
	for _, s := range []string{"yearly", "", " ", "@hourly", "hour", "daily2", "hourly,daily"} {
		t.Run(s, func(t *testing.T) {
			got, err := ParseSchedule(s)
			if !errors.Is(err, errScheduleKind) || got != nil {
				t.Errorf("ParseSchedule(%q) = %v, %v; want nil, %v", s, got, err, errScheduleKind)
			}
		})
	}
}

func TestScheduleNil(t *testing.T) {
	var s *Schedule
	if got := s.Next(utc(2024, 1, 1, 0, 0)); !got.IsZero() {
		t.Errorf("nil.Next() = %v, want zero time", got)
	}
	if got := s.String(); got != "" {
		t.Errorf("nil.String() = %q, want \"\"", got)
	}
}
