package httpapi

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Login limits (issue 14). Guessing is slowed per account, whatever the
// number of addresses it comes from, by a delay that doubles with each
// failure in a row (never a lock: the delay is capped, and a right password
// passes as soon as it is over); per client address, a client with too
// many recent failures is answered 429 for its wrong passwords, while its
// right ones still pass; and bcrypt, which costs tens of milliseconds of
// CPU, runs at most bcryptSlots at a time with at most bcryptQueue
// waiting, so that no flood of logins takes the machine.
const (
	// accountFree is how many failures in a row an account has without
	// delay (typos); accountBaseDelay is the delay after the next one, and
	// each further failure doubles it, up to accountMaxDelay.
	accountFree      = 2
	accountBaseDelay = time.Second
	accountMaxDelay  = time.Minute
	// accountForget is how long an account's failures are remembered
	// after the last one.
	accountForget = 15 * time.Minute
	// maxAccounts bounds the account names whose failures are remembered
	// (unknown names too, so that the delay does not tell them apart).
	maxAccounts = 10000
	// maxFailed is how many failed logins a client address may make in
	// failWindow before its wrong passwords are answered 429.
	maxFailed  = 5
	failWindow = time.Minute
	// maxClients bounds the addresses whose failures are remembered.
	maxClients = 10000
	// bcryptSlots bounds the password checks running at once;
	// bcryptQueue the logins waiting for one (beyond: 429).
	bcryptSlots = 8
	bcryptQueue = 256
)

// accountFailures are the failed logins in a row of one account name.
// Its logins are checked one at a time (turn), so that parallel guesses
// each meet the delay the previous one left.
type accountFailures struct {
	n    int           // failures in a row
	last time.Time     // when the last of them was made
	turn chan struct{} // holds a token while a login of the account is checked
	busy int           // logins holding or waiting for the turn; guarded by loginLimiter.mu
}

// idle reports whether no login of the account is checked or waits (with
// loginLimiter.mu held): only then may its entry be dropped.
func (a *accountFailures) idle() bool { return a.busy == 0 }

// delay is how long after the last failure the next attempt must wait.
func (a *accountFailures) delay() time.Duration {
	if a.n <= accountFree {
		return 0
	}
	d := accountBaseDelay
	for i := accountFree + 1; i < a.n && d < accountMaxDelay; i++ {
		d *= 2
	}
	return min(d, accountMaxDelay)
}

// failures are the recent failed logins of one client address, oldest
// first; at most maxFailed are kept.
type failures struct {
	times []time.Time
}

// prune drops the failures older than failWindow at now.
func (f *failures) prune(now time.Time) {
	i := 0
	for i < len(f.times) && now.Sub(f.times[i]) >= failWindow {
		i++
	}
	f.times = f.times[i:]
}

// loginLimiter keeps the failed logins per account and per client and
// bounds the bcrypt work. It is a mutex-protected struct rather than an
// actor for the reason sessionStore is one.
type loginLimiter struct {
	now func() time.Time

	mu       sync.Mutex
	accounts map[string]*accountFailures
	clients  map[string]*failures

	slots   chan struct{} // one token per running bcrypt check
	waiting atomic.Int64  // logins waiting for a slot
}

func newLoginLimiter(now func() time.Time) *loginLimiter {
	return &loginLimiter{
		now:      now,
		accounts: make(map[string]*accountFailures),
		clients:  make(map[string]*failures),
		slots:    make(chan struct{}, bcryptSlots),
	}
}

// admission is one login admitted to its check; end reports the result.
type admission struct {
	l      *loginLimiter
	client string
	a      *accountFailures
}

// admit waits for account's turn (its logins are checked one at a time)
// and decides whether a login may be checked now. If the account's delay
// after failures is not over, ok is false and retry is how long is left.
// Otherwise the attempt counts as a failure of client until end says it
// succeeded (so that parallel attempts count too); locked says whether
// client had used up its maxFailed failures in failWindow before it, and
// then retry is how long until its oldest failure leaves the window. An
// error means ctx ended while waiting. An admitted login must be ended.
func (l *loginLimiter) admit(ctx context.Context, account, client string) (ad *admission, retry time.Duration, locked, ok bool, err error) {
	l.mu.Lock()
	a := l.accounts[account]
	if a == nil {
		if len(l.accounts) >= maxAccounts {
			l.evictAccountLocked(l.now())
		}
		a = &accountFailures{turn: make(chan struct{}, 1)}
		l.accounts[account] = a
	}
	a.busy++
	l.mu.Unlock()
	select {
	case a.turn <- struct{}{}:
	case <-ctx.Done():
		l.mu.Lock()
		a.busy--
		l.mu.Unlock()
		return nil, 0, false, false, ctx.Err()
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(a.last) >= accountForget {
		a.n = 0
	}
	if wait := a.delay() - now.Sub(a.last); wait > 0 {
		a.busy--
		<-a.turn
		return nil, wait, false, false, nil
	}
	f := l.clients[client]
	if f == nil {
		if len(l.clients) >= maxClients {
			l.evictClientLocked(now)
		}
		f = &failures{}
		l.clients[client] = f
	}
	f.prune(now)
	if locked = len(f.times) >= maxFailed; locked {
		retry = failWindow - now.Sub(f.times[0])
		f.times = f.times[1:] // keep at most maxFailed
	}
	f.times = append(f.times, now)
	return &admission{l: l, client: client, a: a}, retry, locked, true, nil
}

// end records the result of an admitted login and gives the account's
// turn to the next one: a failure starts or doubles the account's delay; a
// success forgets the failures of the account and of the client.
func (ad *admission) end(success bool) {
	l := ad.l
	now := l.now()
	l.mu.Lock()
	if success {
		ad.a.n = 0
		delete(l.clients, ad.client)
	} else {
		ad.a.n++
		ad.a.last = now
	}
	ad.a.busy--
	l.mu.Unlock()
	<-ad.a.turn
}

// evictAccountLocked makes room in l.accounts: it drops the accounts
// whose failures are forgotten, or else the one failed least recently.
func (l *loginLimiter) evictAccountLocked(now time.Time) {
	var oldest string
	var at time.Time
	for name, a := range l.accounts {
		if !a.idle() {
			continue // in use: keep it, or two logins could be checked at once
		}
		if a.n == 0 || now.Sub(a.last) >= accountForget {
			delete(l.accounts, name)
			continue
		}
		if oldest == "" || a.last.Before(at) {
			oldest, at = name, a.last
		}
	}
	if len(l.accounts) >= maxAccounts && oldest != "" {
		delete(l.accounts, oldest)
	}
}

// evictClientLocked makes room in l.clients: it drops the addresses
// without recent failures, or else the one whose last failure is oldest.
func (l *loginLimiter) evictClientLocked(now time.Time) {
	var oldest string
	var at time.Time
	for c, f := range l.clients {
		f.prune(now)
		if len(f.times) == 0 {
			delete(l.clients, c)
			continue
		}
		if last := f.times[len(f.times)-1]; oldest == "" || last.Before(at) {
			oldest, at = c, last
		}
	}
	if len(l.clients) >= maxClients {
		delete(l.clients, oldest)
	}
}

// sweep drops the forgotten failures of up to n accounts and n clients.
func (l *loginLimiter) sweep(n int) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	i := 0
	for name, a := range l.accounts {
		if i++; i > n {
			break
		}
		if a.idle() && (a.n == 0 || now.Sub(a.last) >= accountForget) {
			delete(l.accounts, name)
		}
	}
	i = 0
	for c, f := range l.clients {
		if i++; i > n {
			break
		}
		if f.prune(now); len(f.times) == 0 {
			delete(l.clients, c)
		}
	}
}

// queue reserves a place among the logins waiting for a bcrypt slot; ok
// is false when bcryptQueue are waiting already. A reserved place must be
// used by acquire.
func (l *loginLimiter) queue() bool {
	if l.waiting.Add(1) > bcryptQueue {
		l.waiting.Add(-1)
		return false
	}
	return true
}

// dequeue gives back the place queue reserved, unused.
func (l *loginLimiter) dequeue() { l.waiting.Add(-1) }

// acquire waits, in the place queue reserved, for a bcrypt slot; release
// frees it. It fails only when ctx ends first (the client went away).
func (l *loginLimiter) acquire(ctx context.Context) error {
	defer l.waiting.Add(-1)
	select {
	case l.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *loginLimiter) release() { <-l.slots }
