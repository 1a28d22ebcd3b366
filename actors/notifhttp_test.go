package actors

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/karajo/karajo/config"
)

// hookReceiver is a real HTTP server on loopback recording each POST; its
// answers come from codes in turn (200 once they run out).
type hookReceiver struct {
	srv   *httptest.Server
	mu    sync.Mutex
	got   []hookPost
	codes []int
	delay time.Duration
}

// hookPost is one request a hookReceiver got.
type hookPost struct {
	header http.Header
	body   []byte
}

func newHookReceiver(t *testing.T, codes ...int) *hookReceiver {
	t.Helper()
	h := &hookReceiver{codes: codes}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.got = append(h.got, hookPost{header: r.Header.Clone(), body: body})
		code := http.StatusOK
		if len(h.codes) > 0 {
			code, h.codes = h.codes[0], h.codes[1:]
		}
		delay := h.delay
		h.mu.Unlock()
		time.Sleep(delay)
		w.WriteHeader(code)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) posts() []hookPost {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookPost(nil), h.got...)
}

// TestNotifierWebhook: the document has the run's fields and the last 20
// log lines, is signed with the hex HMAC-SHA256 of the body, and links the
// log under public_url; the secret is nowhere in the log.
func TestNotifierWebhook(t *testing.T) {
	rec := newHookReceiver(t)
	const secret = "hook-s3cret-value"
	n := &config.Notif{Name: "hook", Kind: config.NotifWebhook, URL: rec.srv.URL + "/hook?token=zz", Secret: secret}
	nt := startNotifier(t, map[string]*config.Notif{"hook": n},
		notifierOptions{Backoff: time.Millisecond, PublicURL: "https://k.example.com", Version: "1.2.3"})
	var sb strings.Builder
	for i := 1; i <= 30; i++ {
		fmt.Fprintf(&sb, "line %d\n", i)
	}
	path := writeMailLog(t, sb.String())
	started := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	nt.system.Root.Send(nt.pid, &notifyRun{kind: "job", jobID: "backup_db", jobName: "Backup DB", counter: 12,
		status: "failed", logPath: path, names: []string{"hook"}, event: eventRun, trigger: "timer",
		started: started, dur: 1500 * time.Millisecond})
	waitMail(t, "the POST", func() bool { return len(rec.posts()) == 1 })
	p := rec.posts()[0]
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(p.body)
	if got := p.header.Get("X-Karajo-Sign"); got != hex.EncodeToString(mac.Sum(nil)) {
		t.Errorf("X-Karajo-Sign = %q, want the hex HMAC-SHA256 of the body", got)
	}
	if p.header.Get("Content-Type") != "application/json" || p.header.Get("X-Karajo-Event") != "run" ||
		len(p.header.Get("X-Karajo-Delivery")) != 32 || p.header.Get("User-Agent") != "karajo/1.2.3" {
		t.Errorf("headers %v", p.header)
	}
	var doc map[string]any
	if err := json.Unmarshal(p.body, &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"event": "run", "job_id": "backup_db", "job_name": "Backup DB", "kind": "job", "counter": 12.0,
		"status": "failed", "trigger": "timer", "started": "2026-03-04T05:06:07Z", "duration": 1.5,
		"message": "job backup_db: run #12: failed", "log_url": "https://k.example.com/karajo/job_exec/log/?counter=12&id=backup_db"}
	for k, v := range want {
		if doc[k] != v {
			t.Errorf("%s = %v, want %v", k, doc[k], v)
		}
	}
	lines, _ := doc["log"].([]any)
	if len(lines) != 20 || lines[0] != "line 11" || lines[19] != "line 30" {
		t.Errorf("log = %v, want lines 11 to 30", lines)
	}
	waitMail(t, "sent log", func() bool { return len(nt.logs.records("notification sent")) == 1 })
	all := fmt.Sprint(nt.logs.records(""))
	if strings.Contains(all, secret) || strings.Contains(all, "token=zz") {
		t.Errorf("the log shows the secret or the URL's query: %s", all)
	}
}

// TestNotifierWebhookRetries: 500 then 200 is sent on the second attempt;
// a 404 is not retried; a dead receiver fails every attempt. No error
// shows the URL's path or query.
func TestNotifierWebhookRetries(t *testing.T) {
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "http://" + dead.Addr().String() + "/p/s3cretpath"
	dead.Close()
	for _, c := range []struct {
		name     string
		codes    []int
		url      string
		posts    int
		sent     bool
		attempts float64
	}{
		{"500 then 200", []int{500, 200}, "", 2, true, 2},
		{"503 429 408 then 200", []int{503, 429, 408}, "", 4, true, 4},
		{"404 is final", []int{404}, "", 1, false, 1},
		{"dead receiver", nil, deadURL, 0, false, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := newHookReceiver(t, c.codes...)
			u := c.url
			if u == "" {
				u = rec.srv.URL + "/p/s3cretpath"
			}
			n := &config.Notif{Name: "hook", Kind: config.NotifWebhook, URL: u}
			nt := startNotifier(t, map[string]*config.Notif{"hook": n}, notifierOptions{Backoff: time.Millisecond, Attempts: 4 - btoi(c.url != "")})
			nt.system.Root.Send(nt.pid, &notifyRun{kind: "job", jobID: "j", counter: 1, status: "failed",
				logPath: writeMailLog(t, "x\n"), names: []string{"hook"}})
			if c.sent {
				waitMail(t, "sent", func() bool { return len(nt.logs.records("notification sent")) == 1 })
				if got := nt.logs.records("notification sent")[0]["attempt"]; got != c.attempts {
					t.Errorf("sent at attempt %v, want %v", got, c.attempts)
				}
			} else {
				waitMail(t, "failed", func() bool { return len(nt.logs.records("notification failed")) == 1 })
				if got := nt.logs.records("notification failed")[0]["attempts"]; got != c.attempts {
					t.Errorf("failed after %v attempts, want %v", got, c.attempts)
				}
			}
			if got := len(rec.posts()); got != c.posts {
				t.Errorf("%d posts, want %d", got, c.posts)
			}
			if all := fmt.Sprint(nt.logs.records("")); strings.Contains(all, "s3cretpath") {
				t.Errorf("the log shows the URL's path: %s", all)
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestNotifierSlack: an incoming-webhook message coloured by outcome, with
// the job, the run, its duration and the log link; alerts carry their line.
func TestNotifierSlack(t *testing.T) {
	rec := newHookReceiver(t)
	n := &config.Notif{Name: "chat", Kind: config.NotifSlack, URL: rec.srv.URL + "/services/T/B/x"}
	nt := startNotifier(t, map[string]*config.Notif{"chat": n}, notifierOptions{PublicURL: "https://k.example.com"})
	path := writeMailLog(t, "ok\n")
	nt.system.Root.Send(nt.pid, &notifyRun{kind: "job_http", jobID: "ping", jobName: "Ping <prod>", counter: 3,
		status: "success", logPath: path, names: []string{"chat"}, trigger: "webhook", dur: 2 * time.Second})
	nt.system.Root.Send(nt.pid, &notifyRun{kind: "job", jobID: "b", jobName: "b", counter: 9, names: []string{"chat"},
		event: eventNoSuccess, title: "no successful run within 25h0m0s", text: "job b: no successful run within 25h0m0s: the last one ended 2026-01-01T00:00:00Z"})
	waitMail(t, "2 posts", func() bool { return len(rec.posts()) == 2 })
	byColor := map[string]map[string]any{}
	for _, p := range rec.posts() {
		if p.header.Get("X-Karajo-Sign") != "" {
			t.Errorf("Slack message signed")
		}
		var m struct {
			Text        string           `json:"text"`
			Attachments []map[string]any `json:"attachments"`
		}
		if err := json.Unmarshal(p.body, &m); err != nil || len(m.Attachments) != 1 {
			t.Fatalf("message %s: %v", p.body, err)
		}
		a := m.Attachments[0]
		a["_text"] = m.Text
		byColor[a["color"].(string)] = a
	}
	ok, warn := byColor[slackGood], byColor[slackWarning]
	if ok == nil || warn == nil {
		t.Fatalf("colours %v, want good and warning", byColor)
	}
	link := "https://k.example.com/karajo/job_http/log/?counter=3&id=ping"
	if ok["title_link"] != link || !strings.Contains(ok["_text"].(string), "<"+link+"|log>") {
		t.Errorf("success message %v, want the log link", ok)
	}
	fields := fmt.Sprint(ok["fields"])
	for _, w := range []string{"Ping &lt;prod&gt; (ping)", "#3 success (webhook)", "2s"} {
		if !strings.Contains(fields, w) {
			t.Errorf("fields %s lack %q", fields, w)
		}
	}
	if !strings.Contains(warn["_text"].(string), "no successful run within 25h0m0s") || warn["title_link"] != nil {
		t.Errorf("alert message %v", warn)
	}
}

// TestLogTail reads the last lines within a byte bound.
func TestLogTail(t *testing.T) {
	for _, c := range []struct {
		content string
		n       int
		limit   int64
		want    []string
	}{
		{"", 20, 100, []string{}},
		{"a\nb\nc\n", 2, 100, []string{"b", "c"}},
		{"a\nb\nc", 20, 100, []string{"a", "b", "c"}},
		{"aaaa\nbb\ncc\n", 20, 6, []string{"bb", "cc"}}, // "bb\ncc\n" is 6 bytes: whole lines
		{"aaaa\nbb\ncc\n", 20, 5, []string{"cc"}},       // "b\ncc\n": the cut line is dropped
		{"aaaa", 20, 2, []string{}},
	} {
		got, err := logTail(writeMailLog(t, c.content), c.n, c.limit)
		if err != nil || fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("logTail(%q, %d, %d) = %q, %v; want %q", c.content, c.n, c.limit, got, err, c.want)
		}
	}
}
