package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/karajo/karajo/actors"
)

const (
	pathHealth  = "/karajo/api/health"
	pathMetrics = "/metrics"
)

// healthView is the body of GET /karajo/api/health.
type healthView struct {
	Live   bool              `json:"live"`
	Ready  bool              `json:"ready"`
	Checks map[string]string `json:"checks"`
}

// healthDeadline bounds the readiness probe of the actors.
const healthDeadline = 2 * time.Second

// health handles GET /karajo/api/health: liveness (the process answers)
// and readiness (config loaded, listener bound, actors answering within
// healthDeadline). 200 when ready, 503 with the same body when not. No
// session or signature needed.
func (s *Server) health(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) {
	h := healthView{Live: true, Ready: true, Checks: map[string]string{
		"config":   "ok", // a Server exists only for a loaded config
		"listener": "ok", // this request came through it
		"actors":   "ok",
	}}
	start := time.Now()
	if _, err := actors.Ask[*actors.Pong](s.engine.Root(), s.engine.Supervisor(), &actors.Ping{}, healthDeadline); err != nil {
		h.Ready = false
		h.Checks["actors"] = "not answering: " + err.Error()
	} else {
		h.Checks["actors"] = "ok in " + time.Since(start).Round(time.Microsecond).String()
	}
	code := http.StatusOK
	if !h.Ready {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, envelope{Data: h, Code: code})
}

// httpMetrics counts API requests by route and status code.
type httpMetrics struct {
	requests *prometheus.CounterVec
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{requests: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "karajo_http_requests_total",
		Help: "HTTP requests answered, by route (the registered pattern, or not_found, static) and status code.",
	}, []string{"route", "code"})}
	reg.MustRegister(m.requests)
	return m
}

// statusRecorder remembers the status code written through it.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Flush passes flushes through (streamed answers).
func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController the underlying writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// observe counts one answered request.
func (m *httpMetrics) observe(route string, code int) {
	if m == nil {
		return
	}
	if code == 0 {
		code = http.StatusOK
	}
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
}

// instrument wraps a routed handler to count it under its route pattern.
func (s *Server) instrument(route string, h httprouter.Handle) httprouter.Handle {
	if s.httpm == nil {
		return h
	}
	return func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
		rec := &statusRecorder{ResponseWriter: w}
		h(rec, r, ps)
		s.httpm.observe(route, rec.code)
	}
}

// metricsHandler serves GET /metrics from the registry, if there is one.
func (s *Server) metricsHandler() httprouter.Handle {
	if s.gatherer == nil {
		return func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
			s.writeError(w, r, &apiError{Code: http.StatusNotFound, Message: "metrics are not enabled"})
		}
	}
	h := promhttp.HandlerFor(s.gatherer, promhttp.HandlerOpts{})
	return func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
		if err := s.authorizeMetrics(r); err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="karajo metrics"`)
			s.writeError(w, r, err)
			return
		}
		h.ServeHTTP(w, r)
	}
}
