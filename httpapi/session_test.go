package httpapi

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/karajo/karajo/config"
)

// TestSessionExpiry checks idle and absolute expiry (IMP-31), with the
// lifetimes read from the configuration in force.
func TestSessionExpiry(t *testing.T) {
	type step struct {
		wait  time.Duration // then a request with the session
		valid bool
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"used within idle", []step{{9 * time.Minute, true}, {9 * time.Minute, true}, {9 * time.Minute, true}}},
		{"idle bound included", []step{{10 * time.Minute, true}}},
		{"idle", []step{{9 * time.Minute, true}, {10*time.Minute + time.Second, false}, {0, false}}},
		{"absolute", []step{
			{9 * time.Minute, true}, {9 * time.Minute, true}, {9 * time.Minute, true},
			{9 * time.Minute, true}, {9 * time.Minute, true}, {9 * time.Minute, true}, // 54m
			{6 * time.Minute, true},                    // 60m: the bound is included
			{time.Second, false}, {time.Minute, false}, // over 60m, however recently used
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newAuthFixture(t, authUsers(t), func(env *config.Env) {
				env.SessionIdle, env.SessionMax = 10*time.Minute, time.Hour
			})
			key := f.login(t, "alice", "pw", "")
			var total time.Duration
			for i, st := range tt.steps {
				f.clock.Add(st.wait)
				total += st.wait
				got := f.sessionOf(t, key).User == "alice"
				if got != st.valid {
					t.Fatalf("step %d (%v after login): valid = %v, want %v", i, total, got, st.valid)
				}
				w := f.do(t, req{method: "GET", target: pathEnv, cookie: key})
				if (w.Code == http.StatusOK) != st.valid {
					t.Fatalf("step %d: GET environment = %d, want valid %v", i, w.Code, st.valid)
				}
			}
		})
	}
}

// TestSessionReload checks that a session ends when its user leaves
// user.toml or gets a new password, and that shorter lifetimes apply at
// once.
func TestSessionReload(t *testing.T) {
	users := authUsers(t)
	newHash, err := bcrypt.GenerateFromPassword([]byte("new"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		change func(env *config.Env)
		alice  bool // alice's session survives
		bob    bool
	}{
		{"same users", func(*config.Env) {}, true, true},
		{"alice removed", func(env *config.Env) { env.Users = map[string]*config.User{"bob": users["bob"]} }, false, true},
		{"all users removed", func(env *config.Env) { env.Users = nil }, false, false},
		{"alice's password changed", func(env *config.Env) {
			env.Users = map[string]*config.User{"alice": {Name: "alice", PasswordHash: string(newHash)}, "bob": users["bob"]}
		}, false, true},
		{"shorter idle", func(env *config.Env) { env.SessionIdle = time.Minute }, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newAuthFixture(t, users, nil)
			ka, kb := f.login(t, "alice", "pw", ""), f.login(t, "bob", "hunter2", "")
			f.clock.Add(2 * time.Minute)
			next := *f.env
			tt.change(&next)
			f.s.Reload(&next)
			if got := f.sessionOf(t, ka).User == "alice"; got != tt.alice {
				t.Errorf("alice's session valid = %v, want %v", got, tt.alice)
			}
			if got := f.sessionOf(t, kb).User == "bob"; got != tt.bob {
				t.Errorf("bob's session valid = %v, want %v", got, tt.bob)
			}
			// A session once ended stays ended when the old users come back.
			f.s.Reload(f.env)
			if got := f.sessionOf(t, ka).User == "alice"; got != tt.alice {
				t.Errorf("after restoring the users: alice's session valid = %v, want %v", got, tt.alice)
			}
		})
	}
}

// TestSessionConcurrent logs in, reads and logs out from 100 goroutines
// at once; run with -race.
func TestSessionConcurrent(t *testing.T) {
	f := newAuthFixture(t, authUsers(t), nil)
	shared := f.login(t, "bob", "hunter2", "")
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			remote := fmt.Sprintf("10.0.%d.%d:4000", i/50, i%50)
			w := f.do(t, req{method: "POST", target: pathLoginAPI, body: "name=alice&password=pw", remote: remote})
			if w.Code != 200 {
				errs <- fmt.Errorf("login %d: %d", i, w.Code)
				return
			}
			key := w.Result().Cookies()[0].Value
			for _, k := range []string{key, shared} {
				r := f.do(t, req{method: "GET", target: pathSession, cookie: k})
				if !strings.Contains(r.Body.String(), `"user":"`) || r.Code != 200 {
					errs <- fmt.Errorf("session %d: %d %s", i, r.Code, r.Body)
				}
			}
			if r := f.do(t, req{method: "GET", target: "/karajo/api/x", cookie: key}); r.Code != 404 {
				errs <- fmt.Errorf("read %d: %d", i, r.Code)
			}
			if i%3 == 0 {
				f.s.sessions.sweep(f.s.lifetimes)
			}
			if r := f.do(t, req{method: "POST", target: pathLogout, cookie: key}); r.Code != 200 {
				errs <- fmt.Errorf("logout %d: %d", i, r.Code)
			}
			// Failed logins from the same addresses, concurrently.
			f.do(t, req{method: "POST", target: pathLoginAPI, body: "name=alice&password=no", remote: remote})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := f.s.sessions.len(); n != 1 {
		t.Errorf("%d sessions left, want 1 (the shared one)", n)
	}
}

// TestSessionStoreSweep checks that the sweep drops expired sessions, and that the sweep loop ends with the server.
func TestSessionStoreSweep(t *testing.T) {
	clock := &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	stop := make(chan struct{})
	st := newSessionStore(clock.Now, stop, "", nil)
	life := func() (time.Duration, time.Duration) { return 10 * time.Minute, time.Hour }
	for i := range 10 {
		st.create(fmt.Sprint("u", i), "h", life)
	}
	clock.Add(5 * time.Minute)
	young, _ := st.create("young", "h", life)
	clock.Add(6 * time.Minute)
	st.sweep(life)
	if n := st.len(); n != 1 {
		t.Errorf("after the sweep: %d sessions, want 1", n)
	}
	if _, _, ok := st.lookup(young, 10*time.Minute, time.Hour, func(string, string) bool { return true }, true); !ok {
		t.Error("the sweep dropped a live session")
	}

	done := make(chan struct{})
	go func() {
		st.sweepLoop(life)
		close(done)
	}()
	close(stop)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the sweep loop did not end when stop was closed")
	}
}

// TestSessionStoreBounds checks that the sessions do not grow past their cap.
func TestSessionStoreBounds(t *testing.T) {
	clock := &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	stop := make(chan struct{})
	defer close(stop)
	st := newSessionStore(clock.Now, stop, "", nil)
	life := func() (time.Duration, time.Duration) { return time.Hour, 24 * time.Hour }
	first, _ := st.create("first", "h", life)
	clock.Add(time.Second)
	for i := range maxSessions {
		st.create(fmt.Sprint("u", i), "h", life)
	}
	if n := st.len(); n != maxSessions {
		t.Errorf("%d sessions, want the cap %d", n, maxSessions)
	}
	if _, _, ok := st.lookup(first, time.Hour, 24*time.Hour, func(string, string) bool { return true }, true); ok {
		t.Error("the least recently used session was kept over the cap")
	}
}

// TestRandomString checks the alphabet, the length and that keys differ.
func TestRandomString(t *testing.T) {
	re := regexp.MustCompile(`^[A-Za-z0-9]{32}$`)
	seen := make(map[string]bool)
	counts := make(map[rune]int)
	for range 2000 {
		k := randomString(keyLen)
		if !re.MatchString(k) {
			t.Fatalf("randomString(32) = %q", k)
		}
		if seen[k] {
			t.Fatalf("randomString gave %q twice", k)
		}
		seen[k] = true
		for _, c := range k {
			counts[c]++
		}
	}
	if len(counts) != len(alnum) {
		t.Errorf("%d distinct characters in 64000, want all %d", len(counts), len(alnum))
	}
}
