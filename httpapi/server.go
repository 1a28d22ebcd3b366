package httpapi

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/julienschmidt/httprouter"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/karajo/karajo/actors"
	"github.com/karajo/karajo/config"
	"github.com/karajo/karajo/logstore/history"
)

// Body caps (IMP-11): a webhook may carry a large payload; everything else
// is a small form.
const (
	maxRunBody   = 32 << 20
	maxOtherBody = 64 << 10
)

// Engine is what the API needs of the actor engine: where to send
// messages. The ID and path tables behind it are fixed at start.
type Engine interface {
	Root() *actor.RootContext
	Supervisor() *actor.PID
	Job(id string) (*actor.PID, bool)
	JobHTTP(id string) (*actor.PID, bool)
	Subscribe(buf int) *actors.Subscription
	Runs(q actors.RunsQuery) ([]history.Record, error)                                 // run history (issue 17)
	Stats(httpJob bool, id, label string, window time.Duration) (history.Stats, error) // run history (issue 17)
}

// Options configure a Server.
type Options struct {
	Env     *config.Env
	Engine  Engine
	Log     *slog.Logger
	Version string
	// ListenAddress is the bound address reported by the environment
	// (the configured one may have port 0).
	ListenAddress string
	// Timeout bounds each wait for an actor's answer; 0 means 10 s.
	Timeout time.Duration
	// Now is the clock for _karajo_epoch checks; nil means time.Now.
	Now func() time.Time
	// Registry, when set, gets the HTTP metrics and is served at /metrics.
	Registry *prometheus.Registry
	// Metrics are the engine's collectors (refused triggers); may be nil.
	Metrics *actors.Metrics
}

// Server is the HTTP API of one karajo server.
type Server struct {
	conf    atomic.Pointer[apiConfig] // replaced whole by Reload
	engine  Engine
	log     *slog.Logger
	version string
	listen  string
	timeout time.Duration
	now     func() time.Time
	router  *httprouter.Router

	routeList [][2]string // method and path of every route, in the order added (openapi_test.go)

	envCache  atomic.Pointer[envAnswer] // the last environment answer
	closing   chan struct{}             // closed by Close: ends the event streams
	closeOnce sync.Once
	sessions  *sessionStore // login sessions; made by routeAuth (auth.go)
	logins    *loginLimiter // failed logins and bcrypt slots; made by routeAuth (loginlimit.go)
	bodies    bodyBudget    // request body bytes in flight (body.go)
	frontDoor               // open connections and streams (limits.go)

	gatherer prometheus.Gatherer
	httpm    *httpMetrics
	metrics  *actors.Metrics
}

// New builds the API server and its routes.
func New(o Options) *Server {
	s := &Server{
		engine:  o.Engine,
		log:     o.Log,
		version: o.Version,
		listen:  o.ListenAddress,
		timeout: o.Timeout,
		now:     o.Now,
	}
	if s.timeout <= 0 {
		s.timeout = 10 * time.Second
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.listen == "" {
		s.listen = o.Env.ListenAddress
	}
	s.Reload(o.Env)
	s.closing = make(chan struct{})
	s.metrics = o.Metrics
	s.registerFrontDoor(o.Registry)
	if o.Registry != nil {
		s.gatherer = o.Registry
		s.httpm = newHTTPMetrics(o.Registry)
	}
	s.router = s.routes()
	return s
}

// apiConfig is the part of the configuration the handlers read; never
// changed once published.
type apiConfig struct {
	env   *config.Env
	paths map[string]*config.Job // webhook exec jobs by actors.PathKey of their path
}

// Reload makes the handlers use env from now on (the engine must have
// been reloaded first, so that new jobs have actors).
func (s *Server) Reload(env *config.Env) {
	c := &apiConfig{env: env, paths: make(map[string]*config.Job)}
	for _, j := range env.Jobs {
		if j.Path != "" {
			c.paths[actors.PathKey(j.Path)] = j
		}
	}
	s.conf.Store(c)
	s.endStaleSessions(env) // sessionauth.go
}

// Close ends the long-lived streams (Server-Sent Events), so that a
// graceful HTTP shutdown need not wait for them.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.closing) })
}

// API paths.
const (
	apiPrefix      = "/karajo/api/"
	pathEnv        = "/karajo/api/environment"
	pathExecRun    = "/karajo/api/job_exec/run"
	pathExecPause  = "/karajo/api/job_exec/pause"
	pathExecResume = "/karajo/api/job_exec/resume"
	pathExecCancel = "/karajo/api/job_exec/cancel"
	pathExecLog    = "/karajo/api/job_exec/log"
)

func (s *Server) routes() *httprouter.Router {
	r := httprouter.New()
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.HandleMethodNotAllowed = true
	r.HandleOPTIONS = true

	handle := func(method, path string, h httprouter.Handle) {
		r.Handle(method, path, s.instrument(path, h))
		s.routeList = append(s.routeList, [2]string{method, path})
	}
	handle(http.MethodGet, pathEnv, s.environment)
	handle(http.MethodHead, pathEnv, headJSON)
	handle(http.MethodPost, pathExecRun+"/*path", s.runJob)
	handle(http.MethodPost, pathExecPause, s.control(func() any { return &actors.Pause{} }))
	handle(http.MethodPost, pathExecResume, s.control(func() any { return &actors.Resume{} }))
	handle(http.MethodPost, pathExecCancel, s.control(func() any { return &actors.Cancel{} }))
	handle(http.MethodGet, pathExecLog, s.execLog)
	handle(http.MethodHead, pathExecLog, headJSON)
	handle(http.MethodGet, pathHTTPJob, s.httpJob)
	handle(http.MethodHead, pathHTTPJob, headJSON)
	handle(http.MethodGet, pathHTTPLog, s.httpJobLog)
	handle(http.MethodHead, pathHTTPLog, headJSON)
	handle(http.MethodPost, pathHTTPPause, s.httpControl(func() any { return &actors.Pause{} }))
	handle(http.MethodPost, pathHTTPResume, s.httpControl(func() any { return &actors.Resume{} }))
	handle(http.MethodGet, pathEngine, s.engineState)
	handle(http.MethodHead, pathEngine, headJSON)
	handle(http.MethodPost, pathExecRunNow, s.runNow(false))
	handle(http.MethodPost, pathHTTPRunNow, s.runNow(true))
	s.routeAuth(handle)
	s.routeEvents(handle)
	s.routeSchedule(handle)
	s.routeDeliveries(handle)
	s.routeHistory(handle)
	s.routeOpenAPI(handle)
	handle(http.MethodGet, pathHealth, s.health)
	handle(http.MethodGet, pathMetrics, s.metricsHandler())

	r.NotFound = http.HandlerFunc(s.notFound)
	r.MethodNotAllowed = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s.writeError(w, req, &apiError{Code: http.StatusMethodNotAllowed, Message: "method not allowed: " + req.Method})
	})
	r.PanicHandler = func(w http.ResponseWriter, req *http.Request, v any) {
		s.writeError(w, req, fmt.Errorf("panic: %v", v))
	}
	return r
}

// headJSON answers HEAD on a GET API route without running its handler.
func headJSON(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
}

// ServeHTTP normalises API paths (case-insensitive, no trailing slash,
// SPEC 4.2) and dispatches to the router.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodDelete, http.MethodPatch, http.MethodOptions:
	default:
		w.WriteHeader(http.StatusNotImplemented)
		return
	}
	if s.checkHost(w, r) {
		return
	}
	r, done := s.frontBody(w, r)
	defer done()
	release, ok := s.limitProxied(w, r)
	if !ok {
		return
	}
	defer release()
	p := r.URL.Path
	if lp := strings.ToLower(p); strings.HasPrefix(lp+"/", apiPrefix) {
		if strings.HasPrefix(lp, pathExecRun+"/") {
			// The job path keeps its case; JobByPath matches it case-insensitively.
			p = pathExecRun + p[len(pathExecRun):]
		} else {
			p = strings.TrimRight(lp, "/")
		}
		if p != r.URL.Path {
			r2 := new(http.Request)
			*r2 = *r
			u := *r.URL
			u.Path, u.RawPath = p, ""
			r2.URL = &u
			r = r2
		}
	}
	s.router.ServeHTTP(w, r)
}

// notFound answers requests that match no route (SPEC 4.2, IMP-13).
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w}
	defer func() { s.httpm.observe("not_found", rec.code) }()
	w = rec
	if strings.HasPrefix(strings.ToLower(r.URL.Path)+"/", apiPrefix) {
		if err := s.authorizeRead(r); err != nil {
			s.writeError(w, r, err) // v0.9.3: 401 before 404 when users exist
			return
		}
		s.writeError(w, r, &apiError{Code: http.StatusNotFound, Message: "not found"})
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		s.serveStatic(w, r)
	default:
		w.WriteHeader(http.StatusNotFound) // v0.9.3: empty body
	}
}

// readBody reads the whole request body up to limit bytes; over it the
// error maps to 413.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, &http.MaxBytesError{Limit: limit}
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		if _, ok := err.(*http.MaxBytesError); ok {
			return nil, err
		}
		return nil, fmt.Errorf("%w: read body: %w", errBadRequest, err)
	}
	return b, nil
}
