package config

import (
	"cmp"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// checker collects the errors and warnings of one Load.
type checker struct {
	errs     []error
	warns    []string
	envFiles envFiles // env files read so far
	global   envLayer // the [karajo] environment keys, resolved
}

// fail records a *FieldError.
func (c *checker) fail(file, key, format string, args ...any) {
	c.errs = append(c.errs, &FieldError{File: file, Key: key, Reason: fmt.Sprintf(format, args...)})
}

// warn records a warning in the FieldError format.
func (c *checker) warn(file, key, format string, args ...any) {
	c.warns = append(c.warns, file+": "+key+": "+fmt.Sprintf(format, args...))
}

// env checks [karajo] and applies its defaults (SPEC 2.3).
func (c *checker) env(file string, k *karajoTOML) *Env {
	env := &Env{
		File:          file,
		Name:          cmp.Or(k.Name, DefaultName),
		ListenAddress: cmp.Or(k.ListenAddress, DefaultListenAddress),
		DirBase:       cmp.Or(k.DirBase, DefaultDirBase),
		DirPublic:     k.DirPublic,
		Secret:        k.Secret,
		HTTPTimeout:   c.duration(file, "karajo.http_timeout", k.HTTPTimeout),
		MaxJobRunning: c.atLeastOne(file, "karajo.max_job_running", k.MaxJobRunning, 1),
		IsDevelopment: k.IsDevelopment,
	}
	if env.HTTPTimeout == 0 {
		env.HTTPTimeout = DefaultHTTPTimeout
	}
	switch env.ShutdownTimeout = c.duration(file, "karajo.shutdown_timeout", k.ShutdownTimeout); {
	case env.ShutdownTimeout == 0:
		env.ShutdownTimeout = DefaultShutdownTimeout
	case env.ShutdownTimeout < time.Second:
		c.fail(file, "karajo.shutdown_timeout", "must be at least 1s, got %v", env.ShutdownTimeout)
	}
	env.CookieSecure = k.CookieSecure
	env.PublicURL = c.publicURL(file, k.PublicURL) // notifkinds.go
	env.MetricsToken = c.metricsToken(file, k.metricsTOML)
	c.envRun(file, env, &k.karajoRunTOML)
	env.Limits = c.limits(file, &k.limitsTOML)
	env.MaxLogBytes = c.maxLogBytes(file, "karajo.max_log_bytes", k.durabilityTOML, 0)
	env.HistoryRetention = c.historyRetention(file, "karajo.history_retention", k.durabilityTOML, DefaultHistoryRetention)
	env.Timezone, env.Location = k.Timezone, c.zone(file, "karajo.timezone", k.Timezone, time.UTC)
	env.SessionIdle = cmp.Or(c.duration(file, "karajo.session_idle", k.SessionIdle), DefaultSessionIdle)
	env.SessionMax = cmp.Or(c.duration(file, "karajo.session_max", k.SessionMax), DefaultSessionMax)
	switch {
	case env.SessionIdle < time.Minute:
		c.fail(file, "karajo.session_idle", "must be at least 1m, got %v", env.SessionIdle)
	case env.SessionMax < env.SessionIdle:
		c.fail(file, "karajo.session_max", "must not be shorter than session_idle (%v), got %v", env.SessionIdle, env.SessionMax)
	}
	if reason := checkListen(env.ListenAddress); reason != "" {
		c.fail(file, "karajo.listen_address", "%s", reason)
	}
	c.global = c.layer(file, "karajo", &k.envTOML)
	env.Environ = c.merge(file, "karajo", envLayer{}, c.global)
	if env.Secret == "" {
		env.Secret = generateSecret()
		env.SecretGenerated = true
		c.warn(file, "karajo.secret", "empty: a random secret was generated for this run")
	}
	return env
}

// checkListen returns why addr is not host:port with a numeric port, or "".
func checkListen(addr string) string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Sprintf("%q: want host:port: %v", addr, err)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Sprintf("%q: port %q is not a number 0-65535", addr, port)
	}
	return ""
}

// duration returns the value of d, recording an error for a bad string.
func (c *checker) duration(file, key string, d duration) time.Duration {
	if d.err != nil {
		c.fail(file, key, "invalid duration %q (want a Go duration such as \"90s\" or \"5m\"): %v", d.raw, d.err)
		return 0
	}
	return d.d
}

// smtpPorts are the default ports of the smtp_server schemes.
var smtpPorts = map[string]int{"smtp": 25, "smtps": 465, "smtp+starttls": 587}

// notif checks a [notif."name"] table (SPEC 2.4, 10.2).
func (c *checker) notif(file, name string, t *notifTOML) *Notif {
	if t == nil {
		t = &notifTOML{}
	}
	key := func(k string) string { return formatKey([]string{"notif", name, k}) }
	n := &Notif{
		Name:       name,
		Kind:       t.Kind,
		SMTPServer: t.SMTPServer,
		User:       credential(t.SMTPUser),
		Password:   credential(t.SMTPPassword),
		Insecure:   t.SMTPInsecure,
		From:       t.From,
		To:         t.To,
	}
	switch {
	case t.Kind == NotifWebhook || t.Kind == NotifSlack:
		c.notifHTTP(file, t, n, key) // notifkinds.go
		return n
	case !knownNotifKind(t.Kind):
		c.fail(file, key("kind"), "unknown kind %q: want one of %s", t.Kind, strings.Join(NotifKinds, ", "))
	}
	c.notifEmailOnly(file, t, key)
	// An empty from or to is reported at send time, not here: v0.9.3
	// accepted such tables.
	if _, err := mail.ParseAddress(t.From); t.From != "" && err != nil {
		c.fail(file, key("from"), "invalid address %q: %v", t.From, err)
	}
	for i, to := range t.To {
		if _, err := mail.ParseAddress(to); err != nil {
			c.fail(file, fmt.Sprintf("%s[%d]", key("to"), i), "invalid address %q: %v", to, err)
		}
	}
	if t.SMTPServer == "" {
		c.fail(file, key("smtp_server"), "missing: want scheme://host[:port] with scheme smtp, smtps or smtp+starttls")
		return n
	}
	u, err := url.Parse(t.SMTPServer)
	if err != nil {
		c.fail(file, key("smtp_server"), "invalid URL: %v", err)
		return n
	}
	port, ok := smtpPorts[u.Scheme]
	if !ok {
		c.fail(file, key("smtp_server"), "unknown scheme %q in %q: want smtp, smtps or smtp+starttls", u.Scheme, t.SMTPServer)
		return n
	}
	n.Scheme, n.Host = u.Scheme, u.Hostname()
	if n.Host == "" {
		c.fail(file, key("smtp_server"), "no host in %q", t.SMTPServer)
	}
	if p := u.Port(); p != "" {
		port, err = strconv.Atoi(p)
		if err != nil || port < 1 || port > 65535 {
			c.fail(file, key("smtp_server"), "port %q in %q is not a number 1-65535", p, t.SMTPServer)
		}
	}
	n.Port = port
	return n
}

// credential resolves an smtp_user or smtp_password ([IMP-33]): a value
// starting with '$' names an environment variable, looked up without the
// '$' and, when that is unset, with it.
func credential(s string) string {
	name, ok := strings.CutPrefix(s, "$")
	if !ok {
		return s
	}
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return os.Getenv(s)
}

// notifRefs checks that every name in names is a defined notif.
func (c *checker) notifRefs(env *Env, file, key string, names []string) {
	for _, n := range names {
		if _, ok := env.Notifs[n]; !ok {
			c.fail(file, key, "unknown notif %q: no [notif.%s] table", n, strconv.Quote(n))
		}
	}
}

// headerSign checks a header_sign value and applies its default.
func (c *checker) headerSign(file, key, s string) string {
	if s == "" {
		return DefaultHeaderSign
	}
	if !isToken(s) {
		c.fail(file, key, "%q is not a valid HTTP header name", s)
	}
	return s
}

// atLeastOne returns *n, or def when the key is absent (n is nil). A
// value below 1 is refused: v0.9.3 silently replaced it by the default,
// which hid the mistake (issue 16, "strict means strict").
func (c *checker) atLeastOne(file, key string, n *int, def int) int {
	switch {
	case n == nil:
		return def
	case *n < 1:
		c.fail(file, key, "must be at least 1, got %d (leave the key out for the default %d)", *n, def)
		return def
	}
	return *n
}

// job checks a [job."name"] table (SPEC 2.5). envSecret is [karajo]
// secret as configured (before any secret is generated).
func (c *checker) job(env *Env, envSecret, file, name string, t *jobTOML) *Job {
	table := formatKey([]string{"job", name})
	j := &Job{
		Name:           name,
		ID:             NormalizeID(name),
		File:           file,
		Description:    SanitizeDescription(t.Description),
		Schedule:       t.Schedule,
		Path:           strings.TrimSpace(t.Path),
		AuthKind:       strings.ToLower(strings.TrimSpace(t.AuthKind)),
		HeaderSign:     c.headerSign(file, table+".header_sign", t.HeaderSign),
		Secrets:        c.secretList(file, table+".secret", t.Secret, true),
		LogRetention:   c.atLeastOne(file, table+".log_retention", t.LogRetention, DefaultLogRetention),
		Commands:       t.Commands,
		NotifOnSuccess: t.NotifOnSuccess,
		NotifOnFailed:  t.NotifOnFailed,
	}
	j.Sched, j.Interval, j.Timing = c.timer(env, file, table, t.Schedule, t.Interval, &t.timingTOML)
	j.RunControl = c.runControl(env, file, table, &t.runControlTOML)
	if j.Sched == nil && j.Interval == 0 && j.Path == "" {
		c.warn(file, table, "%s", noTrigger)
	}
	j.MaxLogBytes = c.maxLogBytes(file, table+".max_log_bytes", t.durabilityTOML, env.MaxLogBytes)
	j.HistoryRetention = c.historyRetention(file, table+".history_retention", t.durabilityTOML, env.HistoryRetention)
	j.ReplayWindow = c.replayWindow(file, table+".replay_window", t.replayTOML)
	switch {
	case j.AuthKind == "":
		j.AuthKind = AuthHMACSHA256
	case !slices.Contains(AuthKinds, j.AuthKind):
		c.fail(file, table+".auth_kind", "unknown kind %q: want one of %s", t.AuthKind, strings.Join(AuthKinds, ", "))
	}
	j.Webhook = c.webhook(file, table, j, &t.webhookTOML)
	if j.Path != "" {
		if reason := checkPath(j.Path); reason != "" {
			c.fail(file, table+".path", "%q %s", j.Path, reason)
		}
		_, listed := t.Secret.([]any) // a refused list already said why
		if len(j.Secrets) == 0 && !listed && envSecret == "" && j.AuthKind != AuthSourcehut {
			c.fail(file, table+".secret", "webhook needs a secret: set secret here or in [karajo]")
		}
	}
	if len(j.Secrets) == 0 {
		j.Secrets = []string{env.Secret}
	}
	j.Secret = j.Secrets[0]
	if len(j.Commands) == 0 {
		c.fail(file, table+".commands", "missing: an exec job needs at least one command")
	}
	c.notifRefs(env, file, table+".notif_on_success", j.NotifOnSuccess)
	c.notifRefs(env, file, table+".notif_on_failed", j.NotifOnFailed)
	j.Alerts = c.alerts(env, file, table, &t.alertsTOML) // alerts.go
	j.Environ = c.merge(file, table, c.global, c.layer(file, table, &t.envTOML))
	j.Dir = c.dir(file, table+".dir", t.Dir)
	j.Shell = c.shell(file, table+".shell", t.Shell)
	c.payload(j, file, table, t)
	j.RunAs = c.account(file, table, strings.TrimSpace(t.User), strings.TrimSpace(t.Group))
	return j
}

// noTrigger is the warning for a job without schedule, cron, interval or
// webhook path.
const noTrigger = "no schedule, cron, interval or path: nothing starts it but run now (the API's run_now, the dashboard, karajo run)"

// checkPath returns why a non-empty webhook path is unusable, or "".
func checkPath(p string) string {
	if strings.Trim(p, "/") == "" {
		return "has nothing but '/'"
	}
	if strings.ContainsAny(p, "?#") {
		return "must not contain '?' or '#'"
	}
	if strings.IndexFunc(p, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return "must not contain white space or control characters"
	}
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "." || seg == ".." {
			return "must not contain . or .. segments"
		}
	}
	return ""
}

// pathKey is the form in which two webhook paths collide: cleaned, without
// surrounding '/', lower-cased.
func pathKey(p string) string {
	return strings.ToLower(strings.Trim(path.Clean("/"+p), "/"))
}

// httpMethods are the accepted values of http_method, upper-cased.
var httpMethods = map[string]bool{"GET": true, "POST": true, "PUT": true, "DELETE": true}

// jobHTTP checks a [job_http."name"] table (SPEC 2.6).
func (c *checker) jobHTTP(env *Env, file, name string, t *jobHTTPTOML) *JobHTTP {
	table := formatKey([]string{"job_http", name})
	j := &JobHTTP{
		Name:            name,
		ID:              NormalizeID(name),
		File:            file,
		Description:     SanitizeDescription(t.Description),
		Secrets:         c.secretList(file, table+".secret", t.Secret, false),
		HeaderSign:      c.headerSign(file, table+".header_sign", t.HeaderSign),
		Schedule:        t.Schedule,
		HTTPMethod:      t.HTTPMethod,
		Method:          strings.ToUpper(strings.TrimSpace(t.HTTPMethod)),
		HTTPURL:         t.HTTPURL,
		HTTPRequestType: t.HTTPRequestType,
		RequestType:     strings.ToLower(strings.TrimSpace(t.HTTPRequestType)),
		HTTPHeaders:     t.HTTPHeaders,
		HTTPInsecure:    t.HTTPInsecure,
		HTTPRedirects:   c.redirects(file, table+".http_redirects", t.HTTPRedirects),
		LogRetention:    c.atLeastOne(file, table+".log_retention", t.LogRetention, DefaultLogRetention),
		NotifOnSuccess:  t.NotifOnSuccess,
		NotifOnFailed:   t.NotifOnFailed,
	}
	j.Sched, j.Interval, j.Timing = c.timer(env, file, table, t.Schedule, t.Interval, &t.timingTOML)
	if j.Sched == nil && j.Interval == 0 {
		c.warn(file, table, "%s", noTrigger)
	}
	j.MaxLogBytes = c.maxLogBytes(file, table+".max_log_bytes", t.durabilityTOML, env.MaxLogBytes)
	j.HistoryRetention = c.historyRetention(file, table+".history_retention", t.durabilityTOML, env.HistoryRetention)
	if len(j.Secrets) > 0 {
		j.Secret = j.Secrets[0] // the first signs (issue 15)
	}
	if j.Method == "" {
		j.HTTPMethod, j.Method = "GET", "GET"
	}
	if !httpMethods[j.Method] {
		c.fail(file, table+".http_method", "invalid HTTP method %q: want GET, POST, PUT or DELETE", t.HTTPMethod)
	}
	if reason := checkURL(j.HTTPURL); reason != "" && !strings.Contains(j.HTTPURL, "$") {
		c.fail(file, table+".http_url", "%s", reason)
	}
	switch j.RequestType {
	case "":
		j.RequestType = RequestQuery
	case RequestQuery, RequestForm, RequestJSON:
	default:
		c.fail(file, table+".http_request_type", "invalid HTTP request type %q: want query, form or json", t.HTTPRequestType)
	}
	for _, h := range j.HTTPHeaders {
		k, v, ok := strings.Cut(h, ":")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch {
		case !ok:
			c.fail(file, table+".http_headers", "invalid header %q: want \"Name: value\"", h)
		case !isToken(k):
			c.fail(file, table+".http_headers", "invalid header %q: %q is not a valid header name", h, k)
		case strings.ContainsFunc(v, func(r rune) bool { return r != '\t' && (r < 0x20 || r == 0x7f) }):
			c.fail(file, table+".http_headers", "invalid header %q: control character in the value", h)
		default:
			j.Headers = append(j.Headers, [2]string{k, v})
		}
	}
	switch to := c.duration(file, table+".http_timeout", t.HTTPTimeout); {
	case to > 0:
		j.HTTPTimeout = to
	case to == 0 && env.HTTPTimeout > 0:
		j.HTTPTimeout = env.HTTPTimeout
	}
	c.notifRefs(env, file, table+".notif_on_success", j.NotifOnSuccess)
	c.notifRefs(env, file, table+".notif_on_failed", j.NotifOnFailed)
	j.Alerts = c.alerts(env, file, table, &t.alertsTOML) // alerts.go
	c.httpEnv(j, file, table, t)
	return j
}

// checkURL returns why http_url is unusable, or "": it must be a path on
// this server starting with '/', or an absolute http or https URL with a
// host.
func checkURL(raw string) string {
	if raw == "" {
		return "missing: want a path starting with '/' or an absolute http:// or https:// URL"
	}
	if strings.HasPrefix(raw, "/") {
		if _, err := url.ParseRequestURI(raw); err != nil {
			return fmt.Sprintf("invalid http_url %q: %v", raw, err)
		}
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Sprintf("invalid http_url %q: %v", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Sprintf("invalid http_url %q: want a path starting with '/' or an absolute http:// or https:// URL", raw)
	}
	if u.Host == "" {
		return fmt.Sprintf("invalid http_url %q: no host", raw)
	}
	return ""
}

// isToken reports whether s is a valid HTTP header name (an RFC 9110 token).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// collisions reports exec jobs (and JobHTTPs) that share an ID ([IMP-1])
// and exec jobs whose webhook paths collide. The jobs are sorted by ID.
func (c *checker) collisions(env *Env) {
	for i := 1; i < len(env.Jobs); i++ {
		a, b := env.Jobs[i-1], env.Jobs[i]
		if a.ID == b.ID {
			c.fail(b.File, formatKey([]string{"job", b.Name}), "ID %q is also the ID of job %q in %s: rename one", b.ID, a.Name, a.File)
		}
	}
	for i := 1; i < len(env.JobHTTPs); i++ {
		a, b := env.JobHTTPs[i-1], env.JobHTTPs[i]
		if a.ID == b.ID {
			c.fail(b.File, formatKey([]string{"job_http", b.Name}), "ID %q is also the ID of job_http %q in %s: rename one", b.ID, a.Name, a.File)
		}
	}
	paths := make(map[string]*Job)
	for _, j := range env.Jobs {
		if j.Path == "" {
			continue
		}
		k := pathKey(j.Path)
		if a, ok := paths[k]; ok {
			c.fail(j.File, formatKey([]string{"job", j.Name, "path"}), "path %q collides with path %q of job %q in %s", j.Path, a.Path, a.Name, a.File)
			continue
		}
		paths[k] = j
	}
}
