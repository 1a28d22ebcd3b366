package httpapi

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/julienschmidt/httprouter"

	"github.com/karajo/karajo/actors"
)

// JobHttp API paths.
const (
	pathHTTPJob    = "/karajo/api/job_http"
	pathHTTPLog    = "/karajo/api/job_http/log"
	pathHTTPPause  = "/karajo/api/job_http/pause"
	pathHTTPResume = "/karajo/api/job_http/resume"
)

func invalidJobID(id string) error {
	return &apiError{Code: http.StatusBadRequest, Name: nameInvalidJobID, Message: "invalid or empty job id: " + id}
}

// httpJob handles GET /karajo/api/job_http?id= (SPEC 4.4.6): the JobHttp
// with exactly this ID. Unknown or empty id → 400 ERR_INVALID_JOB_ID.
func (s *Server) httpJob(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	q, err := s.readQuery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	id := q.Get("id")
	pid, ok := s.engine.JobHTTP(id)
	if !ok {
		s.writeError(w, r, invalidJobID(id))
		return
	}
	v, err := actors.Ask[*actors.JobHTTPView](s.engine.Root(), pid, &actors.GetJob{}, s.timeout)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, envelope{Data: v, Code: http.StatusOK})
}

// httpJobLog handles GET /karajo/api/job_http/log?id=&counter= (SPEC
// 4.4.7): as the exec log, but an unknown job is 400 ERR_INVALID_JOB_ID.
func (s *Server) httpJobLog(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	pid, q, err := s.logJob(r, true)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.serveLog(w, r, pid, q.Get("counter"))
}

// httpControl builds the handler of POST /karajo/api/job_http/{pause,resume}
// (SPEC 4.4.8): X-Karajo-Sign is HMAC-SHA256 of the raw query string with
// the env secret; id only from that signed query (IMP-18); _karajo_epoch,
// when present, within ±5 min (IMP-16). The body is not signed and not read
// for parameters.
func (s *Server) httpControl(msg func() any) httprouter.Handle {
	return func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
		if _, err := readBody(w, r, maxOtherBody); err != nil {
			s.writeError(w, r, err)
			return
		}
		raw := r.URL.RawQuery
		q, err := parseStrictQuery(raw)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if !validHMAC(s.conf.Load().env.Secret, []byte(raw), r.Header.Get("X-Karajo-Sign")) {
			s.writeError(w, r, errBadSignature)
			return
		}
		if err := checkEpoch(q, s.now()); err != nil {
			s.writeError(w, r, err)
			return
		}
		if err := refuseReadTarget(q); err != nil {
			s.writeError(w, r, err)
			return
		}
		id := q.Get("id")
		pid, ok := s.engine.JobHTTP(id)
		if !ok {
			s.writeError(w, r, invalidJobID(id))
			return
		}
		v, err := actors.Ask[*actors.JobHTTPView](s.engine.Root(), pid, msg(), s.timeout)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, envelope{Data: v, Code: http.StatusOK})
	}
}

// serveLog answers a log request of either kind once the job is known.
func (s *Server) serveLog(w http.ResponseWriter, r *http.Request, pid *actor.PID, raw string) {
	counter, ok := parseCounter(raw)
	if !ok {
		s.writeError(w, r, &apiError{Code: http.StatusNotFound, Message: "log #" + raw + " not found"})
		return
	}
	lf, err := actors.Ask[*actors.LogFile](s.engine.Root(), pid, &actors.GetLog{Counter: counter}, s.timeout)
	if err != nil {
		if errors.Is(err, actors.ErrLogNotFound) {
			if s.remoteLog(w, r) { // forward.go: written by another node of the cluster
				return
			}
			err = &apiError{Code: http.StatusNotFound, Message: "log #" + strconv.FormatInt(counter, 10) + " not found", Err: err}
		}
		s.writeError(w, r, err)
		return
	}
	defer lf.File.Close()
	s.streamLog(w, r, lf)
}
