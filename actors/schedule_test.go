package actors

import (
	"slices"
	"testing"
	"time"

	"github.com/karajo/karajo/config"
	"github.com/karajo/karajo/config/schedule"
)

func mustSched(t *testing.T, expr, zone string) schedule.Schedule {
	t.Helper()
	loc, err := schedule.LoadZone(zone)
	if err != nil {
		t.Fatal(err)
	}
	s, err := schedule.Parse(expr, loc)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestCatchUpPoints(t *testing.T) {
	hourly := "0 * * * *"
	tests := []struct {
		name        string
		expr, zone  string
		plan        catchUpPlan
		cursor, now string
		want        []string
	}{
		{"none", hourly, "UTC", catchUpPlan{config.CatchUpNone, 24 * time.Hour, 10},
			"2025-01-01T00:00:00Z", "2025-01-01T05:30:00Z", nil},
		{"latest", hourly, "UTC", catchUpPlan{config.CatchUpLatest, 24 * time.Hour, 10},
			"2025-01-01T00:00:00Z", "2025-01-01T05:30:00Z", []string{"2025-01-01T05:00:00Z"}},
		{"all", hourly, "UTC", catchUpPlan{config.CatchUpAll, 24 * time.Hour, 10},
			"2025-01-01T02:00:00Z", "2025-01-01T05:30:00Z",
			[]string{"2025-01-01T03:00:00Z", "2025-01-01T04:00:00Z", "2025-01-01T05:00:00Z"}},
		{"all capped to the newest max", hourly, "UTC", catchUpPlan{config.CatchUpAll, 24 * time.Hour, 2},
			"2025-01-01T00:00:00Z", "2025-01-01T05:30:00Z", []string{"2025-01-01T04:00:00Z", "2025-01-01T05:00:00Z"}},
		{"window drops older points", hourly, "UTC", catchUpPlan{config.CatchUpAll, 2 * time.Hour, 10},
			"2025-01-01T00:00:00Z", "2025-01-01T05:30:00Z", []string{"2025-01-01T04:00:00Z", "2025-01-01T05:00:00Z"}},
		{"point exactly at the window's start is in", hourly, "UTC", catchUpPlan{config.CatchUpAll, 2 * time.Hour, 10},
			"2025-01-01T00:00:00Z", "2025-01-01T05:00:00Z",
			[]string{"2025-01-01T03:00:00Z", "2025-01-01T04:00:00Z", "2025-01-01T05:00:00Z"}},
		{"nothing missed", hourly, "UTC", catchUpPlan{config.CatchUpLatest, 24 * time.Hour, 10},
			"2025-01-01T05:00:00Z", "2025-01-01T05:30:00Z", nil},
		{"never took a point", hourly, "UTC", catchUpPlan{config.CatchUpLatest, 24 * time.Hour, 10},
			"", "2025-01-01T05:30:00Z", nil},
		{"all outside the window", "30 2 * * *", "UTC", catchUpPlan{config.CatchUpLatest, 6 * time.Hour, 10},
			"2025-01-01T02:30:00Z", "2025-01-02T12:00:00Z", nil},
		{"gap point in Berlin", "30 2 * * *", "Europe/Berlin", catchUpPlan{config.CatchUpAll, 24 * time.Hour, 10},
			"2025-03-29T02:30:00+01:00", "2025-03-30T04:00:00+02:00", []string{"2025-03-30T03:00:00+02:00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cursor time.Time
			if tt.cursor != "" {
				cursor = at(tt.cursor)
			}
			var got []string
			for _, p := range tt.plan.points(mustSched(t, tt.expr, tt.zone), cursor, at(tt.now)) {
				got = append(got, p.Format(time.RFC3339))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("points = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNextDueAndRunFacts(t *testing.T) {
	s := mustSched(t, "*/10 * * * * *", "UTC")
	d := nextDue(s, at("2025-01-01T00:00:05Z"), "job", 5*time.Second)
	if !d.nominal.Equal(at("2025-01-01T00:00:10Z")) || d.fire.Sub(d.nominal) != schedule.Jitter("job", d.nominal, 5*time.Second) ||
		d.reason != triggerTimer {
		t.Errorf("nextDue = %+v", d)
	}
	want := []config.Var{{Name: config.VarRunTrigger, Value: "timer"}, {Name: config.VarScheduledAt, Value: "2025-01-01T00:00:10Z"}}
	if got := d.vars(); !slices.Equal(got, want) {
		t.Errorf("vars = %v, want %v", got, want)
	}
	if got := (duePoint{}).vars(); got != nil {
		t.Errorf("vars of an unscheduled run = %v", got)
	}
	tests := []struct {
		d       duePoint
		newKeys bool
		want    string
	}{
		{d, true, "=== BEGIN trigger=timer scheduled_at=2025-01-01T00:00:10Z"},
		{d, false, "=== BEGIN"},
		{duePoint{}, true, "=== BEGIN"},
		{duePoint{nominal: at("2025-03-30T03:00:00+02:00"), reason: triggerCatchUp}, true,
			"=== BEGIN trigger=catch-up scheduled_at=2025-03-30T01:00:00Z"},
	}
	for _, tt := range tests {
		line := tt.d.beginLine(tt.newKeys)
		if line != tt.want {
			t.Errorf("beginLine = %q, want %q", line, tt.want)
		}
		got, ok := scheduledAt("2025-01-01 00:00:10 UTC job: x: " + line)
		if ok != (line != "=== BEGIN") || (ok && !got.Equal(tt.d.nominal)) {
			t.Errorf("scheduledAt(%q) = %v, %v", line, got, ok)
		}
	}
}
