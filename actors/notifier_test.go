package actors

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/karajo/karajo/config"
)

// mailWait bounds every wait of these tests for an event that should come
// within milliseconds.
const mailWait = 10 * time.Second

// smtpMail is one message received by smtpRecorder, with its session.
type smtpMail struct {
	helo     string
	tls      bool // the session was encrypted when MAIL FROM came
	authUser string
	authPass string
	from     string
	to       []string
	data     []byte // as the server delivers it: dot-stuffing undone, LF line ends
}

// smtpRecorder is the backend of a real go-smtp test server: it accepts
// everything and records each message.
type smtpRecorder struct {
	mu       sync.Mutex
	mails    []smtpMail
	failMail int // MAIL FROM answers 451 this many times first
}

// NewSession implements smtp.Backend.
func (r *smtpRecorder) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &smtpSession{rec: r, conn: c}, nil
}

// received returns a copy of the recorded messages.
func (r *smtpRecorder) received() []smtpMail {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.mails)
}

// smtpSession records one SMTP session for smtpRecorder.
type smtpSession struct {
	rec                *smtpRecorder
	conn               *smtp.Conn
	authUser, authPass string
	cur                smtpMail
}

// AuthMechanisms implements smtp.AuthSession: PLAIN only.
func (s *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

// Auth implements smtp.AuthSession: any user and password are accepted and recorded.
func (s *smtpSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		s.authUser, s.authPass = user, pass
		return nil
	}), nil
}

// Mail implements smtp.Session.
func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	s.rec.mu.Lock()
	fail := s.rec.failMail > 0
	if fail {
		s.rec.failMail--
	}
	s.rec.mu.Unlock()
	if fail {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.cur = smtpMail{helo: s.conn.Hostname(), tls: isTLS, authUser: s.authUser, authPass: s.authPass, from: from}
	return nil
}

// Rcpt implements smtp.Session.
func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.to = append(s.cur.to, to)
	return nil
}

// Data implements smtp.Session.
func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = b
	s.rec.mu.Lock()
	s.rec.mails = append(s.rec.mails, s.cur)
	s.rec.mu.Unlock()
	return nil
}

// Reset implements smtp.Session.
func (s *smtpSession) Reset() { s.cur = smtpMail{} }

// Logout implements smtp.Session.
func (s *smtpSession) Logout() error { return nil }

// smtpMode is how a test server offers TLS.
type smtpMode int

const (
	smtpPlain    smtpMode = iota // no TLS at all
	smtpStartTLS                 // offers STARTTLS
	smtpsTLS                     // implicit TLS (smtps)
)

// startSMTP starts a go-smtp server on ip:0 and returns its recorder and
// port. It is closed at cleanup.
func startSMTP(t *testing.T, ip string, mode smtpMode, cert tls.Certificate) (*smtpRecorder, int) {
	t.Helper()
	rec := &smtpRecorder{}
	s := smtp.NewServer(rec)
	s.Domain = "mx.test"
	s.AllowInsecureAuth = mode == smtpPlain
	s.ReadTimeout = mailWait
	s.WriteTimeout = mailWait
	s.ErrorLog = log.New(io.Discard, "", 0)
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	tlsConf := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	switch mode {
	case smtpStartTLS:
		s.TLSConfig = tlsConf
	case smtpsTLS:
		l = tls.NewListener(l, tlsConf)
	}
	go func() { _ = s.Serve(l) }()
	t.Cleanup(func() { _ = s.Close() })
	return rec, l.Addr().(*net.TCPAddr).Port
}

// mailCert returns a self-signed ECDSA certificate for 127.0.0.1, 127.0.0.2
// and localhost.
func mailCert(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "karajo test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv4(127, 0, 0, 2)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// mailLog is a run log that exercises the body encoding: lines starting
// with dots (a lone "." would end DATA if not dot-stuffed), '=', trailing
// spaces, UTF-8 and a line longer than quoted-printable's 76 columns.
var mailLog = "2026-11-28 16:45:04 UTC job: notif_fail: === BEGIN\n" +
	".\n" +
	".hidden line\n" +
	"..two dots\n" +
	"trailing space \n" +
	"naïve café ✓\n" +
	strings.Repeat("0123456789", 12) + "\n" +
	"2026-11-28 16:45:05 UTC job: notif_fail: === END\n"

// mailNotif returns a notif for scheme on host:port with two recipients,
// one with a display name.
func mailNotif(scheme, host string, port int) *config.Notif {
	return &config.Notif{
		Name:       "ops",
		Kind:       "email",
		SMTPServer: scheme + "://" + net.JoinHostPort(host, strconv.Itoa(port)),
		Scheme:     scheme,
		Host:       host,
		Port:       port,
		From:       "Karajo <karajo@example.com>",
		To:         []string{"ops@example.com", "Dev Team <dev@example.com>"},
	}
}

// checkMail checks a received mail: envelope, headers and decoded body.
func checkMail(t *testing.T, got smtpMail, subject, body string) {
	t.Helper()
	host, _ := os.Hostname()
	if got.helo != host {
		t.Errorf("EHLO %q, want %q", got.helo, host)
	}
	if got.from != "karajo@example.com" {
		t.Errorf("MAIL FROM %q, want karajo@example.com", got.from)
	}
	if want := []string{"ops@example.com", "dev@example.com"}; !slices.Equal(got.to, want) {
		t.Errorf("RCPT TO %q, want %q", got.to, want)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(got.data))
	if err != nil {
		t.Fatalf("parse message: %v\n%s", err, got.data)
	}
	h := msg.Header
	if from, err := mail.ParseAddress(h.Get("From")); err != nil || from.Address != "karajo@example.com" || from.Name != "Karajo" {
		t.Errorf("From: %q (%v), want Karajo <karajo@example.com>", h.Get("From"), err)
	}
	to, err := h.AddressList("To")
	if err != nil || len(to) != 2 || to[0].Address != "ops@example.com" ||
		to[1].Name != "Dev Team" || to[1].Address != "dev@example.com" {
		t.Errorf("To: %q (%v), want ops@example.com and Dev Team <dev@example.com>", h.Get("To"), err)
	}
	if dec, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject")); err != nil || dec != subject {
		t.Errorf("Subject: %q (%v), want %q", h.Get("Subject"), err, subject)
	}
	if d, err := h.Date(); err != nil || time.Since(d) > time.Minute || time.Since(d) < -time.Minute {
		t.Errorf("Date: %q (%v), want about now", h.Get("Date"), err)
	}
	if id := h.Get("Message-ID"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, ">") || !strings.Contains(id, "@") {
		t.Errorf("Message-ID: %q, want <…@…>", id)
	}
	if mt, params, err := mime.ParseMediaType(h.Get("Content-Type")); err != nil || mt != "text/plain" || !strings.EqualFold(params["charset"], "utf-8") {
		t.Errorf("Content-Type: %q, want text/plain; charset=utf-8", h.Get("Content-Type"))
	}
	if cte := h.Get("Content-Transfer-Encoding"); !strings.EqualFold(cte, "quoted-printable") {
		t.Errorf("Content-Transfer-Encoding: %q, want quoted-printable", cte)
	}
	dec, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatalf("decode body: %v", err)
	}
	if got := strings.ReplaceAll(string(dec), "\r\n", "\n"); got != body {
		if len(got) > 300 || len(body) > 300 {
			t.Errorf("body: %d bytes starting %q, want %d bytes starting %q", len(got), mailHead(got, 120), len(body), mailHead(body, 120))
		} else {
			t.Errorf("body:\n%q\nwant\n%q", got, body)
		}
	}
}

// mailHead returns at most the first n bytes of s.
func mailHead(s string, n int) string { return s[:min(n, len(s))] }

// TestSendMail sends one mail per scheme and TLS setting through a real
// SMTP server, and checks the session, the envelope and the message.
func TestSendMail(t *testing.T) {
	cert := mailCert(t)
	tests := []struct {
		name       string
		ip         string // listen and connect address
		mode       smtpMode
		scheme     string
		user, pass string
		insecure   bool
		wantTLS    bool
		wantAuth   bool
		wantErr    string // substring of the error; "" = success
	}{
		{name: "smtp", mode: smtpPlain, scheme: "smtp"},
		// 127.0.0.2 is not "localhost" to go-mail: PLAIN in clear text
		// only works because the smtp scheme allows it.
		{name: "smtp auth in clear", ip: "127.0.0.2", mode: smtpPlain, scheme: "smtp",
			user: "alice", pass: "s3cret", wantAuth: true},
		{name: "smtp ignores STARTTLS offer", mode: smtpStartTLS, scheme: "smtp"},
		{name: "smtp+starttls auth", mode: smtpStartTLS, scheme: "smtp+starttls",
			user: "alice", pass: "s3cret", insecure: true, wantTLS: true, wantAuth: true},
		{name: "smtp+starttls user without password", mode: smtpStartTLS, scheme: "smtp+starttls",
			user: "alice", insecure: true, wantTLS: true},
		{name: "smtp+starttls password without user", mode: smtpStartTLS, scheme: "smtp+starttls",
			pass: "s3cret", insecure: true, wantTLS: true},
		{name: "smtp+starttls bad certificate", mode: smtpStartTLS, scheme: "smtp+starttls",
			wantErr: "certificate"},
		{name: "smtp+starttls without STARTTLS", mode: smtpPlain, scheme: "smtp+starttls",
			insecure: true, wantErr: "STARTTLS"},
		{name: "smtps auth", mode: smtpsTLS, scheme: "smtps",
			user: "alice", pass: "s3cret", insecure: true, wantTLS: true, wantAuth: true},
		{name: "smtps bad certificate", mode: smtpsTLS, scheme: "smtps", wantErr: "certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ip := cmp.Or(tt.ip, "127.0.0.1")
			rec, port := startSMTP(t, ip, tt.mode, cert)
			n := mailNotif(tt.scheme, ip, port)
			n.User, n.Password, n.Insecure = tt.user, tt.pass, tt.insecure
			ctx, cancel := context.WithTimeout(context.Background(), mailWait)
			defer cancel()
			subject := "job: notif_fail: #1: failed"

			err := sendMail(ctx, n, subject, strings.NewReader(mailLog))
			got := rec.received()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("sendMail() = %v, want an error about %q", err, tt.wantErr)
				}
				if len(got) != 0 {
					t.Errorf("server received %d mails, want none", len(got))
				}
				return
			}
			if err != nil {
				t.Fatalf("sendMail() = %v, want nil", err)
			}
			if len(got) != 1 {
				t.Fatalf("server received %d mails, want 1", len(got))
			}
			m := got[0]
			if m.tls != tt.wantTLS {
				t.Errorf("TLS = %v, want %v", m.tls, tt.wantTLS)
			}
			wantUser, wantPass := "", ""
			if tt.wantAuth {
				wantUser, wantPass = tt.user, tt.pass
			}
			if m.authUser != wantUser || m.authPass != wantPass {
				t.Errorf("AUTH %q/%q, want %q/%q", m.authUser, m.authPass, wantUser, wantPass)
			}
			checkMail(t, m, subject, mailLog)
		})
	}
}

// TestSendMailBadAddress checks that an unparsable From or To is reported
// as errBadAddress (not retried) before anything is sent.
func TestSendMailBadAddress(t *testing.T) {
	tests := []struct {
		name string
		from string
		to   []string
	}{
		{"bad from", "not an address", []string{"ops@example.com"}},
		{"bad to", "karajo@example.com", []string{"ops@example.com", "Dev Team <dev@"}},
		{"no to", "karajo@example.com", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, port := startSMTP(t, "127.0.0.1", smtpPlain, tls.Certificate{})
			n := mailNotif("smtp", "127.0.0.1", port)
			n.From, n.To = tt.from, tt.to
			err := sendMail(context.Background(), n, "s", strings.NewReader("x\n"))
			if !errors.Is(err, errBadAddress) {
				t.Errorf("sendMail() = %v, want errBadAddress", err)
			}
			if got := rec.received(); len(got) != 0 {
				t.Errorf("server received %d mails, want none", len(got))
			}
		})
	}
}

// TestSendMailCancel checks that canceling the context aborts a send that
// waits on a server that accepts the connection but never greets.
func TestSendMailCancel(t *testing.T) {
	port := silentSMTP(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- sendMail(ctx, mailNotif("smtp", "127.0.0.1", port), "s", strings.NewReader("x\n"))
	}()
	time.AfterFunc(50*time.Millisecond, cancel)
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("sendMail() = %v, want context.Canceled", err)
		}
	case <-time.After(mailWait):
		t.Fatal("sendMail did not return after its context was canceled")
	}
}

// silentSMTP listens on 127.0.0.1:0, accepts connections and never
// writes to them. It returns the port.
func silentSMTP(t *testing.T) int {
	port, _ := silentSMTPConns(t)
	return port
}

// silentSMTPConns is silentSMTP that also returns the number of
// connections accepted so far.
func silentSMTPConns(t *testing.T) (port int, accepted func() int) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return l.Addr().(*net.TCPAddr).Port, func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(conns)
	}
}

// TestNotifBody checks the mail body of a log: whole up to the limit,
// else a note and the tail, starting at a line when one starts near the cut.
func TestNotifBody(t *testing.T) {
	long := strings.Repeat("x", lineSearch+10) // no line start near the cut
	tests := []struct {
		name  string
		log   string
		limit int64
		want  string
	}{
		{"empty", "", 10, ""},
		{"below limit", "a\nb\n", 10, "a\nb\n"},
		{"at limit", "0123456\n89", 10, "0123456\n89"},
		{"cut on a line start", "aaaa\nbbbb\ncccc\n", 10,
			"[log truncated: showing the last 10 bytes of 15]\nbbbb\ncccc\n"},
		{"cut inside a line", "aaaa\nbbbb\ncccc\n", 8,
			"[log truncated: showing the last 5 bytes of 15]\ncccc\n"},
		{"cut inside the last line", "aaaa\nbbbb\ncccc", 3,
			"[log truncated: showing the last 3 bytes of 14]\nccc"},
		{"newline is the last byte", "aaaa\nbbbb\n", 1,
			"[log truncated: showing the last 1 bytes of 10]\n\n"},
		{"no line start near the cut", "head\n" + long + "\n", int64(len(long)),
			"[log truncated: showing the last " + strconv.Itoa(len(long)) + " bytes of " +
				strconv.Itoa(len(long)+6) + "]\n" + long[1:] + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "log")
			if err := os.WriteFile(path, []byte(tt.log), 0o600); err != nil {
				t.Fatal(err)
			}
			r, err := notifBody(path, tt.limit)
			if err != nil {
				t.Fatalf("notifBody() error %v", err)
			}
			b, err := io.ReadAll(r)
			if cerr := r.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				t.Fatalf("read body: %v", err)
			}
			if got := string(b); got != tt.want {
				t.Errorf("notifBody(%q, %d) = %q, want %q", mailHead(tt.log, 40), tt.limit, mailHead(got, 200), mailHead(tt.want, 200))
			}
		})
	}
	if _, err := notifBody(filepath.Join(t.TempDir(), "missing"), 10); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("notifBody(missing) error %v, want os.ErrNotExist", err)
	}
}

// mailLogBuffer is a bytes.Buffer safe for concurrent writers, for slog output.
type mailLogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write implements io.Writer.
func (b *mailLogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// records returns the JSON log records whose msg is msg ("" = all).
func (b *mailLogBuffer) records(msg string) []map[string]any {
	b.mu.Lock()
	data := slices.Clone(b.buf.Bytes())
	b.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r map[string]any
		if json.Unmarshal(sc.Bytes(), &r) != nil {
			continue
		}
		if msg == "" || r["msg"] == msg {
			out = append(out, r)
		}
	}
	return out
}

// notifTest is a running notifier actor with its captured log.
type notifTest struct {
	system  *actor.ActorSystem
	pid     *actor.PID
	logs    *mailLogBuffer
	stopped bool
}

// startNotifier spawns a notifier in a new actor system, logging JSON into
// a buffer, and stops it at cleanup.
func startNotifier(t *testing.T, notifs map[string]*config.Notif, opts notifierOptions) *notifTest {
	t.Helper()
	logs := &mailLogBuffer{}
	lg := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}))
	pid := system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor {
		return newNotifier(notifs, lg, opts)
	}))
	nt := &notifTest{system: system, pid: pid, logs: logs}
	t.Cleanup(func() {
		if !nt.stopped {
			_ = system.Root.StopFuture(pid).Wait()
		}
		system.Shutdown()
	})
	return nt
}

// stop stops the notifier actor and waits until it has stopped.
func (nt *notifTest) stop(t *testing.T) {
	t.Helper()
	nt.stopped = true
	if err := nt.system.Root.StopFuture(nt.pid).Wait(); err != nil {
		t.Fatalf("stop notifier: %v", err)
	}
}

// waitMail polls cond until it holds or mailWait passes.
func waitMail(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(mailWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// writeMailLog writes content to a log file in a temporary directory.
func writeMailLog(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notif_fail.1.failed")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// logHas reports whether a log record has every key/value of want
// (numbers compared as JSON numbers).
func logHas(r map[string]any, want map[string]any) bool {
	for k, v := range want {
		got, ok := r[k]
		if !ok {
			return false
		}
		if n, isInt := v.(int); isInt {
			v = float64(n)
		}
		if n, isInt := v.(int64); isInt {
			v = float64(n)
		}
		if got != v {
			return false
		}
	}
	return true
}

// TestNotifierSendsMail runs the notifier actor end to end: a notifyRun
// becomes one mail per notif name, with the subject of its kind, and an
// unknown name is logged and skipped.
func TestNotifierSendsMail(t *testing.T) {
	rec, port := startSMTP(t, "127.0.0.1", smtpPlain, tls.Certificate{})
	ops := mailNotif("smtp", "127.0.0.1", port)
	dev := mailNotif("smtp", "127.0.0.1", port)
	dev.Name = "dev"
	nt := startNotifier(t, map[string]*config.Notif{"ops": ops, "dev": dev}, notifierOptions{Backoff: time.Millisecond})
	path := writeMailLog(t, mailLog)

	nt.system.Root.Send(nt.pid, &notifyRun{kind: "job", jobID: "notif_fail", counter: 1,
		status: "failed", logPath: path, names: []string{"ops", "nobody", "dev"}})
	nt.system.Root.Send(nt.pid, &notifyRun{kind: "job_http", jobID: "ping", counter: 42,
		status: "success", logPath: path, names: []string{"dev"}})

	waitMail(t, "3 mails", func() bool { return len(rec.received()) >= 3 })
	waitMail(t, "3 'notification sent' logs", func() bool { return len(nt.logs.records("notification sent")) == 3 })
	subjects := map[string]int{}
	for _, m := range rec.received() {
		msg, err := mail.ReadMessage(bytes.NewReader(m.data))
		if err != nil {
			t.Fatal(err)
		}
		s := msg.Header.Get("Subject")
		subjects[s]++
		checkMail(t, m, s, mailLog)
	}
	want := map[string]int{"job: notif_fail: #1: failed": 2, "job_http: ping: #42: success": 1}
	if fmt.Sprint(subjects) != fmt.Sprint(want) {
		t.Errorf("subjects %v, want %v", subjects, want)
	}
	unknown := nt.logs.records("notification dropped: unknown notif")
	if len(unknown) != 1 || !logHas(unknown[0], map[string]any{"level": "ERROR", "notif": "nobody", "job": "notif_fail", "counter": 1}) {
		t.Errorf("unknown notif logs %v, want one Error for nobody, notif_fail, 1", unknown)
	}
	sent := nt.logs.records("notification sent")
	for _, r := range sent {
		if r["level"] != "INFO" || r["notif"] == nil || r["job"] == nil || r["counter"] == nil {
			t.Errorf("sent log %v, want Info with notif, job, counter", r)
		}
	}
}

// TestNotifierMailTruncated checks [IMP-36]: a 3 MiB log is mailed as the
// note and its last 1 MiB.
func TestNotifierMailTruncated(t *testing.T) {
	rec, port := startSMTP(t, "127.0.0.1", smtpPlain, tls.Certificate{})
	nt := startNotifier(t, map[string]*config.Notif{"ops": mailNotif("smtp", "127.0.0.1", port)}, notifierOptions{})
	var sb strings.Builder
	for i := 0; sb.Len() < 3<<20; i++ {
		fmt.Fprintf(&sb, "2026-11-28 16:45:04 UTC job: big: line %024d\n", i) // 64 bytes
	}
	text := sb.String()
	if len(text) != 3<<20 {
		t.Fatalf("log is %d bytes, want %d", len(text), 3<<20)
	}
	path := writeMailLog(t, text)

	nt.system.Root.Send(nt.pid, &notifyRun{kind: "job", jobID: "big", counter: 7,
		status: "success", logPath: path, names: []string{"ops"}})

	waitMail(t, "the mail", func() bool { return len(rec.received()) == 1 })
	want := "[log truncated: showing the last 1048576 bytes of 3145728]\n" + text[2<<20:]
	m := rec.received()[0]
	checkMail(t, m, "job: big: #7: success", want)
}

// TestNotifierRetries checks the retries: a temporary failure is retried
// and the mail sent; a certificate that cannot be verified fails every
// attempt, each logged at Warn, then once at Error.
func TestNotifierRetries(t *testing.T) {
	cert := mailCert(t)
	tests := []struct {
		name      string
		mode      smtpMode
		scheme    string
		failMail  int
		wantSent  bool
		wantWarns int
		wantErr   string // in the final Error record
	}{
		{name: "temporary failure", mode: smtpPlain, scheme: "smtp", failMail: 2, wantSent: true, wantWarns: 2},
		{name: "bad certificate", mode: smtpStartTLS, scheme: "smtp+starttls", wantWarns: 2, wantErr: "certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, port := startSMTP(t, "127.0.0.1", tt.mode, cert)
			rec.failMail = tt.failMail
			nt := startNotifier(t, map[string]*config.Notif{"ops": mailNotif(tt.scheme, "127.0.0.1", port)},
				notifierOptions{Attempts: 3, Backoff: time.Millisecond})
			nt.system.Root.Send(nt.pid, &notifyRun{kind: "job", jobID: "notif_fail", counter: 3,
				status: "failed", logPath: writeMailLog(t, mailLog), names: []string{"ops"}})

			key := map[string]any{"notif": "ops", "job": "notif_fail", "counter": 3}
			if tt.wantSent {
				waitMail(t, "notification sent", func() bool { return len(nt.logs.records("notification sent")) == 1 })
				if got := len(rec.received()); got != 1 {
					t.Errorf("server received %d mails, want 1", got)
				}
			} else {
				waitMail(t, "notification failed", func() bool { return len(nt.logs.records("notification failed")) == 1 })
				r := nt.logs.records("notification failed")[0]
				if !logHas(r, key) || r["level"] != "ERROR" || r["attempts"] != float64(3) ||
					!strings.Contains(fmt.Sprint(r["err"]), tt.wantErr) {
					t.Errorf("final log %v, want Error with %v, attempts 3 and an err about %q", r, key, tt.wantErr)
				}
				if got := len(rec.received()); got != 0 {
					t.Errorf("server received %d mails, want none", got)
				}
			}
			warns := nt.logs.records("notification attempt failed")
			if len(warns) != tt.wantWarns {
				t.Fatalf("%d attempt failures logged, want %d: %v", len(warns), tt.wantWarns, warns)
			}
			for i, w := range warns {
				if !logHas(w, key) || w["level"] != "WARN" || w["attempt"] != float64(i+1) || w["err"] == nil {
					t.Errorf("attempt log %v, want Warn with %v, attempt %d and err", w, key, i+1)
				}
			}
		})
	}
}

// TestNotifierDeadServer checks [IMP-6] and [IMP-32] with the SMTP server
// down (connections refused) or hung (accepts, never answers): 2000
// notifications sent at once never block the actor, which still answers at
// once; each one is then either dropped because the queue is full, failed
// after its attempts, or not sent at stop, and each is logged at Error with
// its job and counter.
func TestNotifierDeadServer(t *testing.T) {
	tests := []struct {
		name       string
		port       func(t *testing.T) int
		waitFailed bool // a mail fails before the stop
	}{
		{"refused", closedPort, true},
		{"hung", silentSMTP, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nt := startNotifier(t, map[string]*config.Notif{"ops": mailNotif("smtp", "127.0.0.1", tt.port(t))},
				notifierOptions{Workers: 2, Queue: 8, Attempts: 2, Backoff: time.Millisecond})
			path := writeMailLog(t, mailLog)

			const total = 2000
			start := time.Now()
			for i := 1; i <= total; i++ {
				nt.system.Root.Send(nt.pid, &notifyRun{kind: "job", jobID: "dead", counter: int64(i),
					status: "failed", logPath: path, names: []string{"ops"}})
			}
			if _, err := Ask[*actor.Touched](nt.system.Root, nt.pid, &actor.Touch{}, 2*time.Second); err != nil {
				t.Fatalf("notifier did not answer after %d notifications: %v", total, err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("sending %d notifications and a request took %v", total, d)
			}
			if tt.waitFailed {
				waitMail(t, "a failed notification", func() bool { return len(nt.logs.records("notification failed")) > 0 })
			}
			nt.stop(t)

			outcomes := []string{"notification dropped: queue full", "notification failed", "notification not sent: notifier stopped"}
			counted := func() map[int]string {
				seen := map[int]string{}
				for _, msg := range outcomes {
					for _, r := range nt.logs.records(msg) {
						c, _ := r["counter"].(float64)
						if r["level"] != "ERROR" || r["job"] != "dead" || r["notif"] != "ops" {
							t.Errorf("log %v, want Error with job dead, notif ops", r)
						}
						if prev, dup := seen[int(c)]; dup {
							t.Errorf("counter %d logged twice: %q and %q", int(c), prev, msg)
						}
						seen[int(c)] = msg
					}
				}
				return seen
			}
			waitMail(t, fmt.Sprintf("an outcome for all %d notifications", total), func() bool { return len(counted()) >= total })
			seen := counted()
			for i := 1; i <= total; i++ {
				if _, ok := seen[i]; !ok {
					t.Errorf("notification %d: no outcome logged", i)
				}
			}
			if n := len(nt.logs.records("notification sent")); n != 0 {
				t.Errorf("%d notifications logged as sent, want 0", n)
			}
			if n := len(nt.logs.records("notification dropped: queue full")); n == 0 {
				t.Errorf("no notification dropped with a queue of 8, want some")
			}
		})
	}
}

// closedPort returns a port of 127.0.0.1 on which connections are refused.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	return port
}

// TestNotifierStopAbortsSend checks that stopping the notifier aborts a
// send stuck on a server that never answers, and logs it as not sent.
func TestNotifierStopAbortsSend(t *testing.T) {
	port, accepted := silentSMTPConns(t)
	nt := startNotifier(t, map[string]*config.Notif{"ops": mailNotif("smtp", "127.0.0.1", port)},
		notifierOptions{Workers: 1})
	path := writeMailLog(t, mailLog)
	nt.system.Root.Send(nt.pid, &notifyRun{kind: "job", jobID: "stuck", counter: 1,
		status: "failed", logPath: path, names: []string{"ops"}})
	nt.system.Root.Send(nt.pid, &notifyRun{kind: "job", jobID: "stuck", counter: 2,
		status: "failed", logPath: path, names: []string{"ops"}})
	// The first waits for the server's greeting, the second in the queue.
	waitMail(t, "queued logs", func() bool { return len(nt.logs.records("notification queued")) == 2 })
	waitMail(t, "a connection", func() bool { return accepted() == 1 })
	nt.stop(t)
	waitMail(t, "both logged as not sent", func() bool {
		return len(nt.logs.records("notification not sent: notifier stopped")) == 2
	})
	for _, r := range nt.logs.records("notification not sent: notifier stopped") {
		if r["level"] != "ERROR" || r["job"] != "stuck" || r["notif"] != "ops" {
			t.Errorf("log %v, want Error with job stuck, notif ops", r)
		}
	}
}
