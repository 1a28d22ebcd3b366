package integration

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// deliveryRecord is one record of GET /karajo/api/job_exec/deliveries.
type deliveryRecord struct {
	Time       time.Time `json:"time"`
	Remote     string    `json:"remote"`
	Kind       string    `json:"kind"`
	Event      string    `json:"event"`
	DeliveryID string    `json:"delivery_id"`
	Size       int64     `json:"size"`
	SHA256     string    `json:"sha256"`
	Status     int       `json:"status"`
	Verdict    string    `json:"verdict"`
	Reason     string    `json:"reason"`
	RunCounter int64     `json:"run_counter"`
	Secret     int       `json:"secret"`
	Body       string    `json:"body"`
	BodyCut    bool      `json:"body_truncated"`
}

// deliveriesOf fetches a job's delivery records, newest first.
func (s *server) deliveriesOf(t *testing.T, id string) []deliveryRecord {
	t.Helper()
	env := wantEnvelope(t, s.get(t, "/karajo/api/job_exec/deliveries?id="+id), http.StatusOK)
	var v struct {
		ID        string           `json:"id"`
		Retention int              `json:"delivery_retention"`
		Records   []deliveryRecord `json:"deliveries"`
	}
	if err := json.Unmarshal(env.Data, &v); err != nil {
		t.Fatalf("deliveries of %s: %v", id, err)
	}
	return v.Records
}

// TestWebhookDeliveries (issue 15): every request to a webhook path is
// recorded with its verdict and reason — accepted (with its run and the
// position of the secret that verified it), forbidden, ignored, replayed,
// pong, bad request, paused — newest first, the last delivery_retention
// of them, surviving a restart; bodies only with keep_delivery_body;
// karajo_webhook_deliveries_total counts them by job and verdict; the
// endpoint refuses an unknown id with a 400 envelope.
func TestWebhookDeliveries(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeConfig(t, dir, configHeader(dir)+`
[job.gh]
path = "/gh"
auth_kind = "github"
secret = ["new-secret", "old-secret"]
events = ["push"]
keep_delivery_body = true
commands = ["true"]

[job.small]
path = "/small"
secret = "s"
delivery_retention = 3
commands = ["true"]
`)
	s := startDir(t, dir)
	body := []byte(`{"ref":"refs/heads/main"}`)
	wantEnvelope(t, ghDelivery(t, s, "gh", "old-secret", "push", "d-1", body, nil), http.StatusOK)
	s.waitRun(t, "gh", 1, 60*time.Second)
	wantEnvelope(t, ghDelivery(t, s, "gh", "old-secret", "push", "d-1", body, nil), http.StatusConflict)
	wantEnvelope(t, ghDelivery(t, s, "gh", "wrong", "push", "d-2", body, nil), http.StatusForbidden)
	wantEnvelope(t, ghDelivery(t, s, "gh", "new-secret", "issues", "d-3", body, nil), http.StatusAccepted)
	wantEnvelope(t, ghDelivery(t, s, "gh", "new-secret", "ping", "d-4", body, nil), http.StatusOK)
	wantEnvelope(t, ghDelivery(t, s, "gh", "new-secret", "push", strings.Repeat("x", 200), body, nil), http.StatusBadRequest)
	s.act(t, "pause", "gh")
	wantEnvelope(t, ghDelivery(t, s, "gh", "new-secret", "push", "d-5", body, nil), http.StatusPreconditionFailed)

	sum := sha256.Sum256(body)
	want := []struct {
		verdict, reason, id string
		status              int
		counter             int64
		secret              int
	}{
		{"paused", "job is paused", "d-5", 412, 0, 0},
		{"bad_request", "invalid request: header X-GitHub-Delivery longer than 128 bytes", strings.Repeat("x", 128), 400, 0, 0},
		{"pong", "pong", "d-4", 200, 0, 1},
		{"ignored", "ignored: event issues not in events", "d-3", 202, 0, 1},
		{"forbidden", "forbidden: github: header X-Hub-Signature-256 does not match the body", "d-2", 403, 0, 0},
		{"replayed", "delivery d-1 already accepted as run #1", "d-1", 409, 0, 0},
		{"accepted", "accepted as run #1", "d-1", 200, 1, 2},
	}
	got := s.deliveriesOf(t, "gh")
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Verdict != w.verdict || g.Reason != w.reason || g.DeliveryID != w.id || g.Status != w.status || g.RunCounter != w.counter || g.Secret != w.secret {
			t.Errorf("record %d: %+v, want %+v", i, g, w)
		}
		if g.Kind != "github" || g.Remote != "127.0.0.1" || g.Time.IsZero() {
			t.Errorf("record %d: kind %q remote %q time %v", i, g.Kind, g.Remote, g.Time)
		}
		if g.Event == "" {
			t.Errorf("record %d: no event", i)
		}
	}
	if a := got[len(got)-1]; a.Size != int64(len(body)) || a.SHA256 != hex.EncodeToString(sum[:]) || a.Body != string(body) {
		t.Errorf("accepted record: size %d sha256 %q body %q", a.Size, a.SHA256, a.Body)
	}
	for _, g := range got {
		for _, secret := range []string{"new-secret", "old-secret"} {
			if strings.Contains(fmt.Sprint(g), secret) {
				t.Errorf("record shows a secret: %+v", g)
			}
		}
	}

	for i := 1; i <= 5; i++ {
		wantEnvelope(t, s.trigger(t, "small", "s"), http.StatusOK)
		s.waitRun(t, "small", int64(i), 60*time.Second)
	}
	wantEnvelope(t, s.raw(t, http.MethodPost, "/karajo/api/job_exec/run/small", map[string]string{"X-Karajo-Sign": "bad"}, []byte(`{}`)), http.StatusForbidden)
	small := s.deliveriesOf(t, "small")
	if len(small) != 3 || small[0].Verdict != "forbidden" || small[1].Reason != "accepted as run #5" || small[2].Reason != "accepted as run #4" || small[0].Body != "" {
		t.Errorf("small: %+v", small)
	}
	m := string(s.get(t, "/metrics").body)
	for _, line := range []string{`karajo_webhook_deliveries_total{job="gh",verdict="accepted"} 1`, `karajo_webhook_deliveries_total{job="small",verdict="accepted"} 5`,
		`karajo_webhook_deliveries_total{job="gh",verdict="replayed"} 1`} {
		if !strings.Contains(m, line) {
			t.Errorf("/metrics lacks %s", line)
		}
	}
	wantError(t, s.get(t, "/karajo/api/job_exec/deliveries?id=nope"), http.StatusBadRequest, "invalid or empty job id: nope", "ERR_INVALID_JOB_ID")
	wantEnvelope(t, s.get(t, "/karajo/api/job_exec/deliveries?id=gh%zz"), http.StatusBadRequest)

	s2 := s.restart(t)
	if again := s2.deliveriesOf(t, "gh"); len(again) != len(want) || again[0].Verdict != "paused" || again[len(again)-1].Reason != "accepted as run #1" {
		t.Errorf("after restart: %+v", again)
	}
	if again := s2.deliveriesOf(t, "small"); len(again) != 3 || again[0].Verdict != "forbidden" {
		t.Errorf("small after restart: %+v", again)
	}
}
