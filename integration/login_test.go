package integration

// Logins and sessions that hold up (issue 14): per-account delay whatever
// the address, sessions that survive a restart, streams that end with
// their session.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// startWithUser starts a server whose user.toml has alice with password
// "pw" and one webhook job.
func startWithUser(t *testing.T) *server {
	t.Helper()
	dir := t.TempDir()
	writeConfig(t, dir, configHeader(dir)+"\n[job.h]\npath = \"/h\"\ncommands = [\"true\"]\n")
	hash, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "etc", "karajo", "user.toml"),
		[]byte(fmt.Sprintf("[user.\"alice\"]\npassword = %q\n", hash)), 0o600); err != nil {
		t.Fatal(err)
	}
	return startDir(t, dir)
}

// clientFrom returns an HTTP client whose connections come from the
// loopback address local (127.0.0.x).
func clientFrom(local string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 10 * time.Second}
	return &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
		DialContext:       func(ctx context.Context, n, a string) (net.Conn, error) { return d.DialContext(ctx, n, a) },
		DisableKeepAlives: true,
	}}
}

// login posts name and password from c and returns the status, the
// Retry-After and the session cookie (if any).
func (s *server) login(t *testing.T, c *http.Client, name, password string) (int, string, *http.Cookie) {
	t.Helper()
	resp, err := c.PostForm(s.base+"/karajo/api/auth/login", url.Values{"name": {name}, "password": {password}})
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	for _, ck := range resp.Cookies() {
		if ck.Name == "karajo" && ck.Value != "" {
			return resp.StatusCode, resp.Header.Get("Retry-After"), ck
		}
	}
	return resp.StatusCode, resp.Header.Get("Retry-After"), nil
}

// sessionUser returns the user GET /karajo/api/auth/session names for ck.
func (s *server) sessionUser(t *testing.T, ck *http.Cookie) string {
	t.Helper()
	r := s.raw(t, http.MethodGet, "/karajo/api/auth/session", map[string]string{"Cookie": "karajo=" + ck.Value}, nil)
	env := wantEnvelope(t, r, http.StatusOK)
	var info struct {
		User string `json:"user"`
	}
	if err := json.Unmarshal(env.Data, &info); err != nil {
		t.Fatalf("session: %v", err)
	}
	return info.User
}

// TestLoginDelayPerAccount: 100 guesses at one account from 20 loopback
// addresses at once are nearly all refused (429) by the account's delay,
// and the right password passes from yet another address once the delay
// is over.
func TestLoginDelayPerAccount(t *testing.T) {
	t.Parallel()
	s := startWithUser(t)
	var mu sync.Mutex
	codes := map[int]int{}
	retry := 0
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, ra, _ := s.login(t, clientFrom(fmt.Sprintf("127.0.0.%d", i%20+2)), "alice", "guess"+strconv.Itoa(i))
			mu.Lock()
			defer mu.Unlock()
			codes[code]++
			if n, _ := strconv.Atoi(ra); n > retry {
				retry = n
			}
		}()
	}
	wg.Wait()
	if codes[400] > 5 || codes[400]+codes[429] != 100 {
		t.Fatalf("answers to 100 guesses from 20 addresses: %v; want at most 5 checked (400), the rest 429", codes)
	}
	if retry < 1 {
		t.Fatalf("no Retry-After on the refusals")
	}
	time.Sleep(time.Duration(retry) * time.Second)
	if code, _, ck := s.login(t, clientFrom("127.0.0.30"), "alice", "pw"); code != http.StatusOK || ck == nil {
		t.Fatalf("right password after the delay: %d, want 200 and a cookie", code)
	}
}

// TestSessionSurvivesRestart: a session made before a restart is valid
// after it; one ended by logout is not.
func TestSessionSurvivesRestart(t *testing.T) {
	t.Parallel()
	s := startWithUser(t)
	c := clientFrom("127.0.0.1")
	_, _, kept := s.login(t, c, "alice", "pw")
	_, _, ended := s.login(t, c, "alice", "pw")
	if kept == nil || ended == nil {
		t.Fatal("login gave no cookie")
	}
	r := s.raw(t, http.MethodPost, "/karajo/api/auth/logout", map[string]string{"Cookie": "karajo=" + ended.Value}, nil)
	wantEnvelope(t, r, http.StatusOK)
	s2 := s.restart(t)
	if u := s2.sessionUser(t, kept); u != "alice" {
		t.Errorf("after a restart: session user %q, want alice", u)
	}
	if u := s2.sessionUser(t, ended); u != "" {
		t.Errorf("after a restart: a logged-out session is back (user %q)", u)
	}
	if r := s2.raw(t, http.MethodGet, "/karajo/api/environment", map[string]string{"Cookie": "karajo=" + kept.Value}, nil); r.status != http.StatusOK {
		t.Errorf("read with the restored session: %s, want 200", r)
	}
}

// TestStreamEndsAtLogout: an event stream opened with a session closes
// within one heartbeat (15 s) of the logout.
func TestStreamEndsAtLogout(t *testing.T) {
	t.Parallel()
	s := startWithUser(t)
	_, _, ck := s.login(t, clientFrom("127.0.0.1"), "alice", "pw")
	if ck == nil {
		t.Fatal("login gave no cookie")
	}
	req, _ := http.NewRequest(http.MethodGet, s.base+"/karajo/api/events", nil)
	req.AddCookie(ck)
	resp, err := (&http.Client{}).Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("events: %v %v", resp, err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	if line, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(line, "event: snapshot") {
		t.Fatalf("first line %q, %v; want the snapshot event", line, err)
	}
	r := s.raw(t, http.MethodPost, "/karajo/api/auth/logout", map[string]string{"Cookie": "karajo=" + ck.Value}, nil)
	wantEnvelope(t, r, http.StatusOK)
	done := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, br)
		done <- err
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the event stream outlived its session by more than a heartbeat")
	}
}
