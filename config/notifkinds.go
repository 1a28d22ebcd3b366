package config

import (
	"errors"
	"net/url"
	"slices"
	"strings"
)

// Kinds of [notif] tables: the values of Notif.Kind.
const (
	// NotifEmail mails the run's log (SPEC 10).
	NotifEmail = "email"
	// NotifWebhook POSTs a signed JSON document describing the run.
	NotifWebhook = "webhook"
	// NotifSlack POSTs a message to a Slack incoming webhook.
	NotifSlack = "slack"
)

// NotifKinds are the accepted values of a [notif] table's kind.
var NotifKinds = []string{NotifEmail, NotifWebhook, NotifSlack}

// notifHTTP checks a [notif."name"] table of kind webhook or slack into n:
// url is required (an absolute http or https URL; https for slack), the
// e-mail keys are refused, and secret (webhook only) may name an
// environment variable as smtp_password does.
func (c *checker) notifHTTP(file string, t *notifTOML, n *Notif, key func(string) string) {
	for k, set := range map[string]bool{"smtp_server": t.SMTPServer != "", "smtp_user": t.SMTPUser != "",
		"smtp_password": t.SMTPPassword != "", "smtp_insecure": t.SMTPInsecure, "from": t.From != "", "to": len(t.To) > 0} {
		if set {
			c.fail(file, key(k), "only for kind = \"email\", not %q", n.Kind)
		}
	}
	if n.Kind == NotifSlack && t.Secret != "" {
		c.fail(file, key("secret"), "only for kind = \"webhook\": a Slack incoming-webhook URL is its own secret")
	}
	n.URL, n.Secret = strings.TrimSpace(t.URL), credential(t.Secret)
	if n.URL == "" {
		c.fail(file, key("url"), "missing: kind %q posts to it", n.Kind)
		return
	}
	u, err := url.Parse(n.URL)
	switch {
	case err != nil:
		c.fail(file, key("url"), "invalid URL: %v", redactURLError(err))
	case u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
		c.fail(file, key("url"), "want an absolute http or https URL with a host, got %s", RedactURL(n.URL))
	case n.Kind == NotifSlack && u.Scheme != "https":
		c.fail(file, key("url"), "a Slack incoming webhook must be https, got %s", RedactURL(n.URL))
	}
}

// notifEmailOnly refuses the HTTP keys in an e-mail notif.
func (c *checker) notifEmailOnly(file string, t *notifTOML, key func(string) string) {
	if t.URL != "" {
		c.fail(file, key("url"), "only for kind = \"webhook\" or \"slack\", not \"email\"")
	}
	if t.Secret != "" {
		c.fail(file, key("secret"), "only for kind = \"webhook\", not \"email\"")
	}
}

// knownNotifKind reports whether kind is one of NotifKinds.
func knownNotifKind(kind string) bool { return slices.Contains(NotifKinds, kind) }

// RedactURL returns raw with everything that may hold a token removed: the
// scheme and host are kept, user info, path, query and fragment become
// "…". A Slack incoming-webhook URL is a secret in its path.
func RedactURL(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return "(url hidden)"
	}
	s := u.Scheme + "://" + u.Host
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		s += "/…"
	}
	return s
}

// redactURLError returns the reason of a url.Parse error without the URL.
func redactURLError(err error) string {
	if ue := (*url.Error)(nil); errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return "cannot be parsed"
}

// publicURL checks [karajo] public_url: empty, or an absolute http or https
// URL with a host; it is returned without a trailing '/'.
func (c *checker) publicURL(file, raw string) string {
	s := strings.TrimRight(strings.TrimSpace(raw), "/")
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || u.RawQuery != "" || u.Fragment != "" {
		c.fail(file, "karajo.public_url", "want the server's public base URL such as \"https://karajo.example.com\", got %q", raw)
		return ""
	}
	return s
}
