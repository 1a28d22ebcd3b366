package config

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestLimitsValues: the front-door keys of [karajo] and http_redirects,
// as set and by default.
func TestLimitsValues(t *testing.T) {
	env, err := load(t, `[karajo]
max_body_bytes_in_flight = 1048576
body_timeout = "5s"
idle_timeout = "10s"
max_connections = 100
max_connections_per_client = 10
trusted_proxies = ["10.0.0.1", "192.168.0.0/16", "::1", "::ffff:172.16.0.0/108"]
max_streams = 7
stream_max = "90s"
allowed_hosts = ["Karajo.Example.com", "internal"]
[job_http.a]
http_url = "/x"
http_redirects = "None"
[job_http.b]
http_url = "/x"
http_redirects = "any"
`)
	if err != nil {
		t.Fatal(err)
	}
	want := Limits{
		MaxBodyBytesInFlight:    1 << 20,
		BodyTimeout:             5 * time.Second,
		IdleTimeout:             10 * time.Second,
		MaxConnections:          100,
		MaxConnectionsPerClient: 10,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.1/32"), netip.MustParsePrefix("192.168.0.0/16"),
			netip.MustParsePrefix("::1/128"), netip.MustParsePrefix("172.16.0.0/12")},
		MaxStreams:   7,
		StreamMax:    90 * time.Second,
		AllowedHosts: []string{"karajo.example.com", "internal"},
	}
	if !reflect.DeepEqual(env.Limits, want) {
		t.Errorf("Limits = %+v,\nwant %+v", env.Limits, want)
	}
	if a, b := env.JobHTTPs[0].HTTPRedirects, env.JobHTTPs[1].HTTPRedirects; a != RedirectNone || b != RedirectAny {
		t.Errorf("http_redirects = %q, %q; want none, any", a, b)
	}
}

// TestLimitsInvalid: each bad value is refused with its key and reason.
func TestLimitsInvalid(t *testing.T) {
	tests := []struct{ content, want string }{
		{"[karajo]\nmax_body_bytes_in_flight = 0\n", "karajo.max_body_bytes_in_flight: must be at least 65536 bytes, got 0"},
		{"[karajo]\nmax_body_bytes_in_flight = -1\n", "karajo.max_body_bytes_in_flight: must be at least"},
		{"[karajo]\nbody_timeout = \"0s\"\n", `karajo.body_timeout: must be a positive duration, got "0s"`},
		{"[karajo]\nbody_timeout = \"-1s\"\n", `karajo.body_timeout: must be a positive duration, got "-1s"`},
		{"[karajo]\nbody_timeout = \"soon\"\n", `karajo.body_timeout: invalid duration "soon"`},
		{"[karajo]\nidle_timeout = \"-2m\"\n", `karajo.idle_timeout: must be a positive duration`},
		{"[karajo]\nstream_max = \"0\"\n", `karajo.stream_max: must be a positive duration, got "0"`},
		{"[karajo]\nmax_connections = 0\n", "karajo.max_connections: must be at least 1, got 0"},
		{"[karajo]\nmax_connections_per_client = -3\n", "karajo.max_connections_per_client: must be at least 1, got -3"},
		{"[karajo]\nmax_streams = 0\n", "karajo.max_streams: must be at least 1, got 0"},
		{"[karajo]\ntrusted_proxies = [\"10.0.0.1\", \"proxy.local\"]\n", `karajo.trusted_proxies[1]: "proxy.local": want an IP address or a CIDR prefix`},
		{"[karajo]\ntrusted_proxies = [\"10.0.0.0/33\"]\n", `karajo.trusted_proxies[0]: "10.0.0.0/33"`},
		{"[karajo]\nallowed_hosts = [\"https://karajo.example.com\"]\n", `karajo.allowed_hosts[0]: "https://karajo.example.com" is not a host name`},
		{"[karajo]\nallowed_hosts = [\"karajo.example.com:443\"]\n", `karajo.allowed_hosts[0]: "karajo.example.com:443" is not a host name`},
		{"[karajo]\nallowed_hosts = [\"\"]\n", `karajo.allowed_hosts[0]: "" is empty`},
		{"[job_http.a]\nhttp_url = \"/x\"\nhttp_redirects = \"some\"\n", `job_http."a".http_redirects: invalid value "some": want none, same-host or any`},
		{"[job.j]\ncommands = [\"x\"]\ninterval = \"-5m\"\n", `job."j".interval: must be a positive duration, got "-5m"`},
		{"[job.j]\ncommands = [\"x\"]\ninterval = \"0s\"\n", `job."j".interval: must be a positive duration, got "0s"`},
		{"[job_http.j]\nhttp_url = \"/x\"\ninterval = \"-1h\"\n", `job_http."j".interval: must be a positive duration`},
	}
	for _, tt := range tests {
		_, err := load(t, tt.content)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "karajo.toml: ") {
			t.Errorf("%q: err = %v, want file and %q", tt.content, err, tt.want)
		}
	}
}
