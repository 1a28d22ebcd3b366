package actors

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/karajo/karajo/config"
)

const (
	// mailDialTimeout bounds the TCP connect and, for smtps, the TLS handshake.
	mailDialTimeout = 30 * time.Second
	// mailIOTimeout is go-mail's socket deadline: the greeting, EHLO,
	// STARTTLS and AUTH must end within it after the connect, and MAIL FROM
	// through the end of DATA within it once more. It is long enough for a
	// capped body (1 MiB of log, quoted-printable) on a slow link.
	mailIOTimeout = 2 * time.Minute
	// notifBodyLimit is the largest log mailed whole ([IMP-36]); a longer
	// log is cut to its last notifBodyLimit bytes.
	notifBodyLimit = 1 << 20
	// lineSearch is how far past the cut notifBody looks for a line start.
	lineSearch = 4096
)

// errBadAddress marks a From or To value that is not an RFC 5322 address.
// Sending again cannot help, so the notifier does not retry it.
var errBadAddress = errors.New("bad mail address")

// sendMail sends one plain-text mail through the notif's SMTP server, over a
// new connection (SPEC 10.3): connect to n.Host:n.Port as given (no MX
// lookup, [IMP-34]) with implicit TLS for "smtps", EHLO with the local host
// name, STARTTLS (required) for "smtp+starttls", AUTH PLAIN only when both
// n.User and n.Password are set, then MAIL FROM, one RCPT TO per n.To entry
// and DATA. The envelope carries only the address parts of From and To
// ("Dev Team <dev@example.com>" → dev@example.com, [IMP-35]); the headers
// keep the display names. The SMTP DATA writer dot-stuffs the body.
//
// The body is sent as text/plain; charset=UTF-8, quoted-printable. go-mail
// encodes it into memory before writing it to the connection, which is why
// the notifier caps it ([IMP-36], notifBody).
//
// The scheme "smtp" never uses TLS, not even when the server offers
// STARTTLS: a relay with a certificate the host does not trust would
// otherwise make every mail fail where v0.9.3 delivers it. Its AUTH PLAIN,
// if configured, therefore goes in clear text, as the operator asked.
//
// Certificates are verified unless n.Insecure. Canceling ctx aborts the
// attempt at once, whatever step it is in; the connect is also bounded by
// mailDialTimeout and every step by mailIOTimeout. An error wrapping
// errBadAddress means From or To cannot be parsed.
func sendMail(ctx context.Context, n *config.Notif, subject string, body io.Reader) error {
	msg, err := newMailMsg(n, subject, body)
	if err != nil {
		return err
	}

	tlsConf := &tls.Config{
		ServerName:         n.Host,
		InsecureSkipVerify: n.Insecure, // smtp_insecure
		MinVersion:         tls.VersionTLS12,
	}
	var conns connCloser
	defer conns.release()
	opts := []gomail.Option{
		gomail.WithPort(n.Port),
		gomail.WithTimeout(mailIOTimeout),
		gomail.WithTLSConfig(tlsConf),
		gomail.WithDialContextFunc(conns.dialer(ctx, n, tlsConf)),
		// The HELO/EHLO name defaults to os.Hostname().
	}
	switch n.Scheme {
	case "smtps":
		opts = append(opts, gomail.WithSSL())
	case "smtp+starttls":
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	default: // "smtp"
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if n.User != "" && n.Password != "" {
		auth := gomail.SMTPAuthPlain // go-mail sends it only over TLS (or to localhost)
		if n.Scheme == "smtp" {
			auth = gomail.SMTPAuthPlainNoEnc
		}
		opts = append(opts, gomail.WithSMTPAuth(auth),
			gomail.WithUsername(n.User), gomail.WithPassword(n.Password))
	}
	c, err := gomail.NewClient(n.Host, opts...)
	if err != nil {
		return fmt.Errorf("smtp client for %s: %w", n.SMTPServer, err)
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		if ctx.Err() != nil {
			err = errors.Join(context.Cause(ctx), err)
		}
		return fmt.Errorf("send through %s: %w", net.JoinHostPort(n.Host, strconv.Itoa(n.Port)), err)
	}
	return nil
}

// newMailMsg builds the message of sendMail: From, To, Subject, Date,
// Message-ID and MIME headers, and a text body copied from body when the
// message is written.
func newMailMsg(n *config.Notif, subject string, body io.Reader) (*gomail.Msg, error) {
	if _, err := mail.ParseAddress(n.From); err != nil {
		return nil, fmt.Errorf("notif %s: from %q: %w: %v", n.Name, n.From, errBadAddress, err)
	}
	if len(n.To) == 0 {
		return nil, fmt.Errorf("notif %s: to is empty: %w", n.Name, errBadAddress)
	}
	for _, to := range n.To {
		if _, err := mail.ParseAddress(to); err != nil {
			return nil, fmt.Errorf("notif %s: to %q: %w: %v", n.Name, to, errBadAddress, err)
		}
	}
	m := gomail.NewMsg(gomail.WithCharset(gomail.CharsetUTF8),
		gomail.WithEncoding(gomail.EncodingQP), gomail.WithNoDefaultUserAgent())
	if err := m.From(n.From); err != nil {
		return nil, fmt.Errorf("notif %s: from %q: %w: %v", n.Name, n.From, errBadAddress, err)
	}
	if err := m.To(n.To...); err != nil {
		return nil, fmt.Errorf("notif %s: to: %w: %v", n.Name, errBadAddress, err)
	}
	m.Subject(subject)
	m.SetDate()
	m.SetMessageID()
	m.SetBodyWriter(gomail.TypeTextPlain, func(w io.Writer) (int64, error) {
		return io.Copy(w, body)
	})
	return m, nil
}

// connCloser closes, when the context of a sendMail call is canceled, the
// connections dialed for it; go-mail itself watches the context only while
// it connects. release stops the watching.
type connCloser struct {
	mu    sync.Mutex
	stops []func() bool
}

// dialer returns the go-mail dial function for n: TCP to n.Host:n.Port
// (go-mail's own address is not used: it does not bracket IPv6 hosts), with
// a TLS handshake for "smtps". The connection is closed if ctx ends.
func (cc *connCloser) dialer(ctx context.Context, n *config.Notif, tlsConf *tls.Config) gomail.DialContextFunc {
	addr := net.JoinHostPort(n.Host, strconv.Itoa(n.Port))
	return func(dctx context.Context, network, _ string) (net.Conn, error) {
		d := &net.Dialer{Timeout: mailDialTimeout}
		var conn net.Conn
		var err error
		if n.Scheme == "smtps" {
			conn, err = (&tls.Dialer{NetDialer: d, Config: tlsConf}).DialContext(dctx, network, addr)
		} else {
			conn, err = d.DialContext(dctx, network, addr)
		}
		if err != nil {
			return nil, err
		}
		stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
		cc.mu.Lock()
		cc.stops = append(cc.stops, stop)
		cc.mu.Unlock()
		return conn, nil
	}
}

// release stops watching the context for every dialed connection.
func (cc *connCloser) release() {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	for _, stop := range cc.stops {
		stop()
	}
	cc.stops = nil
}

// notifBody opens the log at logPath for a notification body. A log of at
// most limit bytes is returned whole. A longer one ([IMP-36]) is returned as
// the line "[log truncated: showing the last N bytes of M]\n" followed by
// its last N bytes, where N is limit, or a little less when a line starts
// within lineSearch bytes after the cut (the body then starts at that line).
// The file is streamed, never read into memory; its size is taken when it is
// opened, so a log that still grows is cut there. The caller closes the
// returned reader.
func notifBody(logPath string, limit int64) (io.ReadCloser, error) {
	f, err := os.Open(logPath)
	if err != nil {
		return nil, err
	}
	r, err := logBody(f, limit)
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{r, f}, nil
}

// logBody is notifBody over an open file. It reads f only through ReadAt,
// so it may be called again on the same file for another attempt.
func logBody(f *os.File, limit int64) (io.Reader, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := fi.Size()
	if size <= limit {
		return io.NewSectionReader(f, 0, size), nil
	}
	start := size - limit
	// A '\n' at start-1 means start is already a line start.
	buf := make([]byte, lineSearch+1)
	n, err := f.ReadAt(buf, start-1)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read %s: %w", f.Name(), err)
	}
	if i := bytes.IndexByte(buf[:n], '\n'); i >= 0 && start+int64(i) < size {
		start += int64(i)
	}
	note := fmt.Sprintf("[log truncated: showing the last %d bytes of %d]\n", size-start, size)
	return io.MultiReader(strings.NewReader(note), io.NewSectionReader(f, start, size-start)), nil
}
