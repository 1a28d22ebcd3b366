package config

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
)

// Values of Job.PassPayload: how the body of the webhook that triggered a
// run reaches its commands.
const (
	PayloadNone  = "none"  // not at all (default, as v0.9.3)
	PayloadFile  = "file"  // in a file named by KARAJO_PAYLOAD_FILE
	PayloadStdin = "stdin" // on every command's stdin
	PayloadEnv   = "env"   // in KARAJO_PAYLOAD (bodies up to MaxPayloadEnv)
)

// MaxPayloadEnv is the largest body pass_payload = "env" carries: Linux
// refuses single environment strings past 128 KiB, and the rest of the
// environment needs room too.
const MaxPayloadEnv = 64 << 10

// PayloadVar maps a dotted JSON path of a webhook body to a variable
// (payload_env).
type PayloadVar struct {
	Name string   // the variable
	Path []string // the path split at '.', e.g. ["repository", "full_name"]
}

// refusedHeaders may not be handed to commands by pass_headers: they carry
// signatures, credentials or cookies.
var refusedHeaders = []string{
	"Authorization", "Proxy-Authorization", "Cookie",
	"X-Hub-Signature", "X-Hub-Signature-256", "X-Payload-Signature", "X-Payload-Nonce",
}

// payload checks pass_payload, pass_headers and payload_env of a job.
func (c *checker) payload(j *Job, file, table string, t *jobTOML) {
	switch mode := strings.ToLower(strings.TrimSpace(t.PassPayload)); mode {
	case "", PayloadNone:
		j.PassPayload = PayloadNone
	case PayloadFile, PayloadStdin, PayloadEnv:
		j.PassPayload = mode
	default:
		c.fail(file, table+".pass_payload", "unknown mode %q: want none, file, stdin or env", t.PassPayload)
	}
	for i, h := range t.PassHeaders {
		key := fmt.Sprintf("%s.pass_headers[%d]", table, i)
		canon := http.CanonicalHeaderKey(strings.TrimSpace(h))
		switch {
		case !isToken(canon):
			c.fail(file, key, "%q is not a valid HTTP header name", h)
		case slices.Contains(refusedHeaders, canon) || strings.EqualFold(canon, j.HeaderSign):
			c.fail(file, key, "%s carries a signature or credentials: it is never handed to commands", canon)
		default:
			j.PassHeaders = append(j.PassHeaders, canon)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(t.PayloadEnv)) {
		key := table + ".payload_env." + name
		path := t.PayloadEnv[name]
		switch {
		case !ValidEnvName(name):
			c.fail(file, table+".payload_env", "%q is not a variable name ([A-Za-z_][A-Za-z0-9_]*)", name)
		case strings.HasPrefix(name, "KARAJO_"):
			c.fail(file, key, "the KARAJO_ prefix is karajo's own: choose another name")
		case path == "" || slices.Contains(strings.Split(path, "."), ""):
			c.fail(file, key, "%q is not a dotted JSON path such as \"repository.full_name\"", path)
		default:
			j.PayloadEnv = append(j.PayloadEnv, PayloadVar{Name: name, Path: strings.Split(path, ".")})
		}
	}
}

// HeaderVar returns the variable that carries the request header name
// (pass_headers): KARAJO_HEADER_ and the name in upper case with '-' as
// '_' (X-GitHub-Event: KARAJO_HEADER_X_GITHUB_EVENT). Other characters
// that a variable name cannot hold become '_' too.
func HeaderVar(name string) string {
	b := []byte("KARAJO_HEADER_" + strings.ToUpper(name))
	for i := len("KARAJO_HEADER_"); i < len(b); i++ {
		if c := b[i]; !('A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			b[i] = '_'
		}
	}
	return string(b)
}
