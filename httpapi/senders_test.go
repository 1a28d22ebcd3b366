package httpapi

import (
	"crypto/sha1"
	"crypto/sha512"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/karajo/karajo/config"
)

// senderVector is one entry of testdata/webhooks/vectors.json: a delivery
// signed as a sender does, with where the figures come from.
type senderVector struct {
	Name     string            `json:"name"`
	AuthKind string            `json:"auth_kind"`
	Secret   string            `json:"secret"`
	Body     string            `json:"body"`
	Headers  map[string]string `json:"headers"`
	Source   string            `json:"source"`
}

func loadVectors(t *testing.T) []senderVector {
	t.Helper()
	b, err := os.ReadFile("testdata/webhooks/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs []senderVector
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) < 8 {
		t.Fatalf("%d vectors, want every sender", len(vs))
	}
	return vs
}

// TestSenderVectors (issue 15): each sender's vector verifies, with its
// secret first or second in a rotated list; the same delivery with one
// body byte changed, or under another secret, is refused (403). GitLab
// signs nothing, so only a wrong token refuses it.
func TestSenderVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			h := http.Header{}
			for k, val := range v.Headers {
				h.Set(k, val)
			}
			for _, secrets := range [][]string{{v.Secret}, {"other-secret", v.Secret}} {
				if err := verifyWebhookAny(v.AuthKind, "", secrets, h, []byte(v.Body)); err != nil {
					t.Errorf("secrets %d: %v (source: %s)", len(secrets), err, v.Source)
				}
			}
			wantForbidden(t, "other secret", verifyWebhookAny(v.AuthKind, "", []string{"other-secret"}, h, []byte(v.Body)))
			if v.AuthKind != config.AuthGitLab {
				tampered := []byte(v.Body)
				tampered[len(tampered)-1] ^= 1
				wantForbidden(t, "tampered body", verifyWebhookAny(v.AuthKind, "", []string{v.Secret}, h, tampered))
			}
			wantForbidden(t, "no headers", verifyWebhookAny(v.AuthKind, "", []string{v.Secret}, http.Header{}, []byte(v.Body)))
		})
	}
}

func wantForbidden(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, errForbidden) {
		t.Errorf("%s: %v, want errForbidden", what, err)
	}
}

// TestSenderHeaderRules: the details of each new kind's headers.
func TestSenderHeaderRules(t *testing.T) {
	body := []byte(`{"ref":"refs/heads/main"}`)
	const secret = "k3y"
	for _, tt := range []struct {
		name string
		kind string
		h    http.Header
		ok   bool
	}{
		{"gitea wins over forgejo", "gitea", http.Header{headerGiteaSign: {signHMAC("bad", body)}, headerForgejoSign: {signHMAC(secret, body)}}, false},
		{"gitea uppercase hex refused", "gitea", http.Header{headerGiteaSign: {upperHex(signHMAC(secret, body))}}, false},
		{"gitea prefix refused", "gitea", http.Header{headerGiteaSign: {"sha256=" + signHMAC(secret, body)}}, false},
		{"gitlab empty token", "gitlab", http.Header{headerGitLabToken: {""}}, false},
		{"gitlab prefix of the secret", "gitlab", http.Header{headerGitLabToken: {"k3"}}, false},
		{"gitlab exact", "gitlab", http.Header{headerGitLabToken: {secret}}, true},
		{"sha512 with the sha1 prefix", "hmac-sha512", http.Header{"X-Karajo-Sign": {"sha1=" + macHex(sha512.New, secret, body)}}, false},
		{"sha1 in a sha512 job", "hmac-sha512", http.Header{"X-Karajo-Sign": {macHex(sha1.New, secret, body)}}, false},
		{"sha256 keeps no prefix", "hmac-sha256", http.Header{"X-Karajo-Sign": {"sha256=" + signHMAC(secret, body)}}, false},
		{"sha512 in its own header", "hmac-sha512", http.Header{"X-Sign": {"sha512=" + macHex(sha512.New, secret, body)}}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			hs := ""
			if tt.h.Get("X-Sign") != "" {
				hs = "X-Sign"
			}
			err := verifyWebhookAny(tt.kind, hs, []string{secret}, tt.h, body)
			if (err == nil) != tt.ok {
				t.Errorf("verify = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

func upperHex(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'f' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// TestIsPing: a ping is recognised by the event header of the sender
// kinds that have one, and never for the generic kinds.
func TestIsPing(t *testing.T) {
	for _, tt := range []struct {
		kind string
		h    http.Header
		want bool
	}{
		{"github", http.Header{headerGitHubEvent: {"ping"}}, true},
		{"github", http.Header{headerGitHubEvent: {"push"}}, false},
		{"gitea", http.Header{headerGiteaEvent: {"ping"}}, true},
		{"gitea", http.Header{headerForgejoEvent: {"Ping"}}, true},
		{"gitlab", http.Header{headerGitLabEvent: {"ping"}}, true},
		{"gitlab", http.Header{headerGitLabEvent: {"Push Hook"}}, false},
		{"hmac-sha256", http.Header{headerGitHubEvent: {"ping"}}, false},
		{"sourcehut", http.Header{headerGitHubEvent: {"ping"}}, false},
	} {
		h := http.Header{}
		for k, v := range tt.h {
			h.Set(k, v[0]) // canonical names, as a server receives them
		}
		if got := isPing(tt.kind, h); got != tt.want {
			t.Errorf("isPing(%s, %v) = %v, want %v", tt.kind, tt.h, got, tt.want)
		}
	}
}

// TestDeliveryID: the id header of each sender kind; none for the generic
// kinds; a long or non-ASCII id is a 400.
func TestDeliveryID(t *testing.T) {
	long := strings.Repeat("a", maxDeliveryIDLen+1)
	for _, tt := range []struct {
		kind, header, value, want string
		bad                       bool
	}{
		{"github", "X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958", "72d3162e-cc78-11e3-81ab-4c9367dc0958", false},
		{"gitea", "X-Gitea-Delivery", "g-1", "g-1", false},
		{"gitea", "X-Forgejo-Delivery", "f-1", "f-1", false},
		{"gitlab", "X-Gitlab-Event-UUID", "u-1", "u-1", false},
		{"sourcehut", "X-Payload-Nonce", "n-1", "n-1", false},
		{"hmac-sha256", "X-GitHub-Delivery", "x", "", false},
		{"github", "X-Gitlab-Event-UUID", "x", "", false},
		{"github", "X-GitHub-Delivery", long, "", true},
		{"github", "X-GitHub-Delivery", "has space", "", true},
		{"github", "X-GitHub-Delivery", "é", "", true},
	} {
		h := http.Header{}
		h.Set(tt.header, tt.value)
		got, err := deliveryID(tt.kind, h)
		if got != tt.want || (err != nil) != tt.bad || (err != nil && !errors.Is(err, errBadRequest)) {
			t.Errorf("deliveryID(%s, %s: %.20q) = %q, %v; want %q, bad %v", tt.kind, tt.header, tt.value, got, err, tt.want, tt.bad)
		}
	}
}

// FuzzDeliveryID: whatever the headers hold, deliveryID never panics, and
// an id it returns is what the replay store can keep: 1 to 128 visible
// ASCII bytes, found in one of the kind's id headers (trimmed).
func FuzzDeliveryID(f *testing.F) {
	f.Add(uint8(0), "72d3162e-cc78-11e3-81ab-4c9367dc0958", "")
	f.Add(uint8(1), "", "f-1")
	f.Add(uint8(2), " has space ", "x")
	f.Add(uint8(3), "\x00\xff", "")
	kinds := []string{config.AuthGitHub, config.AuthGitea, config.AuthGitLab, config.AuthSourcehut, config.AuthHMACSHA256}
	f.Fuzz(func(t *testing.T, k uint8, v1, v2 string) {
		kind := kinds[int(k)%len(kinds)]
		h := http.Header{}
		names := deliveryHeaders[kind]
		if len(names) > 0 {
			h[http.CanonicalHeaderKey(names[0])] = []string{v1}
			h[http.CanonicalHeaderKey(names[len(names)-1])] = append(h[http.CanonicalHeaderKey(names[len(names)-1])], v2)
		}
		id, err := deliveryID(kind, h)
		if err != nil {
			if !errors.Is(err, errBadRequest) || id != "" {
				t.Fatalf("deliveryID error %v with id %q", err, id)
			}
			return
		}
		if id == "" {
			return
		}
		if len(id) > maxDeliveryIDLen || strings.IndexFunc(id, func(r rune) bool { return r < 0x21 || r > 0x7e }) >= 0 {
			t.Fatalf("deliveryID returned %q", id)
		}
		if id != strings.TrimSpace(v1) && id != strings.TrimSpace(v2) {
			t.Fatalf("deliveryID returned %q, from neither header", id)
		}
	})
}
