package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"
)

// useColor reports whether w is a terminal and NO_COLOR is not set
// (https://no-color.org: any non-empty value).
func useColor(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && os.Getenv("NO_COLOR") == "" && term.IsTerminal(int(f.Fd()))
}

// statusColor is the ANSI colour (each code 5 bytes long) of a job or run status.
func statusColor(s string) string {
	switch s {
	case "success":
		return "\x1b[32m" // green
	case "failed":
		return "\x1b[31m" // red
	case "running":
		return "\x1b[36m" // cyan
	case "paused", "canceled", "cancelled":
		return "\x1b[33m" // yellow
	}
	return ""
}

// writeTable prints the jobs as an aligned table: job, kind, status,
// last run with its age, next run with the time left, and the runs in
// progress or waiting. With color, every status cell (the header's too)
// is wrapped in escape codes of the same length, so that tabwriter, which
// counts their bytes, keeps the columns aligned.
func writeTable(w io.Writer, jobs []*jobState, now time.Time, color bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "JOB\tKIND\t"+paint("STATUS", "", color)+"\tLAST RUN\tNEXT RUN\tRUNNING")
	for _, j := range jobs {
		st := paint(orDash(j.Status), j.Status, color)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", j.ID, strings.TrimPrefix(j.Kind, "job_"), st,
			when(j.LastRun, now), when(j.NextRun, now), inProgress(j))
	}
	tw.Flush()
}

// paint wraps s in the colour of status when color is set; every
// colour, the default one too, has codes of the same length, so that a
// tabwriter, which counts their bytes, keeps columns aligned.
func paint(s, status string, color bool) string {
	if !color {
		return s
	}
	c := statusColor(status)
	if c == "" {
		c = "\x1b[39m" // the default colour: as long as the others
	}
	return c + s + "\x1b[0m"
}

// orDash is s, or "-" when empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// when shows an instant in UTC with how long ago or ahead it is; the
// zero time (never) is "-".
func when(t, now time.Time) string {
	if t.IsZero() || t.Year() <= 1 {
		return "-"
	}
	d := now.Sub(t)
	rel := age(d) + " ago"
	if d < 0 {
		rel = "in " + age(-d)
	}
	return t.UTC().Format("2006-01-02 15:04:05Z") + " (" + rel + ")"
}

// age is a duration rounded for people: 42s, 5m, 3h12m, 2d4h.
func age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%dh", int(d.Hours())/24, int(d.Hours())%24)
}

// inProgress lists the runs in progress ("#4") and what the job waits
// for ("waiting for slot"); "-" when idle.
func inProgress(j *jobState) string {
	var parts []string
	for _, c := range j.InProgress {
		parts = append(parts, fmt.Sprintf("#%d", c))
	}
	if j.Waiting != "" {
		parts = append(parts, "waiting for "+j.Waiting)
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}
