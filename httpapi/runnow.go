package httpapi

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/url"

	"github.com/julienschmidt/httprouter"

	"github.com/karajo/karajo/actors"
)

// Run now by ID, for every job of either kind (with or without a webhook
// path): not in v0.9.3.
const (
	pathExecRunNow = "/karajo/api/job_exec/run_now"
	pathHTTPRunNow = "/karajo/api/job_http/run_now"
)

// runNow builds the handler of POST /karajo/api/job_{exec,http}/run_now:
// form body _karajo_epoch=<now>&id=<job ID>, authenticated either by
// X-Karajo-Sign, the HMAC-SHA256 of the raw body with the [karajo]
// secret, with _karajo_epoch required and within ±5 min; or, without
// that header, by a login session with its CSRF token (X-Karajo-CSRF) from
// the same site. Order: 413, 400 → 401 (no or bad signature, stale epoch,
// no session) → 403 (another site, CSRF) → 404 → the job's answer: 200
// with the job and run_counter, 412 paused, 429 busy.
func (s *Server) runNow(httpJob bool) httprouter.Handle {
	kind := "job_exec"
	if httpJob {
		kind = "job_http"
	}
	return func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
		w.Header().Set("Cache-Control", "no-store")
		body, form, err := readControlForm(w, r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		reason, err := s.runNowAuth(r, body, form)
		if err != nil {
			s.writeError(w, r, fmt.Errorf("%s run_now: %w", kind, err))
			return
		}
		id := form.Get("id")
		if s.forward(w, r, clusterKind(httpJob), id, body, reason) { // forward.go: a cluster's non-owner
			return
		}
		v, err := s.askJob(id, httpJob, &actors.Trigger{Reason: reason, Remote: s.remoteOf(r)})
		if err != nil {
			s.writeError(w, r, fmt.Errorf("%s run_now of %q: %w", kind, id, err))
			return
		}
		s.log.Info("run now", "job", id, "kind", kind, "by", reason)
		writeJSON(w, http.StatusOK, envelope{Data: v, Code: http.StatusOK, RunCounter: runCounterOf(v)})
	}
}

// runNowAuth authenticates a run_now request and returns the trigger
// reason: "api" when signed, "session:<user>" with a session.
func (s *Server) runNowAuth(r *http.Request, body []byte, form url.Values) (string, error) {
	if f, ok := s.forwarded(r); ok && f.reason != "" {
		return f.reason, nil // verified by the node that forwarded it (forward.go)
	}
	if sig := r.Header.Get(headerSign); sig != "" || !s.usersConfigured() {
		if !validHMAC(s.conf.Load().env.Secret, body, sig) {
			return "", errBadSignature
		}
		if _, ok := form["_karajo_epoch"]; !ok {
			return "", fmt.Errorf("_karajo_epoch missing: %w", errStaleEpoch)
		}
		if err := checkEpoch(form, s.now()); err != nil {
			return "", err
		}
		return "api", nil
	}
	user, csrf, ok := s.currentSession(r)
	if !ok {
		return "", &apiError{Code: http.StatusUnauthorized, Message: msgUnauthorized, Err: fmt.Errorf("neither signed nor in a valid session")}
	}
	if err := sameOrigin(r); err != nil {
		return "", &apiError{Code: http.StatusForbidden, Message: msgCrossOrigin, Err: fmt.Errorf("by %s: %w", user, err)}
	}
	if subtle.ConstantTimeCompare([]byte(r.Header.Get(headerCSRF)), []byte(csrf)) != 1 {
		return "", &apiError{Code: http.StatusForbidden, Message: msgBadCSRF, Err: fmt.Errorf("by %s: header %s missing or wrong", user, headerCSRF)}
	}
	return "session:" + user, nil
}

// runCounterOf returns the counter a trigger's answer says its run got
// or queued as.
func runCounterOf(v any) int64 {
	switch v := v.(type) {
	case *actors.JobView:
		return v.RunCounter
	case *actors.JobHTTPView:
		return v.RunCounter
	}
	return 0
}
