package actors

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/karajo/karajo/config"
)

// Payload is the verified webhook request that triggered a run, for the
// job's pass_payload, pass_headers and payload_env. Whoever sends it in a
// Trigger hands it over: the job closes its body when the run has ended,
// or at once when the trigger starts no run.
type Payload struct {
	Body    PayloadBody // nil when the job needs no body
	Headers [][2]string // the pass_headers present in the request: canonical name, values joined with ", "
}

// PayloadBody is a webhook body kept for a run. Open returns an
// independent reader of the whole body each time.
type PayloadBody interface {
	Size() int64
	Open() io.Reader
	Close() error
}

// close lets go of the payload's body; a nil payload is fine.
func (p *Payload) close() {
	if p != nil && p.Body != nil {
		_ = p.Body.Close()
	}
}

// Payload variables set for the commands of a webhook run.
const (
	varPayload     = "KARAJO_PAYLOAD"
	varPayloadFile = "KARAJO_PAYLOAD_FILE"
)

// payloadVars returns the variables a run gets from its payload under
// cfg: KARAJO_HEADER_* for pass_headers, the payload_env variables, and
// KARAJO_PAYLOAD for pass_payload = "env" (the file's variable is added
// by the run that writes it). notes are lines for the run's log about
// what could not be set; err fails the run (a body too large for env).
func payloadVars(cfg *config.Job, p *Payload) (vars []config.Var, notes []string, err error) {
	if p == nil {
		return nil, nil, nil
	}
	for _, h := range p.Headers {
		vars = appendVar(vars, &notes, config.HeaderVar(h[0]), h[1])
	}
	if p.Body == nil || len(cfg.PayloadEnv) == 0 && cfg.PassPayload != config.PayloadEnv {
		return vars, notes, nil
	}
	if cfg.PassPayload == config.PayloadEnv && p.Body.Size() > config.MaxPayloadEnv {
		return nil, nil, fmt.Errorf("payload of %d bytes is over %d KiB: pass_payload = \"env\" cannot carry it (use \"file\" or \"stdin\")", p.Body.Size(), config.MaxPayloadEnv>>10)
	}
	body, err := io.ReadAll(p.Body.Open())
	if err != nil {
		return nil, nil, fmt.Errorf("read payload: %w", err)
	}
	if cfg.PassPayload == config.PayloadEnv {
		if bytes.IndexByte(body, 0) >= 0 {
			return nil, nil, fmt.Errorf("payload holds a NUL byte: pass_payload = \"env\" cannot carry it (use \"file\" or \"stdin\")")
		}
		vars = append(vars, config.Var{Name: varPayload, Value: string(body)})
	}
	if len(cfg.PayloadEnv) == 0 {
		return vars, notes, nil
	}
	doc, err := decodeJSON(body)
	if err != nil {
		return vars, append(notes, "payload_env: the payload is not JSON ("+err.Error()+"): its variables are not set"), nil
	}
	for _, pv := range cfg.PayloadEnv {
		if v, ok := jsonPath(doc, pv.Path); ok {
			vars = appendVar(vars, &notes, pv.Name, v)
		}
	}
	return vars, notes, nil
}

// appendVar appends name=value unless the value cannot be in an
// environment (a NUL byte, or longer than config.MaxPayloadEnv): then it
// notes why it is not set.
func appendVar(vars []config.Var, notes *[]string, name, value string) []config.Var {
	switch {
	case strings.IndexByte(value, 0) >= 0:
		*notes = append(*notes, name+" is not set: its value holds a NUL byte")
	case len(value) > config.MaxPayloadEnv:
		*notes = append(*notes, fmt.Sprintf("%s is not set: its value of %d bytes is over %d KiB", name, len(value), config.MaxPayloadEnv>>10))
	default:
		vars = append(vars, config.Var{Name: name, Value: value})
	}
	return vars
}

// decodeJSON decodes one JSON value, numbers kept as written.
func decodeJSON(body []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("more than one JSON value")
	}
	return doc, nil
}

// jsonPath returns the value at path in doc: a key of an object, or an
// index of an array, per element. A string is returned as it is, a number
// or a boolean in its JSON form, an object or an array as compact JSON.
// A missing path, and null, give false.
func jsonPath(doc any, path []string) (string, bool) {
	cur := doc
	for _, key := range path {
		switch v := cur.(type) {
		case map[string]any:
			next, ok := v[key]
			if !ok {
				return "", false
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(key)
			if err != nil || i < 0 || i >= len(v) {
				return "", false
			}
			cur = v[i]
		default:
			return "", false
		}
	}
	switch v := cur.(type) {
	case nil:
		return "", false
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	case bool:
		return strconv.FormatBool(v), true
	default:
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return "", false
		}
		return strings.TrimSuffix(b.String(), "\n"), true
	}
}

// preparePayload gives the run its payload before the first command:
// the payload variables in its environment and, for pass_payload "file"
// and "stdin", the payload file. Notes go to the log. An error fails
// the run before any command starts.
func (r *execRun) preparePayload() error {
	if r.payload == nil {
		return nil
	}
	vars, notes, err := payloadVars(r.cfg, r.payload)
	for _, n := range notes {
		r.line("!!! job: " + r.id + ": " + n)
	}
	if err != nil {
		return err
	}
	if mode := r.cfg.PassPayload; r.payload.Body != nil && (mode == config.PayloadFile || mode == config.PayloadStdin) {
		uid, gid := owner(r.cfg)
		path, err := r.store.WritePayload(r.id, r.counter, r.payload.Body.Open(), uid, gid)
		if err != nil {
			return err
		}
		r.payloadFile = path
		if mode == config.PayloadFile {
			vars = append(vars, config.Var{Name: varPayloadFile, Value: path})
		}
	}
	r.env = overlay(r.env, vars)
	return nil
}

// payloadStdin opens the payload file for one command's stdin
// (pass_payload = "stdin"); nil means the empty stdin.
func (r *execRun) payloadStdin() (*os.File, error) {
	if r.payloadFile == "" || r.cfg.PassPayload != config.PayloadStdin {
		return nil, nil
	}
	f, err := os.Open(r.payloadFile)
	if err != nil {
		return nil, fmt.Errorf("payload for stdin: %w", err)
	}
	return f, nil
}

// removePayload removes the run's payload file, if any.
func (r *execRun) removePayload() {
	if r.payloadFile == "" {
		return
	}
	if err := r.store.RemovePayload(r.payloadFile); err != nil {
		r.log.Warn("remove payload file", "job", r.id, "counter", r.counter, "err", err)
	}
	r.payloadFile = ""
}

// setNextPayload keeps p for the pending trigger, closing the payload of
// the trigger it replaces.
func (j *job) setNextPayload(p *Payload) {
	j.nextPayload.close()
	j.nextPayload = p
}
