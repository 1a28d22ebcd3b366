package httpapi

import (
	"cmp"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"
	"golang.org/x/crypto/bcrypt"

	"github.com/karajo/karajo/actors"
	"github.com/karajo/karajo/config"
)

// Auth paths (SPEC 4.4.1, 9) and the session-bound actions of the web UI.
// Scripts keep the signed endpoints of SPEC 4.4.
const (
	pathLoginAPI    = "/karajo/api/auth/login"
	pathLogout      = "/karajo/api/auth/logout"
	pathSession     = "/karajo/api/auth/session"
	pathSessionExec = "/karajo/api/session/job_exec"
	pathSessionHTTP = "/karajo/api/session/job_http"
)

// Names of the session cookie and of the headers read here.
const (
	cookieName = "karajo"
	headerCSRF = "X-Karajo-CSRF"
	headerSign = "X-Karajo-Sign"
)

// nameAuthLogin is the error name of a refused login (SPEC 4.3).
const nameAuthLogin = "ERR_AUTH_LOGIN"

// Answers of this file that are not in the SPEC's catalogue.
const (
	msgLogin        = "invalid user name and/or password"
	msgTooMany      = "too many failed logins: retry later"
	msgBusyLogin    = "too many logins at once: retry later"
	msgUnauthorized = "unauthorized"
	msgNoUsers      = "no users configured: sign requests with the secret"
	msgBadCSRF      = "invalid CSRF token"
	msgCrossOrigin  = "cross-origin request refused"
)

// routeAuth registers the login, logout, session and session-bound
// action endpoints, and makes the session store.
func (s *Server) routeAuth(handle func(method, path string, h httprouter.Handle)) {
	s.openSessions() // sessionauth.go
	s.logins = newLoginLimiter(s.now)
	handle(http.MethodPost, pathLoginAPI, s.login)
	handle(http.MethodPost, pathLogout, s.logout)
	handle(http.MethodGet, pathSession, s.session)
	handle(http.MethodHead, pathSession, headJSON)
	for _, a := range []string{"run", "pause", "resume", "cancel"} {
		handle(http.MethodPost, pathSessionExec+"/"+a, s.sessionAction(a, false))
	}
	for _, a := range []string{"pause", "resume"} {
		handle(http.MethodPost, pathSessionHTTP+"/"+a, s.sessionAction(a, true))
	}
}

// authorizeRead checks that a read request may see job state (IMP-14):
// always when no users are configured; else with a valid session, or when
// X-Karajo-Sign is the HMAC-SHA256 (env secret) of the request target
// (path and raw query, signedread.go) and that query holds a _karajo_epoch within ±5 minutes (IMP-16; here
// it is required). Otherwise it returns a 401 "unauthorized" *apiError
// whose cause, for the server log only, says why.
func (s *Server) authorizeRead(r *http.Request) error {
	env := s.conf.Load().env
	if len(env.Users) == 0 || s.loggedIn(r) {
		return nil
	}
	why := func(err error) error {
		return &apiError{Code: http.StatusUnauthorized, Message: msgUnauthorized, Err: err}
	}
	sig := r.Header.Get(headerSign)
	if sig == "" {
		return why(errors.New("no valid session and no signature"))
	}
	if !validHMAC(env.Secret, []byte(readTarget(r)), sig) {
		return why(fmt.Errorf("signed read (over the request target, signedread.go): %w", errBadSignature))
	}
	q, err := parseStrictQuery(r.URL.RawQuery)
	if err != nil {
		return why(err)
	}
	if _, ok := q["_karajo_epoch"]; !ok {
		return why(fmt.Errorf("signed read without _karajo_epoch: %w", errStaleEpoch))
	}
	if err := checkEpoch(q, s.now()); err != nil {
		return why(err)
	}
	return nil
}

// readQuery authorizes a read (authorizeRead) and then parses its query
// strictly: the start of every read handler.
func (s *Server) readQuery(r *http.Request) (url.Values, error) {
	if _, ok := s.forwarded(r); ok {
		return parseStrictQuery(r.URL.RawQuery) // a node of the cluster reads a log here (forward.go)
	}
	if err := s.authorizeRead(r); err != nil {
		return nil, err
	}
	return parseStrictQuery(r.URL.RawQuery)
}

// usersConfigured reports whether user.toml defines at least one user.
func (s *Server) usersConfigured() bool { return len(s.conf.Load().env.Users) > 0 }

// loggedIn reports whether r carries a valid session cookie; the session
// counts as used.
func (s *Server) loggedIn(r *http.Request) bool {
	_, _, ok := s.currentSession(r)
	return ok
}

// currentUser returns the name of the user logged in with r's session
// cookie.
func (s *Server) currentUser(r *http.Request) (string, bool) {
	user, _, ok := s.currentSession(r)
	return user, ok
}

// currentSession returns the user and CSRF token of r's session cookie,
// and marks the session used. A session is valid while it has not
// expired (idle or absolute) and its user is still in user.toml with the
// same password hash (so with no users configured nobody is logged in,
// and a session ended by a reload stays ended if the user comes back).
func (s *Server) currentSession(r *http.Request) (user, csrf string, ok bool) {
	c, err := r.Cookie(cookieName)
	if err != nil || c.Value == "" {
		return "", "", false
	}
	env := s.conf.Load().env
	idle, absolute := lifetimesOf(env)
	return s.sessions.lookup(c.Value, idle, absolute, validUsers(env), true)
}

// lifetimesOf returns the session lifetimes of env, with the defaults of
// config for an Env built without them.
func lifetimesOf(env *config.Env) (idle, absolute time.Duration) {
	return cmp.Or(env.SessionIdle, config.DefaultSessionIdle), cmp.Or(env.SessionMax, config.DefaultSessionMax)
}

// lifetimes returns the session lifetimes in force.
func (s *Server) lifetimes() (idle, absolute time.Duration) { return lifetimesOf(s.conf.Load().env) }

// sessionCookie returns the session cookie holding key, to be kept maxAge
// seconds (0 or less: delete it now). SameSite=Strict keeps it off every
// cross-site request, form posts included; Secure is added by config when
// the server is reached over TLS.
func (s *Server) sessionCookie(key string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     cookieName,
		Value:    key,
		Path:     "/",
		MaxAge:   max(maxAge, -1), // -1 writes Max-Age=0
		HttpOnly: true,
		Secure:   s.conf.Load().env.CookieSecure,
		SameSite: http.SameSiteStrictMode,
	}
}

// login handles POST /karajo/api/auth/login (SPEC 4.4.1): name and
// password from the URL-encoded form body, else from the query, both
// trimmed. 200 {"code":200} with a new session cookie
// (Max-Age = session_max); 400 ERR_AUTH_LOGIN for an empty name or
// password, an unknown user, a wrong password or no users at all, with no
// cookie; 429 with Retry-After while the account's delay after failures
// runs (loginlimit.go), for a wrong password from a client address that
// has failed maxFailed times in failWindow, and while too many logins wait
// for a password check.
func (s *Server) login(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	w.Header().Set("Cache-Control", "no-store")
	form, q, err := readForm(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	name := strings.TrimSpace(paramOf(form, q, "name"))
	password := strings.TrimSpace(paramOf(form, q, "password"))
	client := s.clientAddr(r)
	u, err := s.checkLogin(r, name, password, client)
	if err != nil {
		var ae *apiError
		if errors.As(err, &ae) && ae.Code == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", strconv.Itoa(retrySeconds(ae)))
		}
		s.writeError(w, r, err)
		return
	}
	if old, err := r.Cookie(cookieName); err == nil {
		s.sessions.remove(old.Value) // a login always gets a fresh key
	}
	key, _ := s.sessions.create(u.Name, u.PasswordHash, s.lifetimes)
	s.saveSessions()
	_, absolute := s.lifetimes()
	http.SetCookie(w, s.sessionCookie(key, int(absolute/time.Second)))
	s.log.Info("login", "user", u.Name, "addr", client)
	writeJSON(w, http.StatusOK, envelope{Code: http.StatusOK})
}

// retryAfter is an apiError's cause carrying a Retry-After.
type retryAfter struct {
	after time.Duration
	why   string
}

func (e *retryAfter) Error() string { return fmt.Sprintf("%s: retry after %v", e.why, e.after) }

// retrySeconds returns the Retry-After of a 429, at least 1.
func retrySeconds(ae *apiError) int {
	var ra *retryAfter
	if errors.As(ae.Err, &ra) {
		return max(1, int((ra.after+time.Second-1)/time.Second))
	}
	return 1
}

// checkLogin applies the login limits (loginlimit.go) around
// checkPassword: the refusals are 429 *apiErrors whose cause is a
// *retryAfter, a wrong password a 400 ERR_AUTH_LOGIN (429 from a client
// over its failures).
func (s *Server) checkLogin(r *http.Request, name, password, client string) (*config.User, error) {
	tooMany := func(msg string, after time.Duration, why string) error {
		return &apiError{Code: http.StatusTooManyRequests, Message: msg,
			Err: fmt.Errorf("login of %.64q from %s: %w", name, client, &retryAfter{after: after, why: why})}
	}
	if !s.logins.queue() {
		return nil, tooMany(msgBusyLogin, time.Second, fmt.Sprintf("%d logins wait for a password check", bcryptQueue))
	}
	ad, retry, locked, ok, err := s.logins.admit(r.Context(), name, client)
	if err == nil && ok {
		err = s.logins.acquire(r.Context())
		if err != nil {
			ad.end(false)
		}
	} else {
		s.logins.dequeue()
	}
	switch {
	case err != nil:
		return nil, fmt.Errorf("login of %.64q from %s: %w: client gone: %w", name, client, errBadRequest, err)
	case !ok:
		return nil, tooMany(msgTooMany, retry, "account delay after failed logins")
	}
	u, err := checkPassword(s.conf.Load().env.Users, name, password)
	s.logins.release()
	ad.end(err == nil)
	switch {
	case err == nil:
		return u, nil
	case locked:
		return nil, tooMany(msgTooMany, retry, fmt.Sprintf("%v (client over %d failures in %v)", err, maxFailed, failWindow))
	}
	return nil, &apiError{Code: http.StatusBadRequest, Name: nameAuthLogin, Message: msgLogin,
		Err: fmt.Errorf("login of %.64q from %s: %w", name, client, err)}
}

// checkPassword returns the user called name if password is theirs. For an
// unknown name it still runs one bcrypt comparison, against another
// user's hash, so that the answer takes as long whether or not the name
// exists. The error says why for the server log; it never holds the
// password.
func checkPassword(users map[string]*config.User, name, password string) (*config.User, error) {
	switch {
	case len(users) == 0:
		return nil, errors.New("no users configured")
	case name == "" || password == "":
		return nil, errors.New("empty name or password")
	}
	u, ok := users[name]
	if !ok {
		for _, other := range users {
			_ = bcrypt.CompareHashAndPassword([]byte(other.PasswordHash), []byte(password))
			break
		}
		return nil, errors.New("unknown user")
	}
	if err := bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)); err != nil {
		return nil, fmt.Errorf("wrong password: %w", err)
	}
	return u, nil
}

// logout handles POST /karajo/api/auth/logout: ends the session of the
// cookie, if any, and deletes the cookie. Always 200 {"code":200}.
func (s *Server) logout(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	w.Header().Set("Cache-Control", "no-store")
	if _, err := readBody(w, r, maxOtherBody); err != nil {
		s.writeError(w, r, err)
		return
	}
	if c, err := r.Cookie(cookieName); err == nil {
		if user, ok := s.currentUser(r); ok {
			s.log.Info("logout", "user", user, "addr", s.clientAddr(r))
		}
		s.sessions.remove(c.Value)
		s.saveSessions()
	}
	http.SetCookie(w, s.sessionCookie("", -1))
	writeJSON(w, http.StatusOK, envelope{Code: http.StatusOK})
}

// sessionInfo is the data of GET /karajo/api/auth/session.
type sessionInfo struct {
	Users bool   `json:"users"` // users are configured: the UI needs a login
	User  string `json:"user"`  // the user logged in, or empty
	CSRF  string `json:"csrf"`  // the session's token for X-Karajo-CSRF, or empty
}

// session handles GET /karajo/api/auth/session: whether users exist, and
// the user and CSRF token of the request's session (empty without one).
// It never needs a session. 200 {"data":{"users","user","csrf"},"code":200}.
func (s *Server) session(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	w.Header().Set("Cache-Control", "no-store")
	if _, err := parseStrictQuery(r.URL.RawQuery); err != nil {
		s.writeError(w, r, err)
		return
	}
	user, csrf, _ := s.currentSession(r)
	writeJSON(w, http.StatusOK, envelope{Data: sessionInfo{Users: s.usersConfigured(), User: user, CSRF: csrf}, Code: http.StatusOK})
}

// sessionAction builds the handler of POST
// /karajo/api/session/job_exec/{run,pause,resume,cancel} and
// /karajo/api/session/job_http/{pause,resume}: the web UI's actions, bound
// to the login session instead of the secret. Form body: id=<exact job
// ID>. Checks, in order: 413, 400 for a malformed body or query; 403 when
// no users are configured; 401 without a valid session; 403 for an Origin
// (or Sec-Fetch-Site) of another site; 403 unless X-Karajo-CSRF is the
// session's token; 404 ERR_JOB_NOT_FOUND for an unknown id. Then the job's
// answer: 200 {"data":<job>,"code":200}, or 412/429/503 as the signed
// endpoints.
func (s *Server) sessionAction(action string, httpJob bool) httprouter.Handle {
	kind := "job_exec"
	if httpJob {
		kind = "job_http"
	}
	return func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
		w.Header().Set("Cache-Control", "no-store")
		form, _, err := readForm(w, r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if !s.usersConfigured() {
			s.writeError(w, r, &apiError{Code: http.StatusForbidden, Message: msgNoUsers})
			return
		}
		user, csrf, ok := s.currentSession(r)
		if !ok {
			s.writeError(w, r, &apiError{Code: http.StatusUnauthorized, Message: msgUnauthorized,
				Err: fmt.Errorf("%s %s without a valid session", kind, action)})
			return
		}
		if err := sameOrigin(r); err != nil {
			s.writeError(w, r, &apiError{Code: http.StatusForbidden, Message: msgCrossOrigin,
				Err: fmt.Errorf("%s %s by %s: %w", kind, action, user, err)})
			return
		}
		if subtle.ConstantTimeCompare([]byte(r.Header.Get(headerCSRF)), []byte(csrf)) != 1 {
			s.writeError(w, r, &apiError{Code: http.StatusForbidden, Message: msgBadCSRF,
				Err: fmt.Errorf("%s %s by %s: header %s missing or wrong", kind, action, user, headerCSRF)})
			return
		}
		id := form.Get("id")
		msg := actionMessage(action, user)
		if t, ok := msg.(*actors.Trigger); ok {
			t.Remote = s.remoteOf(r)
		}
		v, err := s.askJob(id, httpJob, msg)
		if err != nil {
			s.writeError(w, r, fmt.Errorf("%s %s of %q by %s: %w", kind, action, id, user, err))
			return
		}
		s.log.Info("session action", "user", user, "job", id, "kind", kind, "action", action)
		writeJSON(w, http.StatusOK, envelope{Data: v, Code: http.StatusOK, RunCounter: runCounterOf(v)})
	}
}

// actionMessage returns the job command of a session action by user.
func actionMessage(action, user string) any {
	switch action {
	case "run":
		return &actors.Trigger{Reason: "session:" + user}
	case "pause":
		return &actors.Pause{}
	case "resume":
		return &actors.Resume{}
	}
	return &actors.Cancel{}
}

// askJob sends msg to the exec job (or JobHttp) id and returns its view.
// An unknown id is a 404 ERR_JOB_NOT_FOUND.
func (s *Server) askJob(id string, httpJob bool, msg any) (any, error) {
	if httpJob {
		if pid, ok := s.engine.JobHTTP(id); ok {
			return actors.Ask[*actors.JobHTTPView](s.engine.Root(), pid, msg, s.timeout)
		}
	} else if pid, ok := s.engine.Job(id); ok {
		return actors.Ask[*actors.JobView](s.engine.Root(), pid, msg, s.timeout)
	}
	return nil, &apiError{Code: http.StatusNotFound, Name: nameJobNotFound, Message: "job not found: " + id}
}

// sameOrigin refuses a request that a browser marks as coming from
// another site: Sec-Fetch-Site "cross-site" or "same-site", or an Origin
// whose host is neither the request's Host nor its X-Forwarded-Host (set
// by a reverse proxy that rewrites Host; a cross-site page cannot set it
// without a CORS preflight, which this server never grants). Requests
// without these headers (scripts, old browsers) pass: the CSRF token
// still guards them.
func sameOrigin(r *http.Request) error {
	switch site := r.Header.Get("Sec-Fetch-Site"); site {
	case "cross-site", "same-site":
		return fmt.Errorf("header Sec-Fetch-Site is %s", site)
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return fmt.Errorf("origin %.64q is not a URL", origin)
	}
	if strings.EqualFold(u.Host, r.Host) {
		return nil
	}
	if fh, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Host"), ","); fh != "" && strings.EqualFold(u.Host, strings.TrimSpace(fh)) {
		return nil
	}
	return fmt.Errorf("origin %.64q is not host %.64q", origin, r.Host)
}

// readForm reads a small request body and returns its parameters when it
// is a URL-encoded form (else none), and the query's. Both are parsed
// strictly (SPEC 4.3): a malformed one is a 400, a body over maxOtherBody
// a 413.
func readForm(w http.ResponseWriter, r *http.Request) (form, query url.Values, err error) {
	body, err := readBody(w, r, maxOtherBody)
	if err != nil {
		return nil, nil, err
	}
	if query, err = parseStrictQuery(r.URL.RawQuery); err != nil {
		return nil, nil, err
	}
	form = url.Values{}
	if isForm(r) {
		if form, err = parseStrictQuery(string(body)); err != nil {
			return nil, nil, err
		}
	}
	return form, query, nil
}

// paramOf returns the parameter key from the form body if it is there,
// else from the query (the order of net/http's FormValue).
func paramOf(form, query url.Values, key string) string {
	if vs, ok := form[key]; ok && len(vs) > 0 {
		return vs[0]
	}
	return query.Get(key)
}
