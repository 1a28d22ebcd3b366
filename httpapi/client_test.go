package httpapi

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

// TestClientAddr: the client is the peer, or behind trusted proxies the
// first untrusted hop of X-Forwarded-For from the right.
func TestClientAddr(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	tests := []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{"peer without proxies", "192.0.2.1:5000", nil, "192.0.2.1"},
		{"untrusted peer's X-Forwarded-For is ignored", "192.0.2.1:5000", []string{"203.0.113.9"}, "192.0.2.1"},
		{"trusted peer, one hop", "10.1.2.3:80", []string{"203.0.113.9"}, "203.0.113.9"},
		{"client-written hops left of the real one are ignored", "10.1.2.3:80", []string{"1.1.1.1, 203.0.113.9"}, "203.0.113.9"},
		{"chain of trusted proxies", "10.1.2.3:80", []string{"198.51.100.7, 10.9.9.9", "10.0.0.2"}, "198.51.100.7"},
		{"hop with a port", "10.1.2.3:80", []string{"203.0.113.9:4711"}, "203.0.113.9"},
		{"garbage hop ends at the proxy that wrote it", "10.1.2.3:80", []string{"203.0.113.9, nonsense, 10.0.0.5"}, "10.0.0.5"},
		{"trusted peer without header", "10.1.2.3:80", nil, "10.1.2.3"},
		{"all hops trusted", "10.1.2.3:80", []string{"10.0.0.7"}, "10.0.0.7"},
		{"IPv6 client cut to /64", "[::1]:80", []string{"2001:db8:1:2:3:4:5:6"}, "2001:db8:1:2::/64"},
		{"IPv4-mapped peer", "[::ffff:192.0.2.1]:80", nil, "192.0.2.1"},
		{"no IP in RemoteAddr", "pipe", nil, "pipe"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tt.remote
		for _, v := range tt.xff {
			r.Header.Add(headerXFF, v)
		}
		if got := clientAddr(r, trusted); got != tt.want {
			t.Errorf("%s: clientAddr = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestHostAllowed: only hosts naming this server are served (DNS
// rebinding).
func TestHostAllowed(t *testing.T) {
	allowed := []string{"karajo.example.com"}
	for _, tt := range []struct {
		host, listen string
		want         bool
	}{
		{"localhost:31937", "127.0.0.1:31937", true},
		{"LOCALHOST.", "127.0.0.1:31937", true},
		{"127.0.0.1:31937", "127.0.0.1:31937", true},
		{"[::1]:31937", "127.0.0.1:31937", true},
		{"192.0.2.10", "127.0.0.1:31937", true},
		{"", "127.0.0.1:31937", true},
		{"karajo.example.com", "127.0.0.1:31937", true},
		{"Karajo.Example.COM:443", "127.0.0.1:31937", true},
		{"myhost:31937", "myhost:31937", true},
		{"attacker.example", "127.0.0.1:31937", false},
		{"attacker.example:31937", ":31937", false},
		{"evil.karajo.example.com", "127.0.0.1:31937", false},
		{"localhost.attacker.example", "127.0.0.1:31937", false},
	} {
		if got := hostAllowed(tt.host, tt.listen, allowed); got != tt.want {
			t.Errorf("hostAllowed(%q, %q) = %v, want %v", tt.host, tt.listen, got, tt.want)
		}
	}
}

// TestHostRefused: a foreign Host gets a 421 envelope, API or not.
func TestHostRefused(t *testing.T) {
	f := newAuthFixture(t, nil, nil)
	for _, target := range []string{pathEnv, "/", "/karajo/api/job_exec/run/e"} {
		r := httptest.NewRequest("GET", target, nil)
		r.Host = "attacker.example"
		w := httptest.NewRecorder()
		f.s.ServeHTTP(w, r)
		if w.Code != 421 || w.Body.String() != `{"message":"misdirected request: this server does not serve host attacker.example","code":421}` {
			t.Errorf("GET %s with Host attacker.example = %d %s, want 421 envelope", target, w.Code, w.Body)
		}
	}
	r := httptest.NewRequest("GET", pathHealth, nil) // probes name a container: health answers any Host
	r.Host = "karajo-container:31937"
	w := httptest.NewRecorder()
	f.s.ServeHTTP(w, r)
	if w.Code != 200 {
		t.Errorf("health with a foreign Host = %d %s, want 200", w.Code, w.Body)
	}
}

// FuzzClientAddr: whatever the peer and X-Forwarded-For, clientAddr does
// not panic, and its answer is the peer or one of the hops (or the raw
// RemoteAddr when it holds no IP).
func FuzzClientAddr(f *testing.F) {
	f.Add("10.0.0.1:80", "203.0.113.9, 10.0.0.2")
	f.Add("[::1]:80", "[2001:db8::1]:443,  , x")
	f.Add("192.0.2.1:1", "")
	f.Add("pipe", "1.2.3.4")
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	f.Fuzz(func(t *testing.T, remote, xff string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = remote
		r.Header.Set(headerXFF, xff)
		got := clientAddr(r, trusted)
		if got == "" && remote != "" {
			t.Fatalf("clientAddr(%q, %q) is empty", remote, xff)
		}
		a, ok := clientIP(r, trusted)
		if !ok {
			if got != remote {
				t.Fatalf("no IP in %q: got %q, want RemoteAddr", remote, got)
			}
			return
		}
		if peer, _ := peerAddr(remote); a == peer {
			return
		}
		for _, h := range xffHops([]string{xff}) {
			if b, err := netip.ParseAddr(stripPort(h)); err == nil && b.Unmap().WithZone("") == a {
				return
			}
		}
		t.Fatalf("clientIP(%q, %q) = %v: neither the peer nor a hop", remote, xff, a)
	})
}
