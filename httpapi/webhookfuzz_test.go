package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/karajo/karajo/config"
)

// FuzzWebhookFilters fuzzes the parsing behind the events and refs
// filters and require_epoch: bodyRef must agree with encoding/json on
// every body json.Unmarshal reads as an object; ignoredBy, deliveryEvent
// and epochDeliveryID must not panic, and what they return keeps its
// shape (printable event, "ignored: " reasons, "sha256:" ids).
func FuzzWebhookFilters(f *testing.F) {
	f.Add([]byte(`{"ref":"refs/heads/main","after":"x"}`), "push", "refs/heads/*")
	f.Add([]byte(`{"a":[{"ref":1}],"ref":"refs/tags/v1"}`), "Push Hook", "refs/tags/v*")
	f.Add([]byte(`{"ref":"a","ref":null}`), "", "[")
	f.Add([]byte(`{"_karajo_epoch":1700000000}`), "\x00", "*")
	f.Add([]byte(`_karajo_epoch=1700000000&id=x`), "release", `\`)
	f.Add([]byte(`{"ref":"\ud800"}  trailing`), "x", "refs/heads/main")
	now := time.Unix(1700000000, 0)
	f.Fuzz(func(t *testing.T, body []byte, event, pattern string) {
		ref, ok := bodyRef(bytes.NewReader(body))
		var m map[string]json.RawMessage
		if json.Unmarshal(body, &m) == nil && m != nil {
			raw, has := m["ref"]
			var want string
			wantOK := has && len(raw) > 0 && raw[0] == '"' && json.Unmarshal(raw, &want) == nil
			if ok != wantOK || ref != want {
				t.Fatalf("bodyRef(%q) = %q %v, encoding/json reads %q %v", body, ref, ok, want, wantOK)
			}
		}
		if !ok && ref != "" {
			t.Fatalf("bodyRef(%q) = %q without ok", body, ref)
		}
		h := http.Header{}
		h.Set(headerGitHubEvent, event)
		ev := deliveryEvent(config.AuthGitHub, h)
		if len(ev) > maxEventLen || strings.IndexFunc(ev, func(r rune) bool { return r < 0x20 || r > 0x7e }) >= 0 {
			t.Fatalf("deliveryEvent(%q) = %q", event, ev)
		}
		w := config.Webhook{Events: []string{strings.ToLower(ev)}}
		if _, err := path.Match(pattern, ""); err == nil {
			w.Refs = []string{pattern}
		}
		why := ignoredBy(w, ev, ref, ok)
		if why != "" && !strings.HasPrefix(why, "ignored: ") {
			t.Fatalf("ignoredBy reason %q", why)
		}
		if ev != "" && len(w.Refs) == 0 && why != "" {
			t.Fatalf("event %q listed in events, but ignored: %q", ev, why)
		}
		sum := sha256.Sum256(body)
		id, err := epochDeliveryID(bytes.NewReader(body), sum[:], now)
		if err == nil && (len(id) != 71 || !strings.HasPrefix(id, "sha256:")) {
			t.Fatalf("epoch id %q", id)
		}
		if err != nil && toAPIError(err).Code != http.StatusForbidden {
			t.Fatalf("epoch refusal %v is not a 403", err)
		}
	})
}

// pushPayload is a GitHub-like push body of about 64 KiB: ref first, then
// commits.
func pushPayload() []byte {
	var b bytes.Buffer
	b.WriteString(`{"ref":"refs/heads/main","before":"6113728f27ae82c7b1a177c8d03f9e96e0adf246","after":"0000000000000000000000000000000000000000","commits":[`)
	for i := 0; b.Len() < 64<<10; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"%040d","message":"commit %d: fix the thing","author":{"name":"A","email":"a@example.com"},"added":["a/%d.go"],"removed":[],"modified":["README.md"]}`, i, i, i)
	}
	b.WriteString(`],"repository":{"full_name":"o/r","private":false}}`)
	return b.Bytes()
}

// BenchmarkBodyRef: the refs filter's streamed read of "ref" from a
// 64 KiB push body, against the baseline of encoding/json decoding the
// same body into a struct with only Ref (which holds the body whole).
func BenchmarkBodyRef(b *testing.B) {
	body := pushPayload()
	b.Run("bodyRef", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if ref, ok := bodyRef(bytes.NewReader(body)); !ok || ref != "refs/heads/main" {
				b.Fatal(ref, ok)
			}
		}
	})
	b.Run("baseline-json-unmarshal", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			var v struct {
				Ref string `json:"ref"`
			}
			if err := json.Unmarshal(body, &v); err != nil || v.Ref != "refs/heads/main" {
				b.Fatal(err)
			}
		}
	})
}
