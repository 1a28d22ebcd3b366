package httpapi

import (
	"crypto/ed25519"
	"crypto/sha512"
	"crypto/subtle"
	"hash"

	"filippo.io/edwards25519"
)

// ed25519Stream verifies a pure Ed25519 signature (RFC 8032 5.1.7) of a
// message written to it in pieces, so that a sourcehut webhook's body
// need not be held in memory to be verified. The message enters the
// check only through SHA-512(R || A || M), which is computed as it
// arrives; valid then checks [S]B = R + [k]A as crypto/ed25519.Verify
// does (the differential test holds the two equal).
type ed25519Stream struct {
	hash.Hash // SHA-512 of R || A || the message so far
	pub       ed25519.PublicKey
	sig       []byte
}

// newEd25519Stream starts the check of sig by pub; both have their
// sizes (the caller checked them).
func newEd25519Stream(pub ed25519.PublicKey, sig []byte) *ed25519Stream {
	h := sha512.New()
	h.Write(sig[:32])
	h.Write(pub)
	return &ed25519Stream{Hash: h, pub: pub, sig: sig}
}

// valid reports whether the signature is good for the message written.
func (v *ed25519Stream) valid() bool {
	if len(v.pub) != ed25519.PublicKeySize || len(v.sig) != ed25519.SignatureSize || v.sig[63]&224 != 0 {
		return false
	}
	a, err := new(edwards25519.Point).SetBytes(v.pub)
	if err != nil {
		return false
	}
	k, err := edwards25519.NewScalar().SetUniformBytes(v.Sum(nil))
	if err != nil {
		return false
	}
	s, err := edwards25519.NewScalar().SetCanonicalBytes(v.sig[32:])
	if err != nil {
		return false
	}
	// [S]B = R + [k]A  <=>  [k](-A) + [S]B = R
	minusA := new(edwards25519.Point).Negate(a)
	r := new(edwards25519.Point).VarTimeDoubleScalarBaseMult(k, minusA, s)
	return subtle.ConstantTimeCompare(v.sig[:32], r.Bytes()) == 1
}
