package httpapi

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// errBadRequest refuses a malformed request, such as a bad query string or
// form body: 400. Errors wrapping it read "invalid request: <what>", and
// that text is the message of the answer (SPEC 4.3, IMP-13), so the
// wrapping must say what was wrong without echoing secrets.
var errBadRequest = errors.New("invalid request")

// parseStrictQuery parses a raw query string or URL-encoded form body as
// url.ParseQuery does, and refuses what v0.9.3 answers with 400 (SPEC 4.3):
// a bad percent escape ("%zz", "50%") or a ';' separator. On error the
// values are nil and the error wraps errBadRequest with a text starting
// "invalid request: ". An empty raw gives empty, non-nil values.
func parseStrictQuery(raw string) (url.Values, error) {
	if i := strings.IndexByte(raw, ';'); i >= 0 {
		return nil, fmt.Errorf("%w: ';' at byte %d: parameters are separated by '&' only", errBadRequest, i)
	}
	vals, err := url.ParseQuery(raw)
	if err != nil {
		var esc url.EscapeError
		if errors.As(err, &esc) {
			return nil, fmt.Errorf("%w: bad percent escape %q in query or form", errBadRequest, string(esc))
		}
		return nil, fmt.Errorf("%w: %v", errBadRequest, err)
	}
	return vals, nil
}

// parseCounter parses the counter parameter of the log endpoints
// (?counter=, SPEC 4.4.5): a base-10 signed 64-bit integer, as
// strconv.ParseInt accepts it (an optional sign; no spaces, no "0x", no
// '_'). ok is false for anything else; the caller answers 404 "log #<raw>
// not found".
func parseCounter(raw string) (n int64, ok bool) {
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return 0, false
	}
	return n, true
}
