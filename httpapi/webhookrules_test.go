package httpapi

import (
	"crypto/sha256"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/karajo/karajo/config"
)

// TestCheckAllowFrom: the peer, or the first untrusted X-Forwarded-For hop
// behind a trusted proxy, must be in allow_from; a spoofed hop in front of
// the proxy's own does not count.
func TestCheckAllowFrom(t *testing.T) {
	allow := config.Webhook{AllowFrom: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8::/32")}}
	proxy := []netip.Prefix{netip.MustParsePrefix("10.0.0.1/32")}
	for _, tt := range []struct {
		name    string
		rules   config.Webhook
		peer    string
		xff     string
		trusted []netip.Prefix
		ok      bool
	}{
		{"no rule", config.Webhook{}, "203.0.113.9:1", "", nil, true},
		{"peer in", allow, "192.0.2.7:1", "", nil, true},
		{"peer v6 in", allow, "[2001:db8::5]:1", "", nil, true},
		{"peer mapped v4 in", allow, "[::ffff:192.0.2.7]:1", "", nil, true},
		{"peer out", allow, "203.0.113.9:1", "", nil, false},
		{"xff from untrusted peer ignored", allow, "203.0.113.9:1", "192.0.2.7", nil, false},
		{"trusted proxy, client in", allow, "10.0.0.1:1", "192.0.2.7", proxy, true},
		{"trusted proxy, client out", allow, "10.0.0.1:1", "203.0.113.9", proxy, false},
		{"trusted proxy, spoofed hop left of the real one", allow, "10.0.0.1:1", "192.0.2.7, 203.0.113.9", proxy, false},
		{"trusted proxy, no xff: the proxy itself", allow, "10.0.0.1:1", "", proxy, false},
		{"no IP in RemoteAddr", allow, "@", "", nil, false},
	} {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		r.RemoteAddr = tt.peer
		if tt.xff != "" {
			r.Header.Set(headerXFF, tt.xff)
		}
		a, ok := clientIP(r, tt.trusted)
		err := checkAllowFrom(tt.rules, a, ok)
		if (err == nil) != tt.ok {
			t.Errorf("%s: err %v, want ok %v", tt.name, err, tt.ok)
		}
		if err != nil && (!errors.Is(err, errForbidden) || toAPIError(err).Code != http.StatusForbidden) {
			t.Errorf("%s: %v is not a 403", tt.name, err)
		}
	}
}

// TestEpochDeliveryID: require_epoch wants one fresh _karajo_epoch in a
// JSON or form body; the identity is the body's hash.
func TestEpochDeliveryID(t *testing.T) {
	now := time.Unix(1700000000, 0)
	for _, tt := range []struct {
		body string
		ok   bool
	}{
		{`{"_karajo_epoch":1700000000}`, true},
		{` {"id":"","_karajo_epoch":1700000299}`, true},
		{`{"_karajo_epoch":"1699999700"}`, true},
		{`_karajo_epoch=1700000000`, true},
		{`a=1&_karajo_epoch=1700000010`, true},
		{`{"_karajo_epoch":1700000301}`, false},
		{`{"_karajo_epoch":1.7e9}`, false},
		{`{"_karajo_epoch":-1}`, false},
		{`{"_karajo_epoch":null}`, false},
		{`{}`, false},
		{``, false},
		{`_karajo_epoch=1700000000&_karajo_epoch=1700000000`, false},
		{`{"_karajo_epoch":1700000000`, false},
		{`%zz`, false},
		{strings.Repeat(" ", maxEpochBody) + `{"_karajo_epoch":1700000000}`, false},
	} {
		sum := sha256.Sum256([]byte(tt.body))
		id, err := epochDeliveryID(strings.NewReader(tt.body), sum[:], now)
		if (err == nil) != tt.ok {
			t.Errorf("%.60q: err %v, want ok %v", tt.body, err, tt.ok)
			continue
		}
		if err != nil && toAPIError(err).Code != http.StatusForbidden {
			t.Errorf("%.60q: %v is not a 403", tt.body, err)
		}
		if err == nil && (len(id) != 71 || !strings.HasPrefix(id, "sha256:")) {
			t.Errorf("%.60q: id %q", tt.body, id)
		}
	}
}

// TestIgnoredBy: events (any case) and refs (path.Match) filters.
func TestIgnoredBy(t *testing.T) {
	w := config.Webhook{Events: []string{"push", "release"}, Refs: []string{"refs/heads/main", "refs/tags/v*"}}
	for _, tt := range []struct {
		rules  config.Webhook
		event  string
		ref    string
		hasRef bool
		want   string
	}{
		{config.Webhook{}, "", "", false, ""},
		{w, "push", "refs/heads/main", true, ""},
		{w, "Push", "refs/tags/v1.2", true, ""},
		{w, "pull_request", "refs/heads/main", true, "ignored: event pull_request not in events"},
		{w, "", "refs/heads/main", true, "ignored: no event header, events is set"},
		{w, "push", "refs/heads/dev", true, "ignored: ref refs/heads/dev not in refs"},
		{w, "push", "refs/tags/x/v1", true, "ignored: ref refs/tags/x/v1 not in refs"},
		{w, "release", "", false, "ignored: no ref in the body, refs is set"},
		{config.Webhook{Refs: []string{"refs/heads/*"}}, "", "refs/heads/a/b", true, "ignored: ref refs/heads/a/b not in refs"},
		{config.Webhook{Events: []string{"push hook"}}, "Push Hook", "", false, ""},
	} {
		if got := ignoredBy(tt.rules, tt.event, tt.ref, tt.hasRef); got != tt.want {
			t.Errorf("%q %q: got %q, want %q", tt.event, tt.ref, got, tt.want)
		}
	}
}

// TestBodyRef: the top-level string ref of a JSON object, streamed.
func TestBodyRef(t *testing.T) {
	for _, tt := range []struct {
		body string
		ref  string
		ok   bool
	}{
		{`{"ref":"refs/heads/main","after":"x"}`, "refs/heads/main", true},
		{`{"before":{"ref":"no"},"list":[1,{"ref":"no"}],"ref":"refs/tags/v1"}`, "refs/tags/v1", true},
		{`{"a":{"ref":"nested only"}}`, "", false},
		{`{"ref":1}`, "", false},
		{`{"ref":"a","ref":"b"}`, "b", true},
		{`{"ref":"a","ref":{}}`, "", false},
		{`["ref","x"]`, "", false},
		{`{"ref":"a"`, "", false},
		{`{"ref":"a", "x": [}`, "", false},
		{``, "", false},
	} {
		ref, ok := bodyRef(strings.NewReader(tt.body))
		if ref != tt.ref || ok != tt.ok {
			t.Errorf("%q: got %q %v, want %q %v", tt.body, ref, ok, tt.ref, tt.ok)
		}
	}
}

// TestDeliveryEvent: the event header by kind, printable and cut.
func TestDeliveryEvent(t *testing.T) {
	h := http.Header{}
	h.Set("X-Forgejo-Event", " push ")
	h.Set("X-GitHub-Event", "a\x01b"+strings.Repeat("x", 100))
	if got := deliveryEvent(config.AuthGitea, h); got != "push" {
		t.Errorf("gitea: %q", got)
	}
	if got := deliveryEvent(config.AuthGitHub, h); got != "a?b"+strings.Repeat("x", maxEventLen-3) {
		t.Errorf("github: %q", got)
	}
	if got := deliveryEvent(config.AuthHMACSHA256, h); got != "" {
		t.Errorf("hmac-sha256: %q", got)
	}
}

// TestVerdictOf: every status a webhook is answered with has its verdict.
func TestVerdictOf(t *testing.T) {
	for status, want := range map[int]string{200: "accepted", 202: "ignored", 400: "bad_request", 403: "forbidden",
		409: "replayed", 412: "paused", 413: "too_large", 429: "busy", 408: "error", 500: "error", 503: "error"} {
		if got := verdictOf(status, "OK"); got != want {
			t.Errorf("%d: %q, want %q", status, got, want)
		}
	}
	if got := verdictOf(200, "pong"); got != "pong" {
		t.Errorf("pong: %q", got)
	}
}

// TestCappedBuffer: keep_delivery_body keeps the first max bytes.
func TestCappedBuffer(t *testing.T) {
	c := &cappedBuffer{max: 5}
	for _, p := range []string{"abc", "defg", "h"} {
		if n, err := c.Write([]byte(p)); n != len(p) || err != nil {
			t.Fatalf("write %q: %d %v", p, n, err)
		}
	}
	if string(c.buf) != "abcde" || !c.cut {
		t.Errorf("%q cut %v", c.buf, c.cut)
	}
}
