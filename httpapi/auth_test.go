package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/karajo/karajo/actors"
	"github.com/karajo/karajo/config"
	"github.com/karajo/karajo/logstore"
)

// fakeClock is the Server's clock in these tests: it moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// authUsers returns users alice (password "pw") and bob (password
// "hunter2"), hashed with bcrypt.MinCost.
func authUsers(t *testing.T) map[string]*config.User {
	t.Helper()
	users := make(map[string]*config.User)
	for name, pw := range map[string]string{"alice": "pw", "bob": "hunter2"} {
		h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		users[name] = &config.User{Name: name, PasswordHash: string(h)}
	}
	return users
}

// authFixture is a real Server over a real engine with one exec job "e"
// (webhook only: it never runs by itself) and one JobHttp "h".
type authFixture struct {
	s     *Server
	e     *actors.Engine
	env   *config.Env
	clock *fakeClock
}

const authSecret = "s3cret"

func newAuthFixture(t testing.TB, users map[string]*config.User, tweak func(*config.Env)) *authFixture {
	t.Helper()
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
	t.Cleanup(target.Close)
	dir := t.TempDir()
	env := &config.Env{
		Name:            "auth test",
		ListenAddress:   "127.0.0.1:0",
		DirBase:         dir,
		Secret:          authSecret,
		HTTPTimeout:     5 * time.Second,
		MaxJobRunning:   1,
		ShutdownTimeout: 5 * time.Second,
		SessionIdle:     2 * time.Hour,
		SessionMax:      24 * time.Hour,
		Users:           users,
		Jobs: []*config.Job{{Name: "e", ID: "e", Path: "/e", AuthKind: config.AuthHMACSHA256,
			HeaderSign: "X-Karajo-Sign", Secret: authSecret, LogRetention: 5, Commands: []string{"true"}}},
		JobHTTPs: []*config.JobHTTP{{Name: "h", ID: "h", Interval: time.Hour, Method: "GET", HTTPMethod: "GET",
			HTTPURL: target.URL + "/", RequestType: config.RequestQuery, HTTPTimeout: 5 * time.Second, LogRetention: 5}},
	}
	if tweak != nil {
		tweak(env)
	}
	store, err := logstore.New(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e, err := actors.Start(env, store, log, actors.Options{ListenAddress: "127.0.0.1:1", Version: "test"})
	if err != nil {
		t.Fatalf("actors.Start: %v", err)
	}
	clock := &fakeClock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	s := New(Options{Env: env, Engine: e, Log: log, Version: "test", Now: clock.Now})
	t.Cleanup(func() {
		s.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := e.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return &authFixture{s: s, e: e, env: env, clock: clock}
}

// req describes one request to the fixture's Server.
type req struct {
	method, target, body string
	ctype                string            // Content-Type; form when empty and body is not
	cookie               string            // session key, if any
	remote               string            // RemoteAddr; httptest's default when empty
	header               map[string]string // more headers
}

func (f *authFixture) do(t *testing.T, q req) *httptest.ResponseRecorder {
	t.Helper()
	var r *http.Request
	if q.body != "" {
		r = httptest.NewRequest(q.method, q.target, strings.NewReader(q.body))
		r.Header.Set("Content-Type", cmpOr(q.ctype, "application/x-www-form-urlencoded"))
	} else {
		r = httptest.NewRequest(q.method, q.target, nil)
		if q.ctype != "" {
			r.Header.Set("Content-Type", q.ctype)
		}
	}
	r.Host = "localhost" // httptest's example.com is not a host of this server
	if q.cookie != "" {
		r.AddCookie(&http.Cookie{Name: cookieName, Value: q.cookie})
	}
	if q.remote != "" {
		r.RemoteAddr = q.remote
	}
	for k, v := range q.header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	f.s.ServeHTTP(w, r)
	return w
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// login logs name in from remote and returns the session key.
func (f *authFixture) login(t *testing.T, name, password, remote string) string {
	t.Helper()
	w := f.do(t, req{method: "POST", target: pathLoginAPI, body: url.Values{"name": {name}, "password": {password}}.Encode(), remote: remote})
	if w.Code != http.StatusOK {
		t.Fatalf("login %s: HTTP %d %s", name, w.Code, w.Body)
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == cookieName && c.Value != "" {
			return c.Value
		}
	}
	t.Fatalf("login %s: no cookie in %q", name, w.Header().Values("Set-Cookie"))
	return ""
}

// sessionOf returns what GET /karajo/api/auth/session says of key.
func (f *authFixture) sessionOf(t *testing.T, key string) sessionInfo {
	t.Helper()
	w := f.do(t, req{method: "GET", target: pathSession, cookie: key})
	if w.Code != http.StatusOK {
		t.Fatalf("GET %s: HTTP %d %s", pathSession, w.Code, w.Body)
	}
	var got struct {
		Data sessionInfo `json:"data"`
		Code int         `json:"code"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatalf("GET %s: %v in %s", pathSession, err, w.Body)
	}
	return got.Data
}

const bodyUnauthorized = `{"message":"unauthorized","code":401}`

// TestAuthorizeRead checks IMP-14 on every read endpoint: without users
// everything is public; with users a read needs a session or a query
// signed with the env secret holding a fresh _karajo_epoch.
func TestAuthorizeRead(t *testing.T) {
	endpoints := []struct {
		path, query string // query without _karajo_epoch
		code        int    // the answer once authorised
	}{
		{pathEnv, "", 200},
		{pathExecLog, "id=e&counter=999", 404},
		{pathHTTPJob, "id=h", 200},
		{pathHTTPLog, "id=h&counter=999", 404},
		{"/karajo/api/x", "", 404},
		{"/KARAJO/API/Environment/", "", 200},
	}
	users := authUsers(t)
	withUsers := newAuthFixture(t, users, nil)
	noUsers := newAuthFixture(t, nil, nil)
	key := withUsers.login(t, "alice", "pw", "")
	now := withUsers.clock.Now().Unix()
	epoch := func(d time.Duration) string {
		return "_karajo_epoch=" + strconv.FormatInt(now+int64(d/time.Second), 10)
	}
	join := func(a, b string) string {
		if a == "" || b == "" {
			return a + b
		}
		return a + "&" + b
	}
	type mode struct {
		name   string
		f      *authFixture
		cookie string
		query  func(q string) string // the raw query sent
		sign   func(raw string) string
		ok     bool
	}
	sign := func(raw string) string { return signHMAC(authSecret, []byte(raw)) }
	noSign := func(string) string { return "" }
	plain := func(q string) string { return q }
	modes := []mode{
		{"no users, nothing", noUsers, "", plain, noSign, true},
		{"users, nothing", withUsers, "", plain, noSign, false},
		{"users, session", withUsers, key, plain, noSign, true},
		{"users, unknown session", withUsers, strings.Repeat("A", 32), plain, noSign, false},
		{"users, signed fresh", withUsers, "", func(q string) string { return join(epoch(0), q) }, sign, true},
		{"users, signed 4m59s old", withUsers, "", func(q string) string { return join(epoch(-299*time.Second), q) }, sign, true},
		{"users, signed stale", withUsers, "", func(q string) string { return join(epoch(-6*time.Minute), q) }, sign, false},
		{"users, signed future", withUsers, "", func(q string) string { return join(epoch(6*time.Minute), q) }, sign, false},
		{"users, signed without epoch", withUsers, "", plain, sign, false},
		{"users, signed epoch twice", withUsers, "", func(q string) string { return join(epoch(0)+"&"+epoch(0), q) }, sign, false},
		{"users, wrong signature", withUsers, "", func(q string) string { return join(epoch(0), q) },
			func(raw string) string { return signHMAC("other", []byte(raw)) }, false},
		{"users, uppercase signature", withUsers, "", func(q string) string { return join(epoch(0), q) },
			func(raw string) string { return strings.ToUpper(sign(raw)) }, false},
		{"users, signature of another query", withUsers, "", func(q string) string { return join(epoch(0), q) },
			func(raw string) string { return sign(raw + "&x=1") }, false},
		{"users, signature of the raw query only", withUsers, "", func(q string) string { return join(epoch(0), q) },
			func(target string) string { _, q, _ := strings.Cut(target, "?"); return sign(q) }, false},
		{"users, signature of another path", withUsers, "", func(q string) string { return join(epoch(0), q) },
			func(target string) string {
				return sign("/karajo/api/other?" + strings.SplitN(target, "?", 2)[len(strings.SplitN(target, "?", 2))-1])
			}, false},
	}
	for _, m := range modes {
		for _, ep := range endpoints {
			t.Run(m.name+" "+ep.path, func(t *testing.T) {
				raw := m.query(ep.query)
				target := ep.path
				if raw != "" {
					target += "?" + raw
				}
				hdr := map[string]string{}
				if sig := m.sign(target); sig != "" { // signed reads sign the target (issue 14)
					hdr[headerSign] = sig
				}
				w := m.f.do(t, req{method: "GET", target: target, cookie: m.cookie, header: hdr})
				if !m.ok {
					if w.Code != http.StatusUnauthorized || w.Body.String() != bodyUnauthorized {
						t.Fatalf("GET %s = %d %s, want 401 %s", target, w.Code, w.Body, bodyUnauthorized)
					}
					return
				}
				if w.Code != ep.code {
					t.Fatalf("GET %s = %d %s, want %d", target, w.Code, w.Body, ep.code)
				}
			})
		}
	}
}

// TestAuthorizeReadUnit checks the hooks themselves.
func TestAuthorizeReadUnit(t *testing.T) {
	f := newAuthFixture(t, authUsers(t), nil)
	key := f.login(t, "bob", "hunter2", "")
	r := httptest.NewRequest("GET", pathEnv, nil)
	if f.s.loggedIn(r) || f.s.authorizeRead(r) == nil {
		t.Fatal("a request without cookie is logged in or authorised")
	}
	r.AddCookie(&http.Cookie{Name: cookieName, Value: key})
	if !f.s.loggedIn(r) || f.s.authorizeRead(r) != nil || !f.s.usersConfigured() {
		t.Fatal("a request with bob's session is not logged in or not authorised")
	}
	if u, ok := f.s.currentUser(r); !ok || u != "bob" {
		t.Fatalf("currentUser = %q, %v, want bob, true", u, ok)
	}
	f.s.Reload(&config.Env{Secret: authSecret, Jobs: f.env.Jobs, JobHTTPs: f.env.JobHTTPs})
	if f.s.usersConfigured() || f.s.authorizeRead(httptest.NewRequest("GET", pathEnv, nil)) != nil {
		t.Fatal("without users a read is refused")
	}
	if f.s.loggedIn(r) {
		t.Fatal("without users someone is logged in")
	}
}

var setCookieRE = regexp.MustCompile(`^karajo=([A-Za-z0-9]{32}); Path=/; Max-Age=(\d+); HttpOnly(; Secure)?; SameSite=Strict$`)

// TestLogin checks POST /karajo/api/auth/login (SPEC 4.4.1, 9).
func TestLogin(t *testing.T) {
	users := authUsers(t)
	const bodyLogin = `{"message":"invalid user name and/or password","name":"ERR_AUTH_LOGIN","code":400}`
	tests := []struct {
		name    string
		users   map[string]*config.User
		secure  bool
		max     time.Duration
		target  string
		body    string
		ctype   string
		code    int
		want    string // exact body
		user    string // logged-in user on success
		maxAge  string
		withSec bool
	}{
		{name: "form", users: users, body: "name=alice&password=pw", code: 200, want: `{"code":200}`, user: "alice", maxAge: "86400"},
		{name: "query", users: users, target: "?name=bob&password=hunter2", code: 200, want: `{"code":200}`, user: "bob", maxAge: "86400"},
		{name: "form wins over query", users: users, target: "?name=bob&password=hunter2", body: "name=alice&password=pw", code: 200, want: `{"code":200}`, user: "alice", maxAge: "86400"},
		{name: "trimmed", users: users, body: "name=+alice%09&password=%20pw%0A", code: 200, want: `{"code":200}`, user: "alice", maxAge: "86400"},
		{name: "secure and session_max", users: users, secure: true, max: 3 * time.Hour, body: "name=alice&password=pw", code: 200, want: `{"code":200}`, user: "alice", maxAge: "10800", withSec: true},
		{name: "wrong password", users: users, body: "name=alice&password=hunter2", code: 400, want: bodyLogin},
		{name: "unknown user", users: users, body: "name=carol&password=pw", code: 400, want: bodyLogin},
		{name: "name case-sensitive", users: users, body: "name=Alice&password=pw", code: 400, want: bodyLogin},
		{name: "empty name", users: users, body: "name=&password=pw", code: 400, want: bodyLogin},
		{name: "empty password", users: users, body: "name=alice&password=", code: 400, want: bodyLogin},
		{name: "blank password", users: users, body: "name=alice&password=+++", code: 400, want: bodyLogin},
		{name: "nothing", users: users, code: 400, want: bodyLogin},
		{name: "json body", users: users, body: `{"name":"alice","password":"pw"}`, ctype: "application/json", code: 400, want: bodyLogin},
		{name: "form as text", users: users, body: "name=alice&password=pw", ctype: "text/plain", code: 400, want: bodyLogin},
		{name: "no users", users: nil, body: "name=alice&password=pw", code: 400, want: bodyLogin},
		{name: "bad escape", users: users, body: "name=alice&password=%zz", code: 400},
		{name: "semicolon", users: users, target: "?name=alice;password=pw", code: 400},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newAuthFixture(t, tt.users, func(env *config.Env) {
				env.CookieSecure = tt.secure
				if tt.max > 0 {
					env.SessionMax = tt.max
				}
			})
			remote := "198.51.100." + strconv.Itoa(i+1) + ":5000"
			w := f.do(t, req{method: "POST", target: pathLoginAPI + tt.target, body: tt.body, ctype: tt.ctype, remote: remote})
			if w.Code != tt.code {
				t.Fatalf("login = %d %s, want %d", w.Code, w.Body, tt.code)
			}
			if tt.want != "" && w.Body.String() != tt.want {
				t.Errorf("login body = %s, want %s", w.Body, tt.want)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			sc := w.Header().Values("Set-Cookie")
			if tt.code != 200 {
				if len(sc) != 0 {
					t.Errorf("refused login sets cookies %q", sc)
				}
				return
			}
			if len(sc) != 1 {
				t.Fatalf("Set-Cookie = %q, want one", sc)
			}
			m := setCookieRE.FindStringSubmatch(sc[0])
			if m == nil {
				t.Fatalf("Set-Cookie = %q, want %s", sc[0], setCookieRE)
			}
			if m[2] != tt.maxAge || (m[3] != "") != tt.withSec {
				t.Errorf("Set-Cookie = %q, want Max-Age=%s, Secure %v", sc[0], tt.maxAge, tt.withSec)
			}
			if got := f.sessionOf(t, m[1]); got.User != tt.user || !got.Users || len(got.CSRF) < 32 {
				t.Errorf("session after login = %+v, want user %s and a CSRF token", got, tt.user)
			}
		})
	}
}

// TestLoginNewKey checks that each login gets a fresh key and ends the
// session of the cookie it came with.
func TestLoginNewKey(t *testing.T) {
	f := newAuthFixture(t, authUsers(t), nil)
	k1 := f.login(t, "alice", "pw", "")
	w := f.do(t, req{method: "POST", target: pathLoginAPI, body: "name=alice&password=pw", cookie: k1})
	if w.Code != 200 {
		t.Fatalf("second login: %d %s", w.Code, w.Body)
	}
	k2 := w.Result().Cookies()[0].Value
	if k2 == k1 || k2 == "" {
		t.Fatalf("second login kept key %q", k1)
	}
	if got := f.sessionOf(t, k1); got.User != "" {
		t.Errorf("old session still valid: %+v", got)
	}
	if got := f.sessionOf(t, k2); got.User != "alice" {
		t.Errorf("new session = %+v, want alice", got)
	}
}

// TestLogout checks that logout ends the session and deletes the cookie,
// also without a session.
func TestLogout(t *testing.T) {
	f := newAuthFixture(t, authUsers(t), nil)
	key := f.login(t, "alice", "pw", "")
	for _, tt := range []struct {
		name   string
		cookie string
	}{
		{"with session", key},
		{"same again", key},
		{"without cookie", ""},
	} {
		w := f.do(t, req{method: "POST", target: pathLogout, cookie: tt.cookie})
		if w.Code != 200 || w.Body.String() != `{"code":200}` {
			t.Fatalf("%s: logout = %d %s, want 200 {\"code\":200}", tt.name, w.Code, w.Body)
		}
		sc := w.Header().Get("Set-Cookie")
		if !strings.HasPrefix(sc, "karajo=; Path=/; Max-Age=0; HttpOnly") {
			t.Errorf("%s: Set-Cookie = %q, want an expired karajo cookie", tt.name, sc)
		}
	}
	if got := f.sessionOf(t, key); got.User != "" || got.CSRF != "" || !got.Users {
		t.Errorf("session after logout = %+v, want users only", got)
	}
	if w := f.do(t, req{method: "GET", target: pathEnv, cookie: key}); w.Code != 401 {
		t.Errorf("read after logout = %d, want 401", w.Code)
	}
}

// TestSessionInfo checks GET /karajo/api/auth/session in each situation.
func TestSessionInfo(t *testing.T) {
	users := authUsers(t)
	withUsers := newAuthFixture(t, users, nil)
	noUsers := newAuthFixture(t, nil, nil)
	key := withUsers.login(t, "alice", "pw", "")
	tests := []struct {
		name   string
		f      *authFixture
		cookie string
		want   string
	}{
		{"no users", noUsers, "", `{"data":{"users":false,"user":"","csrf":""},"code":200}`},
		{"no users, some cookie", noUsers, key, `{"data":{"users":false,"user":"","csrf":""},"code":200}`},
		{"users, no session", withUsers, "", `{"data":{"users":true,"user":"","csrf":""},"code":200}`},
		{"users, bad session", withUsers, "x", `{"data":{"users":true,"user":"","csrf":""},"code":200}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := tt.f.do(t, req{method: "GET", target: pathSession, cookie: tt.cookie})
			if w.Code != 200 || w.Body.String() != tt.want {
				t.Fatalf("GET %s = %d %s, want 200 %s", pathSession, w.Code, w.Body, tt.want)
			}
			if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", cc)
			}
		})
	}
	got := withUsers.sessionOf(t, key)
	if !got.Users || got.User != "alice" || !regexp.MustCompile(`^[A-Za-z0-9]{43}$`).MatchString(got.CSRF) {
		t.Errorf("session = %+v, want alice and a 43-character token", got)
	}
	if again := withUsers.sessionOf(t, key); again.CSRF != got.CSRF {
		t.Errorf("CSRF token changed within a session: %q then %q", got.CSRF, again.CSRF)
	}
	other := withUsers.sessionOf(t, withUsers.login(t, "alice", "pw", ""))
	if other.CSRF == got.CSRF {
		t.Error("two sessions share a CSRF token")
	}
}

// TestSessionAction checks the session-bound actions of the web UI: CSRF
// token, Origin, session and users are all required, and then the job
// does what was asked.
func TestSessionAction(t *testing.T) {
	f := newAuthFixture(t, authUsers(t), nil)
	noUsers := newAuthFixture(t, nil, nil)
	key := f.login(t, "alice", "pw", "")
	csrf := f.sessionOf(t, key).CSRF
	const (
		bodyCSRF   = `{"message":"invalid CSRF token","code":403}`
		bodyOrigin = `{"message":"cross-origin request refused","code":403}`
		bodyNoUser = `{"message":"no users configured: sign requests with the secret","code":403}`
	)
	// paused reports whether job id (exec, or JobHttp if httpJob) is paused.
	paused := func(t *testing.T, id string, httpJob bool) bool {
		t.Helper()
		if httpJob {
			pid, _ := f.e.JobHTTP(id)
			v, err := actors.Ask[*actors.JobHTTPView](f.e.Root(), pid, &actors.GetJob{}, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			return v.Paused
		}
		pid, _ := f.e.Job(id)
		v, err := actors.Ask[*actors.JobView](f.e.Root(), pid, &actors.GetJob{}, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return v.Paused
	}
	good := map[string]string{headerCSRF: csrf}
	with := func(kv ...string) map[string]string {
		h := map[string]string{headerCSRF: csrf}
		for i := 0; i+1 < len(kv); i += 2 {
			h[kv[0+i]] = kv[i+1]
		}
		return h
	}
	tests := []struct {
		name       string
		f          *authFixture
		path, body string
		cookie     string
		header     map[string]string
		code       int
		want       string // exact body, or a prefix of it ending in "…"
		wantPaused *bool  // exec job e (or JobHttp h for job_http paths) afterwards
	}{
		{name: "pause, no token", path: "/karajo/api/session/job_exec/pause", body: "id=e", cookie: key, code: 403, want: bodyCSRF, wantPaused: ptr(false)},
		{name: "pause, wrong token", path: "/karajo/api/session/job_exec/pause", body: "id=e", cookie: key, header: map[string]string{headerCSRF: wrongToken(csrf)}, code: 403, want: bodyCSRF, wantPaused: ptr(false)},
		{name: "pause, token in form", path: "/karajo/api/session/job_exec/pause", body: "id=e&csrf=" + csrf, cookie: key, code: 403, want: bodyCSRF, wantPaused: ptr(false)},
		{name: "pause, other origin", path: "/karajo/api/session/job_exec/pause", body: "id=e", cookie: key, header: with("Origin", "https://evil.example"), code: 403, want: bodyOrigin, wantPaused: ptr(false)},
		{name: "pause, null origin", path: "/karajo/api/session/job_exec/pause", body: "id=e", cookie: key, header: with("Origin", "null"), code: 403, want: bodyOrigin, wantPaused: ptr(false)},
		{name: "pause, cross-site fetch", path: "/karajo/api/session/job_exec/pause", body: "id=e", cookie: key, header: with("Sec-Fetch-Site", "cross-site"), code: 403, want: bodyOrigin, wantPaused: ptr(false)},
		{name: "pause, no cookie (cross-site form)", path: "/karajo/api/session/job_exec/pause", body: "id=e", header: with("Origin", "https://evil.example"), code: 401, want: bodyUnauthorized, wantPaused: ptr(false)},
		{name: "pause, no cookie, token", path: "/karajo/api/session/job_exec/pause", body: "id=e", header: good, code: 401, want: bodyUnauthorized, wantPaused: ptr(false)},
		{name: "pause, unknown session", path: "/karajo/api/session/job_exec/pause", body: "id=e", cookie: "nope", header: good, code: 401, want: bodyUnauthorized, wantPaused: ptr(false)},
		{name: "pause, no users", f: noUsers, path: "/karajo/api/session/job_exec/pause", body: "id=e", cookie: key, header: good, code: 403, want: bodyNoUser},
		{name: "pause, unknown job", path: "/karajo/api/session/job_exec/pause", body: "id=nope", cookie: key, header: good, code: 404, want: `{"message":"job not found: nope","name":"ERR_JOB_NOT_FOUND","code":404}`},
		{name: "pause, id not exact", path: "/karajo/api/session/job_exec/pause", body: "id=E", cookie: key, header: good, code: 404, want: `{"message":"job not found: E","name":"ERR_JOB_NOT_FOUND","code":404}`},
		{name: "pause, id in query only", path: "/karajo/api/session/job_exec/pause?id=e", cookie: key, header: good, code: 404, want: `{"message":"job not found: ","name":"ERR_JOB_NOT_FOUND","code":404}`},
		{name: "pause, bad form", path: "/karajo/api/session/job_exec/pause", body: "id=%zz", cookie: key, header: good, code: 400},
		{name: "pause, GET", path: "/karajo/api/session/job_exec/pause", cookie: key, header: good, code: 405},
		{name: "pause", path: "/karajo/api/session/job_exec/pause", body: "id=e", cookie: key, header: good, code: 200, want: `{"data":{"path":"/e",…`, wantPaused: ptr(true)},
		{name: "run while paused", path: "/karajo/api/session/job_exec/run", body: "id=e", cookie: key, header: good, code: 412, want: `{"message":"job is paused","name":"ERR_JOB_PAUSED","code":412}`, wantPaused: ptr(true)},
		{name: "resume, same origin", path: "/karajo/api/session/job_exec/resume", body: "id=e", cookie: key, header: with("Origin", "http://localhost", "Sec-Fetch-Site", "same-origin"), code: 200, want: `{"data":{"path":"/e",…`, wantPaused: ptr(false)},
		{name: "run", path: "/karajo/api/session/job_exec/run", body: "id=e", cookie: key, header: good, code: 200, want: `{"data":{"path":"/e",…`, wantPaused: ptr(false)},
		{name: "cancel", path: "/karajo/api/session/job_exec/cancel", body: "id=e", cookie: key, header: good, code: 200, want: `{"data":{"path":"/e",…`},
		{name: "http pause, no token", path: "/karajo/api/session/job_http/pause", body: "id=h", cookie: key, code: 403, want: bodyCSRF, wantPaused: ptr(false)},
		{name: "http pause", path: "/karajo/api/session/job_http/pause", body: "id=h", cookie: key, header: good, code: 200, want: `{"data":{"http_method":"GET",…`, wantPaused: ptr(true)},
		{name: "http resume", path: "/KARAJO/api/session/job_http/resume/", body: "id=h", cookie: key, header: good, code: 200, want: `{"data":{"http_method":"GET",…`, wantPaused: ptr(false)},
		{name: "http unknown", path: "/karajo/api/session/job_http/pause", body: "id=e", cookie: key, header: good, code: 404, want: `{"message":"job not found: e","name":"ERR_JOB_NOT_FOUND","code":404}`},
		{name: "http run is no route", path: "/karajo/api/session/job_http/run", body: "id=h", cookie: key, header: good, code: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := f
			if tt.f != nil {
				fx = tt.f
			}
			method := "POST"
			if tt.code == 405 {
				method = "GET"
			}
			w := fx.do(t, req{method: method, target: tt.path, body: tt.body, cookie: tt.cookie, header: tt.header})
			if w.Code != tt.code {
				t.Fatalf("%s %s = %d %s, want %d", method, tt.path, w.Code, w.Body, tt.code)
			}
			got := w.Body.String()
			if prefix, ok := strings.CutSuffix(tt.want, "…"); ok {
				if !strings.HasPrefix(got, prefix) || !strings.HasSuffix(got, `,"code":200}`) {
					t.Errorf("body = %s, want %s…,\"code\":200}", got, prefix)
				}
			} else if tt.want != "" && got != tt.want {
				t.Errorf("body = %s, want %s", got, tt.want)
			}
			if tt.wantPaused != nil {
				id, httpJob := "e", strings.Contains(strings.ToLower(tt.path), "job_http")
				if httpJob {
					id = "h"
				}
				if p := paused(t, id, httpJob); p != *tt.wantPaused {
					t.Errorf("after %s: paused = %v, want %v", tt.name, p, *tt.wantPaused)
				}
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// wrongToken returns tok with its last character changed. (The test once
// replaced it with "x", which is the right token whenever the last
// character already is "x", one session in 62: the pause then went
// through and every later case saw the job paused, the failure "after
// pause, unknown session: paused = true".)
func wrongToken(tok string) string {
	last := byte('x')
	if tok[len(tok)-1] == last {
		last = 'y'
	}
	return tok[:len(tok)-1] + string(last)
}

// TestSameOrigin checks the Origin and Sec-Fetch-Site rules.
func TestSameOrigin(t *testing.T) {
	tests := []struct {
		name   string
		host   string
		header map[string]string
		ok     bool
	}{
		{"no headers", "k.example:31937", nil, true},
		{"same host", "k.example:31937", map[string]string{"Origin": "http://k.example:31937"}, true},
		{"same host, other case", "K.example:31937", map[string]string{"Origin": "http://k.EXAMPLE:31937"}, true},
		{"same host, https", "k.example", map[string]string{"Origin": "https://k.example"}, true},
		{"other port", "k.example:31937", map[string]string{"Origin": "http://k.example:8080"}, false},
		{"other host", "k.example", map[string]string{"Origin": "https://evil.example"}, false},
		{"suffix host", "k.example", map[string]string{"Origin": "https://k.example.evil.example"}, false},
		{"null", "k.example", map[string]string{"Origin": "null"}, false},
		{"garbage", "k.example", map[string]string{"Origin": "%zz"}, false},
		{"forwarded host", "127.0.0.1:31937", map[string]string{"Origin": "https://k.example", "X-Forwarded-Host": "k.example, proxy.local"}, true},
		{"forwarded other", "127.0.0.1:31937", map[string]string{"Origin": "https://evil.example", "X-Forwarded-Host": "k.example"}, false},
		{"fetch same-origin", "k.example", map[string]string{"Sec-Fetch-Site": "same-origin"}, true},
		{"fetch none", "k.example", map[string]string{"Sec-Fetch-Site": "none"}, true},
		{"fetch same-site", "k.example", map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "https://k.example"}, false},
		{"fetch cross-site", "k.example", map[string]string{"Sec-Fetch-Site": "cross-site"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", nil)
			r.Host = tt.host
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			if err := sameOrigin(r); (err == nil) != tt.ok {
				t.Errorf("sameOrigin(%v, host %s) = %v, want ok %v", tt.header, tt.host, err, tt.ok)
			}
		})
	}
}

// TestCheckPasswordTiming checks that an unknown name costs a bcrypt
// comparison like a known one: both take at least the time of one
// comparison at the users' cost.
func TestCheckPasswordTiming(t *testing.T) {
	h, err := bcrypt.GenerateFromPassword([]byte("pw"), 8)
	if err != nil {
		t.Fatal(err)
	}
	users := map[string]*config.User{"alice": {Name: "alice", PasswordHash: string(h)}}
	// Minimums of interleaved rounds: load on a shared machine only ever
	// adds time, so the fastest round of each is close to its true cost.
	// Skipping bcrypt for an unknown name would cost microseconds, not the
	// milliseconds of a comparison.
	timed := func(f func()) time.Duration {
		start := time.Now()
		f()
		return time.Since(start)
	}
	one := time.Hour
	fastest := map[string]time.Duration{"alice": time.Hour, "mallory": time.Hour}
	for range 5 {
		one = min(one, timed(func() { _ = bcrypt.CompareHashAndPassword(h, []byte("x")) }))
		for name := range fastest {
			d := timed(func() {
				if _, err := checkPassword(users, name, "wrong"); err == nil {
					t.Fatalf("checkPassword(%s, wrong) accepted", name)
				}
			})
			fastest[name] = min(fastest[name], d)
		}
	}
	for name, d := range fastest {
		if d < one/4 {
			t.Errorf("checkPassword(%s) took %v, a bcrypt comparison %v: the name's existence shows in the timing", name, d, one)
		}
	}
	if u, err := checkPassword(users, "alice", "pw"); err != nil || u.Name != "alice" {
		t.Errorf("checkPassword(alice, pw) = %v, %v", u, err)
	}
}
