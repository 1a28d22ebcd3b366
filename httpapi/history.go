package httpapi

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/julienschmidt/httprouter"

	"github.com/karajo/karajo/actors"
	"github.com/karajo/karajo/logstore/history"
)

// Run history paths (issue 17).
const (
	pathExecRuns  = "/karajo/api/job_exec/runs"
	pathHTTPRuns  = "/karajo/api/job_http/runs"
	pathExecStats = "/karajo/api/job_exec/stats"
	pathHTTPStats = "/karajo/api/job_http/stats"
)

// Limits of the history parameters.
const (
	defaultRunsLimit = 50
	maxRunsLimit     = 500
	defaultWindow    = "7d"
	minWindow        = time.Hour
	maxWindow        = 366 * 24 * time.Hour
)

// nameInvalidParam names a refused history parameter; nameNoHistory the
// answer of a server whose history file could not be opened.
const (
	nameInvalidParam = "ERR_INVALID_PARAM"
	nameNoHistory    = "ERR_NO_HISTORY"
)

// routeHistory adds the run history endpoints.
func (s *Server) routeHistory(handle func(method, path string, h httprouter.Handle)) {
	handle(http.MethodGet, pathExecRuns, s.jobRuns(false))
	handle(http.MethodGet, pathHTTPRuns, s.jobRuns(true))
	handle(http.MethodGet, pathExecStats, s.jobStats(false))
	handle(http.MethodGet, pathHTTPStats, s.jobStats(true))
	for _, p := range []string{pathExecRuns, pathHTTPRuns, pathExecStats, pathHTTPStats} {
		handle(http.MethodHead, p, headJSON)
	}
}

func badParam(name, raw, want string) error {
	return &apiError{Code: http.StatusBadRequest, Name: nameInvalidParam,
		Message: "invalid " + name + " " + strconv.Quote(raw) + ": want " + want}
}

// runsParams are the checked parameters of a runs query.
type runsParams struct {
	limit    int
	before   int64
	cursor   history.Key
	skipped  bool
	attempts bool
}

// parseRunsParams checks limit (1..500, default 50), before (a counter
// >= 1, absent = from the newest), cursor (a record's cursor; not with
// before), skipped (true or false, default true) and attempts (true or
// false, default false).
func parseRunsParams(q url.Values) (runsParams, error) {
	p := runsParams{limit: defaultRunsLimit, skipped: true}
	if raw, ok := q["limit"]; ok {
		n, err := strconv.Atoi(raw[0])
		if err != nil || n < 1 || n > maxRunsLimit {
			return p, badParam("limit", raw[0], "1 to "+strconv.Itoa(maxRunsLimit))
		}
		p.limit = n
	}
	if raw, ok := q["before"]; ok {
		n, err := strconv.ParseInt(raw[0], 10, 64)
		if err != nil || n < 1 {
			return p, badParam("before", raw[0], "a run counter of 1 or more")
		}
		p.before = n
	}
	if raw, ok := q["cursor"]; ok {
		k, ok := history.ParseCursor(raw[0])
		if !ok {
			return p, badParam("cursor", raw[0], "the cursor of a record of this list")
		}
		if p.before > 0 {
			return p, badParam("cursor", raw[0], "cursor or before, not both")
		}
		p.cursor = k
	}
	if raw, ok := q["attempts"]; ok {
		switch raw[0] {
		case "true":
			p.attempts = true
		case "false":
		default:
			return p, badParam("attempts", raw[0], "true or false")
		}
	}
	if raw, ok := q["skipped"]; ok {
		switch raw[0] {
		case "true":
		case "false":
			p.skipped = false
		default:
			return p, badParam("skipped", raw[0], "true or false")
		}
	}
	return p, nil
}

// parseWindow parses a stats window: a Go duration ("36h") or a number of
// days ("7d"), from 1h to 366d; "" is the default 7d.
func parseWindow(raw string) (string, time.Duration, error) {
	if raw == "" {
		raw = defaultWindow
	}
	var d time.Duration
	if days, ok := strings.CutSuffix(raw, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 366 {
			return "", 0, badParam("window", raw, "1h to 366d, such as 24h or 7d")
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(raw); err != nil {
			return "", 0, badParam("window", raw, "1h to 366d, such as 24h or 7d")
		}
	}
	if d < minWindow || d > maxWindow {
		return "", 0, badParam("window", raw, "1h to 366d, such as 24h or 7d")
	}
	return raw, d, nil
}

// historyJob finds the job of a history request: an unknown id is a 404
// ERR_JOB_NOT_FOUND.
func (s *Server) historyJob(q url.Values, httpJob bool) (string, *actor.PID, error) {
	id := q.Get("id")
	var pid *actor.PID
	var ok bool
	if httpJob {
		pid, ok = s.engine.JobHTTP(id)
	} else {
		pid, ok = s.engine.Job(id)
	}
	if !ok {
		return "", nil, &apiError{Code: http.StatusNotFound, Name: nameJobNotFound, Message: "job not found: " + id}
	}
	return id, pid, nil
}

// historyError maps the engine's history errors to answers.
func historyError(err error) error {
	if errors.Is(err, actors.ErrNoHistory) {
		return &apiError{Code: http.StatusServiceUnavailable, Name: nameNoHistory, Message: err.Error()}
	}
	return err
}

// jobRuns handles GET /karajo/api/job_exec/runs?id=&limit=&before=&cursor=&skipped=&attempts=
// and its job_http twin: the job's run records, newest first, with the
// read authorization of the environment. log_kept says whether the run's
// log is still on disk now.
func (s *Server) jobRuns(httpJob bool) httprouter.Handle {
	return func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
		q, err := s.readQuery(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		p, err := parseRunsParams(q)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		id, pid, err := s.historyJob(q, httpJob)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		recs, err := s.engine.Runs(actors.RunsQuery{HTTP: httpJob, ID: id, Before: p.before, Cursor: p.cursor, Attempts: p.attempts, Limit: p.limit, Skipped: p.skipped})
		if err != nil {
			s.writeError(w, r, historyError(err))
			return
		}
		kept, err := s.keptLogs(pid, httpJob)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		for i := range recs {
			recs[i].LogKept = recs[i].Status != history.StatusSkipped && kept[recs[i].Counter]
		}
		if recs == nil {
			recs = []history.Record{}
		}
		writeJSON(w, http.StatusOK, envelope{Data: recs, Code: http.StatusOK})
	}
}

// keptLogs returns the counters of the job's logs on disk now.
func (s *Server) keptLogs(pid *actor.PID, httpJob bool) (map[int64]bool, error) {
	var logs []actors.LogRefView
	if httpJob {
		v, err := actors.Ask[*actors.JobHTTPView](s.engine.Root(), pid, &actors.GetJob{}, s.timeout)
		if err != nil {
			return nil, err
		}
		logs = v.Logs
	} else {
		v, err := actors.Ask[*actors.JobView](s.engine.Root(), pid, &actors.GetJob{}, s.timeout)
		if err != nil {
			return nil, err
		}
		logs = v.Logs
	}
	kept := make(map[int64]bool, len(logs))
	for _, l := range logs {
		kept[l.Counter] = true
	}
	return kept, nil
}

// jobStats handles GET /karajo/api/job_exec/stats?id=&window= and its
// job_http twin: runs, successes, failures, skipped by reason, duration
// percentiles and per-day buckets over the window (default 7d).
func (s *Server) jobStats(httpJob bool) httprouter.Handle {
	return func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
		q, err := s.readQuery(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		label, window, err := parseWindow(q.Get("window"))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		id, _, err := s.historyJob(q, httpJob)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		st, err := s.engine.Stats(httpJob, id, label, window)
		if err != nil {
			s.writeError(w, r, historyError(err))
			return
		}
		writeJSON(w, http.StatusOK, envelope{Data: st, Code: http.StatusOK})
	}
}
