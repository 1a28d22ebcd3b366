package httpapi

import (
	"net"
	"net/http"
	"sync"
)

// loopbackReserve is how many connections from loopback addresses are
// still accepted past max_connections, so that a local health check or
// an operator's curl gets in while the server is full.
const loopbackReserve = 16

// Reasons a connection is refused, the label of the refusal metric.
const (
	refusedTotal     = "max_connections"
	refusedPerClient = "max_connections_per_client"
)

// LimitListener returns ln with the connection limits of the
// configuration in force (issue 14): past max_connections in total, or
// past max_connections_per_client from one peer address, a new
// connection is closed at once and counted
// (karajo_http_connections_refused_total). Loopback peers have
// loopbackReserve more in total. A trusted proxy's connections are not
// counted per client: its clients are, per request (limitProxied).
func (s *Server) LimitListener(ln net.Listener) net.Listener {
	return &limitListener{Listener: ln, s: s, per: make(map[string]int)}
}

// limitListener counts the open connections it accepted.
type limitListener struct {
	net.Listener
	s *Server

	mu    sync.Mutex
	total int
	per   map[string]int // open connections by client key (addrKey)
}

// Accept returns the next connection within the limits, closing those
// past them.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key, reason := l.admit(c.RemoteAddr().String())
		if reason == "" {
			return &limitConn{Conn: c, l: l, key: key}, nil
		}
		_ = c.Close()
		l.s.refused(reason)
	}
}

// admit counts a new connection from remote, or returns why not.
func (l *limitListener) admit(remote string) (key, refused string) {
	lim := l.s.limits()
	peer, ok := peerAddr(remote)
	max := lim.MaxConnections
	if ok && peer.IsLoopback() {
		max += loopbackReserve
	}
	perClient := ok && !trustedAddr(peer, lim.TrustedProxies)
	if perClient {
		key = addrKey(peer)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.total >= max:
		return "", refusedTotal
	case perClient && l.per[key] >= lim.MaxConnectionsPerClient:
		return "", refusedPerClient
	}
	l.total++
	if key != "" {
		l.per[key]++
	}
	l.s.conns.Add(1)
	return key, ""
}

// release uncounts a closed connection.
func (l *limitListener) release(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if key != "" {
		if l.per[key]--; l.per[key] <= 0 {
			delete(l.per, key)
		}
	}
	l.s.conns.Add(-1)
}

// limitConn is an accepted connection, uncounted once when closed.
type limitConn struct {
	net.Conn
	l    *limitListener
	key  string
	once sync.Once
}

// Close closes the connection and uncounts it.
func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.key) })
	return err
}

// limitProxied counts a request that came through a trusted proxy under
// its client (clientAddr), as the listener counts direct connections:
// past max_connections_per_client at once, the request is answered 429.
// It returns false when it answered; else done must be called when the
// request ends.
func (s *Server) limitProxied(w http.ResponseWriter, r *http.Request) (done func(), ok bool) {
	lim := s.limits()
	peer, isIP := peerAddr(r.RemoteAddr)
	if !isIP || !trustedAddr(peer, lim.TrustedProxies) {
		return func() {}, true
	}
	key := clientAddr(r, lim.TrustedProxies)
	s.proxiedMu.Lock()
	if s.proxied[key] >= lim.MaxConnectionsPerClient {
		s.proxiedMu.Unlock()
		s.refused(refusedPerClient)
		s.writeError(w, r, &apiError{Code: http.StatusTooManyRequests, Message: "too many requests from " + key + " at once, try again"})
		return nil, false
	}
	s.proxied[key]++
	s.proxiedMu.Unlock()
	return func() {
		s.proxiedMu.Lock()
		if s.proxied[key]--; s.proxied[key] <= 0 {
			delete(s.proxied, key)
		}
		s.proxiedMu.Unlock()
	}, true
}
