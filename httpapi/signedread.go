package httpapi

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Signed reads (issue 14, finding 8). A read with users configured may be
// signed instead of logged in: X-Karajo-Sign is the HMAC-SHA256, with the
// [karajo] secret, of the request target as sent, path and raw query
// (/karajo/api/job_exec/log?_karajo_epoch=…&id=…). The same secret signs
// control requests (a form body or a raw query) and the webhooks of jobs
// without a secret of their own (the raw body), so the signed bytes of a
// read must never pass as those: a control request whose parameters hold
// a name with '/' is refused (a read target parses as a form whose first
// name is its path and query start), and so is a webhook body that starts
// with readPrefix when the job's secret is the [karajo] one.

// readPrefix starts every signed read target.
const readPrefix = "/karajo/"

// readTarget returns the target of r as the client sent it (origin form:
// path and raw query), which a signed read signs.
func readTarget(r *http.Request) string {
	t := r.RequestURI
	if !strings.HasPrefix(t, "/") { // absolute form, from a proxy
		if u, err := url.Parse(t); err == nil {
			t = u.RequestURI()
		}
	}
	return t
}

// refuseReadTarget refuses the signed parameters of a control request
// when they are a signed read's target: a parameter name with '/'.
func refuseReadTarget(vals url.Values) error {
	for k := range vals {
		if strings.Contains(k, "/") {
			return fmt.Errorf("%w: parameter name %.64q holds '/': a signed read is not a control request", errBadRequest, k)
		}
	}
	return nil
}

// prefixSink keeps the first len(readPrefix) bytes written to it.
type prefixSink struct {
	head []byte
}

// Write keeps what is still missing of the head.
func (p *prefixSink) Write(b []byte) (int, error) {
	if n := len(readPrefix) - len(p.head); n > 0 {
		p.head = append(p.head, b[:min(n, len(b))]...)
	}
	return len(b), nil
}

// isReadTarget reports whether the body began like a signed read target.
func (p *prefixSink) isReadTarget() bool {
	return bytes.Equal(p.head, []byte(readPrefix))
}
