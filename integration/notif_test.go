package integration

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// This file tests e-mail notifications (SPEC 2.4, 10) against real SMTP
// servers run by the test: plain, STARTTLS (TLS required before MAIL,
// AUTH PLAIN) and implicit TLS, and a dead server.

// jhMail is one message received by a jhSMTP server.
type jhMail struct {
	from     string   // envelope MAIL FROM
	rcpts    []string // envelope RCPT TO
	data     []byte
	tls      bool   // the session was encrypted at MAIL time
	authUser string // user of a successful AUTH PLAIN, "" if none
}

// jhSMTP is an SMTP server on 127.0.0.1 recording every message.
type jhSMTP struct {
	addr string
	mu   sync.Mutex
	got  []jhMail

	requireTLS bool   // refuse MAIL before STARTTLS
	user, pass string // when set, refuse MAIL without AUTH PLAIN as user
}

// jhSMTPMode says how the server talks: "plain", "starttls" or "smtps".
func jhNewSMTP(t *testing.T, mode, user, pass string) *jhSMTP {
	t.Helper()
	ms := &jhSMTP{requireTLS: mode == "starttls", user: user, pass: pass}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &jhSession{ms: ms, conn: c}, nil
	}))
	srv.Domain = "mx.test"
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	srv.ErrorLog = jhNopLogger{}
	var ln net.Listener
	var err error
	switch mode {
	case "plain":
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	case "starttls":
		srv.TLSConfig = jhTLSConfig(t)
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	case "smtps":
		ln, err = tls.Listen("tcp", "127.0.0.1:0", jhTLSConfig(t))
	default:
		t.Fatalf("unknown SMTP mode %q", mode)
	}
	if err != nil {
		t.Fatal(err)
	}
	ms.addr = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ms
}

type jhNopLogger struct{}

func (jhNopLogger) Printf(string, ...any) {}
func (jhNopLogger) Println(...any)        {}

// mails returns the messages received so far.
func (ms *jhSMTP) mails() []jhMail {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return append([]jhMail(nil), ms.got...)
}

// jhSession is one SMTP session of a jhSMTP.
type jhSession struct {
	ms   *jhSMTP
	conn *smtp.Conn
	user string
	cur  jhMail
}

func (s *jhSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *jhSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if s.ms.user == "" || username != s.ms.user || password != s.ms.pass {
			return errors.New("invalid credentials")
		}
		s.user = username
		return nil
	}), nil
}

func (s *jhSession) Mail(from string, _ *smtp.MailOptions) error {
	_, isTLS := s.conn.TLSConnectionState()
	if s.ms.requireTLS && !isTLS {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Must issue a STARTTLS command first"}
	}
	if s.ms.user != "" && s.user == "" {
		return smtp.ErrAuthRequired
	}
	s.cur = jhMail{from: from, tls: isTLS, authUser: s.user}
	return nil
}

func (s *jhSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.rcpts = append(s.cur.rcpts, to)
	return nil
}

func (s *jhSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = data
	s.ms.mu.Lock()
	s.ms.got = append(s.ms.got, s.cur)
	s.ms.mu.Unlock()
	s.cur = jhMail{}
	return nil
}

func (s *jhSession) Reset()        { s.cur = jhMail{} }
func (s *jhSession) Logout() error { return nil }

// jhTLSConfig is a server TLS configuration with a fresh self-signed
// certificate for 127.0.0.1.
func jhTLSConfig(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "mx.test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"mx.test"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

// jhWaitMail waits until ms has received a message with this subject and
// returns it with its parsed header and decoded body.
func jhWaitMail(t *testing.T, ms *jhSMTP, subject string) (jhMail, *mail.Message, string) {
	t.Helper()
	var found jhMail
	var msg *mail.Message
	waitFor(t, 60*time.Second, fmt.Sprintf("mail %q on %s", subject, ms.addr), func() bool {
		for _, m := range ms.mails() {
			pm, err := mail.ReadMessage(bytes.NewReader(m.data))
			if err == nil && pm.Header.Get("Subject") == subject {
				found, msg = m, pm
				return true
			}
		}
		return false
	})
	if n := jhCountSubject(ms, subject); n != 1 {
		t.Errorf("%d mails %q on %s, want 1", n, subject, ms.addr)
	}
	if got := strings.ToLower(msg.Header.Get("Content-Transfer-Encoding")); got != "quoted-printable" {
		t.Errorf("%s: Content-Transfer-Encoding = %q, want quoted-printable", subject, got)
	}
	if ct := msg.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") || !strings.Contains(strings.ToLower(ct), "utf-8") {
		t.Errorf("%s: Content-Type = %q, want text/plain; charset=utf-8", subject, ct)
	}
	if _, err := msg.Header.Date(); err != nil {
		t.Errorf("%s: Date header %q: %v", subject, msg.Header.Get("Date"), err)
	}
	if msg.Header.Get("Message-Id") == "" {
		t.Errorf("%s: no Message-ID header", subject)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatalf("%s: quoted-printable body: %v", subject, err)
	}
	return found, msg, strings.ReplaceAll(string(body), "\r\n", "\n")
}

// jhCountSubject counts the messages of ms whose subject contains s.
func jhCountSubject(ms *jhSMTP, s string) int {
	n := 0
	for _, m := range ms.mails() {
		pm, err := mail.ReadMessage(bytes.NewReader(m.data))
		if err == nil && strings.Contains(pm.Header.Get("Subject"), s) {
			n++
		}
	}
	return n
}

// jhAddrs parses an address-list header into "Name <addr>" strings.
func jhAddrs(t *testing.T, h mail.Header, key string) []string {
	t.Helper()
	list, err := h.AddressList(key)
	if err != nil {
		t.Errorf("header %s %q: %v", key, h.Get(key), err)
		return nil
	}
	var out []string
	for _, a := range list {
		if a.Name != "" {
			out = append(out, a.Name+" <"+a.Address+">")
		} else {
			out = append(out, a.Address)
		}
	}
	return out
}

// TestNotifMail checks that runs ending success/failed send one mail per
// listed notification over plain SMTP, STARTTLS and implicit TLS, with the
// envelope, headers and body of SPEC 10, and that canceled runs send none.
func TestNotifMail(t *testing.T) {
	t.Parallel()
	plain := jhNewSMTP(t, "plain", "", "")
	starttls := jhNewSMTP(t, "starttls", "alice", "pw-1")
	implicit := jhNewSMTP(t, "smtps", "", "")
	s := start(t, fmt.Sprintf(`
[notif.plain]
kind = "email"
smtp_server = "smtp://%s"
from = "karajo@example.com"
to = ["ops@example.com", "Dev Team <dev@example.com>"]

[notif."tls mail"]
kind = "email"
smtp_server = "smtp+starttls://%s"
smtp_insecure = true
smtp_user = "alice"
smtp_password = "pw-1"
from = "tls@example.com"
to = ["sec@example.com"]

[notif.implicit]
kind = "email"
smtp_server = "smtps://%s"
smtp_insecure = true
from = "implicit@example.com"
to = ["imp@example.com"]

[job."Notif fail"]
path = "/notif-fail"
commands = ["echo hello mail", "printf '%%s\\n' 'x = y' '.dot' 'ünïcödé'", "false"]
notif_on_failed = ["plain", "tls mail"]
notif_on_success = ["implicit"]

[job."Notif ok"]
path = "/notif-ok"
commands = ["echo fine"]
notif_on_success = ["implicit", "plain"]
notif_on_failed = ["tls mail"]

[job."Notif cancel"]
path = "/notif-cancel"
commands = ["echo waiting", "sleep 30"]
notif_on_success = ["plain"]
notif_on_failed = ["plain"]

[job_http."Notif http"]
interval = "1m"
http_url = "/karajo/api/environment"
notif_on_success = ["plain"]
notif_on_failed = ["tls mail"]
`, plain.addr, starttls.addr, implicit.addr))

	// A canceled run sends nothing.
	wantEnvelope(t, s.trigger(t, "/notif-cancel", testSecret), http.StatusOK)
	s.waitRunning(t, "notif_cancel", 1, "waiting")
	s.act(t, "cancel", "notif_cancel")
	if st := s.waitRun(t, "Notif cancel", 1, 60*time.Second); st != "canceled" {
		t.Errorf("Notif cancel #1 = %q, want canceled", st)
	}

	wantEnvelope(t, s.trigger(t, "/notif-fail", testSecret), http.StatusOK)
	wantEnvelope(t, s.trigger(t, "/notif-ok", testSecret), http.StatusOK)
	if st := s.waitRun(t, "Notif fail", 1, 60*time.Second); st != "failed" {
		t.Fatalf("Notif fail #1 = %q, want failed", st)
	}
	if st := s.waitRun(t, "Notif ok", 1, 60*time.Second); st != "success" {
		t.Fatalf("Notif ok #1 = %q, want success", st)
	}
	if st := s.jhWaitRun(t, "notif_http", 1, 60*time.Second); st != "success" {
		t.Fatalf("notif_http #1 = %q, want success", st)
	}
	failLog := string(s.logOf(t, "notif_fail", 1).Content)
	okLog := string(s.logOf(t, "notif_ok", 1).Content)
	httpLog := string(s.jhLog(t, "notif_http", 1).Content)

	tests := []struct {
		name     string
		ms       *jhSMTP
		subject  string
		from     string
		rcpts    []string
		to       []string
		log      string
		tls      bool
		authUser string
		tail     string // last line of the body, without prefix
	}{
		{"exec failed plain", plain, "job: notif_fail: #1: failed", "karajo@example.com",
			[]string{"ops@example.com", "dev@example.com"}, []string{"ops@example.com", "Dev Team <dev@example.com>"}, failLog, false, "",
			"!!! job: notif_fail: exit status 1"},
		{"exec failed starttls", starttls, "job: notif_fail: #1: failed", "tls@example.com",
			[]string{"sec@example.com"}, []string{"sec@example.com"}, failLog, true, "alice",
			"!!! job: notif_fail: exit status 1"},
		{"exec success smtps", implicit, "job: notif_ok: #1: success", "implicit@example.com",
			[]string{"imp@example.com"}, []string{"imp@example.com"}, okLog, true, "",
			"=== job: notif_ok: finished."},
		{"exec success plain", plain, "job: notif_ok: #1: success", "karajo@example.com",
			[]string{"ops@example.com", "dev@example.com"}, []string{"ops@example.com", "Dev Team <dev@example.com>"}, okLog, false, "",
			"=== job: notif_ok: finished."},
		{"job_http success plain", plain, "job_http: notif_http: #1: success", "karajo@example.com",
			[]string{"ops@example.com", "dev@example.com"}, []string{"ops@example.com", "Dev Team <dev@example.com>"}, httpLog, false, "",
			"=== job_http: notif_http: finished."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, msg, body := jhWaitMail(t, tt.ms, tt.subject)
			if m.from != tt.from {
				t.Errorf("MAIL FROM = %q, want %q", m.from, tt.from)
			}
			if fmt.Sprint(m.rcpts) != fmt.Sprint(tt.rcpts) {
				t.Errorf("RCPT TO = %q, want %q (IMP-35: address part)", m.rcpts, tt.rcpts)
			}
			if m.tls != tt.tls || m.authUser != tt.authUser {
				t.Errorf("session tls/auth = %v/%q, want %v/%q", m.tls, m.authUser, tt.tls, tt.authUser)
			}
			if got := jhAddrs(t, msg.Header, "From"); fmt.Sprint(got) != fmt.Sprint([]string{tt.from}) {
				t.Errorf("From: = %q, want %q", got, tt.from)
			}
			if got := jhAddrs(t, msg.Header, "To"); fmt.Sprint(got) != fmt.Sprint(tt.to) {
				t.Errorf("To: = %q, want %q", got, tt.to)
			}
			// The log's request/response dumps carry CRs; mail text lines end
			// in CRLF anyway.
			wantBody := strings.ReplaceAll(tt.log, "\r\n", "\n")
			if body != wantBody {
				t.Errorf("body (decoded) =\n%q\nwant the run's log\n%q", body, wantBody)
			}
			lines := strings.Split(strings.TrimRight(body, "\n"), "\n")
			if last := lines[len(lines)-1]; !strings.HasSuffix(last, ": "+tt.tail) {
				t.Errorf("last body line = %q, want it to end with %q", last, tt.tail)
			}
		})
	}
	if !strings.Contains(failLog, "ünïcödé") || !strings.Contains(failLog, ": .dot\n") {
		t.Errorf("notif_fail log lacks the command output:\n%s", failLog)
	}

	// No mail for statuses not listed, nor for the canceled run.
	time.Sleep(time.Second)
	for _, c := range []struct {
		ms      *jhSMTP
		subject string
	}{
		{implicit, "notif_fail"}, {starttls, "notif_ok"}, {starttls, "notif_http"}, {implicit, "notif_http"},
		{plain, "notif_cancel"}, {starttls, "notif_cancel"}, {implicit, "notif_cancel"},
	} {
		if n := jhCountSubject(c.ms, c.subject); n != 0 {
			t.Errorf("%d unexpected mails about %s on %s", n, c.subject, c.ms.addr)
		}
	}
	if n := len(plain.mails()); n != 3 {
		t.Errorf("plain server got %d mails, want 3", n)
	}
}

// TestNotifUnknownName checks that a job naming an undefined notification
// is a configuration error (exit 2).
func TestNotifUnknownName(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, job string }{
		{"exec", "[job.x]\npath = \"/x\"\ncommands = [\"true\"]\nnotif_on_failed = [\"ghost\"]\n"},
		{"job_http", "[job_http.x]\nhttp_url = \"/x\"\nnotif_on_success = [\"ghost\"]\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			cfg := writeConfig(t, dir, configHeader(dir)+"\n"+tt.job)
			code, stderr := runToExit(t, cfg)
			if code != 2 || !strings.Contains(stderr, "ghost") {
				t.Errorf("exit %d, want 2 with an error naming \"ghost\"; stderr:\n%s", code, stderr)
			}
		})
	}
}

// TestNotifDeadSMTP checks that an SMTP server that is down blocks neither
// jobs nor the API, that the failure is logged with the job id and counter,
// and that the server still stops cleanly (SPEC 10.1, 10.3, IMP-6).
func TestNotifDeadSMTP(t *testing.T) {
	t.Parallel()
	dead := jhDeadAddr(t)
	s := start(t, fmt.Sprintf(`
[notif.dead]
kind = "email"
smtp_server = "smtp://%s"
from = "karajo@example.com"
to = ["ops@example.com"]

[job."Dead notif"]
path = "/dead-notif"
commands = ["echo x", "false"]
notif_on_failed = ["dead"]
notif_on_success = ["dead"]

[job_http."Dead http"]
interval = "1m"
http_url = "/karajo/api/environment"
notif_on_success = ["dead"]
`, dead))

	wantEnvelope(t, s.trigger(t, "/dead-notif", testSecret), http.StatusOK)
	if st := s.waitRun(t, "Dead notif", 1, 30*time.Second); st != "failed" {
		t.Errorf("Dead notif #1 = %q, want failed", st)
	}
	// While the notifier retries, the API answers promptly and jobs run.
	for i := 0; i < 5; i++ {
		t0 := time.Now()
		s.get(t, "/karajo/api/environment")
		if d := time.Since(t0); d > 2*time.Second {
			t.Errorf("environment took %v while the SMTP server is down", d)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t0 := time.Now()
	wantEnvelope(t, s.trigger(t, "/dead-notif", testSecret), http.StatusOK)
	if d := time.Since(t0); d > 2*time.Second {
		t.Errorf("trigger took %v while the SMTP server is down", d)
	}
	if st := s.waitRun(t, "Dead notif", 2, 30*time.Second); st != "failed" {
		t.Errorf("Dead notif #2 = %q, want failed", st)
	}
	if st := s.jhWaitRun(t, "dead_http", 1, 30*time.Second); st != "success" {
		t.Errorf("dead_http #1 = %q, want success", st)
	}

	// The failure is on stderr with the job id and the counter (and the
	// server it could not reach).
	lineWith := func(id string, counter int) bool {
		re := regexp.MustCompile(fmt.Sprintf(`(counter\W{0,3}|#)%d(\D|$)`, counter))
		for _, l := range strings.Split(s.stderr.String(), "\n") {
			if strings.Contains(l, id) && strings.Contains(l, dead) && re.MatchString(l) {
				return true
			}
		}
		return false
	}
	waitFor(t, 60*time.Second, "stderr line about the failed notification of dead_notif #1", func() bool { return lineWith("dead_notif", 1) })
	waitFor(t, 60*time.Second, "stderr line about the failed notification of dead_http #1", func() bool { return lineWith("dead_http", 1) })

	// Stop while notifications are still being retried.
	if took := s.stop(); took > 15*time.Second {
		t.Errorf("stop took %v with notifications pending, want ≤ 15s", took)
	}
}
