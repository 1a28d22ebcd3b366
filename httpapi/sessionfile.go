package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/karajo/karajo/logstore"
)

// The session file, $dir_base/var/lib/karajo/sessions.json (mode 0600),
// lets login sessions survive a restart (issue 14). It holds no secret
// that opens a session: only the SHA-256 of each session key and of the
// user's password hash at login, with the user, the CSRF token (useless
// without the key) and the times. It is rewritten whole and atomically
// (temporary file, fsync, rename, fsync of the directory) after each login
// and logout, after a reload ended sessions, and by the sweep when
// sessions were used or expired; a restart loads it and drops what has
// expired or whose user is gone.

// sessionFileVersion is the format of the session file.
const sessionFileVersion = 1

// sessionFile is the content of the session file.
type sessionFile struct {
	Version  int             `json:"version"`
	Sessions []sessionRecord `json:"sessions"`
}

// sessionRecord is one session in the session file.
type sessionRecord struct {
	ID      string    `json:"id"`   // SHA-256 of the session key, hex
	User    string    `json:"user"` //
	Pass    string    `json:"pass"` // SHA-256 of the password hash at login, hex
	CSRF    string    `json:"csrf"`
	Created time.Time `json:"created"`
	Used    time.Time `json:"used"`
}

// sessionPath returns the session file under dirBase; "" (no dir_base,
// as in tests that build an Env by hand) keeps sessions in memory only.
func sessionPath(dirBase string) string {
	if dirBase == "" {
		return ""
	}
	return filepath.Join(dirBase, "var", "lib", "karajo", "sessions.json")
}

// persist writes the sessions to the file if they changed since it was
// last written. Concurrent calls are serialised, and a call that finds
// the file already current (written by another for a later change) does
// nothing.
func (st *sessionStore) persist() error {
	if st.file == "" {
		return nil
	}
	st.writeMu.Lock()
	defer st.writeMu.Unlock()
	st.mu.Lock()
	gen := st.gen
	if gen == st.savedGen && !st.usedDirty {
		st.mu.Unlock()
		return nil
	}
	f := sessionFile{Version: sessionFileVersion, Sessions: make([]sessionRecord, 0, len(st.sessions))}
	for id, se := range st.sessions {
		f.Sessions = append(f.Sessions, sessionRecord{ID: id, User: se.user, Pass: se.pass, CSRF: se.csrf, Created: se.created, Used: se.used})
	}
	st.usedDirty = false
	st.mu.Unlock()
	if err := writeFileAtomic(st.file, f); err != nil {
		st.mu.Lock()
		st.usedDirty = true // try again at the next sweep
		st.mu.Unlock()
		return fmt.Errorf("save sessions: %w", err)
	}
	st.mu.Lock()
	st.savedGen = gen
	st.mu.Unlock()
	return nil
}

// load reads the session file into the empty store, dropping the sessions
// that have expired or whose user is not valid, and returns how many it
// kept. A missing file is no session; a file that cannot be read or
// parsed is an error (the store stays empty, and the next write replaces
// the file).
func (st *sessionStore) load(life lifetimes, valid validity) (int, error) {
	if st.file == "" {
		return 0, nil
	}
	data, err := os.ReadFile(st.file)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("load sessions: %w", err)
	}
	var f sessionFile
	if err := json.Unmarshal(data, &f); err != nil {
		return 0, fmt.Errorf("load sessions: %s: %w", st.file, err)
	}
	if f.Version != sessionFileVersion {
		return 0, fmt.Errorf("load sessions: %s: version %d, want %d", st.file, f.Version, sessionFileVersion)
	}
	idle, absolute := life()
	now := st.now()
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, r := range f.Sessions {
		se := &session{user: r.User, pass: r.Pass, csrf: r.CSRF, created: r.Created, used: r.Used}
		if len(r.ID) != 64 || se.expired(now, idle, absolute) || !valid(se.user, se.pass) || len(st.sessions) >= maxSessions {
			st.gen++ // the file holds more than the store: rewrite it
			continue
		}
		st.sessions[r.ID] = se
	}
	if len(st.sessions) > 0 {
		st.start.Do(func() { go st.sweepLoop(life) })
	}
	return len(st.sessions), nil
}

// writeFileAtomic writes v as JSON to path (mode 0600), atomically
// (logstore.WriteAtomic).
func writeFileAtomic(path string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return logstore.WriteAtomic(path, append(data, '\n'))
}
