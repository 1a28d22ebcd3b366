package httpapi

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

func TestAccountDelay(t *testing.T) {
	for _, tt := range []struct {
		n    int
		want time.Duration
	}{{0, 0}, {1, 0}, {2, 0}, {3, time.Second}, {4, 2 * time.Second}, {5, 4 * time.Second}, {8, 32 * time.Second}, {9, time.Minute}, {1000, time.Minute}} {
		if got := (&accountFailures{n: tt.n}).delay(); got != tt.want {
			t.Errorf("delay after %d failures = %v, want %v", tt.n, got, tt.want)
		}
	}
}

// TestLoginRateLimit checks the login limits through the handler: per
// account, a delay doubling with each failure whatever the address; per
// client, wrong passwords answered 429 past maxFailed failures in
// failWindow while a right password still passes after the account's
// delay only.
func TestLoginRateLimit(t *testing.T) {
	f := newAuthFixture(t, authUsers(t), nil)
	const bodyTooMany = `{"message":"too many failed logins: retry later","code":429}`
	try := func(remote, name, password string) *httptest.ResponseRecorder {
		return f.do(t, req{method: "POST", target: pathLoginAPI, body: "name=" + name + "&password=" + password, remote: remote})
	}
	check := func(what string, w *httptest.ResponseRecorder, code int, retry string) {
		t.Helper()
		if w.Code != code {
			t.Fatalf("%s: %d %s, want %d", what, w.Code, w.Body, code)
		}
		if code == 429 && w.Body.String() != bodyTooMany {
			t.Errorf("%s: body %s, want %s", what, w.Body, bodyTooMany)
		}
		if ra := w.Header().Get("Retry-After"); ra != retry {
			t.Errorf("%s: Retry-After = %q, want %q", what, ra, retry)
		}
		if code != 200 && len(w.Header().Values("Set-Cookie")) != 0 {
			t.Errorf("%s: a refused login sets a cookie", what)
		}
	}
	// Per account, from 20 addresses: past accountFree failures each one
	// doubles the delay, and an attempt within it is refused from any
	// address, unchecked.
	addr := func(i int) string { return "203.0.113." + strconv.Itoa(i%20+1) + ":1000" }
	delay := time.Duration(0)
	for i := 0; i < accountFree+6; i++ {
		f.clock.Add(delay)
		check(fmt.Sprintf("failure %d", i+1), try(addr(i), "alice", "nope"), 400, "")
		if delay = (&accountFailures{n: i + 1}).delay(); delay > 0 {
			check(fmt.Sprintf("within delay %d", i+1), try(addr(i+1), "alice", "pw"), 429, strconv.Itoa(int(delay/time.Second)))
		}
	}
	// The account's delay does not touch another account.
	check("other account", try(addr(3), "bob", "hunter2"), 200, "")
	// A right password passes once the delay is over, and clears it.
	f.clock.Add(delay)
	check("right password after the delay", try(addr(7), "alice", "pw"), 200, "")
	check("no delay after a success", try(addr(8), "alice", "nope"), 400, "")

	// Per client: past maxFailed failures in failWindow its wrong
	// passwords are 429 (accounts differ, so no account delay applies), its
	// right ones still pass.
	c := "198.51.100.9:4000"
	for i := 1; i <= maxFailed; i++ {
		check(fmt.Sprintf("client failure %d", i), try(c, fmt.Sprint("nobody", i), "x"), 400, "")
		f.clock.Add(time.Second)
	}
	check("client over its failures", try(c, "mallory", "x"), 429, "55")
	check("right password from that client", try("198.51.100.9:5000", "bob", "hunter2"), 200, "")
}

// TestLoginParallel: parallel guesses at one account from many addresses
// are checked one at a time, each meeting the delay the last one left:
// of 100 at once, the free ones and one more are checked.
func TestLoginParallel(t *testing.T) {
	f := newAuthFixture(t, authUsers(t), nil)
	var wg sync.WaitGroup
	codes := make(chan int, 100)
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := f.do(t, req{method: "POST", target: pathLoginAPI, body: "name=alice&password=guess" + strconv.Itoa(i),
				remote: "203.0.113." + strconv.Itoa(i%20+1) + ":1000"})
			codes <- w.Code
		}()
	}
	wg.Wait()
	close(codes)
	n := map[int]int{}
	for c := range codes {
		n[c]++
	}
	if n[400] != accountFree+1 || n[429] != 100-accountFree-1 {
		t.Errorf("answers %v, want %d 400 and the rest 429", n, accountFree+1)
	}
}

// TestBcryptBound: past bcryptQueue waiting logins, queue refuses;
// acquire waits for a slot and gives up with its context.
func TestBcryptBound(t *testing.T) {
	l := newLoginLimiter(time.Now)
	for range bcryptSlots {
		if !l.queue() {
			t.Fatal("queue refused below the bound")
		}
		if err := l.acquire(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	for range bcryptQueue {
		if !l.queue() {
			t.Fatal("queue refused below the bound")
		}
	}
	if l.queue() {
		t.Fatalf("queue accepted more than %d waiting", bcryptQueue)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := l.acquire(ctx); err == nil {
		t.Fatal("acquire with every slot taken succeeded")
	}
	if !l.queue() {
		t.Fatal("a place freed by a canceled acquire was not given back")
	}
	l.dequeue()
	l.release()
	if err := l.acquire(context.Background()); err != nil {
		t.Fatalf("acquire after a release: %v", err)
	}
}

// TestLoginLimiterBounds: neither map grows past its cap.
func TestLoginLimiterBounds(t *testing.T) {
	clock := &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := newLoginLimiter(clock.Now)
	for i := range maxAccounts + 100 {
		ad, _, _, ok, err := l.admit(context.Background(), fmt.Sprint("a", i), fmt.Sprint("c", i))
		if !ok || err != nil {
			t.Fatalf("admit %d: %v, %v", i, ok, err)
		}
		ad.end(false)
	}
	if len(l.accounts) > maxAccounts || len(l.clients) > maxClients {
		t.Errorf("%d accounts, %d clients; want at most %d, %d", len(l.accounts), len(l.clients), maxAccounts, maxClients)
	}
	clock.Add(accountForget)
	l.sweep(2 * maxAccounts)
	if len(l.accounts) != 0 || len(l.clients) != 0 {
		t.Errorf("after the sweep: %d accounts, %d clients; want none", len(l.accounts), len(l.clients))
	}
}

// TestLoginLimiterKeepsBusyAccount: an account whose login is being
// checked is never evicted, so that no second check of it can start.
func TestLoginLimiterKeepsBusyAccount(t *testing.T) {
	clock := &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := newLoginLimiter(clock.Now)
	held, _, _, ok, err := l.admit(context.Background(), "held", "c")
	if !ok || err != nil {
		t.Fatal("first admit refused")
	}
	for i := range maxAccounts + 10 {
		ad, _, _, ok, _ := l.admit(context.Background(), fmt.Sprint("a", i), "c")
		if ok {
			ad.end(false)
		}
	}
	if l.accounts["held"] != held.a {
		t.Fatal("the account being checked was evicted")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, _, _, _, err := l.admit(ctx, "held", "c"); err == nil {
		t.Fatal("a second login of the account was admitted while the first is checked")
	}
	held.end(true)
	if _, _, _, ok, err := l.admit(context.Background(), "held", "c"); !ok || err != nil {
		t.Fatalf("admit after the first ended: %v, %v", ok, err)
	}
}
