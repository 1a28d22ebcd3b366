package httpapi

import (
	"cmp"
	"io"
	"net/http"
	"time"

	"github.com/karajo/karajo/config"
)

// limitsOf returns the front-door limits of env, with config's default
// for every field left zero (an Env built without Load).
func limitsOf(env *config.Env) config.Limits {
	l, d := env.Limits, config.DefaultLimits()
	l.MaxBodyBytesInFlight = cmp.Or(l.MaxBodyBytesInFlight, d.MaxBodyBytesInFlight)
	l.BodyTimeout = cmp.Or(l.BodyTimeout, d.BodyTimeout)
	l.IdleTimeout = cmp.Or(l.IdleTimeout, d.IdleTimeout)
	l.MaxConnections = cmp.Or(l.MaxConnections, d.MaxConnections)
	l.MaxConnectionsPerClient = cmp.Or(l.MaxConnectionsPerClient, d.MaxConnectionsPerClient)
	l.MaxStreams = cmp.Or(l.MaxStreams, d.MaxStreams)
	l.StreamMax = cmp.Or(l.StreamMax, d.StreamMax)
	return l
}

// limits returns the front-door limits in force.
func (s *Server) limits() config.Limits { return limitsOf(s.conf.Load().env) }

// hasBody reports whether r announces a request body.
func hasBody(r *http.Request) bool {
	return r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody
}

// bodyDeadline makes the body of r due within body_timeout: a client that
// trickles it or stalls is cut off then (the read fails, the answer is a
// 408 envelope where one can still be written). The deadline is lifted
// when the body has been read to its end; a body left unread keeps it,
// also while the server discards the rest after the answer (the server
// sets its own deadlines for the next request). Requests without a body
// get no read deadline: an event stream waits on its connection for as
// long as it lasts. It returns r with the body that lifts the deadline.
func (s *Server) bodyDeadline(w http.ResponseWriter, r *http.Request) *http.Request {
	if !hasBody(r) {
		return r
	}
	rc := http.NewResponseController(w)
	if rc.SetReadDeadline(time.Now().Add(s.limits().BodyTimeout)) != nil {
		return r // not a real connection (tests)
	}
	r2 := new(http.Request)
	*r2 = *r
	r2.Body = &deadlineBody{ReadCloser: r.Body, rc: rc}
	return r2
}

// deadlineBody lifts the read deadline of its connection at the end of
// the body.
type deadlineBody struct {
	io.ReadCloser
	rc     *http.ResponseController
	lifted bool
}

// Read reads from the body; at io.EOF it lifts the deadline.
func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && !b.lifted {
		b.lifted = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}
