package config

import "strings"

// metricsTOML is the [karajo] key that guards /metrics (issue 15).
type metricsTOML struct {
	MetricsToken string `toml:"metrics_token"`
}

// minMetricsToken is the length under which a metrics_token earns a
// warning: a bearer token is guessed by anyone who can reach /metrics.
const minMetricsToken = 16

// metricsToken checks [karajo] metrics_token: trimmed; made of visible
// ASCII only (it travels in an Authorization header, RFC 6750); a short
// one is a warning. The reason never quotes the token.
func (c *checker) metricsToken(file string, m metricsTOML) string {
	tok := strings.TrimSpace(m.MetricsToken)
	for i := 0; i < len(tok); i++ {
		if tok[i] < 0x21 || tok[i] > 0x7e {
			c.fail(file, "karajo.metrics_token", "byte %d is not visible ASCII: a bearer token must be (RFC 6750)", i)
			return ""
		}
	}
	if tok != "" && len(tok) < minMetricsToken {
		c.warn(file, "karajo.metrics_token", "shorter than %d bytes: easy to guess", minMetricsToken)
	}
	return tok
}

// metricsAccess warns, once users are known, when /metrics falls back to
// needing a session: users are configured and no metrics_token is set.
func (c *checker) metricsAccess(file string, env *Env) {
	if env.MetricsToken == "" && len(env.Users) > 0 {
		c.warn(file, "karajo.metrics_token", "not set and users are configured: /metrics needs a logged-in session (set metrics_token for Prometheus)")
	}
}
