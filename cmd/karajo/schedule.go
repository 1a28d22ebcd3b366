package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/karajo/karajo/config/schedule"
)

// scheduleCmd runs `karajo schedule [-timezone TZ] [-after RFC3339] [-n N]
// EXPR`: it prints the next N runs of EXPR (anything a job's cron or
// schedule key accepts) without a server, one per line: the instant in RFC
// 3339 with the zone's offset, then in UTC, then the weekday. It returns
// 0, or 2 with the reason on stderr for a refused expression, zone or flag.
func scheduleCmd(args []string, stdout, stderr io.Writer, now time.Time) int {
	fs := flag.NewFlagSet("karajo schedule", flag.ContinueOnError)
	fs.SetOutput(stderr)
	zone := fs.String("timezone", "UTC", "IANA time zone of the expression")
	after := fs.String("after", "", "list the runs strictly after this instant (RFC 3339; default now)")
	n := fs.Int("n", 10, "how many runs to list (1 to 1000)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: karajo schedule [-timezone TZ] [-after RFC3339] [-n N] EXPR")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "karajo schedule: "+format+"\n", a...)
		return 2
	}
	if fs.NArg() == 0 {
		return fail("missing EXPR: a cron expression (quote it) or a karajo schedule")
	}
	expr := strings.Join(fs.Args(), " ") // an unquoted expression arrives in pieces
	if *n < 1 || *n > 1000 {
		return fail("-n %d: want 1 to 1000", *n)
	}
	loc, err := schedule.LoadZone(*zone)
	if err != nil {
		return fail("-timezone: %v", err)
	}
	from := now
	if *after != "" {
		if from, err = time.Parse(time.RFC3339, *after); err != nil {
			return fail("-after %q: want RFC 3339, such as 2025-03-08T12:00:00Z", *after)
		}
	}
	s, err := schedule.Parse(expr, loc)
	if err != nil {
		return fail("%q: %v", expr, err)
	}
	for _, t := range schedule.Upcoming(s, from, *n) {
		fmt.Fprintf(stdout, "%s  %s  %s\n", t.In(loc).Format(time.RFC3339), t.UTC().Format(time.RFC3339), t.In(loc).Weekday().String()[:3])
	}
	return 0
}
