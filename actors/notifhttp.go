package actors

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/karajo/karajo/config"
)

const (
	// logTailLines is how many of the log's last lines a webhook carries.
	logTailLines = 20
	// logTailBytes bounds what is read from the log's end for them.
	logTailBytes = 16 << 10
	// httpNotifTimeout bounds one POST of a webhook or Slack notification.
	httpNotifTimeout = 30 * time.Second
)

// errPermanent marks an HTTP notification that sending again cannot fix
// (a 4xx answer other than 408 and 429, a redirect): not retried.
var errPermanent = errors.New("refused by the receiver")

// webhookDoc is the JSON document a kind = "webhook" notif POSTs.
type webhookDoc struct {
	Event    string   `json:"event"`   // run, failed_streak, recovered, no_success
	Message  string   `json:"message"` // one line: the job, what happened and since when
	JobID    string   `json:"job_id"`
	JobName  string   `json:"job_name"`
	Kind     string   `json:"kind"`    // job or job_http
	Counter  int64    `json:"counter"` // the run's (for no_success: the job's last)
	Status   string   `json:"status,omitempty"`
	Trigger  string   `json:"trigger,omitempty"`
	Started  string   `json:"started,omitempty"` // RFC 3339, UTC
	Duration float64  `json:"duration"`          // seconds
	Log      []string `json:"log"`               // the run's last lines (at most 20)
	LogURL   string   `json:"log_url,omitempty"` // with [karajo] public_url
}

// httpNotif is a built HTTP notification: its body and headers, the same
// for every attempt.
type httpNotif struct {
	body     []byte
	delivery string // X-Karajo-Delivery: one id for all attempts
}

// buildHTTPNotif builds the body of m for its notif's kind.
func (nt *notifier) buildHTTPNotif(m *mailTask) (*httpNotif, error) {
	var tail []string
	if m.logPath != "" {
		var err error
		if tail, err = logTail(m.logPath, logTailLines, logTailBytes); err != nil {
			return nil, fmt.Errorf("read log: %w", err)
		}
	}
	doc := webhookDoc{Event: cmp.Or(m.event, eventRun), Message: m.message(), JobID: m.jobID, JobName: m.jobName,
		Kind: m.kind, Counter: m.counter, Status: m.status, Trigger: m.trigger,
		Duration: m.dur.Seconds(), Log: tail, LogURL: nt.logURL(m)}
	if doc.Log == nil {
		doc.Log = []string{}
	}
	if !m.started.IsZero() {
		doc.Started = stamp(m.started)
	}
	var v any = doc
	if m.notif.Kind == config.NotifSlack {
		v = slackMessage(&doc)
	}
	body, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode notification: %w", err)
	}
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	return &httpNotif{body: body, delivery: hex.EncodeToString(id)}, nil
}

// message is m's one line: the alert text, or the run's outcome.
func (m *mailTask) message() string {
	if m.text != "" {
		return m.text
	}
	return fmt.Sprintf("%s %s: run #%d: %s", m.kind, m.jobID, m.counter, m.status)
}

// logURL is the dashboard's page of m's run log under public_url, or "".
func (nt *notifier) logURL(m *mailTask) string {
	if nt.opts.PublicURL == "" || m.logPath == "" {
		return ""
	}
	page := "job_exec"
	if m.kind == "job_http" {
		page = "job_http"
	}
	q := url.Values{"id": {m.jobID}, "counter": {fmt.Sprint(m.counter)}}
	return nt.opts.PublicURL + "/karajo/" + page + "/log/?" + q.Encode()
}

// postHTTP makes one POST of hn to m's notif: signed with X-Karajo-Sign
// (hex HMAC-SHA256 of the body) when a webhook has a secret. A 2xx answer
// is success; 408, 429 and 5xx are worth a retry; any other answer wraps
// errPermanent. Errors never hold the URL (a Slack URL is a secret): only
// its scheme and host.
func (nt *notifier) postHTTP(ctx context.Context, m *mailTask, hn *httpNotif) error {
	n := m.notif
	ctx, cancel := context.WithTimeout(ctx, httpNotifTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.URL, bytes.NewReader(hn.body))
	if err != nil {
		return fmt.Errorf("post to %s: bad URL: %w", config.RedactURL(n.URL), errPermanent)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "karajo/"+nt.opts.Version)
	if n.Kind == config.NotifWebhook {
		req.Header.Set("X-Karajo-Event", cmp.Or(m.event, eventRun))
		req.Header.Set("X-Karajo-Delivery", hn.delivery)
		if n.Secret != "" {
			mac := hmac.New(sha256.New, []byte(n.Secret))
			mac.Write(hn.body)
			req.Header.Set("X-Karajo-Sign", hex.EncodeToString(mac.Sum(nil)))
		}
	}
	resp, err := nt.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("post to %s: %w", config.RedactURL(n.URL), err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return nil
	case c == http.StatusRequestTimeout || c == http.StatusTooManyRequests || c >= 500:
		return fmt.Errorf("post to %s: HTTP %d", config.RedactURL(n.URL), c)
	default:
		return fmt.Errorf("post to %s: HTTP %d: %w", config.RedactURL(n.URL), c, errPermanent)
	}
}

// newNotifClient is the HTTP client of webhook and Slack notifications: it
// follows no redirect (a signed body goes where it was configured to, or
// nowhere).
func newNotifClient() *http.Client {
	return &http.Client{
		Timeout:       httpNotifTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// logTail returns the last n lines of the file at path, reading at most
// limit bytes from its end (a first line cut by that limit is dropped).
func logTail(path string, n int, limit int64) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	start := max(fi.Size()-limit-1, 0) // one byte more: is the cut at a line start?
	buf := make([]byte, fi.Size()-start)
	if _, err := f.ReadAt(buf, start); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if start > 0 {
		_, buf, _ = bytes.Cut(buf, []byte("\n")) // the cut line, or the '\n' before a whole one
	}
	text := strings.TrimRight(string(buf), "\n")
	if text == "" {
		return []string{}, nil
	}
	lines := strings.Split(text, "\n")
	return lines[max(len(lines)-n, 0):], nil
}

// Slack colours of a message's attachment, by outcome.
const (
	slackGood    = "#2eb886"
	slackDanger  = "#d50200"
	slackWarning = "#daa038"
)

// slackMessage is the Slack incoming-webhook message for doc: the line as
// text, and an attachment coloured by outcome with the job, the run and
// its duration, linked to the log when public_url is set.
func slackMessage(doc *webhookDoc) map[string]any {
	color := slackDanger
	switch {
	case doc.Event == eventRecovered || (doc.Event == eventRun && doc.Status == StatusSuccess):
		color = slackGood
	case doc.Event == eventNoSuccess:
		color = slackWarning
	}
	fields := []map[string]any{{"title": "Job", "value": slackEscape(doc.JobName + " (" + doc.JobID + ")"), "short": true}}
	if doc.Status != "" {
		fields = append(fields,
			map[string]any{"title": "Run", "value": slackEscape(fmt.Sprintf("#%d %s (%s)", doc.Counter, doc.Status, cmp.Or(doc.Trigger, "?"))), "short": true},
			map[string]any{"title": "Duration", "value": time.Duration(doc.Duration * float64(time.Second)).Round(time.Millisecond).String(), "short": true})
	}
	att := map[string]any{"color": color, "fallback": slackEscape(doc.Message), "title": slackEscape(doc.Message),
		"fields": fields, "footer": "karajo"}
	text := slackEscape(doc.Message)
	if doc.LogURL != "" {
		att["title_link"] = doc.LogURL
		text += " <" + doc.LogURL + "|log>"
	}
	return map[string]any{"text": text, "attachments": []any{att}}
}

// slackEscape escapes the three characters Slack's message format reserves.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
