package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// client is one client subcommand's connection to a server.
type client struct {
	conn
	name    string // the subcommand, for messages
	http    *http.Client
	timeout time.Duration // of one request; of a stream's first answer
}

// answer is a server's JSON envelope (SPEC 4.3).
type answer struct {
	Data       json.RawMessage `json:"data"`
	Message    string          `json:"message"`
	Name       string          `json:"name"`
	RunCounter int64           `json:"run_counter"`
	Code       int             `json:"code"`
}

// cliError is a failure of a client subcommand: the one line to print
// and the exit code.
type cliError struct {
	code int
	msg  string
}

func (e *cliError) Error() string { return e.msg }

// failf makes a *cliError.
func failf(code int, format string, a ...any) error {
	return &cliError{code: code, msg: fmt.Sprintf(format, a...)}
}

// clientFlags adds the connection flags to fs; connect resolves them.
type clientFlags struct {
	url, secret, config *string
	timeout             *time.Duration
}

func addClientFlags(fs *flag.FlagSet) clientFlags {
	return clientFlags{
		url:     fs.String("url", "", "server URL (default $KARAJO_URL, else from -config, else "+defaultURL+")"),
		secret:  fs.String("secret", "", "the [karajo] secret (default $KARAJO_SECRET, else from -config)"),
		config:  fs.String("config", "", "read URL and secret from this server configuration file"),
		timeout: fs.Duration("timeout", 30*time.Second, "how long one request may take"),
	}
}

// connect makes the client of subcommand name from its parsed flags.
func (f clientFlags) connect(name string) (*client, error) {
	c, err := connection(*f.url, *f.secret, *f.config)
	if err != nil {
		return nil, failf(exitUsage, "%v", err)
	}
	return &client{conn: c, name: name, http: &http.Client{Timeout: *f.timeout}, timeout: *f.timeout}, nil
}

// epoch is the _karajo_epoch of a request sent now.
func epoch() string { return strconv.FormatInt(time.Now().Unix(), 10) }

// read GETs path with query q (and _karajo_epoch), signed over the
// request target when a secret is known (signed reads, needed when the
// server has users), and decodes the envelope's data into v.
func (c *client) read(path string, q url.Values, v any) error {
	target, hdr := c.signedTarget(path, q)
	a, err := c.do(http.MethodGet, target, hdr, nil)
	if err != nil {
		return err
	}
	return c.decode(a, v)
}

// postForm POSTs the form body _karajo_epoch=…&id=id to path, signed over
// the body (exec control endpoints and run_now).
func (c *client) postForm(path, id string) (*answer, error) {
	body := "_karajo_epoch=" + epoch() + "&id=" + url.QueryEscape(id)
	hdr := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	hdr.Set("X-Karajo-Sign", signature(c.Secret, []byte(body)))
	return c.do(http.MethodPost, path, hdr, []byte(body))
}

// postQuery POSTs to path?_karajo_epoch=…&id=id, signed over the raw
// query (job_http pause and resume).
func (c *client) postQuery(path, id string) (*answer, error) {
	q := "_karajo_epoch=" + epoch() + "&id=" + url.QueryEscape(id)
	hdr := http.Header{}
	hdr.Set("X-Karajo-Sign", signature(c.Secret, []byte(q)))
	return c.do(http.MethodPost, path+"?"+q, hdr, nil)
}

// do sends one request and returns the envelope of a 2xx answer. Any
// other outcome is a *cliError: unreachable (exit 1), an answer that is
// not an envelope (exit 1), a refusal (4xx, exit 3) or a server error
// (5xx, exit 1), with the envelope's message.
func (c *client) do(method, target string, hdr http.Header, body []byte) (*answer, error) {
	res, err := c.send(c.http, method, target, hdr, body)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	return c.envelope(res)
}

// send sends one request with hc and returns the response, whatever its
// status; an unreachable server is a *cliError (exit 1).
func (c *client) send(hc *http.Client, method, target string, hdr http.Header, body []byte) (*http.Response, error) {
	req, err := http.NewRequest(method, c.URL+target, bytes.NewReader(body))
	if err != nil {
		return nil, failf(exitUsage, "server URL %q: %v", c.URL, err)
	}
	copyHeader(req.Header, hdr)
	res, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, failf(exitServer, "server %s unreachable: %v", c.URL, err)
	}
	return res, nil
}

// envelope reads res's body as an envelope: the answer when it is a
// success, else the *cliError that do documents.
func (c *client) envelope(res *http.Response) (*answer, error) {
	raw, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return nil, failf(exitServer, "read the answer of %s: %v", c.URL, err)
	}
	var a answer
	if err := json.Unmarshal(raw, &a); err != nil || a.Code == 0 {
		return nil, failf(exitServer, "%s answered HTTP %d with something that is not a karajo answer (%s)",
			c.URL, res.StatusCode, snippet(raw))
	}
	switch {
	case res.StatusCode >= 200 && res.StatusCode < 300 && a.Code < 300:
		return &a, nil
	case res.StatusCode >= 400 && res.StatusCode < 500:
		return nil, failf(exitRefused, "%s (HTTP %d)", a.Message, res.StatusCode)
	default:
		code := max(res.StatusCode, a.Code)
		if code >= 400 && code < 500 { // v0.9.3: 200 with a 404 inside
			return nil, failf(exitRefused, "%s (HTTP %d)", a.Message, code)
		}
		return nil, failf(exitServer, "server error: %s (HTTP %d)", a.Message, code)
	}
}

// signedTarget is path?query with _karajo_epoch added, and the headers
// of a signed read of it (no signature without a secret).
func (c *client) signedTarget(path string, q url.Values) (string, http.Header) {
	if q == nil {
		q = url.Values{}
	}
	q.Set("_karajo_epoch", epoch())
	target := path + "?" + q.Encode()
	hdr := http.Header{}
	if c.Secret != "" {
		hdr.Set("X-Karajo-Sign", signature(c.Secret, []byte(target)))
	}
	return target, hdr
}

// decode unmarshals the envelope's data into v.
func (c *client) decode(a *answer, v any) error {
	if err := json.Unmarshal(a.Data, v); err != nil {
		return failf(exitServer, "%s answered data this client does not understand: %v", c.URL, err)
	}
	return nil
}

// copyHeader copies every header of src into dst.
func copyHeader(dst, src http.Header) {
	for k, vs := range src {
		dst[k] = vs
	}
}

// snippet is the start of a body for an error message, on one line.
func snippet(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if s == "" {
		return "empty body"
	}
	if len(s) > 60 {
		s = s[:60] + "…"
	}
	return strconv.Quote(s)
}

// exitWith prints err (a *cliError or not) as one line on stderr and
// returns its exit code; nil is exitOK.
func exitWith(stderr io.Writer, name string, err error) int {
	if err == nil {
		return exitOK
	}
	var ce *cliError
	if !errors.As(err, &ce) {
		ce = &cliError{code: exitServer, msg: err.Error()}
	}
	fmt.Fprintf(stderr, "karajo %s: %s\n", name, ce.msg)
	return ce.code
}
