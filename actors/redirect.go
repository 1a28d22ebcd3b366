package actors

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/karajo/karajo/config"
)

// maxRedirects is how many redirects a JobHttp request follows at most.
const maxRedirects = 10

// redirectPolicy decides which redirects of a JobHttp request are
// followed (http_redirects, issue 14): none; only those to the same
// origin as the first request (scheme, host and port: "same-host", the
// default); or all, with the job's own headers (http_headers) and its
// signature header dropped on every hop to another origin ("any"). A
// redirect not followed leaves its 3xx as the answer: the run records it
// and fails unless the status is one of its success codes.
type redirectPolicy struct {
	policy string   // config.RedirectNone, RedirectSameHost or RedirectAny
	drop   []string // header names not sent to another origin
	note   func(string)
}

// newRedirectPolicy returns the policy of job c; note writes a line to
// the run's log.
func newRedirectPolicy(c *config.JobHTTP, note func(string)) *redirectPolicy {
	p := &redirectPolicy{policy: c.HTTPRedirects, note: note}
	if p.policy == "" {
		p.policy = config.RedirectSameHost
	}
	for _, h := range c.Headers {
		p.drop = append(p.drop, h[0])
	}
	if c.Secret != "" {
		p.drop = append(p.drop, c.HeaderSign)
	}
	return p
}

// check is the http.Client CheckRedirect of the policy.
func (p *redirectPolicy) check(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	same := sameOrigin(req.URL, via[0].URL)
	switch {
	case p.policy == config.RedirectNone:
		p.note(fmt.Sprintf("--- HTTP redirect to %s not followed (http_redirects = none)", redactURL(req.URL)))
		return http.ErrUseLastResponse
	case !same && p.policy != config.RedirectAny:
		p.note(fmt.Sprintf("--- HTTP redirect to %s not followed: another host (http_redirects = same-host)", redactURL(req.URL)))
		return http.ErrUseLastResponse
	case !same:
		for _, h := range p.drop {
			req.Header.Del(h)
		}
		p.note(fmt.Sprintf("--- HTTP redirect to %s: another host, http_headers and signature not sent", redactURL(req.URL)))
	}
	return nil
}

// sameOrigin reports whether a and b have the same scheme, host and port
// (the port defaulted by the scheme).
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(hostPort(a), hostPort(b))
}

// hostPort returns the host:port of u, with the scheme's default port.
func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "80"
		if strings.EqualFold(u.Scheme, "https") {
			port = "443"
		}
	}
	return net.JoinHostPort(strings.TrimSuffix(u.Hostname(), "."), port)
}

// redactURL is u for the log, without user information.
func redactURL(u *url.URL) string { return u.Redacted() }
