package config

import (
	"fmt"
	"net/netip"
	"path"
	"strings"
)

// Defaults and bounds of the webhook keys of a [job] (issue 15).
const (
	// DefaultDeliveryRetention is how many delivery records a webhook job
	// keeps (the delivery inspector).
	DefaultDeliveryRetention = 100
	// MaxDeliveryRetention bounds delivery_retention.
	MaxDeliveryRetention = 10000
	// MaxDeliveryBody is how much of a body keep_delivery_body keeps in a
	// delivery record; the rest is cut (the record says so).
	MaxDeliveryBody = 16 << 10
	// maxFilterLen bounds one entry of events or refs.
	maxFilterLen = 256
)

// Webhook is what a [job] says about receiving its webhooks beyond the
// signature (issue 15): opt-in replay rules, who may send, which
// deliveries are work, and what the delivery inspector keeps.
type Webhook struct {
	RequireDeliveryID bool           // a delivery without the sender's id header is refused (400)
	RequireEpoch      bool           // generic kinds: the body must carry _karajo_epoch within ±5 min; an identical body is a replay
	AllowFrom         []netip.Prefix // senders allowed, checked before the signature; nil = anyone
	Events            []string       // sender events that are work (lower case); nil = all
	Refs              []string       // path.Match patterns of the JSON ref that is work; nil = all
	DeliveryRetention int            // delivery records kept; default 100
	KeepDeliveryBody  bool           // delivery records keep the body, up to MaxDeliveryBody
}

// webhookTOML holds the webhook keys of a [job] table (issue 15).
type webhookTOML struct {
	RequireDeliveryID bool     `toml:"require_delivery_id"`
	RequireEpoch      bool     `toml:"require_epoch"`
	AllowFrom         []string `toml:"allow_from"`
	Events            []string `toml:"events"`
	Refs              []string `toml:"refs"`
	DeliveryRetention int      `toml:"delivery_retention"`
	KeepDeliveryBody  bool     `toml:"keep_delivery_body"`
}

// KindHasDeliveryID reports whether the senders of kind send a delivery
// id header (replay protection by id).
func KindHasDeliveryID(kind string) bool {
	switch kind {
	case AuthGitHub, AuthGitea, AuthGitLab, AuthSourcehut:
		return true
	}
	return false
}

// KindHasEvent reports whether the senders of kind name the event in a
// header (the events filter).
func KindHasEvent(kind string) bool {
	switch kind {
	case AuthGitHub, AuthGitea, AuthGitLab:
		return true
	}
	return false
}

// KindIsGeneric reports whether kind is one of the generic HMAC schemes,
// whose body karajo's own clients write (require_epoch).
func KindIsGeneric(kind string) bool {
	switch kind {
	case AuthHMACSHA256, AuthHMACSHA1, AuthHMACSHA512:
		return true
	}
	return false
}

// webhook checks the webhook keys of job j (its AuthKind already set),
// table naming it in errors.
func (c *checker) webhook(file, table string, j *Job, t *webhookTOML) Webhook {
	w := Webhook{
		RequireDeliveryID: t.RequireDeliveryID,
		RequireEpoch:      t.RequireEpoch,
		DeliveryRetention: t.DeliveryRetention,
		KeepDeliveryBody:  t.KeepDeliveryBody,
	}
	if w.RequireDeliveryID && !KindHasDeliveryID(j.AuthKind) {
		c.fail(file, table+".require_delivery_id", "auth_kind %q sends no delivery id: only github, gitea, gitlab and sourcehut do", j.AuthKind)
	}
	if w.RequireEpoch && !KindIsGeneric(j.AuthKind) {
		c.fail(file, table+".require_epoch", "auth_kind %q: only hmac-sha256, hmac-sha1 and hmac-sha512 bodies carry _karajo_epoch", j.AuthKind)
	}
	switch {
	case w.DeliveryRetention == 0:
		w.DeliveryRetention = DefaultDeliveryRetention
	case w.DeliveryRetention < 0 || w.DeliveryRetention > MaxDeliveryRetention:
		c.fail(file, table+".delivery_retention", "must be 1 to %d, got %d", MaxDeliveryRetention, w.DeliveryRetention)
	}
	for i, s := range t.AllowFrom {
		p, err := parsePrefix(s)
		if err != nil {
			c.fail(file, fmt.Sprintf("%s.allow_from[%d]", table, i), "%q: want an IP address or a CIDR prefix such as 192.0.2.0/24: %v", s, err)
			continue
		}
		w.AllowFrom = append(w.AllowFrom, p)
	}
	if t.AllowFrom != nil && len(t.AllowFrom) == 0 {
		c.fail(file, table+".allow_from", "empty list: it would refuse every sender; remove the key to allow any")
	}
	if len(t.Events) > 0 && !KindHasEvent(j.AuthKind) {
		c.fail(file, table+".events", "auth_kind %q sends no event header: only github, gitea and gitlab do", j.AuthKind)
	}
	w.Events = c.filterList(file, table+".events", t.Events, false)
	w.Refs = c.filterList(file, table+".refs", t.Refs, true)
	return w
}

// filterList checks the entries of events (lower-cased) or refs (glob
// patterns, checked by path.Match): not empty, at most maxFilterLen
// bytes, printable.
func (c *checker) filterList(file, key string, vs []string, glob bool) []string {
	if vs != nil && len(vs) == 0 {
		c.fail(file, key, "empty list: it would ignore every delivery; remove the key to take all")
		return nil
	}
	var out []string
	for i, v := range vs {
		k := fmt.Sprintf("%s[%d]", key, i)
		v = strings.TrimSpace(v)
		switch {
		case v == "":
			c.fail(file, k, "empty entry")
			continue
		case len(v) > maxFilterLen:
			c.fail(file, k, "longer than %d bytes", maxFilterLen)
			continue
		case strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }):
			c.fail(file, k, "%q holds a control character", v)
			continue
		}
		if !glob {
			out = append(out, strings.ToLower(v))
			continue
		}
		if _, err := path.Match(v, ""); err != nil {
			c.fail(file, k, "%q is not a valid pattern (path.Match: * ? [a-z] \\): %v", v, err)
			continue
		}
		out = append(out, v)
	}
	return out
}
