package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/julienschmidt/httprouter"

	"github.com/karajo/karajo/actors"
	"github.com/karajo/karajo/config/schedule"
)

// Schedule preview paths (issue 13).
const (
	pathExecSchedule = "/karajo/api/job_exec/schedule"
	pathHTTPSchedule = "/karajo/api/job_http/schedule"
	pathSchedule     = "/karajo/api/schedule"
)

// nameInvalidSchedule names a refused expression, zone, n or after.
const nameInvalidSchedule = "ERR_INVALID_SCHEDULE"

// defaultPreview is n when the request names none.
const defaultPreview = 5

// routeSchedule adds the preview endpoints.
func (s *Server) routeSchedule(handle func(method, path string, h httprouter.Handle)) {
	handle(http.MethodGet, pathExecSchedule, s.jobSchedule(false))
	handle(http.MethodGet, pathHTTPSchedule, s.jobSchedule(true))
	handle(http.MethodGet, pathSchedule, s.previewSchedule)
	for _, p := range []string{pathExecSchedule, pathHTTPSchedule, pathSchedule} {
		handle(http.MethodHead, p, headJSON)
	}
}

// badSchedule is the 400 answer to a refused parameter.
func badSchedule(msg string) error {
	return &apiError{Code: http.StatusBadRequest, Name: nameInvalidSchedule, Message: msg}
}

// previewCount parses n: 1..MaxPreview, defaultPreview when absent.
func previewCount(raw string) (int, error) {
	if raw == "" {
		return defaultPreview, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > actors.MaxPreview {
		return 0, badSchedule("invalid n " + strconv.Quote(raw) + ": want 1 to " + strconv.Itoa(actors.MaxPreview))
	}
	return n, nil
}

// jobSchedule handles GET /karajo/api/job_exec/schedule?id=&n= and its
// job_http twin: the job's next n runs (jitter included), with the same
// read authorization as the environment.
func (s *Server) jobSchedule(httpJob bool) httprouter.Handle {
	return func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
		q, err := s.readQuery(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		n, err := previewCount(q.Get("n"))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		id := q.Get("id")
		var pid *actor.PID
		var ok bool
		if httpJob {
			pid, ok = s.engine.JobHTTP(id)
		} else {
			pid, ok = s.engine.Job(id)
		}
		if !ok {
			s.writeError(w, r, invalidJobID(id))
			return
		}
		v, err := actors.Ask[*actors.ScheduleView](s.engine.Root(), pid, &actors.GetSchedule{N: n}, s.timeout)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, envelope{Data: v, Code: http.StatusOK})
	}
}

// previewSchedule handles GET /karajo/api/schedule?cron=&timezone=&n=&after=:
// the next n runs of any expression a job's cron or schedule accepts, in a
// zone (default UTC), strictly after after (RFC 3339, default now).
func (s *Server) previewSchedule(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	q, err := s.readQuery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	v, err := preview(q.Get("cron"), q.Get("timezone"), q.Get("after"), q.Get("n"), time.Now())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, envelope{Data: v, Code: http.StatusOK})
}

// preview checks the parameters of the expression preview and answers it.
func preview(expr, zone, after, n string, now time.Time) (*actors.ScheduleView, error) {
	count, err := previewCount(n)
	if err != nil {
		return nil, err
	}
	if expr == "" {
		return nil, badSchedule("missing cron: want a cron expression or a karajo schedule")
	}
	loc, err := schedule.LoadZone(zone)
	if err != nil {
		return nil, badSchedule("timezone: " + err.Error())
	}
	from := now
	if after != "" {
		if from, err = time.Parse(time.RFC3339, after); err != nil {
			return nil, badSchedule("invalid after " + strconv.Quote(after) + ": want RFC 3339, such as 2025-03-08T12:00:00Z")
		}
	}
	sc, err := schedule.Parse(expr, loc)
	if err != nil {
		return nil, badSchedule("cron " + strconv.Quote(expr) + ": " + err.Error())
	}
	return &actors.ScheduleView{Expression: sc.String(), Timezone: loc.String(),
		Runs: actors.PreviewRuns(sc, "", 0, from, count, loc)}, nil
}
