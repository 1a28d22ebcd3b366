package actors

import (
	"bufio"
	"bytes"
	"encoding/json"
	"time"

	"github.com/karajo/karajo/config"
)

// Delivery verdicts: what became of a request to a webhook path (issue 15,
// the delivery inspector). They label karajo_webhook_deliveries_total.
const (
	VerdictAccepted   = "accepted"    // a run started or queued (200)
	VerdictPong       = "pong"        // a sender's ping (200, no run)
	VerdictIgnored    = "ignored"     // events or refs filtered it out (202, no run)
	VerdictBadRequest = "bad_request" // malformed, or require_delivery_id (400)
	VerdictForbidden  = "forbidden"   // signature, allow_from or require_epoch (403)
	VerdictTooLarge   = "too_large"   // body over the limit (413)
	VerdictReplayed   = "replayed"    // delivery already accepted (409)
	VerdictPaused     = "paused"      // job paused (412)
	VerdictBusy       = "busy"        // run in progress (429)
	VerdictError      = "error"       // any other refusal (408, 5xx)
)

// Verdicts lists every verdict, in the order above.
var Verdicts = []string{VerdictAccepted, VerdictPong, VerdictIgnored, VerdictBadRequest, VerdictForbidden,
	VerdictTooLarge, VerdictReplayed, VerdictPaused, VerdictBusy, VerdictError}

// Delivery is what the inspector keeps of one request to a job's webhook
// path. The body itself only with keep_delivery_body, cut at
// config.MaxDeliveryBody; never a signature or a secret.
type Delivery struct {
	Time       time.Time `json:"time"`
	Remote     string    `json:"remote"`                // the client address (behind a trusted proxy, its client)
	Kind       string    `json:"kind"`                  // the job's auth_kind
	Event      string    `json:"event,omitempty"`       // the sender's event header
	DeliveryID string    `json:"delivery_id,omitempty"` // the sender's id (or the body hash with require_epoch)
	Size       int64     `json:"size"`                  // body bytes read
	SHA256     string    `json:"sha256,omitempty"`      // hex SHA-256 of the body, when it was read whole
	Status     int       `json:"status"`                // the HTTP status answered
	Verdict    string    `json:"verdict"`               // one of Verdicts
	Reason     string    `json:"reason"`                // the verdict in words
	RunCounter int64     `json:"run_counter,omitempty"` // the run it started or queued as
	Secret     int       `json:"secret,omitempty"`      // the position (from 1) of the listed secret that verified it
	Body       string    `json:"body,omitempty"`        // keep_delivery_body: the body (UTF-8 as sent, or base64 when not)
	BodyBase64 bool      `json:"body_base64,omitempty"` // Body is standard base64
	BodyCut    bool      `json:"body_truncated,omitempty"`
}

// RecordDelivery asks a webhook job to keep d among its delivery records
// (sent, not asked: the answer to the sender does not wait for it).
type RecordDelivery struct {
	Delivery Delivery
}

// GetDeliveries asks a job for its delivery records, newest first; the
// answer is a *Deliveries.
type GetDeliveries struct{}

// Deliveries is the answer to GetDeliveries.
type Deliveries struct {
	Job       string     `json:"id"`
	Retention int        `json:"delivery_retention"`
	Records   []Delivery `json:"deliveries"`
}

// deliveryRing is a job's last delivery records, oldest first, at most
// keep of them: a pure type, owned by the job actor, with no I/O.
type deliveryRing struct {
	records []Delivery
	lines   int // records in the file, dropped ones included (the file is rewritten past 2 × keep)
}

// add keeps d, dropping the oldest past keep; it reports whether the
// file holds so many dropped records that it should be rewritten.
func (r *deliveryRing) add(d Delivery, keep int) (compact bool) {
	r.records = append(r.records, d)
	if n := len(r.records) - keep; n > 0 {
		r.records = append(r.records[:0], r.records[n:]...)
	}
	r.lines++
	return r.lines > 2*keep
}

// newest returns the records, newest first (a copy).
func (r *deliveryRing) newest() []Delivery {
	out := make([]Delivery, len(r.records))
	for i, d := range r.records {
		out[len(out)-1-i] = d
	}
	return out
}

// encode returns the records as the file holds them, one JSON a line.
func (r *deliveryRing) encode() []byte {
	var b bytes.Buffer
	for _, d := range r.records {
		line, _ := json.Marshal(d) // a Delivery always encodes
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// decodeDeliveries reads a records file, keeping the last keep; lines
// that do not decode (a line cut by a crash) are skipped and counted.
func decodeDeliveries(data []byte, keep int) (r *deliveryRing, bad int) {
	r = &deliveryRing{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 4*config.MaxDeliveryBody+4096)
	for sc.Scan() {
		var d Delivery
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil || d.Verdict == "" {
			bad++
			continue
		}
		r.add(d, keep)
	}
	if sc.Err() != nil {
		bad++
	}
	return r, bad
}

// deliveryRetention is the job's delivery_retention; JobHttp jobs have
// no webhook.
func (j *job) deliveryRetention() int {
	if j.exec == nil || j.exec.DeliveryRetention <= 0 {
		return config.DefaultDeliveryRetention
	}
	return j.exec.DeliveryRetention
}

// deliveriesLoaded returns the job's records, reading their file on first
// use (so that a start with many webhook jobs reads none of them).
func (j *job) deliveriesLoaded() *deliveryRing {
	if j.deliveries != nil {
		return j.deliveries
	}
	data, err := j.store.LoadDeliveryLog(j.kind, j.id)
	if err != nil {
		j.log.Error("load delivery records", "job", j.id, "err", err)
	}
	r, bad := decodeDeliveries(data, j.deliveryRetention())
	if bad > 0 {
		j.log.Warn("delivery records: lines skipped", "job", j.id, "lines", bad)
	}
	j.deliveries = r
	return r
}

// recordDelivery keeps d: appended to the file, which is rewritten with
// the kept records once it holds twice as many as delivery_retention. A
// failed write is logged; the records in memory stay.
func (j *job) recordDelivery(d Delivery) {
	r := j.deliveriesLoaded()
	j.rt.metrics.deliveryRecorded(j.id, d.Verdict)
	log, id := j.log, j.id
	onErr := func(err error) { log.Error("save delivery record", "job", id, "err", err) }
	var err error
	if r.add(d, j.deliveryRetention()) {
		r.lines = len(r.records)
		err = j.store.QueueDeliveryLogRewrite(j.kind, j.id, r.encode(), onErr)
	} else {
		line, _ := json.Marshal(d) // a Delivery always encodes
		err = j.store.QueueDeliveryLog(j.kind, j.id, append(line, '\n'), onErr)
	}
	if err != nil {
		onErr(err)
	}
}

// deliveriesView answers GetDeliveries.
func (j *job) deliveriesView() *Deliveries {
	return &Deliveries{Job: j.id, Retention: j.deliveryRetention(), Records: j.deliveriesLoaded().newest()}
}
