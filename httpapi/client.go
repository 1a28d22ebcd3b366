package httpapi

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// headerXFF is the header a reverse proxy appends the address of its
// client to.
const headerXFF = "X-Forwarded-For"

// peerAddr returns the address of the TCP peer of r (RemoteAddr), IPv4
// unmapped; ok is false when RemoteAddr holds no IP address.
func peerAddr(remoteAddr string) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}

// trustedAddr reports whether a is in one of the prefixes.
func trustedAddr(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// clientIP returns the address of the client that sent r: the TCP peer,
// or, when the peer is one of the trusted proxies, the first hop of
// X-Forwarded-For, read from the right, that is not a trusted proxy. The
// hops left of it were written by the client and are ignored. A hop that
// is not an IP address ends the walk at the proxy that wrote it, so that
// nobody can pick a fresh client address per request. ok is false when
// RemoteAddr holds no IP address.
func clientIP(r *http.Request, trusted []netip.Prefix) (netip.Addr, bool) {
	peer, ok := peerAddr(r.RemoteAddr)
	if !ok || !trustedAddr(peer, trusted) {
		return peer, ok
	}
	hops := xffHops(r.Header.Values(headerXFF))
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(stripPort(hops[i]))
		if err != nil {
			return client, true
		}
		client = a.Unmap().WithZone("")
		if !trustedAddr(client, trusted) {
			return client, true
		}
	}
	return client, true
}

// xffHops splits the X-Forwarded-For header lines into their hops, in
// order, trimmed.
func xffHops(lines []string) []string {
	var hops []string
	for _, l := range lines {
		for h := range strings.SplitSeq(l, ",") {
			hops = append(hops, strings.TrimSpace(h))
		}
	}
	return hops
}

// stripPort removes a port some proxies add to a hop ("1.2.3.4:5678",
// "[::1]:5678"); a bare IPv6 address is kept whole.
func stripPort(hop string) string {
	if host, _, err := net.SplitHostPort(hop); err == nil {
		return host
	}
	return strings.Trim(hop, "[]")
}

// clientAddr returns the key under which r's client is counted by the
// limits (connections through a proxy, failed logins): its address from
// clientIP, an IPv6 address cut to its /64 (one host usually holds a
// whole /64). RemoteAddr as it is when it holds no IP address.
func clientAddr(r *http.Request, trusted []netip.Prefix) string {
	a, ok := clientIP(r, trusted)
	if !ok {
		return r.RemoteAddr
	}
	return addrKey(a)
}

// addrKey is the counting key of address a: IPv4 as it is, IPv6 by /64.
func addrKey(a netip.Addr) string {
	if a.Is6() {
		p, _ := a.Prefix(64) // 64 bits always fit an IPv6 address
		return p.String()
	}
	return a.String()
}

// clientAddr returns the counting key of r's client under the trusted
// proxies in force.
func (s *Server) clientAddr(r *http.Request) string {
	return clientAddr(r, s.conf.Load().env.Limits.TrustedProxies)
}
