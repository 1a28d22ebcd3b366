package config

import (
	"strings"
	"testing"
)

// TestMetricsToken: metrics_token is trimmed; a short one and users
// without one are warnings; a token with a space or a control byte is
// refused without being quoted.
func TestMetricsToken(t *testing.T) {
	env, err := loadString(t, `metrics_token = "  prom-token-0123456789  "`+"\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	if env.MetricsToken != "prom-token-0123456789" {
		t.Errorf("MetricsToken %q", env.MetricsToken)
	}
	for _, w := range env.Warnings {
		if strings.Contains(w, "metrics_token") {
			t.Errorf("unexpected warning %q", w)
		}
	}
	env, err = loadString(t, `metrics_token = "short"`+"\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(env.Warnings, "\n"), "karajo.metrics_token: shorter than 16 bytes") {
		t.Errorf("no warning for a short token: %q", env.Warnings)
	}
	_, err = loadString(t, `metrics_token = "has a-space-inside-0123"`+"\n", nil)
	if err == nil || !strings.Contains(err.Error(), "karajo.metrics_token: byte 3 is not visible ASCII") || strings.Contains(err.Error(), "a-space-inside") {
		t.Errorf("err = %v, want the key and the byte, never the token", err)
	}
	env, err = loadString(t, "", map[string]string{"etc/karajo/user.toml": "[user.alice]\npassword = \"$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy\"\n"})
	if err != nil {
		t.Fatal(err)
	}
	if len(env.Users) == 0 {
		t.Fatal("the user was not loaded: the test proves nothing")
	}
	if !strings.Contains(strings.Join(env.Warnings, "\n"), "karajo.metrics_token: not set and users are configured") {
		t.Errorf("no warning for users without a token: %q", env.Warnings)
	}
}
