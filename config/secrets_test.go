package config

import (
	"slices"
	"strings"
	"testing"
)

// TestSecretList: a secret may be a string (v0.9.3) or a list whose first
// entry signs; a job without one falls back to [karajo] secret.
func TestSecretList(t *testing.T) {
	env, err := loadString(t, `
[job.single]
path = "/single"
secret = "  one  "
commands = ["true"]

[job.rotated]
path = "/rotated"
secret = ["new-secret", " old-secret "]
commands = ["true"]

[job.fallback]
path = "/fallback"
commands = ["true"]

[job_http.signer]
http_url = "/karajo/api/job_exec/run/rotated"
secret = ["new-secret", "old-secret"]

[job_http.plain]
http_url = "/x"
secret = " as-is "
`, nil)
	if err != nil {
		t.Fatal(err)
	}
	jobs := map[string]*Job{}
	for _, j := range env.Jobs {
		jobs[j.Name] = j
	}
	for _, tt := range []struct {
		name   string
		first  string
		secret []string
	}{
		{"single", "one", []string{"one"}},
		{"rotated", "new-secret", []string{"new-secret", "old-secret"}},
		{"fallback", "s", []string{"s"}},
	} {
		j := jobs[tt.name]
		if j.Secret != tt.first || !slices.Equal(j.Secrets, tt.secret) {
			t.Errorf("job %s: Secret %q Secrets %q, want %q %q", tt.name, j.Secret, j.Secrets, tt.first, tt.secret)
		}
	}
	hs := map[string]*JobHTTP{}
	for _, j := range env.JobHTTPs {
		hs[j.Name] = j
	}
	if j := hs["signer"]; j.Secret != "new-secret" || len(j.Secrets) != 2 {
		t.Errorf("job_http signer: Secret %q Secrets %q, want the first of two", j.Secret, j.Secrets)
	}
	if j := hs["plain"]; j.Secret != " as-is " {
		t.Errorf("job_http plain: Secret %q, want it as configured", j.Secret)
	}
}

// TestSecretListRefusals: the reasons name the key and position and never
// quote a secret.
func TestSecretListRefusals(t *testing.T) {
	_, err := loadString(t, `
[job.rotated]
path = "/rotated"
secret = ["top-secret-value", ""]
commands = ["true"]
`, nil)
	if err == nil {
		t.Fatal("an empty secret in a list was accepted")
	}
	if msg := err.Error(); !strings.Contains(msg, `job."rotated".secret[1]: empty secret`) || strings.Contains(msg, "top-secret-value") {
		t.Errorf("error %q: want the key and position, never the secret", msg)
	}
}

// TestDecodeErrorsQuoteNoLines: a syntax, type or unknown-key error names
// file, position and key, but never quotes the file's lines, which may
// hold a secret next to (or in) the faulty line.
func TestDecodeErrorsQuoteNoLines(t *testing.T) {
	for name, body := range map[string]string{
		"unknown key":  "[job.a]\nsecret = \"neighbour-secret\"\nsecert = \"typo-secret\"\ncommands = [\"true\"]\n",
		"type error":   "[job.a]\nsecret = \"neighbour-secret\"\nlog_retention = \"typo-secret\"\ncommands = [\"true\"]\n",
		"syntax error": "[job.a]\nsecret = \"neighbour-secret\"\nsecret2 \"typo-secret\"\n",
	} {
		_, err := loadString(t, body, nil)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, "neighbour-secret") || strings.Contains(msg, "typo-secret") {
			t.Errorf("%s: the error quotes a value of the file:\n%s", name, msg)
		}
	}
}
