package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/karajo/karajo/config/schedule"
)

// mustSchedule parses s or fails the test.
func mustSchedule(t *testing.T, s string) schedule.Schedule {
	t.Helper()
	sc, err := schedule.ParseKarajo(s, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// defaultTiming is the Timing of a job without the keys added after
// v0.9.3: UTC, and the catch-up defaults when it has a schedule.
func defaultTiming(scheduled bool) Timing {
	tm := Timing{Timezone: "UTC", Location: time.UTC}
	if scheduled {
		tm.CatchUp, tm.CatchUpWindow, tm.CatchUpMax = CatchUpNone, DefaultCatchUpWindow, DefaultCatchUpMax
	}
	return tm
}

// TestLoadValid loads testdata/valid from a copy in a temporary directory
// that also has a symlink in job.d, and compares the whole Env.
func TestLoadValid(t *testing.T) {
	tmp := t.TempDir()
	if err := os.CopyFS(filepath.Join(tmp, "testdata", "valid"), os.DirFS(filepath.Join("testdata", "valid"))); err != nil {
		t.Fatal(err)
	}
	const etc = "testdata/valid/etc/karajo"
	if err := os.Symlink("../linked.toml", filepath.Join(tmp, etc, "job.d", "30-link.toml")); err != nil {
		t.Fatal(err)
	}
	t.Chdir(tmp)
	t.Setenv("KARAJO_TEST_SMTP_USER", "bob")   // looked up without '$'
	t.Setenv("$KARAJO_TEST_SMTP_PASS", "pw-$") // fallback: the name with '$'

	const (
		main = etc + "/karajo.toml"
		a    = etc + "/job.d/10-a.toml"
		b    = etc + "/job.d/20-b.toml"
		h    = etc + "/job_http.d/a.toml"
	)
	got, err := Load(main)
	if err != nil {
		t.Fatalf("Load(%q): %v", main, err)
	}
	notifs := map[string]*Notif{
		"ops-mail": {Name: "ops-mail", Kind: "email", SMTPServer: "smtps://mail.example.com", Scheme: "smtps",
			Host: "mail.example.com", Port: 465, User: "bob", Password: "pw-$", From: "karajo@example.com",
			To: []string{"ops@example.com", "Dev Team <dev@example.com>"}},
		"plain": {Name: "plain", Kind: "email", SMTPServer: "smtp://[::1]:2525", Scheme: "smtp", Host: "::1",
			Port: 2525, User: "literal", Insecure: true},
		"starttls": {Name: "starttls", Kind: "email", SMTPServer: "SMTP+STARTTLS://Mail.Example.com",
			Scheme: "smtp+starttls", Host: "Mail.Example.com", Port: 587},
	}
	want := &Env{
		File:            main,
		Name:            "My Karajo",
		ListenAddress:   "127.0.0.1:0",
		DirBase:         "testdata/valid",
		DirPublic:       "public",
		Secret:          "s3cret",
		HTTPTimeout:     10 * time.Minute,
		ShutdownTimeout: DefaultShutdownTimeout,
		KillGrace:       DefaultKillGrace,
		SessionIdle:     DefaultSessionIdle,
		SessionMax:      DefaultSessionMax,
		MaxJobRunning:   1,
		IsDevelopment:   true,
		Limits:          DefaultLimits(),
		Notifs:          notifs,
		Jobs: []*Job{
			{Name: "defaults", ID: "defaults", File: main, AuthKind: "hmac-sha256", HeaderSign: "X-Karajo-Sign",
				Secret: "s3cret", LogRetention: 5, Commands: []string{"true"}, Shell: DefaultShell, PassPayload: PayloadNone},
			{Name: "Interval", ID: "interval", File: a, Interval: 90 * time.Second, Path: "/hook/x",
				AuthKind: "hmac-sha256", HeaderSign: "X-Sign", Secret: "own", LogRetention: 2,
				Commands: []string{"echo interval"}, Shell: DefaultShell, PassPayload: PayloadNone},
			{Name: "Replaced", ID: "replaced", File: b, Description: "from 20-b", AuthKind: "hmac-sha256",
				HeaderSign: "X-Karajo-Sign", Secret: "s3cret", LogRetention: 5, Commands: []string{"echo b"}, Shell: DefaultShell, PassPayload: PayloadNone},
			{Name: "SourceHut", ID: "sourcehut", File: b, Path: "/srht/", AuthKind: "sourcehut",
				HeaderSign: "X-Karajo-Sign", Secret: "s3cret", LogRetention: 5, Commands: []string{"true"}, Shell: DefaultShell, PassPayload: PayloadNone},
			{Name: "Test success", ID: "test_success", File: main, Description: "A <b>success</b> job.",
				Schedule: "hourly@0, 30", Sched: mustSchedule(t, "hourly@0, 30"), Path: "/test-success",
				AuthKind: "github", HeaderSign: "X-Karajo-Sign", Secret: "s3cret", LogRetention: 5,
				Commands:       []string{"echo a", "echo $KARAJO_JOB_COUNTER"},
				NotifOnSuccess: []string{"ops-mail"}, NotifOnFailed: []string{"ops-mail", "plain"}, Shell: DefaultShell, PassPayload: PayloadNone},
		},
		JobHTTPs: []*JobHTTP{
			{Name: "defaults", ID: "defaults", File: main, HeaderSign: "X-Karajo-Sign", HTTPMethod: "GET",
				Method: "GET", HTTPURL: "https://example.com/x", RequestType: "query",
				HTTPTimeout: 10 * time.Minute, HTTPRedirects: RedirectSameHost, LogRetention: 5, HTTPSuccess: []int{200}},
			{Name: "Form", ID: "form", File: h, Secret: " keep ", HeaderSign: "X-Other",
				Schedule: "daily@06:00", Sched: mustSchedule(t, "daily@06:00"), HTTPMethod: "GET", Method: "GET",
				HTTPURL: "http://127.0.0.1:8080/form?x=1", HTTPRequestType: "FORM", RequestType: "form",
				HTTPTimeout: 10 * time.Minute, HTTPInsecure: true, HTTPRedirects: RedirectSameHost, LogRetention: 7, NotifOnFailed: []string{"plain"}, HTTPSuccess: []int{200}},
			{Name: "Ping", ID: "ping", File: main, HeaderSign: "X-Karajo-Sign", Interval: time.Minute,
				HTTPMethod: " post", Method: "POST", HTTPURL: "/karajo/api/job_exec/run/test-success",
				HTTPRequestType: "JSON", RequestType: "json", HTTPHeaders: []string{"A: B", "X-Colon:  a:b  "},
				Headers: [][2]string{{"A", "B"}, {"X-Colon", "a:b"}}, HTTPRedirects: RedirectSameHost, LogRetention: 5, HTTPSuccess: []int{200}},
		},
		Users: map[string]*User{
			"alice": {Name: "alice", PasswordHash: "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
			"Alice": {Name: "Alice", PasswordHash: "$2y$12$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		},
		Warnings: []string{
			b + `: job."Replaced": ` + noTrigger,
			main + `: job."Test success".interval: ignored because schedule is set`,
			main + `: job."defaults": ` + noTrigger,
			main + `: job_http."Ping".interval: 30s raised to 1m0s`,
			main + `: job_http."defaults": ` + noTrigger,
			main + `: karajo.metrics_token: not set and users are configured: /metrics needs a logged-in session (set metrics_token for Prometheus)`,
		},
	}
	want.Location = time.UTC
	want.HistoryRetention = DefaultHistoryRetention
	want.Cgroup = "auto"
	for _, j := range want.Jobs {
		j.RunControl = defaultRunControl
		j.Timing = defaultTiming(j.Sched != nil)
		j.Secrets = []string{j.Secret}
		j.ReplayWindow = DefaultReplayWindow
		j.DeliveryRetention = DefaultDeliveryRetention
		j.HistoryRetention = DefaultHistoryRetention
	}
	for _, j := range want.JobHTTPs {
		j.Timing = defaultTiming(j.Sched != nil)
		j.HistoryRetention = DefaultHistoryRetention
		if j.Secret != "" {
			j.Secrets = []string{j.Secret}
		}
	}
	if !reflect.DeepEqual(got, want) {
		compareEnv(t, got, want)
	}
}

// compareEnv reports the differences between two Envs field by field.
func compareEnv(t *testing.T, got, want *Env) {
	t.Helper()
	gv, wv := reflect.ValueOf(got).Elem(), reflect.ValueOf(want).Elem()
	for i := range gv.NumField() {
		name := gv.Type().Field(i).Name
		g, w := gv.Field(i).Interface(), wv.Field(i).Interface()
		if reflect.DeepEqual(g, w) {
			continue
		}
		switch name {
		case "Jobs":
			for j := range max(len(got.Jobs), len(want.Jobs)) {
				if j >= len(got.Jobs) || j >= len(want.Jobs) || !reflect.DeepEqual(got.Jobs[j], want.Jobs[j]) {
					t.Errorf("Jobs[%d] = %+v, want %+v", j, at(got.Jobs, j), at(want.Jobs, j))
				}
			}
		case "JobHTTPs":
			for j := range max(len(got.JobHTTPs), len(want.JobHTTPs)) {
				if j >= len(got.JobHTTPs) || j >= len(want.JobHTTPs) || !reflect.DeepEqual(got.JobHTTPs[j], want.JobHTTPs[j]) {
					t.Errorf("JobHTTPs[%d] = %+v, want %+v", j, at(got.JobHTTPs, j), at(want.JobHTTPs, j))
				}
			}
		case "Notifs":
			for k := range got.Notifs {
				if !reflect.DeepEqual(got.Notifs[k], want.Notifs[k]) {
					t.Errorf("Notifs[%q] = %+v, want %+v", k, got.Notifs[k], want.Notifs[k])
				}
			}
			if len(got.Notifs) != len(want.Notifs) {
				t.Errorf("len(Notifs) = %d, want %d", len(got.Notifs), len(want.Notifs))
			}
		default:
			t.Errorf("%s = %#v, want %#v", name, g, w)
		}
	}
}

// at returns xs[i] or nil.
func at[T any](xs []*T, i int) *T {
	if i < len(xs) {
		return xs[i]
	}
	return nil
}

// load writes content as a main file in a temporary directory, which is
// also the working directory, and loads it.
func load(t *testing.T, content string) (*Env, error) {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	path := filepath.Join(dir, "karajo.toml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return Load(path)
}

func TestLoadDefaults(t *testing.T) {
	env, err := load(t, "")
	if err != nil {
		t.Fatalf("Load(empty file): %v", err)
	}
	if env.Name != "karajo" || env.ListenAddress != "127.0.0.1:31937" || env.DirBase != "." ||
		env.DirPublic != "" || env.HTTPTimeout != 5*time.Minute || env.MaxJobRunning != 1 || env.IsDevelopment {
		t.Errorf("Load(empty file) = %+v, want the defaults of SPEC 2.3", env)
	}
	if !env.SecretGenerated || !regexp.MustCompile(`^[A-Za-z0-9]{32}$`).MatchString(env.Secret) {
		t.Errorf("Secret = %q (generated %v), want 32 generated [A-Za-z0-9]", env.Secret, env.SecretGenerated)
	}
	if len(env.Warnings) != 1 || !strings.Contains(env.Warnings[0], "karajo.secret") || strings.Contains(env.Warnings[0], env.Secret) {
		t.Errorf("Warnings = %q, want one about karajo.secret, without the secret", env.Warnings)
	}
	if env.Notifs == nil || env.Users == nil || len(env.Jobs)+len(env.JobHTTPs) != 0 {
		t.Errorf("Notifs = %v, Users = %v, Jobs = %v, JobHTTPs = %v; want empty, non-nil maps", env.Notifs, env.Users, env.Jobs, env.JobHTTPs)
	}
	again, err := load(t, "")
	if err != nil || again.Secret == env.Secret {
		t.Errorf("second Load: secret %q, %v; want a new secret", again.Secret, err)
	}
}

// TestLoadValues checks defaults and derived values in small configs.
func TestLoadValues(t *testing.T) {
	const hj = "[job_http.h]\nhttp_url = \"/x\"\n"
	tests := []struct {
		name    string
		content string
		check   func(*Env) (got, want any)
	}{
		{"env http_timeout 0s is 5m", "[karajo]\nsecret=\"s\"\nhttp_timeout = \"0s\"\n",
			func(e *Env) (any, any) { return e.HTTPTimeout, 5 * time.Minute }},
		{"env http_timeout empty is 5m", "[karajo]\nsecret=\"s\"\nhttp_timeout = \"\"\n",
			func(e *Env) (any, any) { return e.HTTPTimeout, 5 * time.Minute }},
		{"env negative http_timeout kept", "[karajo]\nsecret=\"s\"\nhttp_timeout = \"-1s\"\n",
			func(e *Env) (any, any) { return e.HTTPTimeout, -time.Second }},
		{"job_http inherits env http_timeout", "[karajo]\nhttp_timeout = \"2m\"\n" + hj,
			func(e *Env) (any, any) { return e.JobHTTPs[0].HTTPTimeout, 2 * time.Minute }},
		{"job_http inherits negative env as none", "[karajo]\nhttp_timeout = \"-1m\"\n" + hj,
			func(e *Env) (any, any) { return e.JobHTTPs[0].HTTPTimeout, time.Duration(0) }},
		{"job_http own http_timeout", "[karajo]\nhttp_timeout = \"-1m\"\n" + hj + "http_timeout = \"3s\"\n",
			func(e *Env) (any, any) { return e.JobHTTPs[0].HTTPTimeout, 3 * time.Second }},
		{"job_http negative http_timeout is none", hj + "http_timeout = \"-3s\"\n",
			func(e *Env) (any, any) { return e.JobHTTPs[0].HTTPTimeout, time.Duration(0) }},
		{"job_http secret not defaulted", "[karajo]\nsecret = \"env\"\n" + hj,
			func(e *Env) (any, any) { return e.JobHTTPs[0].Secret, "" }},
		{"job_http method default", hj, func(e *Env) (any, any) {
			j := e.JobHTTPs[0]
			return [3]string{j.HTTPMethod, j.Method, j.RequestType}, [3]string{"GET", "GET", "query"}
		}},
		{"job_http method as configured", hj + "http_method = \"Delete\"\n", func(e *Env) (any, any) {
			return [2]string{e.JobHTTPs[0].HTTPMethod, e.JobHTTPs[0].Method}, [2]string{"Delete", "DELETE"}
		}},
		{"job secret defaults to env", "[karajo]\nsecret = \"env\"\n[job.j]\ncommands = [\"x\"]\npath = \"/j\"\n",
			func(e *Env) (any, any) { return e.Jobs[0].Secret, "env" }},
		{"job secret defaults to generated", "[job.j]\ncommands = [\"x\"]\n",
			func(e *Env) (any, any) { return e.Jobs[0].Secret == e.Secret && e.SecretGenerated, true }},
		{"sourcehut webhook needs no secret", "[job.j]\ncommands = [\"x\"]\npath = \"/j\"\nauth_kind = \"SourceHut\"\n",
			func(e *Env) (any, any) { return e.Jobs[0].AuthKind, "sourcehut" }},
		{"interval 59s raised", "[job.j]\ncommands = [\"x\"]\ninterval = \"59s\"\n",
			func(e *Env) (any, any) { return e.Jobs[0].Interval, time.Minute }},
		{"interval 1m kept", "[job.j]\ncommands = [\"x\"]\ninterval = \"1m\"\n",
			func(e *Env) (any, any) { return [2]any{e.Jobs[0].Interval, len(e.Warnings)}, [2]any{time.Minute, 1} }},
		{"log_retention and max_job_running absent", "[job.j]\ncommands = [\"x\"]\n",
			func(e *Env) (any, any) { return [2]int{e.MaxJobRunning, e.Jobs[0].LogRetention}, [2]int{1, 5} }},
		{"log_retention and max_job_running set", "[karajo]\nmax_job_running = 3\n[job.j]\ncommands = [\"x\"]\nlog_retention = 1\n",
			func(e *Env) (any, any) { return [2]int{e.MaxJobRunning, e.Jobs[0].LogRetention}, [2]int{3, 1} }},
		{"listen address port 0 and empty host", "[karajo]\nlisten_address = \":0\"\n",
			func(e *Env) (any, any) { return e.ListenAddress, ":0" }},
		{"jobs sorted by ID", "[job.b]\ncommands=[\"x\"]\n[job.A]\ncommands=[\"x\"]\n[job.\"9\"]\ncommands=[\"x\"]\n",
			func(e *Env) (any, any) {
				var ids []string
				for _, j := range e.Jobs {
					ids = append(ids, j.ID)
				}
				return ids, []string{"_9", "a", "b"}
			}},
		{"exec job and job_http may share an ID", "[job.X]\ncommands=[\"x\"]\n[job_http.x]\nhttp_url=\"/x\"\n",
			func(e *Env) (any, any) { return e.Jobs[0].ID == e.JobHTTPs[0].ID, true }},
		{"empty tables", "[job_http.e]\nhttp_url=\"/\"\n[notif.n]\nkind=\"email\"\nsmtp_server=\"smtp://h\"\n[user]\n",
			func(e *Env) (any, any) { return e.Notifs["n"].Port, 25 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := load(t, tt.content)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if got, want := tt.check(env); !reflect.DeepEqual(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

// TestLoadMissingDirs: dir_base without etc/karajo is fine.
func TestLoadMissingDirs(t *testing.T) {
	env, err := load(t, "[karajo]\nsecret = \"s\"\ndir_base = \"does/not/exist\"\n")
	if err != nil || env.DirBase != "does/not/exist" || len(env.Users) != 0 {
		t.Errorf("Load = %+v, %v; want no error", env, err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	env, err := Load(filepath.Join(t.TempDir(), "nope.toml"))
	if env != nil || !errors.Is(err, ErrInvalid) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v, %v; want nil, ErrInvalid and ErrNotExist", env, err)
	}
}

// TestLoadJobDNotDir: a job.d that is a file is an error, not a silent skip.
func TestLoadJobDNotDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "etc", "karajo"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "etc", "karajo", "job.d"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := load(t, "[karajo]\nsecret = \"s\"\ndir_base = "+quote(dir)+"\n")
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "job.d") {
		t.Errorf("Load = %v, want an error naming job.d", err)
	}
}

// quote returns s as a TOML literal string.
func quote(s string) string { return "'" + s + "'" }

// TestFieldError checks the error format and the sentinel.
func TestFieldError(t *testing.T) {
	var err error = &FieldError{File: "a.toml", Key: `job."B".interval`, Reason: "bad"}
	if got, want := err.Error(), `a.toml: job."B".interval: bad`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("errors.Is(%v, ErrInvalid) = false", err)
	}
}

// TestCheckBcrypt covers the password hash check of user.toml.
func TestCheckBcrypt(t *testing.T) {
	const ok = "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"
	tests := []struct {
		hash string
		want bool
	}{
		{ok, true},
		{strings.Replace(ok, "$2b$", "$2a$", 1), true},
		{strings.Replace(ok, "$2b$", "$2y$", 1), true},
		{strings.Replace(ok, "$2b$", "$2x$", 1), false},
		{strings.Replace(ok, "$2b$", "$1b$", 1), false},
		{strings.Replace(ok, "$10$", "$03$", 1), false},
		{strings.Replace(ok, "$10$", "$32$", 1), false},
		{strings.Replace(ok, "$10$", "$1x$", 1), false},
		{strings.Replace(ok, "$10$", "$10x", 1), false},
		{ok[:59], false},
		{ok + "a", false},
		{ok[:59] + "!", false},
		{"", false},
		{"$2", false},
		{"plain", false},
	}
	for _, tt := range tests {
		t.Run(tt.hash, func(t *testing.T) {
			if got := checkBcrypt(tt.hash) == ""; got != tt.want {
				t.Errorf("checkBcrypt(%q) = %q, want ok=%v", tt.hash, checkBcrypt(tt.hash), tt.want)
			}
		})
	}
}

func TestGenerateSecret(t *testing.T) {
	re := regexp.MustCompile(`^[A-Za-z0-9]{32}$`)
	var seen []string
	for range 50 {
		s := generateSecret()
		if !re.MatchString(s) || slices.Contains(seen, s) {
			t.Fatalf("generateSecret() = %q, want 32 new [A-Za-z0-9]", s)
		}
		seen = append(seen, s)
	}
}
