package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// loadMain writes content after a [karajo] table as a main file in a fresh
// dir_base and loads it; content may begin with more [karajo] keys.
func loadMain(t *testing.T, content string) (*Env, error) {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "karajo.toml")
	content = "[karajo]\ndir_base = " + `"` + dir + `"` + "\nsecret = \"s\"\n" + content
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return Load(p)
}

// TestNotifKindsAndAlertsInvalid: each bad value of the keys of issue 16
// is refused with the file, the key and the reason, and no secret.
func TestNotifKindsAndAlertsInvalid(t *testing.T) {
	const job = "\n[job.a]\ncommands = [\"true\"]\n"
	for _, c := range []struct{ name, toml, want string }{
		{"unknown kind", "[notif.n]\nkind = \"matrix\"\nurl = \"https://x\"\n", `karajo.toml: notif."n".kind: unknown kind "matrix": want one of email, webhook, slack`},
		{"slack http", "[notif.s]\nkind = \"slack\"\nurl = \"http://hooks.example.com/services/T0/B0/tok3n\"\n", `notif."s".url: a Slack incoming webhook must be https, got http://hooks.example.com/…`},
		{"slack secret", "[notif.s]\nkind = \"slack\"\nurl = \"https://h/x\"\nsecret = \"k\"\n", `notif."s".secret: only for kind = "webhook"`},
		{"webhook no url", "[notif.w]\nkind = \"webhook\"\n", `notif."w".url: missing: kind "webhook" posts to it`},
		{"webhook relative", "[notif.w]\nkind = \"webhook\"\nurl = \"/hook\"\n", `notif."w".url: want an absolute http or https URL with a host, got (url hidden)`},
		{"webhook ftp", "[notif.w]\nkind = \"webhook\"\nurl = \"ftp://h/p?token=zz\"\n", `notif."w".url: want an absolute http or https URL with a host, got ftp://h/…`},
		{"webhook smtp key", "[notif.w]\nkind = \"webhook\"\nurl = \"https://h\"\nto = [\"a@b.c\"]\n", `notif."w".to: only for kind = "email", not "webhook"`},
		{"email url", "[notif.m]\nkind = \"email\"\nsmtp_server = \"smtp://h\"\nurl = \"https://h\"\n", `notif."m".url: only for kind = "webhook" or "slack"`},
		{"streak 0", "[notif.w]\nkind = \"webhook\"\nurl = \"https://h\"\n" + job + "notif_on_failed_streak = 0\n", `job."a".notif_on_failed_streak: must be at least 1, got 0`},
		{"streak -2", job + "notif_on_failed_streak = -2\n", `job."a".notif_on_failed_streak: must be at least 1, got -2`},
		{"window short", job + "alert_if_no_success_within = \"30s\"\n", `job."a".alert_if_no_success_within: must be at least 1m0s, got "30s"`},
		{"window bad", job + "alert_if_no_success_within = \"a day\"\n", `job."a".alert_if_no_success_within: invalid duration "a day"`},
		{"window zero", job + "alert_if_no_success_within = \"0s\"\n", `job."a".alert_if_no_success_within: must be at least 1m0s, got "0s"`},
		{"unknown alert notif", job + "notif_on_alert = [\"nope\"]\nalert_if_no_success_within = \"1h\"\n", `job."a".notif_on_alert: unknown notif "nope"`},
		{"unknown recovered notif", "[job_http.h]\nhttp_url = \"/x\"\nnotif_on_recovered = [\"nope\"]\n", `job_http."h".notif_on_recovered: unknown notif "nope"`},
		{"http streak", "[job_http.h]\nhttp_url = \"/x\"\nnotif_on_failed_streak = 0\n", `job_http."h".notif_on_failed_streak: must be at least 1`},
		{"public_url bad", "public_url = \"karajo.example.com\"\n", `karajo.public_url: want the server's public base URL such as "https://karajo.example.com", got "karajo.example.com"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := loadMain(t, c.toml)
			checkErr(t, err, c.want)
			if err != nil && (strings.Contains(err.Error(), "tok3n") || strings.Contains(err.Error(), "token=zz")) {
				t.Errorf("error shows the URL's secret part: %v", err)
			}
		})
	}
}

// checkErr requires err to hold want and to be a *FieldError list.
func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Load error = %v\nwant one containing %q", err, want)
	}
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("error is not a FieldError: %T", err)
	}
}

// TestNotifKindsValid: webhook and slack tables, the alert keys and
// public_url as configured.
func TestNotifKindsValid(t *testing.T) {
	t.Setenv("KARAJO_TEST_HOOK_SECRET", "from-env")
	env, err := loadMain(t, `public_url = "https://karajo.example.com/"

[notif.hook]
kind = "webhook"
url = "http://127.0.0.1:9/hook"
secret = "$KARAJO_TEST_HOOK_SECRET"

[notif.chat]
kind = "slack"
url = "https://hooks.slack.com/services/T0/B0/xyz"

[job.a]
commands = ["true"]
notif_on_failed = ["hook"]
notif_on_failed_streak = 3
notif_on_recovered = ["chat"]
alert_if_no_success_within = "25h"
notif_on_alert = ["chat", "hook"]
`)
	if err != nil {
		t.Fatal(err)
	}
	if env.PublicURL != "https://karajo.example.com" {
		t.Errorf("PublicURL = %q", env.PublicURL)
	}
	h, s := env.Notifs["hook"], env.Notifs["chat"]
	if h.Kind != NotifWebhook || h.URL != "http://127.0.0.1:9/hook" || h.Secret != "from-env" {
		t.Errorf("hook = %+v", h)
	}
	if s.Kind != NotifSlack || s.URL != "https://hooks.slack.com/services/T0/B0/xyz" {
		t.Errorf("chat = %+v", s)
	}
	a := env.Jobs[0].Alerts
	if a.FailedStreak != 3 || a.NoSuccessWithin != 25*time.Hour || len(a.NotifOnAlert) != 2 || a.NotifOnRecovered[0] != "chat" {
		t.Errorf("alerts = %+v", a)
	}
}

// TestRedactURL keeps scheme and host only.
func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://hooks.slack.com/services/T/B/secret": "https://hooks.slack.com/…",
		"https://u:p@h:8080":                          "https://h:8080/…",
		"https://h/":                                  "https://h",
		"http://h?x=1":                                "http://h/…",
		"::bad":                                       "(url hidden)",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
