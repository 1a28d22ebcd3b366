package httpapi

import (
	"errors"
	"net/http"

	"github.com/karajo/karajo/config"
)

// Sessions across restarts, reloads and long streams (issue 14).

// openSessions makes the session store, kept in the session file under
// dir_base, and loads the sessions a previous run left that are still
// valid.
func (s *Server) openSessions() {
	env := s.conf.Load().env
	s.sessions = newSessionStore(s.now, s.closing, sessionPath(env.DirBase), s.log)
	n, err := s.sessions.load(s.lifetimes, validUsers(env))
	if err != nil {
		s.log.Warn("sessions of the previous run not restored", "err", err)
		return
	}
	if n > 0 {
		s.log.Info("sessions restored", "sessions", n)
	}
}

// validUsers returns the validity of sessions under env: the user exists
// with the password hash the session was made with.
func validUsers(env *config.Env) validity {
	return func(user, pass string) bool {
		u, ok := env.Users[user]
		return ok && fingerprint(u.PasswordHash) == pass
	}
}

// endStaleSessions ends, after a reload to env, the sessions of users it
// removed or whose password it changed, and saves the change.
func (s *Server) endStaleSessions(env *config.Env) {
	if s.sessions == nil { // New's first Reload, before the routes
		return
	}
	if n := s.sessions.endInvalid(validUsers(env)); n > 0 {
		s.log.Info("sessions ended by the reload", "sessions", n)
	}
	s.saveSessions()
}

// saveSessions writes the sessions to their file; a failure is logged (the
// sessions go on in memory, and the sweep tries again).
func (s *Server) saveSessions() {
	if err := s.sessions.persist(); err != nil {
		s.log.Error("save sessions", "err", err)
	}
}

// errSessionEnded ends a stream whose session has ended.
var errSessionEnded = errors.New("session ended")

// streamGuard returns the check a stream opened by r makes at each
// heartbeat: when r was let in by a session, whether that session is still
// valid (without marking it used, so that an open stream does not keep an
// idle session alive); nil when r needed none (no users) or was signed.
func (s *Server) streamGuard(r *http.Request) func() bool {
	if !s.usersConfigured() {
		return nil
	}
	c, err := r.Cookie(cookieName)
	if err != nil || !s.loggedIn(r) {
		return nil
	}
	key := c.Value
	return func() bool {
		env := s.conf.Load().env
		idle, absolute := lifetimesOf(env)
		_, _, ok := s.sessions.lookup(key, idle, absolute, validUsers(env), false)
		return ok
	}
}

// beat writes a stream's heartbeat, after checking its session: an error
// ends the stream.
func (s *Server) beat(out *sse, still func() bool) error {
	if still != nil && !still() {
		return errSessionEnded
	}
	return out.comment("keep-alive")
}
