package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeFile writes content to dir/name, making directories.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheckCmd(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.toml", `[karajo]
listen_address = "127.0.0.1:4000"
dir_base = "`+dir+`"
secret = "s3cret"
[job."A"]
interval = "1m"
commands = ["true"]
`)
	bad := writeFile(t, dir, "bad.toml", `[karajo]
dir_base = "`+dir+`"
[job."A"]
interval = "5"
commands = ["true"]
[job."B"]
schedule = "every tuesday-ish"
commands = ["true"]
`)
	tests := []struct {
		args      []string
		code      int
		out, errs []string
	}{
		{[]string{"-config", good}, 0, []string{good + ": ok: 1 job, 0 http jobs, 0 notifs, 0 users, listening on 127.0.0.1:4000"}, nil},
		{[]string{"-config", bad}, 2, nil, []string{bad + `: job."A".interval: `, bad + `: job."B".schedule: `, "invalid configuration (2 problems)"}},
		{[]string{"-config", filepath.Join(dir, "none.toml")}, 2, nil, []string{"none.toml: no such file or directory", "(1 problem)"}},
		{[]string{"-bogus"}, 2, nil, []string{"flag provided but not defined: -bogus"}},
		{[]string{"-config", good, "extra"}, 2, nil, []string{"wrong number of arguments"}},
	}
	for _, tt := range tests {
		var out, errs bytes.Buffer
		code := checkCmd(tt.args, &out, &errs)
		if code != tt.code {
			t.Errorf("check %q = %d, want %d; stderr %q", tt.args, code, tt.code, errs.String())
		}
		for _, w := range tt.out {
			if !strings.Contains(out.String(), w) {
				t.Errorf("check %q: stdout %q lacks %q", tt.args, out.String(), w)
			}
		}
		for _, w := range tt.errs {
			if !strings.Contains(errs.String(), w) {
				t.Errorf("check %q: stderr %q lacks %q", tt.args, errs.String(), w)
			}
		}
		if strings.Contains(errs.String(), "invalid configuration: invalid configuration") {
			t.Errorf("check %q: stderr repeats itself: %q", tt.args, errs.String())
		}
	}
}

func TestSignCmd(t *testing.T) {
	t.Setenv("KARAJO_SECRET", "")
	var out, errs bytes.Buffer
	// openssl: printf '%s' 'id=a' | openssl dgst -sha256 -hmac s3cret -hex
	if code := signCmd("sign", []string{"-secret", "s3cret", "id=a"}, &out, &errs); code != 0 ||
		out.String() != "0d7aa1b480762bdcac8407131f202468be230117a5c2cc8650594841bdf80032\n" {
		t.Errorf("sign = %d, %q, %q", code, out.String(), errs.String())
	}
	out.Reset()
	errs.Reset()
	if code := signCmd("sign", []string{"id=a"}, &out, &errs); code != 2 || !strings.Contains(errs.String(), "no secret") {
		t.Errorf("sign without secret = %d, %q, %q", code, out.String(), errs.String())
	}
}

func TestHelpListsSubcommands(t *testing.T) {
	for _, arg := range []string{"help", "--help", "-h"} {
		var out, errs bytes.Buffer
		code, ok := subcommand([]string{arg}, &out, &errs)
		if !ok || code != 0 {
			t.Fatalf("%s = %d, %v", arg, code, ok)
		}
		for _, sub := range []string{"serve", "check", "status", "run", "pause", "resume", "cancel", "logs", "history", "sign", "schedule", "hash-password", "version", "help"} {
			if !strings.Contains(out.String(), "\n  "+sub+" ") {
				t.Errorf("%s: no line for %q", arg, sub)
			}
		}
	}
}

func TestParseInterspersed(t *testing.T) {
	tests := []struct {
		args []string
		wait bool
		pos  string
	}{
		{[]string{"a", "-wait"}, true, "a"},
		{[]string{"-wait", "a", "b"}, true, "a b"},
		{[]string{"a", "--", "-wait"}, false, "a -wait"},
		{[]string{"-", "-wait"}, true, "-"},
		{nil, false, ""},
	}
	for _, tt := range tests {
		fs := flag.NewFlagSet("x", flag.ContinueOnError)
		wait := fs.Bool("wait", false, "")
		if err := parseInterspersed(fs, tt.args); err != nil || *wait != tt.wait || strings.Join(fs.Args(), " ") != tt.pos {
			t.Errorf("%q: err %v, wait %v, args %q; want %v, %q", tt.args, err, *wait, fs.Args(), tt.wait, tt.pos)
		}
	}
}
