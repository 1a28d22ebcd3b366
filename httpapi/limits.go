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

// frontBody readies r's body for the handlers: it is charged to the
// budget of bodies in flight as it arrives (max_body_bytes_in_flight;
// past it the read fails and the answer is a 503 envelope), and it is due
// within body_timeout: a client that trickles it or stalls is cut off
// then (the read fails, the answer is a 408 envelope where one can still
// be written). The deadline is lifted when the body has been read to its
// end; a body left unread keeps it, also while the server discards the
// rest after the answer (the server sets its own deadlines for the next
// request). Requests without a body get no read deadline: an event stream
// waits on its connection for as long as it lasts. done gives the body's
// bytes back to the budget, once the answer is written.
func (s *Server) frontBody(w http.ResponseWriter, r *http.Request) (_ *http.Request, done func()) {
	if !hasBody(r) {
		return r, func() {}
	}
	l := s.limits()
	bb := &budgetBody{ReadCloser: r.Body, budget: &s.bodies, limit: l.MaxBodyBytesInFlight}
	r2 := new(http.Request)
	*r2 = *r
	r2.Body = bb
	rc := http.NewResponseController(w)
	if rc.SetReadDeadline(time.Now().Add(l.BodyTimeout)) == nil {
		r2.Body = &deadlineBody{ReadCloser: bb, rc: rc}
	} // else not a real connection (tests)
	return r2, bb.release
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
