package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
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

	// From the server's run history (issue 17); absent when an older
	// server has none and the runs come from the logs it keeps.
	Duration      float64 `json:"duration,omitempty"` // seconds, exact
	Reason        string  `json:"reason,omitempty"`   // why a run did not happen (status skipped)
	Count         int     `json:"count,omitempty"`    // refusals merged into one record
	User          string  `json:"user,omitempty"`
	DeliveryID    string  `json:"delivery_id,omitempty"`
	Remote        string  `json:"remote,omitempty"`
	ExitCode      int     `json:"exit_code,omitempty"`
	FailedCommand *int    `json:"failed_command,omitempty"`
	LogKept       *bool   `json:"log_kept,omitempty"`
	Cursor        string  `json:"cursor,omitempty"`   // -cursor this for the records older than this one
	RetryOf       int64   `json:"retry_of,omitempty"` // a retry attempt's run (with -attempts)
	Attempt       int     `json:"attempt,omitempty"`  // that attempt's number
}

// historyCmd runs `karajo history [-n N] [-before COUNTER | -cursor C]
// [-skipped=false] [-o table|json] ID`: the job's runs, newest first, from
// the server's run history (GET .../runs: every run kept by
// history_retention, and the runs that did not happen, with their reason),
// paged by cursor (500 a request) up to N; a full table ends with the
// cursor of the next page on stderr. An older server without that
// endpoint gives the runs it keeps logs of (log_retention, and the run in
// progress), with start, duration and trigger read from each run's log.
func historyCmd(name string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("karajo "+name, flag.ContinueOnError)
	cf := addClientFlags(fs)
	n := fs.Int("n", 20, "show at most this many runs, newest first")
	format := fs.String("o", "table", "output: table or json")
	before := fs.Int64("before", 0, "only runs before this counter (page back)")
	cursor := fs.String("cursor", "", "only records older than the one with this cursor (page back; the table's last line or -o json's \"cursor\")")
	skipped := fs.Bool("skipped", true, "list the runs that did not happen (paused, overlap, server down…)")
	attempts := fs.Bool("attempts", false, "list each retry attempt too (trigger retry, beside its run)")
	if ok, code := parseClient(fs, args, stderr, "history [flags] ID", 1, 1); !ok {
		return code
	}
	if *format != "table" && *format != "json" {
		return usageErr(stderr, name, fmt.Sprintf("-o %q: want table or json", *format))
	}
	if *n < 1 {
		return usageErr(stderr, name, fmt.Sprintf("-n %d: want at least 1", *n))
	}
	if *cursor != "" && *before != 0 {
		return usageErr(stderr, name, "-cursor and -before exclude each other")
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
		runs, err := c.runPages(j, *n, runsFrom{before: *before, cursor: *cursor, attempts: *attempts}, *skipped)
		if errors.Is(err, errNoHistory) {
			runs, err = c.history(j, *n)
		}
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
		if len(runs) == *n && runs[len(runs)-1].Cursor != "" {
			fmt.Fprintf(stderr, "older: karajo history -cursor %s %s\n", runs[len(runs)-1].Cursor, id)
		}
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
	fmt.Fprintln(tw, "RUN\t"+paint("STATUS", "", color)+"\tSTARTED\tDURATION\tTRIGGER\tNOTE")
	for _, r := range runs {
		started := "-"
		if !r.Started.IsZero() {
			started = r.Started.UTC().Format("2006-01-02 15:04:05Z")
		}
		run, dur := "#"+strconv.FormatInt(r.Counter, 10), (time.Duration(r.Seconds) * time.Second).String()
		if r.Status == "skipped" {
			run = "-"
		}
		if r.Duration > 0 {
			dur = time.Duration(r.Duration * float64(time.Second)).Round(time.Millisecond).String()
		}
		trigger := orDash(r.Trigger)
		if r.User != "" {
			trigger += " (" + r.User + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", run, paint(orDash(r.Status), r.Status, color), started, dur, trigger, note(r))
	}
	tw.Flush()
}

// note is the NOTE column of a run: why it did not happen, or how it failed.
func note(r runSummary) string {
	switch {
	case r.Reason != "" && r.Count > 1:
		return fmt.Sprintf("%s (x%d)", r.Reason, r.Count)
	case r.Reason != "":
		return r.Reason
	case r.RetryOf > 0 && r.FailedCommand != nil && *r.FailedCommand >= 0:
		return fmt.Sprintf("attempt %d of #%d: command %d exited %d", r.Attempt, r.RetryOf, *r.FailedCommand, r.ExitCode)
	case r.RetryOf > 0:
		return fmt.Sprintf("attempt %d of #%d", r.Attempt, r.RetryOf)
	case r.FailedCommand != nil && *r.FailedCommand >= 0:
		return fmt.Sprintf("command %d exited %d", *r.FailedCommand, r.ExitCode)
	}
	return ""
}

// errNoHistory says the server has no run history endpoint (an older
// server) or no history file: the caller falls back to the logs.
var errNoHistory = errors.New("no run history on the server")

// historyRecord is a run record of GET .../runs.
type historyRecord struct {
	Counter int64  `json:"counter"`
	Status  string `json:"status"`
	Reason  string `json:"reason"`
	Count   int    `json:"count"`
	Trigger struct {
		Kind       string `json:"kind"`
		DeliveryID string `json:"delivery_id"`
		Remote     string `json:"remote"`
		User       string `json:"user"`
		RetryOf    int64  `json:"retry_of"`
	} `json:"trigger"`
	Attempt       int       `json:"attempt"`
	ScheduledAt   time.Time `json:"scheduled_at"`
	QueuedAt      time.Time `json:"queued_at"`
	StartedAt     time.Time `json:"started_at"`
	FinishedAt    time.Time `json:"finished_at"`
	Duration      float64   `json:"duration"`
	ExitCode      int       `json:"exit_code"`
	FailedCommand int       `json:"failed_command"`
	LogKept       bool      `json:"log_kept"`
	Cursor        string    `json:"cursor"`
}

// runsFrom is where a listing of run records starts: before a counter,
// after a record's cursor, or (both zero) at the newest.
type runsFrom struct {
	before   int64
	cursor   string
	attempts bool // list the records of retry attempts too
}

// maxRunsPage is the server's largest page of run records.
const maxRunsPage = 500

// runPages reads the newest n records of j from from, a page of at most
// 500 after another, each from the last record's cursor; see runRecords.
func (c *client) runPages(j *jobState, n int, from runsFrom, skipped bool) ([]runSummary, error) {
	var runs []runSummary
	for len(runs) < n {
		page, err := c.runRecords(j, min(n-len(runs), maxRunsPage), from, skipped)
		if err != nil {
			return nil, err
		}
		runs = append(runs, page...)
		if len(page) < maxRunsPage || page[len(page)-1].Cursor == "" {
			break
		}
		from = runsFrom{cursor: page[len(page)-1].Cursor, attempts: from.attempts}
	}
	return runs, nil
}

// runRecords reads the newest n (<= 500) records of j from from in the
// server's run history; errNoHistory when the server has none (an older
// server answers 404 for the unknown endpoint: the job itself is known to
// exist).
func (c *client) runRecords(j *jobState, n int, from runsFrom, skipped bool) ([]runSummary, error) {
	path := "/karajo/api/job_exec/runs"
	if j.Kind == kindHTTP {
		path = "/karajo/api/job_http/runs"
	}
	q := url.Values{"id": {j.ID}, "limit": {strconv.Itoa(n)}, "skipped": {strconv.FormatBool(skipped)}}
	if from.attempts {
		q.Set("attempts", "true")
	}
	switch {
	case from.cursor != "":
		q.Set("cursor", from.cursor)
	case from.before > 0:
		q.Set("before", strconv.FormatInt(from.before, 10))
	}
	var recs []historyRecord
	if err := c.read(path, q, &recs); err != nil {
		var ce *cliError
		if errors.As(err, &ce) && (strings.Contains(ce.msg, "(HTTP 404)") || strings.Contains(ce.msg, "(HTTP 503)")) {
			return nil, errNoHistory
		}
		return nil, err
	}
	runs := make([]runSummary, 0, len(recs))
	for _, h := range recs {
		r := runSummary{Counter: h.Counter, Status: h.Status, Started: h.StartedAt, Last: h.FinishedAt,
			Seconds: int64(h.Duration), Duration: h.Duration, Trigger: h.Trigger.Kind, Reason: h.Reason, User: h.Trigger.User,
			DeliveryID: h.Trigger.DeliveryID, Remote: h.Trigger.Remote, ExitCode: h.ExitCode, Cursor: h.Cursor}
		if h.Trigger.Kind == "retry" {
			r.RetryOf, r.Attempt = h.Trigger.RetryOf, h.Attempt
		}
		if h.Status == "skipped" {
			r.Started, r.Count = cmpTime(h.ScheduledAt, h.QueuedAt), h.Count
		} else {
			fc, kept := h.FailedCommand, h.LogKept
			r.FailedCommand, r.LogKept = &fc, &kept
		}
		runs = append(runs, r)
	}
	return runs, nil
}

// cmpTime is a, or b when a is zero.
func cmpTime(a, b time.Time) time.Time {
	if a.IsZero() {
		return b
	}
	return a
}
