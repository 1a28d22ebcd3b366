package actors

import (
	"bytes"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/karajo/karajo/config"
)

func TestJSONPath(t *testing.T) {
	doc, err := decodeJSON([]byte(`{"ref":"refs/heads/main","n":12345678901234567890,"f":1.50,"ok":true,"nil":null,
		"repo":{"full_name":"o/r","tags":["a","b"]},"list":[{"id":"c1"},{"id":"c2"}],"html":"<&>","dot.key":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		want string
		ok   bool
	}{
		{"ref", "refs/heads/main", true},
		{"n", "12345678901234567890", true},
		{"f", "1.50", true},
		{"ok", "true", true},
		{"nil", "", false},
		{"repo.full_name", "o/r", true},
		{"repo", `{"full_name":"o/r","tags":["a","b"]}`, true},
		{"repo.tags", `["a","b"]`, true},
		{"repo.tags.1", "b", true},
		{"list.0.id", "c1", true},
		{"list.2.id", "", false},
		{"list.-1", "", false},
		{"list.x", "", false},
		{"ref.deeper", "", false},
		{"missing", "", false},
		{"html", "<&>", true},
		{"dot.key", "", false},
	}
	for _, tt := range tests {
		got, ok := jsonPath(doc, strings.Split(tt.path, "."))
		if got != tt.want || ok != tt.ok {
			t.Errorf("jsonPath(%q) = %q, %v, want %q, %v", tt.path, got, ok, tt.want, tt.ok)
		}
	}
}

// memBody is a PayloadBody in memory.
type memBody struct{ b []byte }

func (m *memBody) Size() int64     { return int64(len(m.b)) }
func (m *memBody) Open() io.Reader { return bytes.NewReader(m.b) }
func (m *memBody) Close() error    { return nil }

func TestPayloadVars(t *testing.T) {
	cfg := &config.Job{PassPayload: config.PayloadEnv, PayloadEnv: []config.PayloadVar{
		{Name: "REF", Path: []string{"ref"}}, {Name: "BAD", Path: []string{"nul"}},
	}}
	p := &Payload{Body: &memBody{[]byte(`{"ref":"main","nul":"a\u0000b"}`)}, Headers: [][2]string{{"X-Github-Event", "push"}}}
	vars, notes, err := payloadVars(cfg, p)
	if err != nil {
		t.Fatal(err)
	}
	want := []config.Var{
		{Name: "KARAJO_HEADER_X_GITHUB_EVENT", Value: "push"},
		{Name: varPayload, Value: `{"ref":"main","nul":"a\u0000b"}`},
		{Name: "REF", Value: "main"},
	}
	if !reflect.DeepEqual(vars, want) {
		t.Errorf("vars = %+v, want %+v", vars, want)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "BAD is not set: its value holds a NUL byte") {
		t.Errorf("notes = %q", notes)
	}

	big := &Payload{Body: &memBody{bytes.Repeat([]byte("x"), config.MaxPayloadEnv+1)}}
	if _, _, err := payloadVars(cfg, big); err == nil || !strings.Contains(err.Error(), "over 64 KiB") {
		t.Errorf("a body over 64 KiB with env: err = %v", err)
	}
	cfg.PassPayload = config.PayloadNone
	_, notes, err = payloadVars(cfg, &Payload{Body: &memBody{[]byte("not json")}})
	if err != nil || len(notes) != 1 || !strings.Contains(notes[0], "the payload is not JSON") {
		t.Errorf("a body that is not JSON: notes %q, err %v", notes, err)
	}
	if vars, notes, err := payloadVars(cfg, nil); vars != nil || notes != nil || err != nil {
		t.Errorf("no payload: %v %v %v", vars, notes, err)
	}
}

func TestOverlay(t *testing.T) {
	env := []string{"A=1", "KARAJO_JOB_ID=x", "REF=configured"}
	got := overlay(env, []config.Var{{Name: "REF", Value: "main"}, {Name: "B", Value: "2"}})
	if want := []string{"A=1", "B=2", "KARAJO_JOB_ID=x", "REF=main"}; !reflect.DeepEqual(got, want) {
		t.Errorf("overlay = %q, want %q", got, want)
	}
}
