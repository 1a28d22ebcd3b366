package httpapi

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/julienschmidt/httprouter"

	"github.com/karajo/karajo/actors"
	"github.com/karajo/karajo/config"
)

// envView is the body of GET /karajo/api/environment (SPEC Appendix A);
// jobs and http_jobs come encoded from the supervisor's snapshot. The
// answer is not encoded from it with json.Marshal, which would validate
// and compact the big encoded jobs again, but spliced by encodeEnv, byte
// for byte the same.
type envView struct {
	Jobs          json.RawMessage `json:"jobs"`
	HTTPJobs      json.RawMessage `json:"http_jobs"`
	Name          string          `json:"name"`
	ListenAddress string          `json:"listen_address"`
	DirBase       string          `json:"dir_base"`
	DirPublic     string          `json:"dir_public"`
	Version       string          `json:"version"`
	HTTPTimeout   time.Duration   `json:"http_timeout"`
	MaxJobRunning int             `json:"max_job_running"`
	IsDevelopment bool            `json:"is_development"`
}

// envAnswer is an encoded environment answer, valid for one snapshot and
// one configuration, shared by every request that reads it: plain is
// built with it, the gzip form on the first request that accepts gzip
// (gzipped).
type envAnswer struct {
	snap  *actors.Snapshot
	conf  *apiConfig
	tail  []byte // the fields of envView after http_jobs, for conf (envTail)
	plain []byte

	gzOnce sync.Once
	gz     []byte // plain gzipped, once gzOnce has run
	gzErr  error
}

// gzipped returns the answer gzipped, compressing it on the first call;
// it is safe for concurrent use.
func (a *envAnswer) gzipped() ([]byte, error) {
	a.gzOnce.Do(func() {
		zw := envGzipWriters.Get().(*gzip.Writer)
		defer func() {
			zw.Reset(io.Discard) // let go of the buffer before pooling the writer
			envGzipWriters.Put(zw)
		}()
		var gz bytes.Buffer
		gz.Grow(len(a.plain) / 8)
		zw.Reset(&gz)
		_, _ = zw.Write(a.plain) // a bytes.Buffer does not fail
		if err := zw.Close(); err != nil {
			a.gzErr = fmt.Errorf("gzip environment: %w", err)
			return
		}
		a.gz = gz.Bytes()
	})
	return a.gz, a.gzErr
}

// envGzipWriters holds the gzip writers of the environment answers, at
// BestSpeed: the answer is compressed once per change, while clients wait.
var envGzipWriters = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed) // the level is valid: no error
	return zw
}}

// environment handles GET /karajo/api/environment: every job's state. The
// supervisor encodes its snapshot once per change (only the jobs that
// changed); the envelope around it is built once per snapshot and its gzip
// form once, on the first request that accepts gzip, and then they are
// served as they are, so a poll costs one actor round trip and a write.
// Gzipped when the client accepts it (IMP-38).
func (s *Server) environment(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	if _, err := s.readQuery(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	snap, err := actors.Ask[*actors.Snapshot](s.engine.Root(), s.engine.Supervisor(), &actors.GetSnapshot{}, s.timeout)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c := s.conf.Load()
	a := s.envCache.Load()
	if a == nil || a.snap != snap || a.conf != c {
		if a, err = s.encodeEnv(snap, c, a); err != nil {
			s.writeError(w, r, err)
			return
		}
		s.envCache.Store(a)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Add("Vary", "Accept-Encoding")
	body := a.plain
	if acceptsGzip(r.Header.Get("Accept-Encoding")) {
		if body, err = a.gzipped(); err != nil {
			s.writeError(w, r, err)
			return
		}
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// Pieces of the environment answer around the encoded jobs and the tail
// (see encodeEnv).
const (
	envOpen     = `{"data":{"jobs":`
	envHTTPJobs = `,"http_jobs":`
	envClose    = `,"code":200}`
	// envNoJobs is how envView encodes with empty jobs, up to the tail.
	envNoJobs = `{"jobs":{},"http_jobs":{},`
)

// encodeEnv builds the answer for snap and c: byte for byte what
// json.Marshal(envelope{Data: envView{...}, Code: 200}) makes, but spliced
// from pieces, so that the encoded jobs (valid compact JSON from the
// supervisor's json encoding, HTML-escaped) are copied once instead of
// being validated and compacted again. The tail of the configuration's
// fields is taken from prev when it was built for the same c. The gzip
// form is left for gzipped.
func (s *Server) encodeEnv(snap *actors.Snapshot, c *apiConfig, prev *envAnswer) (*envAnswer, error) {
	var tail []byte
	if prev != nil && prev.conf == c {
		tail = prev.tail
	} else {
		var err error
		if tail, err = s.envTail(c); err != nil {
			return nil, err
		}
	}
	jobs, httpJobs := rawOrNull(snap.Jobs), rawOrNull(snap.HTTPJobs)
	b := make([]byte, 0, len(envOpen)+len(jobs)+len(envHTTPJobs)+len(httpJobs)+1+len(tail)+len(envClose))
	b = append(b, envOpen...)
	b = append(b, jobs...)
	b = append(b, envHTTPJobs...)
	b = append(b, httpJobs...)
	b = append(b, ',')
	b = append(b, tail...)
	b = append(b, envClose...)
	return &envAnswer{snap: snap, conf: c, tail: tail, plain: b}, nil
}

// envView returns the environment of configuration c with the given
// encoded jobs.
func (s *Server) envView(c *apiConfig, jobs, httpJobs json.RawMessage) envView {
	return envView{
		Jobs:          jobs,
		HTTPJobs:      httpJobs,
		Name:          c.env.Name,
		ListenAddress: s.listen,
		DirBase:       c.env.DirBase,
		DirPublic:     c.env.DirPublic,
		Version:       s.version,
		HTTPTimeout:   c.env.HTTPTimeout,
		MaxJobRunning: c.env.MaxJobRunning,
		IsDevelopment: c.env.IsDevelopment,
	}
}

// envTail returns the fields of envView after http_jobs for c, up to the
// brace that closes data: `"name":…,"is_development":…}`. It encodes
// envView itself, with empty jobs, so that the fields stay those of
// envView and encoded as json.Marshal encodes them.
func (s *Server) envTail(c *apiConfig) ([]byte, error) {
	b, err := json.Marshal(s.envView(c, json.RawMessage(`{}`), json.RawMessage(`{}`)))
	if err != nil {
		return nil, fmt.Errorf("encode environment: %w", err)
	}
	tail, ok := bytes.CutPrefix(b, []byte(envNoJobs))
	if !ok {
		return nil, fmt.Errorf("encode environment: %s does not start with %s", b, envNoJobs)
	}
	return tail, nil
}

// rawOrNull returns b, or null for nil, as json.Marshal encodes a
// json.RawMessage.
func rawOrNull(b []byte) []byte {
	if b == nil {
		return []byte("null")
	}
	return b
}

// runJob handles POST /karajo/api/job_exec/run/<path>: a webhook trigger,
// authenticated by the job's auth_kind over the raw body (SPEC 4.4.3, 5).
// The body is opaque signed bytes and is never parsed as a form.
// Replies: 200 with the job as queued; 403, 404, 412, 413, 429; 408 and
// 503 for a body too slow or over the bytes in flight.
//
// What does not depend on the body is answered before any of it is read
// (issue 14): an unknown path (404), a Content-Length over the cap (413)
// or over the room left in the budget of bodies in flight (503), a
// missing or malformed signature header (403). The body is then hashed
// as it arrives, never held whole (readSigned). A paused or busy job is
// answered after the signature, as SPEC 4.4.3 orders (403 before 412 and
// 429: an unauthenticated client learns nothing of the job's state).
func (s *Server) runJob(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	p := ps.ByName("path")
	job, ok := s.conf.Load().paths[actors.PathKey(p)]
	var pid *actor.PID
	if ok {
		pid, ok = s.engine.Job(job.ID)
	}
	if !ok {
		s.metrics.TriggerRefused("not_found")
		s.writeError(w, r, &apiError{Code: http.StatusNotFound, Name: nameJobNotFound, Message: "job not found: " + p})
		return
	}
	if s.forward(w, r, "job", job.ID, nil, "") { // forward.go: a cluster's non-owner
		return
	}
	in := newInbound(job, r.Header)
	status, answer, err := s.receiveWebhook(w, r, job, pid, in)
	// Recorded before the answer is written: a client that reads the
	// deliveries after its answer finds its own (the job's mailbox is FIFO).
	s.engine.Root().Send(pid, &actors.RecordDelivery{Delivery: in.delivery(s.remoteOf(r), job, status, answer.Message, answer.RunCounter, err)})
	if err != nil {
		s.writeError(w, r, fmt.Errorf("job %s: %w", job.ID, err))
		return
	}
	writeJSON(w, status, answer)
}

// remoteOf is the client address of r for a delivery record and the
// history (clientOf); RemoteAddr as it is when that holds no address.
func (s *Server) remoteOf(r *http.Request) string {
	if a, ok := s.clientOf(r); ok {
		return a.String()
	}
	return printable(r.RemoteAddr, 64)
}

// clientOf is the address of r's client: the one a cluster node that
// forwarded r vouches for (its signature holds: forwarded), else the
// peer, or behind a trusted proxy its client (clientIP). ok is false
// when there is none.
func (s *Server) clientOf(r *http.Request) (netip.Addr, bool) {
	if f, ok := s.forwarded(r); ok {
		if a, err := netip.ParseAddr(f.client); err == nil {
			return a.Unmap().WithZone(""), true
		}
	}
	return clientIP(r, s.limits().TrustedProxies)
}

// receiveWebhook takes a webhook for job (actor pid) through the rules
// of issue 15, in order: allow_from (403, before anything is read), the
// signature (403), a ping (200 pong), paused (412), require_epoch (403),
// the delivery id (400 when malformed or required and missing), the
// events and refs filters (202 ignored, no run), and then the trigger,
// whose actor refuses a replay (409) or a busy job (429).
func (s *Server) receiveWebhook(w http.ResponseWriter, r *http.Request, job *config.Job, pid *actor.PID, in *inbound) (int, envelope, error) {
	client, known := s.clientOf(r)
	if err := checkAllowFrom(job.Webhook, client, known); err != nil {
		s.metrics.TriggerRefused("not_allowed")
		return 0, envelope{}, err
	}
	body, err := s.signedBody(w, r, job, pid, in)
	if ping := isPing(job.AuthKind, r.Header); ping && (err == nil || errors.Is(err, actors.ErrJobPaused)) {
		if body != nil {
			body.Close()
		}
		// A sender's ping (issue 15): authentic, but not work.
		return http.StatusOK, envelope{Code: http.StatusOK, Message: "pong"}, nil
	}
	if err != nil {
		switch {
		case errors.Is(err, errForbidden):
			s.metrics.TriggerRefused("forbidden")
		case errors.Is(err, actors.ErrJobPaused):
			s.metrics.TriggerRefused("paused")
		}
		return 0, envelope{}, err
	}
	delivery, err := s.deliveryKey(job, r.Header, body)
	if err != nil {
		body.Close()
		return 0, envelope{}, err
	}
	if delivery != "" {
		in.id = delivery
	}
	if why := webhookIgnored(job, r.Header, body); why != "" {
		body.Close()
		s.metrics.TriggerRefused("ignored")
		return http.StatusAccepted, envelope{Code: http.StatusAccepted, Message: why}, nil
	}
	payload := webhookPayload(job, r.Header, body)
	if payload == nil || payload.Body == nil {
		defer body.Close()
	} // else the job owns the body from the Trigger on
	v, err := actors.Ask[*actors.JobView](s.engine.Root(), pid, &actors.Trigger{Reason: "webhook", Payload: payload, DeliveryID: delivery, Remote: s.remoteOf(r)}, s.timeout)
	if err != nil {
		return 0, envelope{}, err
	}
	return http.StatusOK, envelope{Data: v, Message: "OK", Code: http.StatusOK, RunCounter: v.RunCounter}, nil
}

// deliveryKey returns the identity under which the job's replay window
// remembers a verified delivery: the sender's delivery id, or with
// require_epoch the hash of a body whose _karajo_epoch is fresh; "" for
// none (accepted as v0.9.3 does).
func (s *Server) deliveryKey(job *config.Job, h http.Header, body *verifiedBody) (string, error) {
	if job.RequireEpoch {
		return epochDeliveryID(body.Open(), body.sum[:], s.now())
	}
	id, err := deliveryID(job.AuthKind, h)
	if err != nil {
		return "", err
	}
	return id, requireDeliveryID(job, id)
}

// webhookIgnored returns why a verified delivery is not work for job
// (its events and refs filters), "" when it is.
func webhookIgnored(job *config.Job, h http.Header, body *verifiedBody) string {
	if len(job.Events) == 0 && len(job.Refs) == 0 {
		return ""
	}
	var ref string
	var hasRef bool
	if len(job.Refs) > 0 {
		ref, hasRef = bodyRef(body.Open())
	}
	return ignoredBy(job.Webhook, deliveryEvent(job.AuthKind, h), ref, hasRef)
}

// signedBody reads and verifies the body of a webhook for job (actor
// pid), refusing what it can before reading (see runJob). The body is
// kept (spooled past 64 KiB) only when the job hands it to its run
// (keepsBody), and not when the job is paused as the request arrives: a
// paused job gets no run, so its payload is hashed only, and once the
// signature holds the answer is 412 (actors.ErrJobPaused).
func (s *Server) signedBody(w http.ResponseWriter, r *http.Request, job *config.Job, pid *actor.PID, in *inbound) (*verifiedBody, error) {
	if r.ContentLength > maxRunBody {
		return nil, &http.MaxBytesError{Limit: maxRunBody}
	}
	check, err := newWebhookCheck(job.AuthKind, job.HeaderSign, jobSecrets(job), r.Header)
	if err != nil {
		return nil, err
	}
	if l := s.limits(); r.ContentLength > s.bodies.room(l.MaxBodyBytesInFlight) {
		w.Header().Set("Retry-After", "1")
		return nil, fmt.Errorf("%w: %d bytes announced, max_body_bytes_in_flight is %d", errBodyBudget, r.ContentLength, l.MaxBodyBytesInFlight)
	}
	keep, paused := keepsBody(job), false
	if keep {
		v, err := actors.Ask[*actors.JobView](s.engine.Root(), pid, &actors.GetJob{}, s.timeout)
		paused = err == nil && v.Paused
		keep = !paused
	}
	head, sum := &prefixSink{}, sha256.New()
	seen := io.MultiWriter(head, sum, countingWriter{&in.size})
	if in.body != nil {
		seen = io.MultiWriter(seen, in.body)
	}
	body, err := readSigned(w, io.TeeReader(r.Body, seen), maxRunBody, check, keep || needsBody(job), "")
	if err == nil || errors.Is(err, errForbidden) { // read to its end
		in.sum = sum.Sum(nil)
		in.secret = check.matched
	}
	switch {
	case err != nil:
		return nil, err
	case head.isReadTarget() && slices.Contains(jobSecrets(job), s.conf.Load().env.Secret):
		body.Close()
		return nil, fmt.Errorf("body is a signed read's target, signed with the [karajo] secret: %w", errForbidden)
	case paused:
		body.Close()
		return nil, fmt.Errorf("paused as the webhook arrived, payload not kept: %w", actors.ErrJobPaused)
	}
	copy(body.sum[:], in.sum)
	return body, nil
}

// control builds the handler of POST /karajo/api/job_exec/{pause,resume,cancel}
// (SPEC 4.4.4): X-Karajo-Sign is HMAC-SHA256 of the raw body with the env
// secret; _karajo_epoch, when present, within ±5 min (IMP-16); id only from
// the signed form body (IMP-18). Order: 400, 413 → 401 → 404 → 200.
func (s *Server) control(msg func() any) httprouter.Handle {
	return func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
		body, form, err := readControlForm(w, r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if !validHMAC(s.conf.Load().env.Secret, body, r.Header.Get("X-Karajo-Sign")) {
			s.writeError(w, r, errBadSignature)
			return
		}
		if err := checkEpoch(form, s.now()); err != nil {
			s.writeError(w, r, err)
			return
		}
		if err := refuseReadTarget(form); err != nil {
			s.writeError(w, r, err)
			return
		}
		id := form.Get("id")
		pid, ok := s.engine.Job(id)
		if !ok {
			s.writeError(w, r, &apiError{Code: http.StatusNotFound, Name: nameJobNotFound, Message: "job not found: " + id})
			return
		}
		m := msg()
		if _, cancel := m.(*actors.Cancel); cancel && s.forward(w, r, "job", id, body, "api") { // forward.go: the run is on the owner
			return
		}
		v, err := actors.Ask[*actors.JobView](s.engine.Root(), pid, m, s.timeout)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, envelope{Data: v, Code: http.StatusOK})
	}
}

// readControlForm reads the body of a control request (bounded), checks
// the query strictly and, for a form body, parses it strictly: the body
// stays as sent, for its signature.
func readControlForm(w http.ResponseWriter, r *http.Request) ([]byte, url.Values, error) {
	body, err := readBody(w, r, maxOtherBody)
	if err != nil {
		return nil, nil, err
	}
	if _, err := parseStrictQuery(r.URL.RawQuery); err != nil {
		return nil, nil, err
	}
	form := url.Values{}
	if isForm(r) {
		if form, err = parseStrictQuery(string(body)); err != nil {
			return nil, nil, err
		}
	}
	return body, form, nil
}

// isForm reports whether the request body is a URL-encoded form.
func isForm(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/x-www-form-urlencoded"
}

// execLog handles GET /karajo/api/job_exec/log?id=&counter= (SPEC 4.4.5):
// one log with its content in base64, streamed from the file (memory stays
// flat whatever its size) and gzipped when the client accepts it.
func (s *Server) execLog(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	pid, q, err := s.logJob(r, false)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.serveLog(w, r, pid, q.Get("counter"))
}

// logJob does what every log endpoint does first: authorise the read,
// parse the query and find the job named by id (lower-cased, SPEC
// 4.4.5): an unknown exec job is 404, an unknown JobHttp 400 (4.4.7).
func (s *Server) logJob(r *http.Request, httpJob bool) (*actor.PID, url.Values, error) {
	q, err := s.readQuery(r)
	if err != nil {
		return nil, nil, err
	}
	id := strings.ToLower(q.Get("id"))
	if httpJob {
		pid, ok := s.engine.JobHTTP(id)
		if !ok {
			return nil, nil, invalidJobID(id)
		}
		return pid, q, nil
	}
	pid, ok := s.engine.Job(id)
	if !ok {
		return nil, nil, &apiError{Code: http.StatusNotFound, Message: "job ID " + id + " not found"}
	}
	return pid, q, nil
}

// streamLog writes {"code":200,"data":<JobLog>} with the content encoded
// on the fly.
func (s *Server) streamLog(w http.ResponseWriter, r *http.Request, lf *actors.LogFile) {
	out, done := compressed(w, r)
	defer done()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	head, _ := json.Marshal(struct {
		JobID   string `json:"job_id"`
		Name    string `json:"name"`
		Status  string `json:"status"`
		Counter int64  `json:"counter"`
	}{lf.JobID, lf.Name, lf.Status, lf.Counter})
	// head is {...}; reopen it to append the content field.
	if _, err := fmt.Fprintf(out, `{"code":200,"data":%s,"content":"`, head[:len(head)-1]); err != nil {
		return
	}
	enc := base64.NewEncoder(base64.StdEncoding, out)
	if _, err := io.Copy(enc, io.LimitReader(lf.File, lf.Size)); err != nil {
		s.log.Debug("stream log", "job", lf.JobID, "log", lf.Name, "err", err)
		return
	}
	_ = enc.Close()
	_, _ = io.WriteString(out, "\"}}\n")
}
