package httpapi

import (
	"strings"
	"testing"
)

// TestMetricsAccess is the table of the /metrics policy (issue 15).
func TestMetricsAccess(t *testing.T) {
	const tok = "prom-token-0123456789"
	for _, tt := range []struct {
		name     string
		token    string
		users    bool
		auth     string
		loggedIn bool
		want     bool
	}{
		{"public: no token, no users", "", false, "", false, true},
		{"public ignores a header", "", false, "Bearer whatever", false, true},
		{"users, no token, no session", "", true, "", false, false},
		{"users, no token, session", "", true, "", true, true},
		{"users, no token, a bearer is no session", "", true, "Bearer " + tok, false, false},
		{"token right", tok, false, "Bearer " + tok, false, true},
		{"token right, scheme case", tok, true, "bearer " + tok, false, true},
		{"token missing", tok, false, "", false, false},
		{"token missing, session does not replace it", tok, true, "", true, false},
		{"token wrong", tok, false, "Bearer " + tok + "x", false, false},
		{"token prefix", tok, false, "Bearer prom", false, false},
		{"basic scheme", tok, false, "Basic " + tok, false, false},
		{"no scheme", tok, false, tok, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			asked := false
			ok, why := metricsAccess(tt.token, tt.users, tt.auth, func() bool { asked = true; return tt.loggedIn })
			if ok != tt.want {
				t.Fatalf("ok = %v (%s), want %v", ok, why, tt.want)
			}
			if tt.token != "" && asked {
				t.Error("the session was asked although a token is set")
			}
			if tok != "" && len(why) > 0 && strings.Contains(why, tok) {
				t.Errorf("why %q holds the token", why)
			}
		})
	}
}
