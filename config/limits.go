package config

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Defaults of the front-door limits of [karajo] (issue 14).
const (
	// DefaultMaxBodyBytesInFlight bounds the request body bytes held at
	// once (in memory or spooled) across all requests.
	DefaultMaxBodyBytesInFlight = 64 << 20
	// DefaultBodyTimeout is how long a request body may take to arrive.
	DefaultBodyTimeout = 30 * time.Second
	// DefaultIdleTimeout closes an idle keep-alive connection.
	DefaultIdleTimeout = 2 * time.Minute
	// DefaultMaxConnections bounds the open connections in total.
	DefaultMaxConnections = 4096
	// DefaultMaxConnectionsPerClient bounds the open connections of one
	// client address.
	DefaultMaxConnectionsPerClient = 256
	// DefaultMaxStreams bounds the open event and log streams.
	DefaultMaxStreams = 256
	// DefaultStreamMax is the lifetime of one event or log stream; the
	// dashboard reconnects.
	DefaultStreamMax = time.Hour
	// MinMaxBodyBytesInFlight is the smallest max_body_bytes_in_flight:
	// every form a control request sends must fit.
	MinMaxBodyBytesInFlight = 64 << 10
)

// JobHTTP redirect policies: the values of JobHTTP.HTTPRedirects.
const (
	// RedirectNone follows no redirect: the 3xx is the answer.
	RedirectNone = "none"
	// RedirectSameHost follows redirects to the same scheme, host and
	// port only (the default).
	RedirectSameHost = "same-host"
	// RedirectAny follows every redirect, dropping the custom headers and
	// the signature on a hop to another host.
	RedirectAny = "any"
)

// Limits are the front-door limits of [karajo]: what one server gives to
// request bodies, connections and streams, and whom it trusts for the
// client address and the Host header.
type Limits struct {
	MaxBodyBytesInFlight    int64          // body bytes held at once across all requests
	BodyTimeout             time.Duration  // a request body must arrive within this
	IdleTimeout             time.Duration  // an idle keep-alive connection closes after this
	MaxConnections          int            // open connections in total
	MaxConnectionsPerClient int            // open connections (or requests through a proxy) per client
	TrustedProxies          []netip.Prefix // peers whose X-Forwarded-For is believed
	MaxStreams              int            // open event and log streams
	StreamMax               time.Duration  // lifetime of one stream
	AllowedHosts            []string       // Host names served besides the listen address, localhost and IP literals; lower case
}

// limitsTOML are the keys of Limits in [karajo]; karajoTOML embeds it.
type limitsTOML struct {
	MaxBodyBytesInFlight    *int64   `toml:"max_body_bytes_in_flight"`
	BodyTimeout             duration `toml:"body_timeout"`
	IdleTimeout             duration `toml:"idle_timeout"`
	MaxConnections          *int     `toml:"max_connections"`
	MaxConnectionsPerClient *int     `toml:"max_connections_per_client"`
	TrustedProxies          []string `toml:"trusted_proxies"`
	MaxStreams              *int     `toml:"max_streams"`
	StreamMax               duration `toml:"stream_max"`
	AllowedHosts            []string `toml:"allowed_hosts"`
}

// DefaultLimits returns the limits of a [karajo] table that sets none.
func DefaultLimits() Limits {
	return Limits{
		MaxBodyBytesInFlight:    DefaultMaxBodyBytesInFlight,
		BodyTimeout:             DefaultBodyTimeout,
		IdleTimeout:             DefaultIdleTimeout,
		MaxConnections:          DefaultMaxConnections,
		MaxConnectionsPerClient: DefaultMaxConnectionsPerClient,
		MaxStreams:              DefaultMaxStreams,
		StreamMax:               DefaultStreamMax,
	}
}

// limits checks the front-door keys of [karajo] and applies their
// defaults; every value set must be positive.
func (c *checker) limits(file string, t *limitsTOML) Limits {
	l := DefaultLimits()
	if v := t.MaxBodyBytesInFlight; v != nil {
		if *v < MinMaxBodyBytesInFlight {
			c.fail(file, "karajo.max_body_bytes_in_flight", "must be at least %d bytes, got %d", MinMaxBodyBytesInFlight, *v)
		}
		l.MaxBodyBytesInFlight = *v
	}
	l.BodyTimeout = c.positive(file, "karajo.body_timeout", t.BodyTimeout, l.BodyTimeout)
	l.IdleTimeout = c.positive(file, "karajo.idle_timeout", t.IdleTimeout, l.IdleTimeout)
	l.StreamMax = c.positive(file, "karajo.stream_max", t.StreamMax, l.StreamMax)
	l.MaxConnections = c.count(file, "karajo.max_connections", t.MaxConnections, l.MaxConnections)
	l.MaxConnectionsPerClient = c.count(file, "karajo.max_connections_per_client", t.MaxConnectionsPerClient, l.MaxConnectionsPerClient)
	l.MaxStreams = c.count(file, "karajo.max_streams", t.MaxStreams, l.MaxStreams)
	for i, s := range t.TrustedProxies {
		p, err := parsePrefix(s)
		if err != nil {
			c.fail(file, fmt.Sprintf("karajo.trusted_proxies[%d]", i), "%q: want an IP address or a CIDR prefix such as 10.0.0.0/8: %v", s, err)
			continue
		}
		l.TrustedProxies = append(l.TrustedProxies, p)
	}
	for i, h := range t.AllowedHosts {
		h = strings.ToLower(strings.TrimSpace(h))
		if reason := checkHostName(h); reason != "" {
			c.fail(file, fmt.Sprintf("karajo.allowed_hosts[%d]", i), "%q %s", t.AllowedHosts[i], reason)
			continue
		}
		l.AllowedHosts = append(l.AllowedHosts, h)
	}
	return l
}

// positive returns the duration d, or def when it is not set; a set value
// that is zero or negative is refused.
func (c *checker) positive(file, key string, d duration, def time.Duration) time.Duration {
	v := c.duration(file, key, d)
	if d.err != nil || strings.TrimSpace(d.raw) == "" {
		return def
	}
	if v <= 0 {
		c.fail(file, key, "must be a positive duration, got %q", d.raw)
		return def
	}
	return v
}

// count returns *n, or def when n is nil; a set value below 1 is refused.
func (c *checker) count(file, key string, n *int, def int) int {
	if n == nil {
		return def
	}
	if *n < 1 {
		c.fail(file, key, "must be at least 1, got %d", *n)
		return def
	}
	return *n
}

// parsePrefix parses an IP address (a prefix of its full length) or a
// CIDR prefix, masked.
func parsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// checkHostName returns why h (lower case) is not a DNS host name, or "".
func checkHostName(h string) string {
	if h == "" {
		return "is empty: want a host name such as karajo.example.com"
	}
	if len(h) > 253 {
		return "is longer than 253 characters"
	}
	for label := range strings.SplitSeq(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 {
			return "has an empty label or one longer than 63 characters"
		}
		for i := 0; i < len(label); i++ {
			ch := label[i]
			if !('a' <= ch && ch <= 'z' || '0' <= ch && ch <= '9' || ch == '-' || ch == '_') {
				return "is not a host name: want letters, digits, '-' and '.' only (no port, no scheme)"
			}
		}
	}
	return ""
}

// redirects checks http_redirects of a JobHTTP and applies its default.
func (c *checker) redirects(file, key, s string) string {
	switch v := strings.ToLower(strings.TrimSpace(s)); v {
	case "":
		return RedirectSameHost
	case RedirectNone, RedirectSameHost, RedirectAny:
		return v
	default:
		c.fail(file, key, "invalid value %q: want none, same-host or any", s)
		return RedirectSameHost
	}
}
