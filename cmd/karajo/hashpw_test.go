package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"
	"golang.org/x/crypto/bcrypt"
)

// TestHashPassword checks karajo hash-password: the printed hash verifies
// the trimmed password, the user.toml hint decodes to the same hash, and
// bad input exits 1 with a message.
func TestHashPassword(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		stdin    string
		code     int
		password string // what the hash must verify
		stderr   string // part of the message on failure
	}{
		{name: "one line", stdin: "s3cret pass\n", password: "s3cret pass"},
		{name: "no newline", stdin: "pw", password: "pw"},
		{name: "crlf, spaces trimmed", stdin: "  pw \r\nsecond line\n", password: "pw"},
		{name: "with name", args: []string{"alice"}, stdin: "pw\n", password: "pw"},
		{name: "name to quote", args: []string{`a "b" \c`}, stdin: "pw\n", password: "pw"},
		{name: "empty", stdin: "", code: 1, stderr: "empty password"},
		{name: "blank line", stdin: " \t\n", code: 1, stderr: "empty password"},
		{name: "empty first line", stdin: "\npw\n", code: 1, stderr: "empty password"},
		{name: "too long", stdin: strings.Repeat("x", 73) + "\n", code: 1, stderr: "at most 72"},
		{name: "two names", args: []string{"a", "b"}, stdin: "pw\n", code: 1, stderr: "usage"},
		{name: "control in name", args: []string{"a\nb"}, stdin: "pw\n", code: 1, stderr: "control character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := hashPasswordCost(tt.args, strings.NewReader(tt.stdin), &out, &errb, bcrypt.MinCost)
			if code != tt.code {
				t.Fatalf("exit %d (stderr %q), want %d", code, errb.String(), tt.code)
			}
			if tt.code != 0 {
				if !strings.Contains(errb.String(), tt.stderr) || out.Len() != 0 {
					t.Errorf("stderr %q, stdout %q; want a message with %q and nothing on stdout", errb.String(), out.String(), tt.stderr)
				}
				return
			}
			hash, rest, _ := strings.Cut(out.String(), "\n")
			if err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(tt.password)); err != nil {
				t.Fatalf("hash %q does not verify %q: %v", hash, tt.password, err)
			}
			if len(tt.args) == 0 {
				if rest != "" {
					t.Errorf("without a name, more output: %q", rest)
				}
				return
			}
			var f struct {
				User map[string]struct {
					Password string `toml:"password"`
				} `toml:"user"`
			}
			if err := toml.Unmarshal([]byte(rest), &f); err != nil {
				t.Fatalf("hint does not decode: %v\n%s", err, rest)
			}
			if got := f.User[tt.args[0]].Password; got != hash {
				t.Errorf("hint gives user %q the password %q, want %q:\n%s", tt.args[0], got, hash, rest)
			}
		})
	}
}

// TestHashPasswordCost checks that the command hashes at passwordCost.
func TestHashPasswordCost(t *testing.T) {
	var out, errb bytes.Buffer
	if code := hashPassword(nil, strings.NewReader("pw\n"), &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	cost, err := bcrypt.Cost(bytes.TrimSpace(out.Bytes()))
	if err != nil || cost != passwordCost {
		t.Fatalf("cost %d, %v; want %d", cost, err, passwordCost)
	}
}
