package main

import (
	"fmt"
	"io"
	"slices"
)

// goal is a target an issue sets for a figure of this tool. A row names
// the goal it measures by key; the report ends with one line per goal:
// met, or missed and by how much, so `make bench` answers "are we there"
// without reading the whole table.
type goal struct {
	key    string  // the goal key rows carry
	issue  int     // the issue that set the target
	text   string  // the target in words
	limit  string  // when set, the figure is the row's median over this limit's median
	atMost bool    // met when the figure is ≤ target (else ≥)
	target float64 // in unit
	unit   string
}

// goals are the targets issues 10, 13, 17 and 18 set for this tool's figures.
var goals = []goal{
	{key: "hammer-8-runs", issue: 10, text: "8 jobs hammered, max_job_running 8: executed runs/s ≥ 0.95 × fork rate (2 in parallel)", limit: "fork-par", target: 0.95, unit: "×"},
	{key: "hammer-8-cpu", issue: 10, text: "server CPU per executed run (8 jobs hammered) ≤ 0.5 ms", atMost: true, target: 0.5, unit: "ms"},
	{key: "drain-rate", issue: 10, text: "jobs due at start drained at ≥ 0.9 × fork rate (2 in parallel)", limit: "fork-par", target: 0.9, unit: "×"},
	{key: "first-run-p50", issue: 10, text: "50 interval jobs: start → first command p50 ≤ 100 ms", atMost: true, target: 100, unit: "ms"},
	{key: "trigger-over-bare", issue: 10, text: "trigger → command start p50 ≤ bare fork/exec + 1 ms", atMost: true, target: 1, unit: "ms"},
	{key: "cron-lateness-p50", issue: 13, text: "100 cron jobs due in one second: lateness p50 ≤ 1.1 × a bare Go timer", limit: "cron-bare-p50", atMost: true, target: 1.1, unit: "×"},
	{key: "cron-100000-start", issue: 13, text: "100,000 cron jobs: start → first 200 ≤ 5 s", atMost: true, target: 5, unit: "s"},
	{key: "cron-100000-cpu", issue: 13, text: "100,000 cron jobs: idle CPU ≤ 2 % of a core", atMost: true, target: 2, unit: "%"},
	{key: "cron-100000-rss", issue: 13, text: "100,000 cron jobs: RSS ≤ 10 KB per job", atMost: true, target: 10, unit: "KB/job"},
	{key: "history-100000-start", issue: 17, text: "100,000 jobs with full history: restart → first 200 ≤ 5 s", atMost: true, target: 5, unit: "s"},
	{key: "cluster-trigger-over", issue: 18, text: "trigger → command start on the owning node ≤ single host + 2 ms (p50)", atMost: true, target: 2, unit: "ms"},
	{key: "cluster-start", issue: 18, text: "10,000 jobs on 3 nodes: start → every first 200 ≤ 5 s", atMost: true, target: 5, unit: "s"},
}

// goalResult is one goal judged against the rows of this run.
type goalResult struct {
	goal
	measured bool    // a row of this run carries the goal's key
	value    float64 // the figure (a ratio when the goal has a limit)
	met      bool
}

// judgeGoals judges every goal against rows and the limits measured in the
// same run. A goal whose row (or limit) this run did not measure is
// reported as not measured.
func judgeGoals(gs []goal, rows []row, limits map[string]float64) []goalResult {
	out := make([]goalResult, 0, len(gs))
	for _, g := range gs {
		res := goalResult{goal: g}
		i := slices.IndexFunc(rows, func(r row) bool { return r.goal == g.key && len(r.vals) > 0 })
		if i >= 0 {
			res.value, res.measured = median(rows[i].vals), true
			if g.limit != "" {
				l, ok := limits[g.limit]
				res.measured = ok && l != 0
				if res.measured {
					res.value /= l
				}
			}
			res.met = res.measured && (g.atMost && res.value <= g.target || !g.atMost && res.value >= g.target)
		}
		out = append(out, res)
	}
	return out
}

// verdict says whether the goal is met and, when it is missed, by how
// much: the share of the goal reached (≥ goals) or how many times the
// target the figure is (≤ goals).
func (r goalResult) verdict() string {
	switch {
	case !r.measured:
		return "not measured in this run"
	case r.met:
		return "met"
	case r.atMost:
		return fmt.Sprintf("missed: %.2f× the target", r.value/r.target)
	default:
		return fmt.Sprintf("missed: %.0f %% of the target", 100*r.value/r.target)
	}
}

// goalTable writes the judged goals that this run measured; it writes
// nothing when it measured none.
func goalTable(w io.Writer, results []goalResult) {
	if !slices.ContainsFunc(results, func(r goalResult) bool { return r.measured }) {
		return
	}
	fmt.Fprintln(w, "\n### Goals of the issues, judged on this run")
	fmt.Fprintln(w, "\n| issue | goal | this run | verdict |")
	fmt.Fprintln(w, "|---:|---|---:|---|")
	for _, r := range results {
		if !r.measured {
			continue
		}
		fmt.Fprintf(w, "| %d | %s | %s %s | %s |\n", r.issue, r.text, num(r.value), r.unit, r.verdict())
	}
	fmt.Fprintln(w, "\nWhy a goal is missed, with profiles and what was tried: docs/PERFORMANCE.md.")
}
