package httpapi

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"math"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// sigVector is one row of SPEC Appendix B, key "s3cret".
type sigVector struct {
	name, payload, sig string
}

// appendixB holds the HMAC-SHA256 rows of SPEC Appendix B.
var appendixB = []sigVector{
	{"webhook json", `{"_karajo_epoch":1677350854}`, "fef16cabebdcbdcc7fdbfb9bd5a01c00803af7568a05054e87b2239f84f38c54"},
	{"exec control body", "_karajo_epoch=1700000000&id=test_success", "fa3021304c321531cac95a8f119b1a062ac8dd035689c8420dc8f1ecb47dd2f1"},
	{"jobhttp control query ui", "_karajo_epoch=1700000000&id=ping_json", "225e297393aaf7b9fb9f3c057985a401d6462c7c1cb2350bbb88c17727401571"},
	{"jobhttp control query go client", "id=ping_json", "99de31ecdc838050b439a736be63508fabdd56ca36a623b4e1abe03288626932"},
	{"empty payload", "", "91dfac70c5348b04e1babb8b421ac92cec08b565b49ca16130dccb72503647b7"},
	{"github sha256", `{"ref":"main"}`, "22707867160f8bbefc2d13c33988c27054550701eedfeb41903e23704bd9f679"},
	{"go client run body", `{"id":"","_karajo_epoch":1700000000}`, "85318c7cd5a00fc9e91be9ffc3f5af3e857545417f5e00448f8d61049bb56ed3"},
}

// Appendix B's GitHub rows.
const (
	githubBody   = `{"ref":"main"}`
	githubSHA256 = "22707867160f8bbefc2d13c33988c27054550701eedfeb41903e23704bd9f679"
	githubSHA1   = "29851e432407a3b87967d912cc3c14c0bbda16e4"
	webhookBody  = `{"_karajo_epoch":1677350854}`
	webhookSig   = "fef16cabebdcbdcc7fdbfb9bd5a01c00803af7568a05054e87b2239f84f38c54"
)

// testSourcehutKey is a fixed key pair of our own, so that committed fuzz
// corpus entries stay valid.
var testSourcehutKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x4b}, ed25519.SeedSize))

// useSourcehutKey makes verifyWebhook trust pub until the test ends. Tests
// calling it must not be parallel: sourcehutKey is a package variable.
func useSourcehutKey(tb testing.TB, pub ed25519.PublicKey) {
	tb.Helper()
	old := sourcehutKey
	sourcehutKey = pub
	tb.Cleanup(func() { sourcehutKey = old })
}

// hdr builds a header from name, value pairs, set with canonical names.
func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func TestSentinelTexts(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{errForbidden, "forbidden"},
		{errBadSignature, "empty or invalid signature"},
		{errStaleEpoch, "stale or invalid _karajo_epoch"},
		{errBadRequest, "invalid request"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestSignHMAC(t *testing.T) {
	for _, tt := range appendixB {
		t.Run(tt.name, func(t *testing.T) {
			if got := signHMAC("s3cret", []byte(tt.payload)); got != tt.sig {
				t.Errorf("signHMAC(s3cret, %q) = %s, want %s", tt.payload, got, tt.sig)
			}
		})
	}
	if got := signHMAC("s3cret", nil); got != signHMAC("s3cret", []byte{}) {
		t.Errorf("signHMAC(nil) = %s, want the empty payload's signature", got)
	}
}

func TestValidHMAC(t *testing.T) {
	for _, tt := range appendixB {
		t.Run(tt.name, func(t *testing.T) {
			p := []byte(tt.payload)
			if !validHMAC("s3cret", p, tt.sig) {
				t.Errorf("validHMAC(s3cret, %q, %s) = false, want true", tt.payload, tt.sig)
			}
			refused := map[string]string{
				"uppercase":        strings.ToUpper(tt.sig),
				"one char upper":   "F" + tt.sig[1:],
				"truncated":        tt.sig[:len(tt.sig)-1],
				"extra char":       tt.sig + "0",
				"trailing space":   tt.sig + " ",
				"sha256= prefix":   "sha256=" + tt.sig,
				"last nibble flip": tt.sig[:len(tt.sig)-1] + flipHex(tt.sig[len(tt.sig)-1]),
				"empty":            "",
			}
			for why, sig := range refused {
				if validHMAC("s3cret", p, sig) {
					t.Errorf("%s: validHMAC(s3cret, %q, %q) = true, want false", why, tt.payload, sig)
				}
			}
			if validHMAC("s3cret2", p, tt.sig) {
				t.Errorf("validHMAC(wrong secret, %q, %s) = true, want false", tt.payload, tt.sig)
			}
			if validHMAC("", p, signHMAC("", p)) {
				t.Errorf("validHMAC(empty secret, %q) = true, want false", tt.payload)
			}
			if len(p) > 0 && validHMAC("s3cret", p[:len(p)-1], tt.sig) {
				t.Errorf("validHMAC(s3cret, %q truncated, %s) = true, want false", tt.payload, tt.sig)
			}
		})
	}
}

// flipHex returns another lowercase hex digit than c.
func flipHex(c byte) string {
	if c == '0' {
		return "1"
	}
	return "0"
}

func TestVerifyWebhook(t *testing.T) {
	tests := []struct {
		name       string
		kind       string
		headerSign string
		secret     string
		h          http.Header
		body       string
		ok         bool
	}{
		// hmac-sha256 (SPEC 5.1)
		{"hmac default header", "hmac-sha256", "X-Karajo-Sign", "s3cret", hdr("X-Karajo-Sign", webhookSig), webhookBody, true},
		{"hmac header name any case", "hmac-sha256", "x-karajo-sign", "s3cret", hdr("X-KARAJO-SIGN", webhookSig), webhookBody, true},
		{"hmac empty header_sign means X-Karajo-Sign", "hmac-sha256", "", "s3cret", hdr("X-Karajo-Sign", webhookSig), webhookBody, true},
		{"hmac empty kind is hmac-sha256", "", "X-Karajo-Sign", "s3cret", hdr("X-Karajo-Sign", webhookSig), webhookBody, true},
		{"hmac unknown kind is hmac-sha256", "bitbucket", "X-Karajo-Sign", "s3cret", hdr("X-Karajo-Sign", webhookSig), webhookBody, true},
		{"hmac empty body", "hmac-sha256", "X-Karajo-Sign", "s3cret", hdr("X-Karajo-Sign", "91dfac70c5348b04e1babb8b421ac92cec08b565b49ca16130dccb72503647b7"), "", true},
		{"hmac go client body", "hmac-sha256", "X-Karajo-Sign", "s3cret", hdr("X-Karajo-Sign", "85318c7cd5a00fc9e91be9ffc3f5af3e857545417f5e00448f8d61049bb56ed3"), `{"id":"","_karajo_epoch":1700000000}`, true},
		{"hmac own header", "hmac-sha256", "X-My-Sign", "s3cret", hdr("X-My-Sign", webhookSig), webhookBody, true},
		{"hmac sig in another header", "hmac-sha256", "X-My-Sign", "s3cret", hdr("X-Karajo-Sign", webhookSig), webhookBody, false},
		{"hmac missing header", "hmac-sha256", "X-Karajo-Sign", "s3cret", hdr(), webhookBody, false},
		{"hmac empty header", "hmac-sha256", "X-Karajo-Sign", "s3cret", hdr("X-Karajo-Sign", ""), webhookBody, false},
		{"hmac uppercase hex", "hmac-sha256", "X-Karajo-Sign", "s3cret", hdr("X-Karajo-Sign", strings.ToUpper(webhookSig)), webhookBody, false},
		{"hmac wrong secret", "hmac-sha256", "X-Karajo-Sign", "s3cret!", hdr("X-Karajo-Sign", webhookSig), webhookBody, false},
		{"hmac empty secret", "hmac-sha256", "X-Karajo-Sign", "", hdr("X-Karajo-Sign", signHMAC("", []byte(webhookBody))), webhookBody, false},
		{"hmac body changed", "hmac-sha256", "X-Karajo-Sign", "s3cret", hdr("X-Karajo-Sign", webhookSig), webhookBody + "\n", false},
		{"hmac sha256= prefix", "hmac-sha256", "X-Karajo-Sign", "s3cret", hdr("X-Karajo-Sign", "sha256="+webhookSig), webhookBody, false},
		{"hmac github header", "hmac-sha256", "X-Karajo-Sign", "s3cret", hdr("X-Hub-Signature-256", webhookSig), webhookBody, false},

		// github (SPEC 5.2, IMP-21)
		{"github sha256 prefixed", "github", "", "s3cret", hdr("X-Hub-Signature-256", "sha256="+githubSHA256), githubBody, true},
		{"github sha256 bare", "github", "", "s3cret", hdr("X-Hub-Signature-256", githubSHA256), githubBody, true},
		{"github kind any case", "GitHub", "", "s3cret", hdr("X-Hub-Signature-256", githubSHA256), githubBody, true},
		{"github header_sign ignored", "github", "X-Karajo-Sign", "s3cret", hdr("x-hub-signature-256", githubSHA256), githubBody, true},
		{"github sha1 bare", "github", "", "s3cret", hdr("X-Hub-Signature", githubSHA1), githubBody, true},
		{"github sha1 prefixed", "github", "", "s3cret", hdr("X-Hub-Signature", "sha1="+githubSHA1), githubBody, true},
		{"github both valid", "github", "", "s3cret", hdr("X-Hub-Signature-256", "sha256="+githubSHA256, "X-Hub-Signature", "sha1="+githubSHA1), githubBody, true},
		{"github empty sha256 falls back to sha1", "github", "", "s3cret", hdr("X-Hub-Signature-256", "", "X-Hub-Signature", githubSHA1), githubBody, true},
		{"github bad sha256 no fallback", "github", "", "s3cret", hdr("X-Hub-Signature-256", "sha256="+webhookSig, "X-Hub-Signature", githubSHA1), githubBody, false},
		{"github sha256 uppercase", "github", "", "s3cret", hdr("X-Hub-Signature-256", "sha256="+strings.ToUpper(githubSHA256)), githubBody, false},
		{"github sha256 uppercase prefix", "github", "", "s3cret", hdr("X-Hub-Signature-256", "SHA256="+githubSHA256), githubBody, false},
		{"github sha256 double prefix", "github", "", "s3cret", hdr("X-Hub-Signature-256", "sha256=sha256="+githubSHA256), githubBody, false},
		{"github sha256 only prefix", "github", "", "s3cret", hdr("X-Hub-Signature-256", "sha256="), githubBody, false},
		{"github sha1 prefix on sha256", "github", "", "s3cret", hdr("X-Hub-Signature-256", "sha1="+githubSHA256), githubBody, false},
		{"github sha1 uppercase", "github", "", "s3cret", hdr("X-Hub-Signature", strings.ToUpper(githubSHA1)), githubBody, false},
		{"github sha256 in sha1 header", "github", "", "s3cret", hdr("X-Hub-Signature", githubSHA256), githubBody, false},
		{"github sha1 in sha256 header", "github", "", "s3cret", hdr("X-Hub-Signature-256", githubSHA1), githubBody, false},
		{"github wrong secret sha256", "github", "", "S3cret", hdr("X-Hub-Signature-256", githubSHA256), githubBody, false},
		{"github wrong secret sha1", "github", "", "S3cret", hdr("X-Hub-Signature", githubSHA1), githubBody, false},
		{"github empty secret", "github", "", "", hdr("X-Hub-Signature-256", macHex(sha256.New, "", []byte(githubBody))), githubBody, false},
		{"github missing headers", "github", "", "s3cret", hdr(), githubBody, false},
		{"github karajo header", "github", "X-Karajo-Sign", "s3cret", hdr("X-Karajo-Sign", githubSHA256), githubBody, false},
		{"github body changed", "github", "", "s3cret", hdr("X-Hub-Signature-256", githubSHA256), githubBody + " ", false},

		// sourcehut with the built-in key: nothing we can sign passes
		{"sourcehut builtin key refuses our hmac", "sourcehut", "", "s3cret", hdr("X-Karajo-Sign", webhookSig), webhookBody, false},
		{"sourcehut builtin key refuses junk", "sourcehut", "", "s3cret",
			hdr("X-Payload-Signature", base64.StdEncoding.EncodeToString(make([]byte, ed25519.SignatureSize))), webhookBody, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := verifyWebhook(tt.kind, tt.headerSign, tt.secret, tt.h, []byte(tt.body))
			checkVerdict(t, err, tt.ok)
			if err != nil {
				for _, vs := range tt.h {
					for _, v := range vs {
						if len(v) >= 16 && strings.Contains(err.Error(), v) {
							t.Errorf("error %q shows the signature", err)
						}
					}
				}
			}
		})
	}
}

// checkVerdict fails unless err is nil when ok, and wraps errForbidden
// when not.
func checkVerdict(t *testing.T, err error, ok bool) {
	t.Helper()
	switch {
	case ok && err != nil:
		t.Errorf("verifyWebhook() = %v, want nil", err)
	case !ok && err == nil:
		t.Errorf("verifyWebhook() = nil, want an error wrapping errForbidden")
	case !ok && !errors.Is(err, errForbidden):
		t.Errorf("verifyWebhook() = %v, want it to wrap errForbidden", err)
	}
}

func TestVerifyWebhookSourcehut(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, otherPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	useSourcehutKey(t, pub)

	body := []byte(`{"data":{"ping":"pong"}}`)
	nonce := "1f3a9b7c"
	sign := func(k ed25519.PrivateKey, msg string) string {
		return base64.StdEncoding.EncodeToString(ed25519.Sign(k, []byte(msg)))
	}
	withNonce := sign(priv, string(body)+nonce)
	noNonce := sign(priv, string(body))
	rawSig := ed25519.Sign(priv, append(append([]byte{}, body...), nonce...))

	tests := []struct {
		name string
		h    http.Header
		body []byte
		ok   bool
	}{
		{"valid with nonce", hdr("X-Payload-Signature", withNonce, "X-Payload-Nonce", nonce), body, true},
		{"valid header names any case", hdr("x-payload-signature", withNonce, "x-payload-nonce", nonce), body, true},
		{"valid without nonce", hdr("X-Payload-Signature", noNonce), body, true},
		{"valid empty body", hdr("X-Payload-Signature", sign(priv, nonce), "X-Payload-Nonce", nonce), nil, true},
		{"nonce missing", hdr("X-Payload-Signature", withNonce), body, false},
		{"nonce not signed", hdr("X-Payload-Signature", noNonce, "X-Payload-Nonce", nonce), body, false},
		{"nonce changed", hdr("X-Payload-Signature", withNonce, "X-Payload-Nonce", nonce+"0"), body, false},
		{"nonce moved into the body", hdr("X-Payload-Signature", withNonce), []byte(string(body) + nonce), true},
		{"body tampered", hdr("X-Payload-Signature", withNonce, "X-Payload-Nonce", nonce), []byte(strings.Replace(string(body), "pong", "pwnd", 1)), false},
		{"body empty", hdr("X-Payload-Signature", withNonce, "X-Payload-Nonce", nonce), nil, false},
		{"other key", hdr("X-Payload-Signature", sign(otherPriv, string(body)+nonce), "X-Payload-Nonce", nonce), body, false},
		{"signature missing", hdr("X-Payload-Nonce", nonce), body, false},
		{"signature empty", hdr("X-Payload-Signature", "", "X-Payload-Nonce", nonce), body, false},
		{"signature in another header", hdr("X-Karajo-Sign", withNonce, "X-Payload-Nonce", nonce), body, false},
		{"bad base64", hdr("X-Payload-Signature", "not base64!", "X-Payload-Nonce", nonce), body, false},
		{"url base64 alphabet", hdr("X-Payload-Signature", withNonce[:10]+"-"+withNonce[11:], "X-Payload-Nonce", nonce), body, false},
		{"base64 without padding", hdr("X-Payload-Signature", strings.TrimRight(withNonce, "="), "X-Payload-Nonce", nonce), body, false},
		{"63 bytes", hdr("X-Payload-Signature", base64.StdEncoding.EncodeToString(rawSig[:63]), "X-Payload-Nonce", nonce), body, false},
		{"65 bytes", hdr("X-Payload-Signature", base64.StdEncoding.EncodeToString(append(rawSig[:64:64], 0)), "X-Payload-Nonce", nonce), body, false},
		{"zero signature", hdr("X-Payload-Signature", base64.StdEncoding.EncodeToString(make([]byte, 64)), "X-Payload-Nonce", nonce), body, false},
		{"one bit flipped", hdr("X-Payload-Signature", base64.StdEncoding.EncodeToString(flipBit(rawSig, 200)), "X-Payload-Nonce", nonce), body, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// secret and header_sign are not used by sourcehut
			err := verifyWebhook("sourcehut", "X-Payload-Signature", "s3cret", tt.h, tt.body)
			checkVerdict(t, err, tt.ok)
			if err := verifyWebhook("SourceHut", "", "", tt.h, tt.body); (err == nil) != tt.ok {
				t.Errorf("kind SourceHut, no secret: verifyWebhook() = %v, want ok %v", err, tt.ok)
			}
		})
	}

	// The same valid request fails once the built-in key is back.
	sourcehutKey = decodeEd25519Key(sourcehutKeyBase64)
	err = verifyWebhook("sourcehut", "", "", hdr("X-Payload-Signature", withNonce, "X-Payload-Nonce", nonce), body)
	checkVerdict(t, err, false)
}

// flipBit returns a copy of b with bit i flipped.
func flipBit(b []byte, i int) []byte {
	c := append([]byte{}, b...)
	c[i/8] ^= 1 << (i % 8)
	return c
}

func TestSourcehutKey(t *testing.T) {
	if len(sourcehutKey) != ed25519.PublicKeySize {
		t.Fatalf("len(sourcehutKey) = %d, want %d", len(sourcehutKey), ed25519.PublicKeySize)
	}
	if got := base64.StdEncoding.EncodeToString(sourcehutKey); got != "uX7KWyyDNMaBma4aVbJ/cbUQpdjqczuCyK/HxzV/u+4=" {
		t.Errorf("sourcehutKey = %s, want sourcehut's published key", got)
	}
	for _, s := range []string{"", "not base64", "AAAA", base64.StdEncoding.EncodeToString(make([]byte, 33))} {
		if got := decodeEd25519Key(s); got != nil {
			t.Errorf("decodeEd25519Key(%q) = %x, want nil", s, got)
		}
	}
	// A missing or bad key refuses everything and does not panic.
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	h := hdr("X-Payload-Signature", base64.StdEncoding.EncodeToString(ed25519.Sign(priv, []byte("x"))))
	if err := verifySourcehut(pub, h, []byte("x")); err != nil {
		t.Fatalf("verifySourcehut(good key) = %v, want nil", err)
	}
	for _, key := range []ed25519.PublicKey{nil, pub[:31]} {
		if err := verifySourcehut(key, h, []byte("x")); !errors.Is(err, errForbidden) {
			t.Errorf("verifySourcehut(key of %d bytes) = %v, want errForbidden", len(key), err)
		}
	}
}

// verifySourcehut checks a whole sourcehut body against key through the
// streaming check.
func verifySourcehut(key ed25519.PublicKey, h http.Header, body []byte) error {
	c, err := sourcehutCheck(key, h)
	if err != nil {
		return err
	}
	c.Write(body)
	return c.verify()
}

// TestEd25519Stream: the streaming verification agrees with
// crypto/ed25519.Verify on good, corrupted and malformed signatures,
// whatever the pieces the message arrives in.
func TestEd25519Stream(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	otherPub, _, _ := ed25519.GenerateKey(rand.Reader)
	for i := 0; i < 300; i++ {
		msg := make([]byte, i*37%5000)
		_, _ = rand.Read(msg)
		sig := ed25519.Sign(priv, msg)
		key := pub
		switch i % 5 {
		case 1:
			sig = flipBit(sig, i%512)
		case 2:
			if len(msg) > 0 {
				msg = flipBit(msg, i%(8*len(msg)))
			}
		case 3:
			key = otherPub
		case 4:
			sig = append([]byte{}, sig...)
			sig[63] |= 0xe0 // S not reduced
		}
		v := newEd25519Stream(key, sig)
		for rest := msg; len(rest) > 0; {
			n := min(len(rest), 1+i%700)
			v.Write(rest[:n])
			rest = rest[n:]
		}
		if got, want := v.valid(), ed25519.Verify(key, msg, sig); got != want {
			t.Fatalf("case %d (%d bytes, kind %d): streaming = %v, ed25519.Verify = %v", i, len(msg), i%5, got, want)
		}
	}
}

func TestCheckEpoch(t *testing.T) {
	now := time.Unix(1700000000, 0)
	tests := []struct {
		name string
		vals url.Values
		ok   bool
	}{
		{"absent", url.Values{"id": {"test_success"}}, true},
		{"nil values", nil, true},
		{"now", url.Values{"_karajo_epoch": {"1700000000"}}, true},
		{"299 s ahead", url.Values{"_karajo_epoch": {"1700000299"}}, true},
		{"299 s behind", url.Values{"_karajo_epoch": {"1699999701"}}, true},
		{"300 s ahead", url.Values{"_karajo_epoch": {"1700000300"}}, true},
		{"300 s behind", url.Values{"_karajo_epoch": {"1699999700"}}, true},
		{"301 s ahead", url.Values{"_karajo_epoch": {"1700000301"}}, false},
		{"301 s behind", url.Values{"_karajo_epoch": {"1699999699"}}, false},
		{"readme fixed epoch", url.Values{"_karajo_epoch": {"1677350854"}}, false},
		{"leading zero", url.Values{"_karajo_epoch": {"01700000000"}}, true},
		{"empty", url.Values{"_karajo_epoch": {""}}, false},
		{"no value", url.Values{"_karajo_epoch": {}}, false},
		{"twice", url.Values{"_karajo_epoch": {"1700000000", "1700000000"}}, false},
		{"abc", url.Values{"_karajo_epoch": {"abc"}}, false},
		{"exponent", url.Values{"_karajo_epoch": {"1.7e9"}}, false},
		{"1e9", url.Values{"_karajo_epoch": {"1e9"}}, false},
		{"plus sign", url.Values{"_karajo_epoch": {"+1700000000"}}, false},
		{"minus sign", url.Values{"_karajo_epoch": {"-1700000000"}}, false},
		{"fraction", url.Values{"_karajo_epoch": {"1700000000.0"}}, false},
		{"hex", url.Values{"_karajo_epoch": {"0x6553f100"}}, false},
		{"underscore", url.Values{"_karajo_epoch": {"1_700_000_000"}}, false},
		{"space", url.Values{"_karajo_epoch": {" 1700000000"}}, false},
		{"milliseconds", url.Values{"_karajo_epoch": {"1700000000000"}}, false},
		{"max int64", url.Values{"_karajo_epoch": {"9223372036854775807"}}, false},
		{"over int64", url.Values{"_karajo_epoch": {"99999999999999999999"}}, false},
		{"zero", url.Values{"_karajo_epoch": {"0"}}, false},
		{"name any case is another key", url.Values{"_KARAJO_EPOCH": {"1"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkEpoch(tt.vals, now)
			switch {
			case tt.ok && err != nil:
				t.Errorf("checkEpoch(%v) = %v, want nil", tt.vals, err)
			case !tt.ok && !errors.Is(err, errStaleEpoch):
				t.Errorf("checkEpoch(%v) = %v, want an error wrapping errStaleEpoch", tt.vals, err)
			}
		})
	}
	// Sub-second clock: the window is counted in whole Unix seconds.
	if err := checkEpoch(url.Values{"_karajo_epoch": {"1700000300"}}, now.Add(999*time.Millisecond)); err != nil {
		t.Errorf("checkEpoch(+300 s, clock +0.999 s) = %v, want nil", err)
	}
	// Extreme clocks do not overflow.
	for _, n := range []int64{math.MinInt64, math.MaxInt64, -1, 0} {
		if err := checkEpoch(url.Values{"_karajo_epoch": {"9223372036854775807"}}, time.Unix(n, 0)); (err == nil) != (n == math.MaxInt64) {
			t.Errorf("checkEpoch(max int64, clock %d) = %v", n, err)
		}
	}
}

// FuzzVerifyWebhook checks, for every auth kind, that random headers and
// bodies never panic and are accepted exactly when the signature is
// genuine: computed with the secret (or sourcehut's private key) over this
// very body. A valid signature for the body in a header the kind does not
// read is always present as a decoy.
func FuzzVerifyWebhook(f *testing.F) {
	priv := testSourcehutKey
	useSourcehutKey(f, priv.Public().(ed25519.PublicKey))

	shSig := func(body, nonce string) string {
		return base64.StdEncoding.EncodeToString(ed25519.Sign(priv, []byte(body+nonce)))
	}
	f.Add(uint8(0), "X-Karajo-Sign", "s3cret", webhookSig, "", "", []byte(webhookBody))
	f.Add(uint8(0), "", "s3cret", "91dfac70c5348b04e1babb8b421ac92cec08b565b49ca16130dccb72503647b7", "", "", []byte{})
	f.Add(uint8(0), "X-My-Sign", "s3cret", strings.ToUpper(webhookSig), "", "", []byte(webhookBody))
	f.Add(uint8(1), "", "s3cret", "sha256="+githubSHA256, "", "", []byte(githubBody))
	f.Add(uint8(1), "", "s3cret", githubSHA256, "sha1="+githubSHA1, "", []byte(githubBody))
	f.Add(uint8(1), "", "s3cret", "", "sha1="+githubSHA1, "", []byte(githubBody))
	f.Add(uint8(1), "", "s3cret", "", githubSHA1, "", []byte(githubBody))
	f.Add(uint8(2), "", "", shSig("{}", "n0nce"), "", "n0nce", []byte("{}"))
	f.Add(uint8(2), "", "", shSig("{}", ""), "", "", []byte("{}"))
	f.Add(uint8(2), "", "", "%%%", "", "", []byte("{}"))

	f.Fuzz(func(t *testing.T, kind uint8, headerSign, secret, sig, sig2, nonce string, body []byte) {
		h := http.Header{}
		var k string
		var genuine bool
		switch kind % 3 {
		case 0:
			k = "hmac-sha256"
			name := headerSign
			if name == "" {
				name = "X-Karajo-Sign"
			}
			for _, decoy := range []string{"X-Karajo-Sign", "X-Hub-Signature-256", "X-Payload-Signature"} {
				if http.CanonicalHeaderKey(name) != decoy {
					h.Set(decoy, signHMAC(secret, body))
				}
			}
			if sig != "" {
				h.Set(name, sig)
			}
			genuine = secret != "" && sig != "" && sig == signHMAC(secret, body)
		case 1:
			k = "github"
			h.Set("X-Karajo-Sign", signHMAC(secret, body))
			h.Set(headerSign+"-Decoy", signHMAC(secret, body))
			if sig != "" {
				h.Set("X-Hub-Signature-256", sig)
				genuine = secret != "" && strings.TrimPrefix(sig, "sha256=") == refHMAC(sha256.New, secret, body)
			} else {
				genuine = secret != "" && sig2 != "" && strings.TrimPrefix(sig2, "sha1=") == refHMAC(sha1.New, secret, body)
			}
			if sig2 != "" {
				h.Set("X-Hub-Signature", sig2)
			}
		default:
			k = "sourcehut"
			msg := append(append([]byte{}, body...), nonce...)
			h.Set("X-Karajo-Sign", signHMAC(secret, body))
			h.Set(headerSign+"-Decoy", base64.StdEncoding.EncodeToString(ed25519.Sign(priv, msg)))
			if sig != "" {
				h.Set("X-Payload-Signature", sig)
			}
			if nonce != "" {
				h.Set("X-Payload-Nonce", nonce)
			}
			raw, err := base64.StdEncoding.DecodeString(sig)
			genuine = sig != "" && err == nil && bytes.Equal(raw, ed25519.Sign(priv, msg))
		}
		err := verifyWebhook(k, headerSign, secret, h, body)
		if (err == nil) != genuine {
			t.Fatalf("verifyWebhook(%s, %q, %q, %v, %q) = %v, want accepted %v", k, headerSign, secret, h, body, err, genuine)
		}
		if err != nil && !errors.Is(err, errForbidden) {
			t.Fatalf("verifyWebhook() = %v, want it to wrap errForbidden", err)
		}
	})
}

// refHMAC is an independent lowercase hex HMAC for the fuzz oracle.
func refHMAC(h func() hash.Hash, secret string, body []byte) string {
	m := hmac.New(h, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// FuzzCheckEpoch checks checkEpoch against a math/big model: with a clock
// of nowSec, a single _karajo_epoch of ASCII digits within 300 s passes,
// anything else present fails with errStaleEpoch, and nothing panics.
func FuzzCheckEpoch(f *testing.F) {
	f.Add("1700000000", int64(1700000000), true, false)
	f.Add("1700000300", int64(1700000000), true, false)
	f.Add("1699999699", int64(1700000000), true, false)
	f.Add("+1700000000", int64(1700000000), true, false)
	f.Add("1e9", int64(1000000000), true, false)
	f.Add("", int64(0), true, false)
	f.Add("9223372036854775807", int64(math.MinInt64), true, false)
	f.Add("1700000000", int64(1700000000), true, true)
	f.Add("x", int64(1700000000), false, false)
	f.Fuzz(func(t *testing.T, value string, nowSec int64, present, twice bool) {
		vals := url.Values{"id": {value}}
		if present {
			vals["_karajo_epoch"] = []string{value}
			if twice {
				vals["_karajo_epoch"] = append(vals["_karajo_epoch"], value)
			}
		}
		err := checkEpoch(vals, time.Unix(nowSec, 0))
		want := !present || (!twice && epochInWindow(value, nowSec))
		if (err == nil) != want {
			t.Fatalf("checkEpoch(%q, now %d, twice %v) = %v, want accepted %v", value, nowSec, twice, err, want)
		}
		if err != nil && !errors.Is(err, errStaleEpoch) {
			t.Fatalf("checkEpoch() = %v, want it to wrap errStaleEpoch", err)
		}
	})
}

// epochInWindow is the model of FuzzCheckEpoch: value is digits only,
// fits an int64 and is within 300 s of now.
func epochInWindow(value string, now int64) bool {
	if value == "" || strings.Trim(value, "0123456789") != "" {
		return false
	}
	e, ok := new(big.Int).SetString(value, 10)
	if !ok || !e.IsInt64() {
		return false
	}
	d := new(big.Int).Sub(e, big.NewInt(now))
	return d.CmpAbs(big.NewInt(300)) <= 0
}

// BenchmarkValidHMAC checks a signature over a 1 KiB body. It also times,
// in the same loop, v0.9.3's plain string comparison and reports our time
// over that as x-plain (constant time should cost about nothing).
func BenchmarkValidHMAC(b *testing.B) {
	body := bytes.Repeat([]byte("karajo-1"), 128)
	sig := signHMAC("s3cret", body)
	b.SetBytes(int64(len(body)))
	var ours, plain time.Duration
	for b.Loop() {
		t0 := time.Now()
		ok1 := validHMAC("s3cret", body, sig)
		t1 := time.Now()
		ok2 := signHMAC("s3cret", body) == sig
		t2 := time.Now()
		if !ok1 || !ok2 {
			b.Fatal("valid signature refused")
		}
		ours += t1.Sub(t0)
		plain += t2.Sub(t1)
	}
	if plain > 0 {
		b.ReportMetric(float64(ours)/float64(plain), "x-plain")
	}
}

// BenchmarkVerifySourcehut verifies a sourcehut webhook over a 1 KiB body
// with a nonce, and reports its time over validHMAC's on the same body,
// timed in the same loop, as x-hmac.
func BenchmarkVerifySourcehut(b *testing.B) {
	priv := testSourcehutKey
	pub := priv.Public().(ed25519.PublicKey)
	body := bytes.Repeat([]byte("karajo-1"), 128)
	nonce := "0123456789abcdef"
	h := hdr("X-Payload-Signature", base64.StdEncoding.EncodeToString(ed25519.Sign(priv, append(append([]byte{}, body...), nonce...))),
		"X-Payload-Nonce", nonce)
	sig := signHMAC("s3cret", body)
	b.SetBytes(int64(len(body)))
	var ed, mac time.Duration
	for b.Loop() {
		t0 := time.Now()
		err := verifySourcehut(pub, h, body)
		t1 := time.Now()
		ok := validHMAC("s3cret", body, sig)
		t2 := time.Now()
		if err != nil || !ok {
			b.Fatalf("valid signature refused: %v", err)
		}
		ed += t1.Sub(t0)
		mac += t2.Sub(t1)
	}
	if mac > 0 {
		b.ReportMetric(float64(ed)/float64(mac), "x-hmac")
	}
}

// TestVerifyWebhookRotated: with a list of secrets (issue 15), a signature
// by any of them verifies, for hmac-sha256 and github; one by a secret not
// listed, or by an empty entry, does not.
func TestVerifyWebhookRotated(t *testing.T) {
	body := []byte(`{"ref":"refs/heads/main"}`)
	secrets := []string{"new-secret", "old-secret"}
	for _, tt := range []struct {
		name   string
		kind   string
		h      http.Header
		listed []string
		ok     bool
	}{
		{"hmac new", "hmac-sha256", http.Header{"X-Karajo-Sign": {signHMAC("new-secret", body)}}, secrets, true},
		{"hmac old", "hmac-sha256", http.Header{"X-Karajo-Sign": {signHMAC("old-secret", body)}}, secrets, true},
		{"hmac removed", "hmac-sha256", http.Header{"X-Karajo-Sign": {signHMAC("old-secret", body)}}, secrets[:1], false},
		{"hmac other", "hmac-sha256", http.Header{"X-Karajo-Sign": {signHMAC("other", body)}}, secrets, false},
		{"hmac empty entry", "hmac-sha256", http.Header{"X-Karajo-Sign": {signHMAC("", body)}}, []string{"", "x"}, false},
		{"hmac none listed", "hmac-sha256", http.Header{"X-Karajo-Sign": {signHMAC("", body)}}, nil, false},
		{"github old sha256", "github", http.Header{"X-Hub-Signature-256": {"sha256=" + signHMAC("old-secret", body)}}, secrets, true},
		{"github old sha1", "github", http.Header{"X-Hub-Signature": {"sha1=" + macHex(sha1.New, "old-secret", body)}}, secrets, true},
		{"github other", "github", http.Header{"X-Hub-Signature-256": {signHMAC("other", body)}}, secrets, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := verifyWebhookAny(tt.kind, "", tt.listed, tt.h, body)
			if (err == nil) != tt.ok {
				t.Fatalf("verifyWebhookAny() = %v, want ok %v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, errForbidden) {
				t.Errorf("error %v does not wrap errForbidden", err)
			}
		})
	}
}
