package actors

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/karajo/karajo/config"
	"github.com/karajo/karajo/logstore"
)

// maxResponseLog caps the response body kept in a JobHttp log (IMP-26).
const maxResponseLog = 1 << 20

// httpRun is the work of one run of a JobHttp (run by a runChild): one
// signed request (SPEC 6), with request and response written to the log.
// Canceling aborts the request.
type httpRun struct {
	cfg     *config.JobHTTP
	counter int64
	self    string // base URL of this server, for relative http_url
	version string
	begin   string          // the log's first line (duePoint.beginLine); "" = "=== BEGIN"
	rl      *logstore.Guard // the run's log: capped, write errors kept (runstart.go)
	log     *slog.Logger
	exited  func() // called once the request ended and the log is sealed; may be nil (pipeline.go)
}

// line and write write the log; a write error is kept by the Guard (and
// reported once by it).
func (r *httpRun) line(msg string) { _ = r.rl.Line(msg) }

func (r *httpRun) write(b []byte) { _, _ = r.rl.Write(b) }

// execute performs the request and finishes the log.
func (r *httpRun) execute(ctx context.Context) *runFinished {
	start := time.Now()
	fin := &runFinished{counter: r.counter, status: StatusSuccess}
	prefix := "job_http: " + r.cfg.ID + ": "
	r.line(cmp.Or(r.begin, beginPrefix))
	err := maskErr(r.do(ctx), config.Secrets(r.cfg.Environ))
	if fin.logErr = logFailure(r.rl); fin.logErr != nil && err == nil && ctx.Err() == nil {
		err = fin.logErr
	}
	switch {
	case ctx.Err() != nil:
		fin.status = StatusCanceled
		r.line("??? CANCELED")
	case err != nil:
		fin.status, fin.err = StatusFailed, err
		r.line("!!! " + prefix + err.Error())
	default:
		r.line("=== DONE")
		r.line("=== " + prefix + "finished.")
	}
	fin.dur = time.Since(start)
	ref, ferr := finishLog(r.rl, fin.status, r.exited)
	if ferr != nil {
		r.log.Error("finish run log", "job_http", r.cfg.ID, "counter", r.counter, "err", ferr)
	}
	fin.ref = ref
	return fin
}

// request builds the request of this run (SPEC 6.1-6.4).
func (r *httpRun) request(ctx context.Context, epoch int64) (*http.Request, error) {
	c := r.cfg
	target, err := httpTarget(c, r.self, r.counter)
	if err != nil {
		return nil, err
	}
	headers, err := httpHeaders(c, r.counter)
	if err != nil {
		return nil, err
	}
	param, jsonBody := "_karajo_epoch="+strconv.FormatInt(epoch, 10), `{"_karajo_epoch":`+strconv.FormatInt(epoch, 10)+`}`
	if c.NoEpoch {
		param, jsonBody = "", "{}"
	}
	var body []byte
	var signed []byte
	contentType := ""
	switch c.RequestType {
	case config.RequestForm:
		body = []byte(param)
		signed = body
		contentType = "application/x-www-form-urlencoded"
	case config.RequestJSON:
		body = []byte(jsonBody)
		signed = body
		contentType = "application/json"
	default: // query
		sep := "?"
		if strings.Contains(target, "?") {
			sep = "&" // IMP-25
		}
		if param != "" {
			target += sep + param
		}
		signed = []byte(param)
	}
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("invalid http_url %q after expansion: %w", c.HTTPURL, err)
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, c.Method, u.String(), rd)
	if err != nil {
		return nil, fmt.Errorf("new request: %w", err)
	}
	if body == nil && (c.Method == http.MethodPost || c.Method == http.MethodPut) {
		req.Body = http.NoBody
		req.ContentLength = 0
	}
	req.Header.Set("User-Agent", "karajo/"+r.version)
	for _, h := range headers {
		req.Header.Set(h[0], h[1])
	}
	if c.Secret != "" {
		m := hmac.New(sha256.New, []byte(c.Secret))
		m.Write(signed)
		req.Header.Set(c.HeaderSign, hex.EncodeToString(m.Sum(nil)))
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return req, nil
}

// do sends the request and logs both sides (secret values masked by the
// log). Success iff the answer's status is in http_success (default 200).
func (r *httpRun) do(ctx context.Context) error {
	req, err := r.request(ctx, time.Now().Unix())
	if err != nil {
		return fmt.Errorf("execute: %w", err)
	}
	if dump, err := httputil.DumpRequestOut(req, true); err == nil {
		r.line("--- HTTP request:")
		r.write(dump)
		r.write([]byte("\n\n"))
	}
	resp, err := r.client().Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("execute: Do: %w", err)
	}
	defer resp.Body.Close()
	head, err := httputil.DumpResponse(resp, false)
	if err != nil {
		return fmt.Errorf("execute: dump response: %w", err)
	}
	r.line("--- HTTP response:")
	r.write(head)
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseLog+1))
	truncated := len(body) > maxResponseLog
	if truncated {
		body = body[:maxResponseLog]
	}
	r.write(body)
	if truncated {
		r.write([]byte("\n[truncated: response body over 1 MiB]"))
		_, _ = io.Copy(io.Discard, resp.Body)
	}
	r.write([]byte("\n\n"))
	if err != nil {
		return fmt.Errorf("execute: read response: %w", err)
	}
	if !httpSucceeded(r.cfg, resp.StatusCode) {
		return fmt.Errorf("execute: %s", resp.Status)
	}
	return nil
}

// client builds the HTTP client of this job: overall timeout (0 = none),
// 10 s to connect and for the TLS handshake, proxies from the environment.
func (r *httpRun) client() *http.Client {
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		TLSHandshakeTimeout: 10 * time.Second,
		DisableKeepAlives:   true,
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: r.cfg.HTTPInsecure}, //nolint:gosec // configured by the operator
	}
	return &http.Client{Transport: tr, Timeout: r.cfg.HTTPTimeout, CheckRedirect: newRedirectPolicy(r.cfg, r.line).check}
}
