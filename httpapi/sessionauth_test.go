package httpapi

import (
	"bufio"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/karajo/karajo/actors"
	"github.com/karajo/karajo/config"
)

// restart builds a second Server over the fixture's engine and
// configuration, as a restarted process would: it knows the sessions only
// from the session file.
func (f *authFixture) restart(t *testing.T, env *config.Env) *authFixture {
	t.Helper()
	s := New(Options{Env: env, Engine: f.e, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Version: "test", Now: f.clock.Now})
	t.Cleanup(s.Close)
	return &authFixture{s: s, e: f.e, env: env, clock: f.clock}
}

// TestSessionsSurviveRestart: sessions are in the session file, hashed,
// mode 0600; a restart keeps the live ones (same user and CSRF token) and
// not the ones logged out, expired, or of a user the new configuration
// lacks.
func TestSessionsSurviveRestart(t *testing.T) {
	users := authUsers(t)
	f := newAuthFixture(t, users, nil)
	ka, kb, kc := f.login(t, "alice", "pw", ""), f.login(t, "bob", "hunter2", ""), f.login(t, "alice", "pw", "")
	csrf := f.sessionOf(t, ka).CSRF
	if w := f.do(t, req{method: "POST", target: pathLogout, cookie: kc}); w.Code != 200 {
		t.Fatalf("logout: %d", w.Code)
	}
	path := sessionPath(f.env.DirBase)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("no session file: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("session file mode %v, want 0600", fi.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	for _, secret := range []string{ka, kb, kc, users["alice"].PasswordHash, users["bob"].PasswordHash} {
		if strings.Contains(string(data), secret) {
			t.Errorf("the session file holds a key or a password hash: %s", data)
		}
	}

	g := f.restart(t, f.env)
	if got := g.sessionOf(t, ka); got.User != "alice" || got.CSRF != csrf {
		t.Errorf("after restart: alice's session = %+v, want alice with CSRF %q", got, csrf)
	}
	if got := g.sessionOf(t, kb); got.User != "bob" {
		t.Errorf("after restart: bob's session = %+v, want bob", got)
	}
	if got := g.sessionOf(t, kc); got.User != "" {
		t.Errorf("after restart: a logged-out session is back: %+v", got)
	}

	// Without bob, and with alice idle past session_idle, nothing is restored.
	f.clock.Add(f.env.SessionIdle / 2)
	g.sessionOf(t, kb) // bob used, alice not
	f.clock.Add(f.env.SessionIdle/2 + time.Second)
	g.s.sessions.sweep(g.s.lifetimes)
	next := *f.env
	next.Users = map[string]*config.User{"alice": users["alice"]}
	h := f.restart(t, &next)
	if got := h.sessionOf(t, ka); got.User != "" {
		t.Errorf("an expired session was restored: %+v", got)
	}
	if got := h.sessionOf(t, kb); got.User != "" {
		t.Errorf("a session of a removed user was restored: %+v", got)
	}
}

// TestReloadEndsSessions: a reload that removes a user ends that user's
// sessions in the file too, so that they stay ended when the user comes
// back and after a restart.
func TestReloadEndsSessions(t *testing.T) {
	users := authUsers(t)
	f := newAuthFixture(t, users, nil)
	ka, kb := f.login(t, "alice", "pw", ""), f.login(t, "bob", "hunter2", "")
	next := *f.env
	next.Users = map[string]*config.User{"bob": users["bob"]}
	f.s.Reload(&next)
	if n := f.s.sessions.len(); n != 1 {
		t.Errorf("after the reload: %d sessions, want 1 (bob's)", n)
	}
	f.s.Reload(f.env) // alice is back: her session is not
	g := f.restart(t, f.env)
	for _, fx := range []*authFixture{f, g} {
		if got := fx.sessionOf(t, ka); got.User != "" {
			t.Errorf("alice's session survived her removal: %+v", got)
		}
		if got := fx.sessionOf(t, kb); got.User != "bob" {
			t.Errorf("bob's session = %+v, want bob", got)
		}
	}
}

// TestStreamEndsWithSession: an event stream and a log stream opened with
// a session close at the first heartbeat after the session ended (logout);
// a stream opened with no users configured is not affected.
func TestStreamEndsWithSession(t *testing.T) {
	old := heartbeat
	heartbeat = 50 * time.Millisecond
	t.Cleanup(func() { heartbeat = old })
	f := newAuthFixture(t, authUsers(t), nil)
	srv := httptest.NewServer(f.s)
	t.Cleanup(srv.Close)
	key := f.login(t, "alice", "pw", "")
	open := func(path string) *http.Response {
		t.Helper()
		r, _ := http.NewRequest("GET", srv.URL+path, nil)
		r.AddCookie(&http.Cookie{Name: cookieName, Value: key})
		resp, err := http.DefaultClient.Do(r)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s: %v %v", path, resp, err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	events := open(pathEvents)
	beats := func(resp *http.Response, n int) {
		t.Helper()
		sc := bufio.NewScanner(resp.Body)
		for got := 0; got < n; {
			if !sc.Scan() {
				t.Fatalf("stream ended before %d heartbeats: %v", n, sc.Err())
			}
			if sc.Text() == ": keep-alive" {
				got++
			}
		}
	}
	beats(events, 2) // the session is valid: the stream goes on
	if w := f.do(t, req{method: "POST", target: pathLogout, cookie: key}); w.Code != 200 {
		t.Fatalf("logout: %d", w.Code)
	}
	done := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, events.Body)
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("stream ended with %v, want a clean end", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the event stream outlived the session")
	}
}

// TestLogStreamEndsWithSession: a log stream of a running log, opened
// with a session, closes at the first heartbeat after a reload removed
// the session's user.
func TestLogStreamEndsWithSession(t *testing.T) {
	old := heartbeat
	heartbeat = 50 * time.Millisecond
	t.Cleanup(func() { heartbeat = old })
	users := authUsers(t)
	f := newAuthFixture(t, users, func(env *config.Env) { env.Jobs[0].Commands = []string{"echo started; sleep 30"} })
	srv := httptest.NewServer(f.s)
	t.Cleanup(srv.Close)
	key := f.login(t, "alice", "pw", "")
	pid, _ := f.e.Job("e")
	if _, err := actors.Ask[*actors.JobView](f.e.Root(), pid, &actors.Trigger{Reason: "test"}, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = actors.Ask[*actors.JobView](f.e.Root(), pid, &actors.Cancel{}, 10*time.Second) })
	r, _ := http.NewRequest("GET", srv.URL+pathExecLogStream+"?id=e&counter=1", nil)
	r.AddCookie(&http.Cookie{Name: cookieName, Value: key})
	resp, err := http.DefaultClient.Do(r)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("log stream: %v %v", resp, err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for beats := 0; beats < 2; {
		if !sc.Scan() {
			t.Fatalf("log stream ended while the session was valid: %v", sc.Err())
		}
		if sc.Text() == ": keep-alive" {
			beats++
		}
	}
	next := *f.env
	next.Users = map[string]*config.User{"bob": users["bob"]}
	f.s.Reload(&next)
	done := make(chan struct{})
	go func() {
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "event: end") {
				t.Errorf("the stream sent an end event: the run is still going")
			}
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the log stream outlived its session")
	}
}
