package httpapi

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/karajo/karajo/config"
)

// The rules of issue 15 a verified webhook passes before it is work:
// allow_from (before the signature), require_epoch, require_delivery_id,
// and the events and refs filters. Each is a plain function of the job
// and the request, table-tested in webhookrules_test.go.

// checkAllowFrom refuses (403) a webhook whose client address a (ok
// false: none) is in none of the job's allow_from prefixes. The address
// is the peer's, or the first untrusted hop of X-Forwarded-For when the
// peer is a trusted proxy, or the one a forwarding cluster node signed
// (Server.clientOf). No allow_from allows anyone.
func checkAllowFrom(w config.Webhook, a netip.Addr, ok bool) error {
	if len(w.AllowFrom) == 0 {
		return nil
	}
	if ok && trustedAddr(a, w.AllowFrom) {
		return nil
	}
	addr := "the sender's address"
	if ok {
		addr = a.String()
	}
	return &apiError{Code: http.StatusForbidden, Name: nameForbidden, Message: "forbidden: " + addr + " not in allow_from",
		Err: fmt.Errorf("sender %s not in allow_from: %w", addr, errForbidden)}
}

// requireDeliveryID refuses (400) a delivery without the sender's id
// header when the job sets require_delivery_id.
func requireDeliveryID(job *config.Job, id string) error {
	if !job.RequireDeliveryID || id != "" {
		return nil
	}
	names := strings.Join(deliveryHeaders[job.AuthKind], " or ")
	msg := "delivery id required (require_delivery_id): header " + names + " missing"
	return &apiError{Code: http.StatusBadRequest, Message: msg, Err: fmt.Errorf("%w: %s", errBadRequest, msg)}
}

// epochDeliveryID applies require_epoch to a verified body with SHA-256
// sum: the body must carry one _karajo_epoch within ±5 min of now — a
// JSON object's top-level member (a number or a decimal string) or a
// form field — and its identity for replay protection is its hash, so
// that the same signed body within the window is refused (409). A body
// without a valid epoch is refused as forbidden (403).
func epochDeliveryID(body io.Reader, sum []byte, now time.Time) (string, error) {
	vals, err := epochValues(body)
	if err == nil {
		if _, ok := vals["_karajo_epoch"]; !ok {
			err = errors.New("no _karajo_epoch in the body")
		} else {
			err = checkEpoch(vals, now)
		}
	}
	if err != nil {
		return "", &apiError{Code: http.StatusForbidden, Name: nameForbidden, Message: "forbidden: stale or missing _karajo_epoch in the body (require_epoch)",
			Err: fmt.Errorf("require_epoch: %w: %w", err, errForbidden)}
	}
	return "sha256:" + hex.EncodeToString(sum), nil
}

// maxEpochBody is how much of a body is read for its _karajo_epoch: the
// bodies karajo's clients send are a few dozen bytes.
const maxEpochBody = 64 << 10

// epochValues reads the _karajo_epoch of a body: a JSON object (first
// byte '{' after spaces) or else a form. Only _karajo_epoch is returned.
func epochValues(body io.Reader) (url.Values, error) {
	b, err := io.ReadAll(io.LimitReader(body, maxEpochBody+1))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if len(b) > maxEpochBody {
		return nil, fmt.Errorf("body over %d bytes", maxEpochBody)
	}
	if t := bytes.TrimLeft(b, " \t\r\n"); len(t) > 0 && t[0] == '{' {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("body is not a JSON object: %w", err)
		}
		raw, ok := m["_karajo_epoch"]
		if !ok {
			return url.Values{}, nil
		}
		var s string
		if json.Unmarshal(raw, &s) != nil {
			s = string(raw) // a number as written: checkEpoch wants digits only
		}
		return url.Values{"_karajo_epoch": {s}}, nil
	}
	q, err := url.ParseQuery(string(b))
	if err != nil {
		return nil, fmt.Errorf("body is not a form: %w", err)
	}
	if v, ok := q["_karajo_epoch"]; ok {
		return url.Values{"_karajo_epoch": v}, nil
	}
	return url.Values{}, nil
}

// eventHeaders are the headers naming a delivery's event, by kind, first
// present wins.
var eventHeaders = map[string][]string{
	config.AuthGitHub: {headerGitHubEvent},
	config.AuthGitea:  {headerGiteaEvent, headerForgejoEvent},
	config.AuthGitLab: {headerGitLabEvent},
}

// maxEventLen bounds the event name kept in a record or a message.
const maxEventLen = 64

// deliveryEvent returns the event a delivery to a job of kind names,
// trimmed, cut to maxEventLen and made printable ASCII; "" when the kind
// has no event header or the request has none.
func deliveryEvent(kind string, h http.Header) string {
	for _, n := range eventHeaders[kind] {
		if v := strings.TrimSpace(h.Get(n)); v != "" {
			return printable(v, maxEventLen)
		}
	}
	return ""
}

// printable returns s cut to max bytes, every byte outside printable
// ASCII replaced with '?': safe in a message, a record and a log line.
func printable(s string, max int) string {
	if len(s) > max {
		s = s[:max]
	}
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '?'
		}
	}
	return string(b)
}

// ignoredBy returns why a verified delivery with event and ref (hasRef:
// the body has a string "ref") is not work for w — "" when it is. A job
// with refs ignores a delivery without a ref.
func ignoredBy(w config.Webhook, event, ref string, hasRef bool) string {
	if len(w.Events) > 0 {
		switch {
		case event == "":
			return "ignored: no event header, events is set"
		case !slices.Contains(w.Events, strings.ToLower(event)):
			return "ignored: event " + event + " not in events"
		}
	}
	if len(w.Refs) == 0 {
		return ""
	}
	if !hasRef {
		return "ignored: no ref in the body, refs is set"
	}
	for _, p := range w.Refs {
		if ok, _ := path.Match(p, ref); ok { // patterns are checked at start
			return ""
		}
	}
	return "ignored: ref " + printable(ref, 256) + " not in refs"
}

// bodyRef returns the string value of the top-level "ref" member of a
// JSON object body (the last one, as encoding/json reads it), streaming
// it member by member: at most one member's value is held at a time,
// never the body whole (as fast as json.Unmarshal of the whole body:
// BenchmarkBodyRef). ok is false when the body is not a JSON object or
// has no string ref.
func bodyRef(body io.Reader) (ref string, ok bool) {
	d := json.NewDecoder(body)
	d.UseNumber()
	if t, err := d.Token(); err != nil || t != json.Delim('{') {
		return "", false
	}
	for d.More() {
		t, err := d.Token()
		if err != nil {
			return "", false
		}
		key, _ := t.(string)
		if key == "ref" {
			v, err := d.Token()
			if err != nil {
				return "", false
			}
			if s, isStr := v.(string); isStr {
				ref, ok = s, true
				continue
			}
			ref, ok = "", false
			if err := skipValue(d, v); err != nil {
				return "", false
			}
			continue
		}
		var skip json.RawMessage // one member's value at a time
		if err := d.Decode(&skip); err != nil {
			return "", false
		}
	}
	if t, err := d.Token(); err != nil || t != json.Delim('}') {
		return "", false // cut short: not a JSON object
	}
	return ref, ok
}

// skipValue skips the rest of the value that began with token t.
func skipValue(d *json.Decoder, t json.Token) error {
	if t != json.Delim('{') && t != json.Delim('[') {
		return nil
	}
	for depth := 1; depth > 0; {
		t, err := d.Token()
		if err != nil {
			return err
		}
		switch t {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
	return nil
}

// needsBody reports whether the rules of job read its verified body
// (require_epoch, refs, keep_delivery_body), which must then be kept
// until they have.
func needsBody(job *config.Job) bool {
	return job.RequireEpoch || len(job.Refs) > 0 || job.KeepDeliveryBody
}
