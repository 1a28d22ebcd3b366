package httpapi

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/prometheus/client_golang/prometheus"

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
// end; a body left unread keeps it (an answer given without reading the
// body closes the connection: writeError). Requests without a body get
// no read deadline: an event stream waits on its connection for as long
// as it lasts. done gives the body's bytes back to the budget, once the
// answer is written.
func (s *Server) frontBody(w http.ResponseWriter, r *http.Request) (_ *http.Request, done func()) {
	if !hasBody(r) {
		return r, func() {}
	}
	l := s.limits()
	fb := &budgetBody{ReadCloser: r.Body, budget: &s.bodies, limit: l.MaxBodyBytesInFlight}
	rc := http.NewResponseController(w)
	if rc.SetReadDeadline(time.Now().Add(l.BodyTimeout)) == nil {
		fb.rc = rc
	} // else not a real connection (tests)
	r2 := new(http.Request)
	*r2 = *r
	r2.Body = fb
	return r2, fb.release
}

// bodyUnread reports whether r has a body not read to its end.
func bodyUnread(r *http.Request) bool {
	if !hasBody(r) {
		return false
	}
	fb, ok := r.Body.(*budgetBody)
	return !ok || !fb.eof
}

// frontDoor is the state of the front-door limits of a Server: what is
// open now, and the metrics that show it.
type frontDoor struct {
	conns        atomic.Int64 // connections open through LimitListener
	streams      atomic.Int64 // event and log streams open
	proxiedMu    sync.Mutex
	proxied      map[string]int // requests in progress through trusted proxies, by client
	refusals     *prometheus.CounterVec
	refusedLines refusalLog // bounds the log lines of refused requests
}

// registerFrontDoor registers the front-door metrics with reg (nil: none).
func (s *Server) registerFrontDoor(reg *prometheus.Registry) {
	s.proxied = make(map[string]int)
	if reg == nil {
		return
	}
	s.refusals = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "karajo_http_connections_refused_total",
		Help: "Connections closed at once (or proxied requests refused) by the connection limits, by limit.",
	}, []string{"limit"})
	for _, r := range []string{refusedTotal, refusedPerClient} {
		s.refusals.WithLabelValues(r) // show zeros
	}
	reg.MustRegister(s.refusals,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "karajo_http_connections_open", Help: "Connections open."},
			func() float64 { return float64(s.conns.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "karajo_http_streams_open", Help: "Event and log streams open."},
			func() float64 { return float64(s.streams.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "karajo_http_body_bytes_in_flight", Help: "Request body bytes received and not yet let go of."},
			func() float64 { return float64(s.bodies.used.Load()) }),
	)
}

// refused counts a connection or request refused by a connection limit.
func (s *Server) refused(limit string) {
	if s.refusals != nil {
		s.refusals.WithLabelValues(limit).Inc()
	}
}

// stream wraps the handler of an event or log stream: past max_streams
// open at once it answers a 503 envelope, and a stream ends after
// stream_max (the dashboard reconnects), so that no stream holds its
// connection for ever.
func (s *Server) stream(h httprouter.Handle) httprouter.Handle {
	return func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
		lim := s.limits()
		if n := s.streams.Add(1); n > int64(lim.MaxStreams) {
			s.streams.Add(-1)
			w.Header().Set("Retry-After", "5")
			s.writeError(w, r, &apiError{Code: http.StatusServiceUnavailable, Message: fmt.Sprintf("too many streams open (max_streams = %d), try again", lim.MaxStreams)})
			return
		}
		defer s.streams.Add(-1)
		ctx, cancel := context.WithTimeout(r.Context(), lim.StreamMax)
		defer cancel()
		h(w, r.WithContext(ctx), ps)
	}
}

// refusalBurst is how many refused requests (4xx) a second the server
// log tells of, one line each; a flood of hostile requests must not flood
// the log (and the disk under it).
const refusalBurst = 20

// refusalLog bounds the log lines of refused requests to refusalBurst a
// second; the lines left out are counted and the next line logged says
// how many.
type refusalLog struct {
	mu      sync.Mutex
	second  int64 // the Unix second being counted
	n       int   // lines logged in it
	dropped int   // lines left out since the last line logged
}

// allow reports whether a refused request at now gets its line, and how
// many were left out before it.
func (l *refusalLog) allow(now time.Time) (ok bool, dropped int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if sec := now.Unix(); sec != l.second {
		l.second, l.n = sec, 0
	}
	if l.n >= refusalBurst {
		l.dropped++
		return false, 0
	}
	l.n++
	dropped, l.dropped = l.dropped, 0
	return true, dropped
}
