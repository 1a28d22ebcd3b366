package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestScheduleCmd(t *testing.T) {
	now := time.Date(2025, 3, 8, 17, 0, 0, 0, time.UTC)
	tests := []struct {
		args      []string
		code      int
		out, errs string
	}{
		{[]string{"-timezone", "America/New_York", "-n", "2", "30 2 * * *"}, 0,
			"2025-03-09T03:00:00-04:00  2025-03-09T07:00:00Z  Sun\n2025-03-10T02:30:00-04:00  2025-03-10T06:30:00Z  Mon\n", ""},
		{[]string{"-n", "1", "-after", "2025-01-01T06:00:00Z", "daily@06:00"}, 0, "2025-01-02T06:00:00Z  2025-01-02T06:00:00Z  Thu\n", ""},
		{[]string{"-n", "1", "0", "9", "*", "*", "mon-fri"}, 0, "2025-03-10T09:00:00Z  2025-03-10T09:00:00Z  Mon\n", ""},
		{[]string{"0 9 * * mon-fry"}, 2, "", `field 5 (day of week): unknown name "fry"`},
		{[]string{"-timezone", "Mars/Base", "0 9 * * *"}, 2, "", `unknown time zone "Mars/Base"`},
		{[]string{"-after", "now", "0 9 * * *"}, 2, "", `-after "now"`},
		{[]string{"-n", "0", "0 9 * * *"}, 2, "", "-n 0"},
		{[]string{}, 2, "", "missing EXPR"},
		{[]string{"-bogus", "x"}, 2, "", "flag provided but not defined"},
	}
	for _, tt := range tests {
		var out, errs bytes.Buffer
		code := scheduleCmd(tt.args, &out, &errs, now)
		if code != tt.code || out.String() != tt.out || !strings.Contains(errs.String(), tt.errs) {
			t.Errorf("schedule %q = %d, %q, %q; want %d, %q, %q", tt.args, code, out.String(), errs.String(), tt.code, tt.out, tt.errs)
		}
	}
}
