package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
)

// authorizeMetrics decides who may read /metrics (issue 15), by
// metricsAccess of the current configuration; nil means serve.
func (s *Server) authorizeMetrics(r *http.Request) error {
	env := s.conf.Load().env
	ok, why := metricsAccess(env.MetricsToken, len(env.Users) > 0, r.Header.Get("Authorization"), func() bool { return s.loggedIn(r) })
	if ok {
		return nil
	}
	return &apiError{Code: http.StatusUnauthorized, Message: msgUnauthorized, Err: errors.New(why)}
}

// metricsAccess is the policy of /metrics: with a token, only
// "Authorization: Bearer <token>" (scheme in any case) reads it, compared
// in constant time through SHA-256 sums (neither content nor length
// shows); without a token but with users, a logged-in session (asked only
// then); with neither, everyone, as in v0.9.3. why is for the server log
// and never holds the token or what was sent.
func metricsAccess(token string, users bool, authorization string, loggedIn func() bool) (ok bool, why string) {
	switch {
	case token != "":
		scheme, got, found := strings.Cut(strings.TrimSpace(authorization), " ")
		if !found || !strings.EqualFold(scheme, "Bearer") {
			return false, "metrics: no bearer token"
		}
		a, b := sha256.Sum256([]byte(strings.TrimSpace(got))), sha256.Sum256([]byte(token))
		if subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
			return false, "metrics: wrong bearer token"
		}
		return true, ""
	case users:
		if loggedIn() {
			return true, ""
		}
		return false, "metrics: users are configured and no metrics_token: a session is needed"
	}
	return true, ""
}
