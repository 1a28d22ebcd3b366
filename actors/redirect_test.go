package actors

import (
	"errors"
	"net/http"
	"testing"

	"github.com/karajo/karajo/config"
)

// TestRedirectPolicy: which hops are followed, and what a hop to another
// origin carries, by http_redirects.
func TestRedirectPolicy(t *testing.T) {
	job := &config.JobHTTP{Secret: "s", HeaderSign: "X-Karajo-Sign", Headers: [][2]string{{"X-Api-Key", "k"}}}
	tests := []struct {
		policy, from, to string
		follow, headers  bool
	}{
		{config.RedirectNone, "http://127.0.0.1:8080/a", "http://127.0.0.1:8080/b", false, true},
		{config.RedirectSameHost, "http://127.0.0.1:8080/a", "http://127.0.0.1:8080/b", true, true},
		{"", "http://127.0.0.1:8080/a", "http://127.0.0.1:8080/b", true, true},
		{config.RedirectSameHost, "http://example.com/a", "http://EXAMPLE.com:80/b", true, true},
		{config.RedirectSameHost, "http://127.0.0.1:8080/a", "http://127.0.0.2:8080/b", false, true},
		{config.RedirectSameHost, "http://127.0.0.1:8080/a", "http://127.0.0.1:8081/b", false, true},
		{config.RedirectSameHost, "http://example.com/a", "https://example.com/b", false, true},
		{config.RedirectAny, "http://127.0.0.1:8080/a", "http://127.0.0.1:8080/b", true, true},
		{config.RedirectAny, "http://127.0.0.1:8080/a", "http://attacker.example/b", true, false},
	}
	for _, tt := range tests {
		c := *job
		c.HTTPRedirects = tt.policy
		var notes []string
		p := newRedirectPolicy(&c, func(s string) { notes = append(notes, s) })
		first, _ := http.NewRequest("GET", tt.from, nil)
		next, _ := http.NewRequest("GET", tt.to, nil)
		next.Header.Set("X-Api-Key", "k")
		next.Header.Set("X-Karajo-Sign", "sig")
		next.Header.Set("User-Agent", "karajo/test")
		err := p.check(next, []*http.Request{first})
		if follow := err == nil; follow != tt.follow {
			t.Errorf("%q %s → %s: followed = %v (%v), want %v", tt.policy, tt.from, tt.to, follow, err, tt.follow)
		}
		if !tt.follow && !errors.Is(err, http.ErrUseLastResponse) {
			t.Errorf("%q %s → %s: err = %v, want http.ErrUseLastResponse (the 3xx is the answer)", tt.policy, tt.from, tt.to, err)
		}
		if tt.follow {
			kept := next.Header.Get("X-Api-Key") != "" && next.Header.Get("X-Karajo-Sign") != ""
			if kept != tt.headers || next.Header.Get("User-Agent") == "" {
				t.Errorf("%q %s → %s: custom headers kept = %v, want %v", tt.policy, tt.from, tt.to, kept, tt.headers)
			}
		}
		if (!tt.follow || !tt.headers) && len(notes) != 1 {
			t.Errorf("%q %s → %s: log notes %q, want one", tt.policy, tt.from, tt.to, notes)
		}
	}
	// A chain stops at maxRedirects.
	p := newRedirectPolicy(job, func(string) {})
	via := make([]*http.Request, maxRedirects)
	for i := range via {
		via[i], _ = http.NewRequest("GET", "http://127.0.0.1:1/", nil)
	}
	next, _ := http.NewRequest("GET", "http://127.0.0.1:1/", nil)
	if err := p.check(next, via); err == nil {
		t.Error("redirect number 11 followed")
	}
}
