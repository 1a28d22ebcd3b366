package httpapi

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"sync"
	"time"
)

// Limits of the session store. Both maps are bounded so that no client can
// grow the server's memory without end.
const (
	// keyLen is the length of a session key: 32 characters [A-Za-z0-9]
	// (SPEC 9), about 190 bits.
	keyLen = 32
	// csrfLen is the length of a session's CSRF token, about 256 bits.
	csrfLen = 43
	// maxSessions bounds the live sessions; a login beyond it drops the
	// least recently used one.
	maxSessions = 10000
	// sweepEvery is the period of the sweep that drops expired sessions;
	// sweepBatch bounds the entries one sweep
	// looks at while holding the lock.
	sweepEvery = time.Minute
	sweepBatch = 2000
)

// alnum is the alphabet of session keys and CSRF tokens.
const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// randomString returns n characters drawn uniformly from alnum with
// crypto/rand (rejection sampling: bytes of 248 and above are skipped, so
// that the modulo has no bias).
func randomString(n int) string {
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/4)
	for len(out) < n {
		_, _ = rand.Read(buf) // never fails (Go 1.24+); it crashes the program instead
		for _, b := range buf {
			if b >= 248 { // 248 = 4*62
				continue
			}
			out = append(out, alnum[int(b)%len(alnum)])
			if len(out) == n {
				break
			}
		}
	}
	return string(out)
}

// session is one logged-in browser. pass is the fingerprint of the user's
// password hash at login: a changed password in user.toml ends the
// session at the next reload.
type session struct {
	user    string
	pass    string
	csrf    string
	created time.Time
	used    time.Time
}

// expired reports whether the session has ended at now: idle for longer
// than idle, or older than absolute.
func (se *session) expired(now time.Time, idle, absolute time.Duration) bool {
	return now.Sub(se.used) > idle || now.Sub(se.created) > absolute
}

// fingerprint is the hex SHA-256 of s: what the store keeps of a session
// key (so that the session file grants nothing to its reader) and of a
// password hash.
func fingerprint(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// validity tells whether a session's user still exists with the password
// hash whose fingerprint is pass.
type validity func(user, pass string) bool

// sessionStore holds the login sessions of a Server, by the fingerprint
// of their keys, in memory and, when it has a file, in that file too
// (sessionfile.go), so that they survive a restart. It is a
// mutex-protected struct rather than an actor: every operation is a few
// map accesses, and the handlers need the answer synchronously anyway.
// Expired sessions are removed when looked up and by a periodic sweep,
// started with the first session and stopped by Server.Close.
type sessionStore struct {
	now   func() time.Time
	stop  <-chan struct{} // closed when the server closes: ends the sweep
	start sync.Once       // starts the sweep
	file  string          // the session file; "" = memory only
	log   *slog.Logger    // for the sweep's write errors

	mu        sync.Mutex
	sessions  map[string]*session // by fingerprint of the key
	gen       uint64              // bumped by every change of the set of sessions
	savedGen  uint64              // the gen the file holds
	usedDirty bool                // a session was used since the file was written

	writeMu sync.Mutex // one writer of the file at a time
}

// newSessionStore returns an empty store reading the clock now and kept
// in file ("" = memory only); its sweep ends when stop is closed.
func newSessionStore(now func() time.Time, stop <-chan struct{}, file string, log *slog.Logger) *sessionStore {
	return &sessionStore{
		now:      now,
		stop:     stop,
		file:     file,
		log:      log,
		sessions: make(map[string]*session),
	}
}

// lifetimes tells the store the session lifetimes in force (they change
// with a reload).
type lifetimes func() (idle, absolute time.Duration)

// create starts a session for user, whose password hash is hash, and
// returns its key and CSRF token. Beyond maxSessions the least recently
// used session is dropped. The caller persists the change.
func (st *sessionStore) create(user, hash string, life lifetimes) (key, csrf string) {
	st.start.Do(func() { go st.sweepLoop(life) })
	now := st.now()
	key, csrf = randomString(keyLen), randomString(csrfLen)
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.sessions) >= maxSessions {
		idle, absolute := life()
		st.sweepLocked(now, idle, absolute, len(st.sessions))
	}
	if len(st.sessions) >= maxSessions {
		var oldest string
		for k, se := range st.sessions {
			if oldest == "" || se.used.Before(st.sessions[oldest].used) {
				oldest = k
			}
		}
		delete(st.sessions, oldest)
	}
	st.sessions[fingerprint(key)] = &session{user: user, pass: fingerprint(hash), csrf: csrf, created: now, used: now}
	st.gen++
	return key, csrf
}

// lookup returns the user and CSRF token of the session key and, if touch,
// marks it used. A session that has expired or whose user is no longer
// valid is removed and ok is false.
func (st *sessionStore) lookup(key string, idle, absolute time.Duration, valid validity, touch bool) (user, csrf string, ok bool) {
	if key == "" {
		return "", "", false
	}
	id := fingerprint(key)
	now := st.now()
	st.mu.Lock()
	defer st.mu.Unlock()
	se, ok := st.sessions[id]
	if !ok {
		return "", "", false
	}
	if se.expired(now, idle, absolute) || !valid(se.user, se.pass) {
		delete(st.sessions, id)
		st.gen++
		return "", "", false
	}
	if touch {
		se.used = now
		st.usedDirty = true
	}
	return se.user, se.csrf, true
}

// remove ends the session key, if there is one. The caller persists the
// change.
func (st *sessionStore) remove(key string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if _, ok := st.sessions[fingerprint(key)]; ok {
		delete(st.sessions, fingerprint(key))
		st.gen++
	}
}

// endInvalid ends the sessions whose user is no longer valid (a reload
// removed the user or changed the password) and returns how many ended.
// The caller persists the change.
func (st *sessionStore) endInvalid(valid validity) int {
	st.mu.Lock()
	defer st.mu.Unlock()
	n := 0
	for id, se := range st.sessions {
		if !valid(se.user, se.pass) {
			delete(st.sessions, id)
			n++
		}
	}
	if n > 0 {
		st.gen++
	}
	return n
}

// len returns the number of sessions held, expired or not.
func (st *sessionStore) len() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.sessions)
}

// sweepLoop removes expired sessions every sweepEvery
// until st.stop is closed.
func (st *sessionStore) sweepLoop(life lifetimes) {
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-st.stop:
			return
		case <-t.C:
			st.sweep(life)
			if err := st.persist(); err != nil {
				st.log.Error("save sessions", "err", err)
			}
		}
	}
}

// sweep looks at up to sweepBatch sessions (map order is random, so
// successive sweeps cover different entries) and drops the expired ones.
func (st *sessionStore) sweep(life lifetimes) {
	idle, absolute := life()
	now := st.now()
	st.mu.Lock()
	defer st.mu.Unlock()
	st.sweepLocked(now, idle, absolute, sweepBatch)
}

// sweepLocked drops the expired sessions among the first n it meets.
func (st *sessionStore) sweepLocked(now time.Time, idle, absolute time.Duration, n int) {
	for k, se := range st.sessions {
		if n--; n < 0 {
			break
		}
		if se.expired(now, idle, absolute) {
			delete(st.sessions, k)
			st.gen++
		}
	}
}
