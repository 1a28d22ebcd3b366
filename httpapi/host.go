package httpapi

import (
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
)

// msgBadHost answers a request whose Host header names no host this
// server is meant to be reached by.
const msgBadHost = "misdirected request: this server does not serve host "

// hostAllowed reports whether the Host header value host names this
// server (issue 14, DNS rebinding): empty (HTTP/1.0), an IP literal,
// localhost, the host of the listen address, or one of allowed (lower
// case, no port). The port is not looked at; case and a final dot are
// ignored.
func hostAllowed(host, listen string, allowed []string) bool {
	if host == "" {
		return true
	}
	name := hostOnly(host)
	if _, err := netip.ParseAddr(name); err == nil {
		return true
	}
	if name == "localhost" || name == hostOnly(listen) && name != "" {
		return true
	}
	return slices.Contains(allowed, name)
}

// hostOnly returns the host part of a host[:port] value, without
// brackets or a final dot, in lower case.
func hostOnly(hostport string) string {
	h := hostport
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		h = host
	}
	h = strings.TrimSuffix(strings.Trim(h, "[]"), ".")
	if i := strings.IndexByte(h, '%'); i >= 0 { // an IPv6 zone
		h = h[:i]
	}
	return strings.ToLower(h)
}

// checkHost answers 421 when r's Host is not allowed, and reports whether
// it did. The health check is answered whatever the Host (a container
// probe names the container; the answer holds no job state).
func (s *Server) checkHost(w http.ResponseWriter, r *http.Request) bool {
	c := s.conf.Load()
	if hostAllowed(r.Host, s.listen, c.env.Limits.AllowedHosts) || strings.EqualFold(strings.TrimRight(r.URL.Path, "/"), pathHealth) {
		return false
	}
	s.writeError(w, r, &apiError{Code: http.StatusMisdirectedRequest, Message: msgBadHost + clip(hostOnly(r.Host))})
	return true
}
