package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

func init() { clientCommands["history"] = historyCmd }

// runSummary is one run of a job in `karajo history`.
type runSummary struct {
	Counter  int64     `json:"counter"`
	Status   string    `json:"status"`
	Started  time.Time `json:"started"`
	Last     time.Time `json:"last_line"` // the time of the log's last line
	Seconds  int64     `json:"duration_seconds"`
	Trigger  string    `json:"trigger,omitempty"`
	LogBytes int       `json:"log_bytes"`
}

// historyCmd runs `karajo history [-n N] [-o table|json] ID`: the runs
// of the job that the server keeps (log_retention, and the run in
// progress), newest first, with start, duration and trigger read from
// each run's log.
func historyCmd(name string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("karajo "+name, flag.ContinueOnError)
	cf := addClientFlags(fs)
	n := fs.Int("n", 20, "show at most this many runs, newest first")
	format := fs.String("o", "table", "output: table or json")
	if ok, code := parseClient(fs, args, stderr, "history [flags] ID", 1, 1); !ok {
		return code
	}
	if *format != "table" && *format != "json" {
		return usageErr(stderr, name, fmt.Sprintf("-o %q: want table or json", *format))
	}
	if *n < 1 {
		return usageErr(stderr, name, fmt.Sprintf("-n %d: want at least 1", *n))
	}
	return exitWith(stderr, name, func() error {
		c, err := cf.connect(name)
		if err != nil {
			return err
		}
		id := fs.Arg(0)
		j, err := c.job(id)
		if err != nil {
			return err
		}
		if j == nil {
			return failf(exitRefused, "job not found: %s", id)
		}
		runs, err := c.history(j, *n)
		if err != nil {
			return err
		}
		if *format == "json" {
			b, err := json.MarshalIndent(runs, "", "  ")
			if err != nil {
				return fmt.Errorf("encode runs: %w", err)
			}
			_, err = fmt.Fprintf(stdout, "%s\n", b)
			return err
		}
		writeHistory(stdout, runs, useColor(stdout))
		return nil
	}())
}

// history reads the newest n runs of j, newest first.
func (c *client) history(j *jobState, n int) ([]runSummary, error) {
	status := map[int64]string{}
	var counters []int64
	for _, l := range j.Logs {
		status[l.Counter] = l.Status
		counters = append(counters, l.Counter)
	}
	for _, r := range j.InProgress {
		if _, ok := status[r]; !ok {
			counters = append(counters, r)
		}
		status[r] = "running"
	}
	slices.Sort(counters)
	slices.Reverse(counters)
	counters = slices.Compact(counters)
	runs := make([]runSummary, 0, min(n, len(counters)))
	for _, k := range counters[:min(n, len(counters))] {
		l, err := c.readLog(j, j.ID, k)
		if err != nil {
			if ce, ok := err.(*cliError); ok && ce.code == exitRefused {
				continue // pruned since the environment was read
			}
			return nil, err
		}
		r := summarize(l.Content)
		r.Counter, r.Status = k, cmpOr(l.Status, status[k])
		runs = append(runs, r)
	}
	return runs, nil
}

// cmpOr is a, or b when a is empty.
func cmpOr(a, b string) string {
	if a == "" {
		return b
	}
	return a
}

// logTime is the layout of the time that starts every log line (SPEC 7.3).
const logTime = "2006-01-02 15:04:05 MST"

// summarize reads a run's start, the time of its last line, and its
// trigger ("=== BEGIN trigger=…", written by jobs with run control keys)
// from its log text.
func summarize(content []byte) runSummary {
	r := runSummary{LogBytes: len(content)}
	sc := bufio.NewScanner(bytes.NewReader(content))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		if len(line) < len(logTime) {
			continue
		}
		t, err := time.Parse(logTime, line[:len(logTime)])
		if err != nil {
			continue
		}
		if r.Started.IsZero() {
			r.Started = t
		}
		r.Last = t
		if _, after, ok := strings.Cut(line, "=== BEGIN trigger="); ok && r.Trigger == "" {
			r.Trigger, _, _ = strings.Cut(after, " ")
		}
	}
	if !r.Started.IsZero() {
		r.Seconds = int64(r.Last.Sub(r.Started) / time.Second)
	}
	return r
}

// writeHistory prints runs as an aligned table (status coloured as in
// writeTable).
func writeHistory(w io.Writer, runs []runSummary, color bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\t"+paint("STATUS", "", color)+"\tSTARTED\tDURATION\tTRIGGER")
	for _, r := range runs {
		started := "-"
		if !r.Started.IsZero() {
			started = r.Started.UTC().Format("2006-01-02 15:04:05Z")
		}
		fmt.Fprintf(tw, "#%d\t%s\t%s\t%s\t%s\n", r.Counter, paint(orDash(r.Status), r.Status, color), started,
			(time.Duration(r.Seconds) * time.Second).String(), orDash(r.Trigger))
	}
	tw.Flush()
}
