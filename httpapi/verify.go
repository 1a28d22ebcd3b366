package httpapi

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/karajo/karajo/config"
)

// Sentinel errors of request authentication. toAPIError maps them to
// statuses; the wrapping text names the reason for the server log only
// (it never carries a signature or a secret).
var (
	// errForbidden refuses a webhook trigger (job_exec/run) whose signature
	// is missing or wrong: 403 ERR_JOB_FORBIDDEN.
	errForbidden = errors.New("forbidden")
	// errBadSignature refuses a control request (pause, resume, cancel)
	// whose X-Karajo-Sign is empty or wrong: 401.
	errBadSignature = errors.New("empty or invalid signature")
	// errStaleEpoch refuses a control request whose signed _karajo_epoch is
	// not a decimal integer within ±epochWindow of the server clock
	// (IMP-16): 401.
	errStaleEpoch = errors.New("stale or invalid _karajo_epoch")
)

// Header names of the webhook kinds (SPEC 5).
const (
	headerHubSign256  = "X-Hub-Signature-256"
	headerHubSign1    = "X-Hub-Signature"
	headerPayloadSign = "X-Payload-Signature"
	headerNonce       = "X-Payload-Nonce"
)

// epochWindow is how far a signed _karajo_epoch may be from the server
// clock, either way (IMP-16). The bound itself is accepted.
const epochWindow = 5 * time.Minute

// sourcehutKeyBase64 is sourcehut's webhook public key (Ed25519), as
// published by sourcehut and built into karajo v0.9.3 (SPEC 5.3).
const sourcehutKeyBase64 = "uX7KWyyDNMaBma4aVbJ/cbUQpdjqczuCyK/HxzV/u+4="

// sourcehutKey is the key that verifies "sourcehut" webhooks. It is set
// once at start and only read after; tests swap it (never in parallel
// tests) to sign with a key pair of their own.
var sourcehutKey = decodeEd25519Key(sourcehutKeyBase64)

// decodeEd25519Key decodes a standard base64 Ed25519 public key. A bad key
// gives nil, which verifySourcehut refuses, so no request can pass with it.
func decodeEd25519Key(s string) ed25519.PublicKey {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil
	}
	return ed25519.PublicKey(b)
}

// signHMAC returns the lowercase hex HMAC-SHA256 of payload keyed with
// secret: karajo's signature everywhere (SPEC 4.4, Appendix B).
func signHMAC(secret string, payload []byte) string {
	return macHex(sha256.New, secret, payload)
}

// macHex returns the lowercase hex HMAC of payload with the hash h.
func macHex(h func() hash.Hash, secret string, payload []byte) string {
	m := hmac.New(h, []byte(secret))
	m.Write(payload)
	return hex.EncodeToString(m.Sum(nil))
}

// validHMAC reports whether sig is exactly the lowercase hex HMAC-SHA256 of
// payload keyed with secret. The strings are compared in constant time
// (IMP-15); uppercase hex is refused, as in v0.9.3 (no case folding). An
// empty sig is refused, and so is an empty secret: anyone can compute an
// HMAC with an empty key, so it would authenticate nothing.
func validHMAC(secret string, payload []byte, sig string) bool {
	return equalMAC(sha256.New, secret, payload, sig)
}

// equalMAC reports whether sig is the lowercase hex HMAC of payload with
// the hash h, compared in constant time. Empty sig or secret → false.
func equalMAC(h func() hash.Hash, secret string, payload []byte, sig string) bool {
	if secret == "" || sig == "" {
		return false
	}
	want := macHex(h, secret, payload)
	// ConstantTimeCompare returns at once on a length mismatch; the length
	// of a hex digest is public, so that leaks nothing.
	return subtle.ConstantTimeCompare([]byte(sig), []byte(want)) == 1
}

// verifyWebhook checks the signature of a job_exec/run request over the raw
// body bytes, by the job's authKind (SPEC 5):
//
//   - "hmac-sha256" (and anything else, as config does): header headerSign
//     (default X-Karajo-Sign) is the lowercase hex HMAC-SHA256 of body with
//     secret; no prefix. A signature in any other header does not count.
//   - "github": if X-Hub-Signature-256 is not empty, it is the lowercase
//     hex HMAC-SHA256 with an optional "sha256=" prefix, and nothing else is
//     looked at; otherwise X-Hub-Signature is the lowercase hex HMAC-SHA1
//     with an optional "sha1=" prefix (IMP-21). headerSign is not used.
//   - "sourcehut": X-Payload-Signature is the standard base64 of an Ed25519
//     signature, by sourcehutKey, of body followed by X-Payload-Nonce (may
//     be absent). Bad base64 is refused like a bad signature (IMP-22).
//     secret is not used.
//
// It returns nil if the request is authentic, else an error wrapping
// errForbidden whose text names the reason (never the signature). It is
// newWebhookCheck fed the whole body at once.
func verifyWebhook(authKind, headerSign, secret string, h http.Header, body []byte) error {
	return verifyWebhookAny(authKind, headerSign, []string{secret}, h, body)
}

// verifyWebhookAny is verifyWebhook where any of secrets verifies (a
// rotated job secret, issue 15).
func verifyWebhookAny(authKind, headerSign string, secrets []string, h http.Header, body []byte) error {
	c, err := newWebhookCheck(authKind, headerSign, secrets, h)
	if err != nil {
		return err
	}
	c.Write(body)
	return c.verify()
}

// jobSecrets is the secrets that verify job's webhooks: Secrets, or
// [Secret] for a Job built without config.Load (which always fills both).
func jobSecrets(job *config.Job) []string {
	if len(job.Secrets) == 0 && job.Secret != "" {
		return []string{job.Secret}
	}
	return job.Secrets
}

// webhookCheck checks a webhook's signature over its body as the body
// arrives (Write), so that no request body has to be held to be
// verified: a hash of the bytes, and the check of its sum at the end.
type webhookCheck struct {
	hash.Hash
	verify  func() error // checks the signature against the bytes written
	matched int          // after a verify that held: the position (from 1) of the secret that matched; 0 when none or no secrets
}

// newWebhookCheck reads the signature headers of a webhook by the rules
// of verifyWebhook. A request whose signature header is missing, empty or
// malformed is refused here, before any of its body is read: the answer
// (403) does not depend on it.
func newWebhookCheck(authKind, headerSign string, secrets []string, h http.Header) (*webhookCheck, error) {
	switch strings.ToLower(authKind) {
	case config.AuthGitHub:
		return githubCheck(secrets, h)
	case config.AuthSourcehut:
		return sourcehutCheck(sourcehutKey, h)
	case config.AuthGitLab:
		return gitlabCheck(secrets, h)
	case config.AuthGitea:
		return giteaCheck(secrets, h)
	}
	if headerSign == "" {
		headerSign = config.DefaultHeaderSign
	}
	kind, alg, prefix := config.AuthHMACSHA256, sha256.New, "" // v0.9.3: no prefix
	switch strings.ToLower(authKind) {
	case config.AuthHMACSHA1:
		kind, alg, prefix = config.AuthHMACSHA1, sha1.New, "sha1="
	case config.AuthHMACSHA512:
		kind, alg, prefix = config.AuthHMACSHA512, sha512.New, "sha512="
	}
	sig := h.Get(headerSign)
	if sig == "" {
		return nil, fmt.Errorf("%s: header %s missing or empty: %w", kind, headerSign, errForbidden)
	}
	if prefix != "" {
		sig = strings.TrimPrefix(sig, prefix)
	}
	return macCheck(alg, secrets, sig, func() error {
		return fmt.Errorf("%s: header %s does not match the body: %w", kind, headerSign, errForbidden)
	}), nil
}

// Header names of the senders added by issue 15.
const (
	headerGitLabToken  = "X-Gitlab-Token"
	headerGiteaSign    = "X-Gitea-Signature"
	headerForgejoSign  = "X-Forgejo-Signature"
	headerGitHubEvent  = "X-GitHub-Event"
	headerGiteaEvent   = "X-Gitea-Event"
	headerForgejoEvent = "X-Forgejo-Event"
	headerGitLabEvent  = "X-Gitlab-Event"
	pingEvent          = "ping"
)

// giteaCheck checks a "gitea" webhook (Gitea and Forgejo): X-Gitea-Signature,
// or X-Forgejo-Signature when that one is absent, is the lowercase hex
// HMAC-SHA256 of the body, no prefix. Only one header is looked at.
func giteaCheck(secrets []string, h http.Header) (*webhookCheck, error) {
	name := headerGiteaSign
	sig := h.Get(name)
	if sig == "" {
		name = headerForgejoSign
		sig = h.Get(name)
	}
	if sig == "" {
		return nil, fmt.Errorf("gitea: headers %s and %s missing or empty: %w", headerGiteaSign, headerForgejoSign, errForbidden)
	}
	return macCheck(sha256.New, secrets, sig, func() error {
		return fmt.Errorf("gitea: header %s does not match the body: %w", name, errForbidden)
	}), nil
}

// gitlabCheck checks a "gitlab" webhook: X-Gitlab-Token is the secret
// itself (GitLab signs nothing). The token is compared with every listed
// secret through their SHA-256 sums, in constant time, so that neither
// the content nor the length of a secret shows in the time taken. The
// body is read (and hashed, for nothing) like any other.
func gitlabCheck(secrets []string, h http.Header) (*webhookCheck, error) {
	token := h.Get(headerGitLabToken)
	if token == "" {
		return nil, fmt.Errorf("gitlab: header %s missing or empty: %w", headerGitLabToken, errForbidden)
	}
	got := sha256.Sum256([]byte(token))
	ok, idx := 0, 0
	for i, s := range secrets {
		want := sha256.Sum256([]byte(s))
		if s != "" {
			eq := subtle.ConstantTimeCompare(got[:], want[:])
			ok |= eq
			idx = subtle.ConstantTimeSelect(eq, i+1, idx)
		}
	}
	c := &webhookCheck{Hash: sha256.New()}
	c.verify = func() error {
		if ok != 1 {
			return fmt.Errorf("gitlab: header %s does not match the secret: %w", headerGitLabToken, errForbidden)
		}
		c.matched = idx
		return nil
	}
	return c, nil
}

// isPing reports whether a delivery to a job of authKind is a sender's
// ping (GitHub sends one when a hook is created; Gitea, Forgejo and
// GitLab are treated alike): answered 200 "pong" without a run, once its
// signature holds. Other kinds have no event header: never a ping.
func isPing(authKind string, h http.Header) bool {
	var names []string
	switch authKind {
	case config.AuthGitHub:
		names = []string{headerGitHubEvent}
	case config.AuthGitea:
		names = []string{headerGiteaEvent, headerForgejoEvent}
	case config.AuthGitLab:
		names = []string{headerGitLabEvent}
	}
	for _, n := range names {
		if strings.EqualFold(strings.TrimSpace(h.Get(n)), pingEvent) {
			return true
		}
	}
	return false
}

// macCheck checks that sig is the lowercase hex HMAC (hash h) of the
// bytes written under any of secrets, each compared in constant time and
// all of them compared (how many match, or which, changes nothing of the
// time taken); else it returns fail's error (built only then). An empty
// secret matches nothing (anyone can compute an HMAC with it), so no
// secrets at all refuse everything.
func macCheck(h func() hash.Hash, secrets []string, sig string, fail func() error) *webhookCheck {
	ms := make([]hash.Hash, len(secrets))
	for i, s := range secrets {
		ms[i] = hmac.New(h, []byte(s))
	}
	c := &webhookCheck{Hash: multiHash(ms)}
	c.verify = func() error {
		ok, idx := 0, 0
		for i, m := range ms {
			want := hex.EncodeToString(m.Sum(nil))
			// ConstantTimeCompare returns at once on a length mismatch;
			// the length of a hex digest is public, so that leaks nothing.
			if secrets[i] != "" {
				eq := subtle.ConstantTimeCompare([]byte(sig), []byte(want))
				ok |= eq
				idx = subtle.ConstantTimeSelect(eq, i+1, idx)
			}
		}
		if ok != 1 {
			return fail()
		}
		c.matched = idx
		return nil
	}
	return c
}

// multiHash writes to every hash of a list: the HMACs of a job's secrets
// are computed in one pass over a streaming body. Only Write is used.
type multiHash []hash.Hash

// Write writes p to every hash; a hash.Hash never fails a Write.
func (m multiHash) Write(p []byte) (int, error) {
	for _, h := range m {
		h.Write(p)
	}
	return len(p), nil
}

// Sum is the sum of the first hash (nil when there is none); the checks
// read each hash's own sum instead.
func (m multiHash) Sum(b []byte) []byte {
	if len(m) == 0 {
		return b
	}
	return m[0].Sum(b)
}

// Reset resets every hash.
func (m multiHash) Reset() {
	for _, h := range m {
		h.Reset()
	}
}

// Size is the size of a sum.
func (m multiHash) Size() int {
	if len(m) == 0 {
		return 0
	}
	return m[0].Size()
}

// BlockSize is the block size of the hashes.
func (m multiHash) BlockSize() int {
	if len(m) == 0 {
		return 1
	}
	return m[0].BlockSize()
}

// githubCheck checks a "github" webhook (SPEC 5.2, IMP-21).
func githubCheck(secrets []string, h http.Header) (*webhookCheck, error) {
	if sig := h.Get(headerHubSign256); sig != "" {
		return macCheck(sha256.New, secrets, strings.TrimPrefix(sig, "sha256="), func() error {
			return fmt.Errorf("github: header %s does not match the body: %w", headerHubSign256, errForbidden)
		}), nil
	}
	sig := h.Get(headerHubSign1)
	if sig == "" {
		return nil, fmt.Errorf("github: headers %s and %s missing or empty: %w", headerHubSign256, headerHubSign1, errForbidden)
	}
	return macCheck(sha1.New, secrets, strings.TrimPrefix(sig, "sha1="), func() error {
		return fmt.Errorf("github: header %s does not match the body: %w", headerHubSign1, errForbidden)
	}), nil
}

// sourcehutCheck checks a "sourcehut" webhook against key (SPEC 5.3,
// IMP-22): an Ed25519 signature of the body followed by the nonce,
// verified as the body streams (ed25519Stream). A key of the wrong size
// refuses everything.
func sourcehutCheck(key ed25519.PublicKey, h http.Header) (*webhookCheck, error) {
	if len(key) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("sourcehut: no valid public key: %w", errForbidden)
	}
	raw := h.Get(headerPayloadSign)
	if raw == "" {
		return nil, fmt.Errorf("sourcehut: header %s missing or empty: %w", headerPayloadSign, errForbidden)
	}
	sig, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		return nil, fmt.Errorf("sourcehut: header %s is not base64: %w", headerPayloadSign, errForbidden)
	}
	if len(sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("sourcehut: header %s holds %d bytes, want %d: %w", headerPayloadSign, len(sig), ed25519.SignatureSize, errForbidden)
	}
	v := newEd25519Stream(key, sig)
	nonce := h.Get(headerNonce)
	return &webhookCheck{Hash: v, verify: func() error {
		v.Write([]byte(nonce))
		if !v.valid() {
			return fmt.Errorf("sourcehut: header %s does not match the body and nonce: %w", headerPayloadSign, errForbidden)
		}
		return nil
	}}, nil
}

// checkEpoch applies IMP-16 to the signed parameters vals of a control
// request: a _karajo_epoch, when present, must be one value of ASCII digits
// only (no sign, no exponent, not empty) whose Unix time in seconds is
// within ±5 minutes of now, bounds included. Absent is fine: the karajo Go
// client sends none for JobHttp pause/resume. Sent twice is refused, as
// ambiguous. The error wraps errStaleEpoch.
func checkEpoch(vals url.Values, now time.Time) error {
	vs, ok := vals["_karajo_epoch"]
	if !ok {
		return nil
	}
	if len(vs) != 1 {
		return fmt.Errorf("_karajo_epoch given %d times: %w", len(vs), errStaleEpoch)
	}
	epoch, ok := parseEpoch(vs[0])
	if !ok {
		return fmt.Errorf("_karajo_epoch %.32q is not a decimal Unix time: %w", vs[0], errStaleEpoch)
	}
	// The true difference of two int64 always fits in a uint64, and the
	// uint64 subtraction computes it exactly: no overflow, whatever now is.
	n := now.Unix()
	var off uint64
	if epoch >= n {
		off = uint64(epoch) - uint64(n)
	} else {
		off = uint64(n) - uint64(epoch)
	}
	if off > uint64(epochWindow/time.Second) {
		return fmt.Errorf("_karajo_epoch %d is %d s away from the server clock %d, over %v: %w", epoch, off, n, epochWindow, errStaleEpoch)
	}
	return nil
}

// parseEpoch parses s made of ASCII digits only into a non-negative int64.
func parseEpoch(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseInt(s, 10, 64) // fails only on overflow now
	return v, err == nil
}

// deliveryHeaders are the headers of a sender's delivery id, by kind
// (issue 15), first present wins. sourcehut's nonce is signed with the
// body; the others are not signed by their senders.
var deliveryHeaders = map[string][]string{
	config.AuthGitHub:    {"X-GitHub-Delivery"},
	config.AuthGitea:     {"X-Gitea-Delivery", "X-Forgejo-Delivery"},
	config.AuthGitLab:    {"X-Gitlab-Event-UUID"},
	config.AuthSourcehut: {headerNonce},
}

// maxDeliveryIDLen is the longest delivery id accepted (UUIDs are 36).
const maxDeliveryIDLen = 128

// deliveryID returns the delivery id of a request to a job of authKind,
// "" when the kind has none or the request carries none. An id that is
// longer than maxDeliveryIDLen or not visible ASCII is a 400.
func deliveryID(authKind string, h http.Header) (string, error) {
	for _, name := range deliveryHeaders[authKind] {
		id := strings.TrimSpace(h.Get(name))
		if id == "" {
			continue
		}
		if len(id) > maxDeliveryIDLen {
			return "", fmt.Errorf("%w: header %s longer than %d bytes", errBadRequest, name, maxDeliveryIDLen)
		}
		for i := 0; i < len(id); i++ {
			if id[i] < 0x21 || id[i] > 0x7e {
				return "", fmt.Errorf("%w: header %s is not visible ASCII", errBadRequest, name)
			}
		}
		return id, nil
	}
	return "", nil
}
