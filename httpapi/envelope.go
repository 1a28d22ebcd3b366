package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/karajo/karajo/actors"
)

// envelope is karajo's JSON answer. Key order is v0.9.3's: data, message,
// name, code; empty message and name are omitted, and so is data on errors.
type envelope struct {
	Data    any    `json:"data,omitempty"`
	Message string `json:"message,omitempty"`
	Name    string `json:"name,omitempty"`
	// RunCounter is, in the answer to a trigger or run_now, the counter
	// the run started or queued as (not in v0.9.3).
	RunCounter int64 `json:"run_counter,omitempty"`
	Code       int   `json:"code"`
}

// apiError is an error answer with its HTTP status, optional error name
// and the exact message of the SPEC's error catalogue (4.3).
type apiError struct {
	Code    int
	Name    string
	Message string
	Err     error // the cause, for the server log; may be nil
}

func (e *apiError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%d %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%d %s", e.Code, e.Message)
}

func (e *apiError) Unwrap() error { return e.Err }

// Error names of the SPEC's catalogue.
const (
	nameForbidden    = "ERR_JOB_FORBIDDEN"
	nameJobNotFound  = "ERR_JOB_NOT_FOUND"
	nameJobPaused    = "ERR_JOB_PAUSED"
	nameAlreadyRun   = "ERR_JOB_ALREADY_RUN"
	nameInvalidJobID = "ERR_INVALID_JOB_ID"
	nameInternal     = "ERR_INTERNAL"
	nameReplayed     = "ERR_REPLAYED"            // issue 15
	nameNotOwner     = "ERR_NOT_OWNER"           // issue 18: another node runs the job
	nameClusterDown  = "ERR_CLUSTER_UNAVAILABLE" // issue 18: etcd unreachable
)

// toAPIError maps any error to its answer: the one table of statuses.
func toAPIError(err error) *apiError {
	var ae *apiError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &mbe):
		return &apiError{Code: http.StatusRequestEntityTooLarge, Message: fmt.Sprintf("request body too large: over %d bytes", mbe.Limit), Err: err}
	case errors.Is(err, errBodyBudget):
		return &apiError{Code: http.StatusServiceUnavailable, Message: "server busy: too many request bodies in flight, try again", Err: err}
	case errors.Is(err, os.ErrDeadlineExceeded):
		return &apiError{Code: http.StatusRequestTimeout, Message: "request body not received within body_timeout", Err: err}
	case errors.Is(err, errBadRequest):
		return &apiError{Code: http.StatusBadRequest, Message: err.Error(), Err: err}
	case errors.Is(err, errForbidden):
		return &apiError{Code: http.StatusForbidden, Name: nameForbidden, Message: "forbidden", Err: err}
	case errors.Is(err, errBadSignature):
		return &apiError{Code: http.StatusUnauthorized, Message: "empty or invalid signature", Err: err}
	case errors.Is(err, errStaleEpoch):
		return &apiError{Code: http.StatusUnauthorized, Message: "stale or invalid _karajo_epoch", Err: err}
	case errors.Is(err, actors.ErrJobPaused):
		return &apiError{Code: http.StatusPreconditionFailed, Name: nameJobPaused, Message: "job is paused", Err: err}
	case errors.Is(err, actors.ErrReplayed):
		var re *actors.ReplayedError
		msg := "delivery already accepted"
		if errors.As(err, &re) {
			msg = fmt.Sprintf("delivery %s already accepted as run #%d", re.DeliveryID, re.Counter)
		}
		return &apiError{Code: http.StatusConflict, Name: nameReplayed, Message: msg, Err: err}
	case errors.Is(err, actors.ErrJobBusy):
		return &apiError{Code: http.StatusTooManyRequests, Name: nameAlreadyRun, Message: "job already run", Err: err}
	case errors.Is(err, actors.ErrNotDurable), errors.Is(err, actors.ErrLogCreate):
		return durabilityError(err) // durable.go
	case errors.Is(err, actors.ErrNotOwner):
		return &apiError{Code: http.StatusServiceUnavailable, Name: nameNotOwner, Message: "another node of the cluster runs this job: send it there", Err: err}
	case errors.Is(err, actors.ErrClusterUnavailable):
		return &apiError{Code: http.StatusServiceUnavailable, Name: nameClusterDown, Message: "cluster coordination (etcd) unavailable, try again", Err: err}
	case errors.Is(err, actors.ErrTimeout), errors.Is(err, actors.ErrStopping):
		return &apiError{Code: http.StatusServiceUnavailable, Message: "server busy or stopping, try again", Err: err}
	}
	return &apiError{Code: http.StatusInternalServerError, Name: nameInternal, Message: "internal server error", Err: err}
}

// writeJSON writes v as JSON with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"message":"internal server error","name":"ERR_INTERNAL","code":500}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeError writes err as an error envelope and logs it: at Warn for
// refused input, at Error for a server fault.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	ae := toAPIError(err)
	level := slog.LevelWarn
	if ae.Code >= 500 {
		level = slog.LevelError
	}
	if bodyUnread(r) {
		// Answered without the body: close rather than wait for the rest
		// of it (the server would read it before answering).
		w.Header().Set("Connection", "close")
	}
	attrs := []any{"method", r.Method, "path", clip(r.URL.Path), "code", ae.Code, "err", clip(ae.Error())}
	if level == slog.LevelWarn {
		ok, dropped := s.refusedLines.allow(time.Now())
		if !ok {
			attrs = nil // over refusalBurst a second: counted, told with the next line
		} else if dropped > 0 {
			attrs = append(attrs, "refusals_not_logged_before", dropped)
		}
	}
	if attrs != nil {
		s.log.Log(r.Context(), level, "request refused", attrs...)
	}
	writeJSON(w, ae.Code, envelope{Message: ae.Message, Name: ae.Name, Code: ae.Code})
}

// clip shortens s for the server log, so that a hostile request cannot
// flood it.
func clip(s string) string {
	const max = 256
	if len(s) <= max {
		return s
	}
	return s[:max] + "…(" + strconv.Itoa(len(s)) + " bytes)"
}
