package httpapi

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/julienschmidt/httprouter"

	"github.com/karajo/karajo/actors"
	"github.com/karajo/karajo/config"
)

// pathExecDeliveries lists a webhook job's delivery records (issue 15).
const pathExecDeliveries = "/karajo/api/job_exec/deliveries"

// routeDeliveries adds the delivery inspector's endpoint.
func (s *Server) routeDeliveries(handle func(method, path string, h httprouter.Handle)) {
	handle(http.MethodGet, pathExecDeliveries, s.deliveries)
	handle(http.MethodHead, pathExecDeliveries, headJSON)
}

// deliveries handles GET /karajo/api/job_exec/deliveries?id=<id>: the
// job's last delivery_retention delivery records, newest first, with the
// read authorization of the environment. Unknown or empty id → 400
// ERR_INVALID_JOB_ID.
func (s *Server) deliveries(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	q, err := s.readQuery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	id := q.Get("id")
	pid, ok := s.engine.Job(id)
	if !ok {
		s.writeError(w, r, invalidJobID(id))
		return
	}
	v, err := actors.Ask[*actors.Deliveries](s.engine.Root(), pid, &actors.GetDeliveries{}, s.timeout)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, envelope{Data: v, Code: http.StatusOK})
}

// inbound is what the handling of one webhook learns for its delivery
// record as it goes (receiveWebhook fills it).
type inbound struct {
	event  string
	id     string // the delivery id, or the body hash with require_epoch
	size   int64  // body bytes read
	sum    []byte // SHA-256 of the body, when it was read to its end
	secret int    // position (from 1) of the secret that verified it
	body   *cappedBuffer
}

// cappedBuffer keeps the first max bytes written to it and counts the
// rest (keep_delivery_body).
type cappedBuffer struct {
	buf []byte
	max int
	cut bool
}

// Write keeps what fits; it never fails.
func (c *cappedBuffer) Write(p []byte) (int, error) {
	room := c.max - len(c.buf)
	if len(p) > room {
		c.cut = true
		c.buf = append(c.buf, p[:max(room, 0)]...)
	} else {
		c.buf = append(c.buf, p...)
	}
	return len(p), nil
}

// countingWriter counts the bytes written to it.
type countingWriter struct{ n *int64 }

// Write counts p; it never fails.
func (c countingWriter) Write(p []byte) (int, error) {
	*c.n += int64(len(p))
	return len(p), nil
}

// newInbound starts the record of a request to job's webhook path.
func newInbound(job *config.Job, h http.Header) *inbound {
	in := &inbound{event: deliveryEvent(job.AuthKind, h)}
	for _, name := range deliveryHeaders[job.AuthKind] {
		if v := strings.TrimSpace(h.Get(name)); v != "" {
			in.id = printable(v, maxDeliveryIDLen)
			break
		}
	}
	if job.KeepDeliveryBody {
		in.body = &cappedBuffer{max: config.MaxDeliveryBody}
	}
	return in
}

// delivery builds the record of a request to job answered with status and
// message (the envelope's), or refused with err (then status and message
// come from it). counter is the run it started, 0 for none.
func (in *inbound) delivery(remote string, job *config.Job, status int, message string, counter int64, err error) actors.Delivery {
	d := actors.Delivery{
		Time:       time.Now().UTC(),
		Remote:     remote,
		Kind:       job.AuthKind,
		Event:      in.event,
		DeliveryID: in.id,
		Size:       in.size,
		Status:     status,
		Reason:     message,
		RunCounter: counter,
		Secret:     in.secret,
	}
	if in.sum != nil {
		d.SHA256 = hex.EncodeToString(in.sum)
	}
	if err != nil {
		ae := toAPIError(err)
		d.Status, d.Reason = ae.Code, ae.Message
		if ae.Code == http.StatusForbidden && ae.Message == "forbidden" {
			d.Reason = "forbidden: " + strings.TrimSuffix(errorText(err), ": "+errForbidden.Error())
		}
		d.Secret = 0
	}
	d.Verdict = verdictOf(d.Status, d.Reason)
	if d.Verdict == actors.VerdictAccepted {
		d.Reason = fmt.Sprintf("accepted as run #%d", counter)
	}
	if in.body != nil && len(in.body.buf) > 0 {
		d.Body, d.BodyCut = string(in.body.buf), in.body.cut
		if !utf8.ValidString(d.Body) {
			d.Body, d.BodyBase64 = base64.StdEncoding.EncodeToString(in.body.buf), true
		}
	}
	return d
}

// errorText is the text of err without the "job <id>: " its handlers
// prefix, for a record's reason.
func errorText(err error) string {
	var ae *apiError
	if errors.As(err, &ae) && ae.Err != nil {
		err = ae.Err
	}
	return err.Error()
}

// verdictOf names the outcome of a delivery answered with status.
func verdictOf(status int, message string) string {
	switch status {
	case http.StatusOK:
		if message == "pong" {
			return actors.VerdictPong
		}
		return actors.VerdictAccepted
	case http.StatusAccepted:
		return actors.VerdictIgnored
	case http.StatusBadRequest:
		return actors.VerdictBadRequest
	case http.StatusForbidden:
		return actors.VerdictForbidden
	case http.StatusRequestEntityTooLarge:
		return actors.VerdictTooLarge
	case http.StatusConflict:
		return actors.VerdictReplayed
	case http.StatusPreconditionFailed:
		return actors.VerdictPaused
	case http.StatusTooManyRequests:
		return actors.VerdictBusy
	}
	return actors.VerdictError
}
