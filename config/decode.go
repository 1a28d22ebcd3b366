package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
)

// The *TOML types mirror the files; their tags are karajo's key names.

// fileTOML is the main file; .d files and user.toml use parts of it.
type fileTOML struct {
	Karajo  karajoTOML              `toml:"karajo"`
	Notif   map[string]*notifTOML   `toml:"notif"`
	Job     map[string]*jobTOML     `toml:"job"`
	JobHTTP map[string]*jobHTTPTOML `toml:"job_http"`
	User    any                     `toml:"user"`    // accepted and ignored in the main file (SPEC 2.1)
	Cluster *clusterTOML            `toml:"cluster"` // several nodes on etcd (cluster.go)
}

type karajoTOML struct {
	Name          string   `toml:"name"`
	ListenAddress string   `toml:"listen_address"`
	DirBase       string   `toml:"dir_base"`
	DirPublic     string   `toml:"dir_public"`
	Secret        string   `toml:"secret"`
	HTTPTimeout   duration `toml:"http_timeout"`
	MaxJobRunning *int     `toml:"max_job_running"` // nil: absent (default 1)
	IsDevelopment bool     `toml:"is_development"`

	ShutdownTimeout duration `toml:"shutdown_timeout"`
	SessionIdle     duration `toml:"session_idle"`
	SessionMax      duration `toml:"session_max"`
	CookieSecure    bool     `toml:"cookie_secure"`
	Timezone        string   `toml:"timezone"`

	karajoRunTOML
	limitsTOML // the front-door limits (limits.go)
	envTOML

	durabilityTOML        // max_log_bytes (durability.go)
	metricsTOML           // metrics_token (metrics.go)
	PublicURL      string `toml:"public_url"` // base of links in notifications (notifkinds.go)
}

type notifTOML struct {
	Kind         string   `toml:"kind"`
	SMTPServer   string   `toml:"smtp_server"`
	SMTPUser     string   `toml:"smtp_user"`
	SMTPPassword string   `toml:"smtp_password"`
	SMTPInsecure bool     `toml:"smtp_insecure"`
	From         string   `toml:"from"`
	To           []string `toml:"to"`
	URL          string   `toml:"url"`    // webhook, slack
	Secret       string   `toml:"secret"` // webhook
}

type jobTOML struct {
	Description    string   `toml:"description"`
	Schedule       string   `toml:"schedule"`
	Interval       duration `toml:"interval"`
	Path           string   `toml:"path"`
	AuthKind       string   `toml:"auth_kind"`
	HeaderSign     string   `toml:"header_sign"`
	Secret         any      `toml:"secret"`        // a string or a list of strings (secretList)
	LogRetention   *int     `toml:"log_retention"` // nil: absent (default 5)
	Commands       []string `toml:"commands"`
	NotifOnSuccess []string `toml:"notif_on_success"`
	NotifOnFailed  []string `toml:"notif_on_failed"`

	runControlTOML
	envTOML
	Dir         string            `toml:"dir"`
	Shell       []string          `toml:"shell"`
	PassPayload string            `toml:"pass_payload"`
	PassHeaders []string          `toml:"pass_headers"`
	PayloadEnv  map[string]string `toml:"payload_env"`
	User        string            `toml:"user"`
	Group       string            `toml:"group"`
	timingTOML

	durabilityTOML // max_log_bytes (durability.go)
	replayTOML     // replay_window (replay.go)
	alertsTOML     // notif_on_failed_streak, … (alerts.go)
	webhookTOML    // require_delivery_id, require_epoch, allow_from, events, refs, delivery_retention, keep_delivery_body (webhook.go)
}

type jobHTTPTOML struct {
	Description     string   `toml:"description"`
	Secret          any      `toml:"secret"` // a string or a list of strings (secretList)
	HeaderSign      string   `toml:"header_sign"`
	Schedule        string   `toml:"schedule"`
	Interval        duration `toml:"interval"`
	HTTPMethod      string   `toml:"http_method"`
	HTTPURL         string   `toml:"http_url"`
	HTTPRequestType string   `toml:"http_request_type"`
	HTTPHeaders     []string `toml:"http_headers"`
	HTTPTimeout     duration `toml:"http_timeout"`
	HTTPInsecure    bool     `toml:"http_insecure"`
	HTTPRedirects   string   `toml:"http_redirects"`
	LogRetention    *int     `toml:"log_retention"` // nil: absent (default 5)
	NotifOnSuccess  []string `toml:"notif_on_success"`
	NotifOnFailed   []string `toml:"notif_on_failed"`

	envTOML
	HTTPSuccess []int `toml:"http_success"`
	HTTPEpoch   *bool `toml:"http_epoch"`
	timingTOML

	durabilityTOML // max_log_bytes (durability.go)
	alertsTOML     // notif_on_failed_streak, … (alerts.go)
}

// jobDFile is what a job.d file contributes.
type jobDFile struct {
	Job map[string]*jobTOML `toml:"job"`
}

// jobHTTPDFile is what a job_http.d file contributes.
type jobHTTPDFile struct {
	JobHTTP map[string]*jobHTTPTOML `toml:"job_http"`
}

// userFile is user.toml.
type userFile struct {
	User map[string]*userTOML `toml:"user"`
}

type userTOML struct {
	Password string `toml:"password"`
}

// duration is a Go duration string ("90s", "1m"). UnmarshalText never
// fails: it keeps the text and the parse error so that the checks report
// the bad value with its file and key and go on with the rest of the file.
// An empty (or all-space) string is a zero duration.
type duration struct {
	d   time.Duration
	raw string
	err error
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *duration) UnmarshalText(b []byte) error {
	d.raw = string(b)
	d.d, d.err = 0, nil
	if s := strings.TrimSpace(d.raw); s != "" {
		d.d, d.err = time.ParseDuration(s)
	}
	return nil
}

// decodeFile decodes the TOML file at path strictly into v: every key or
// table v has no place for is an error. misplaced, when not nil, gives the
// reason for a table that exists in karajo but not in this file (a [notif]
// table in job.d, say): it returns "" for a table it does not know, which
// is then reported as unknown. ok is false when v could not be filled (the
// file is missing or unreadable, or a syntax or type error stopped the
// decoder); unknown keys alone leave ok true.
func decodeFile(path string, v any, misplaced func(table string) string) (ok bool, errs []error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return false, []error{fmt.Errorf("%w: %w", ErrInvalid, err)}
	}
	err = toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields().Decode(v)
	if err == nil {
		return true, nil
	}
	var serr *toml.StrictMissingError
	if errors.As(err, &serr) {
		for i := range serr.Errors {
			derr := &serr.Errors[i]
			reason := unknownReason(derr)
			if key := derr.Key(); misplaced != nil && len(key) > 0 {
				if why := misplaced(key[0]); why != "" {
					reason = "table " + formatKey(key) + " is not read here: " + why
				}
			}
			errs = append(errs, decodeError(path, derr, reason))
		}
		return true, errs
	}
	var derr *toml.DecodeError
	if errors.As(err, &derr) {
		reason := goType.ReplaceAllString(strings.TrimPrefix(derr.Error(), "toml: "), "$1")
		if k := derr.Key(); len(k) > 0 {
			reason = formatKey(k) + ": " + reason
		}
		return false, []error{decodeError(path, derr, reason)}
	}
	return false, []error{fmt.Errorf("%s: %w: %w", path, ErrInvalid, err)}
}

// placement returns the misplaced function of decodeFile for a file of a
// .d directory that holds only [keep] tables (keep is "job" or
// "job_http"); main is the path of the main file, named in the reasons.
func placement(keep, main string) func(table string) string {
	return func(table string) string {
		switch {
		case table == keep:
			return ""
		case table == "karajo" || table == "notif" || table == "cluster":
			return "[" + table + "] is read from the main file " + main + " only; move it there"
		case table == "job":
			return "[job] tables live in the main file or in job.d/; move it there"
		case table == "job_http":
			return "[job_http] tables live in the main file or in job_http.d/; move it there"
		case table == "user":
			return "[user] tables live in user.toml; move it there"
		}
		return ""
	}
}

// goType matches the Go names in go-toml's type errors ("into struct field
// config.jobTOML.LogRetention of type int"): a TOML user needs only the type.
var goType = regexp.MustCompile(`struct field \S+ of type (\S+)`)

// decodeError wraps ErrInvalid with the position of derr and reason. It
// quotes no lines of the file: a secret may stand on the faulty line or
// next to it, and errors reach logs and terminals.
func decodeError(path string, derr *toml.DecodeError, reason string) error {
	row, col := derr.Position()
	return fmt.Errorf("%s:%d:%d: %w: %s", path, row, col, ErrInvalid, reason)
}

// unknownReason describes an unknown key or table found by the strict
// decoder: the key and the table it is in.
func unknownReason(derr *toml.DecodeError) string {
	key := derr.Key()
	if strings.HasSuffix(derr.Error(), "missing table") {
		return "unknown table " + formatKey(key)
	}
	if len(key) <= 1 {
		return "unknown key " + formatKey(key) + " at top level"
	}
	return "unknown key " + formatKey(key[len(key)-1:]) + " in table " + formatKey(key[:len(key)-1])
}

// namedTables are the tables whose sub-tables are keyed by a name; Load
// always quotes that name in keys it reports, e.g. job."Backup".
var namedTables = map[string]bool{"notif": true, "job": true, "job_http": true, "user": true}

// formatKey writes a TOML key path the way it would appear in a file:
// bare parts as they are, others quoted, and the name after job, job_http,
// notif or user always quoted.
func formatKey(parts []string) string {
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			b.WriteByte('.')
		}
		if i == 1 && namedTables[parts[0]] || !isBare(p) {
			b.WriteString(strconv.Quote(p))
		} else {
			b.WriteString(p)
		}
	}
	return b.String()
}

// isBare reports whether s is a valid bare TOML key.
func isBare(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
