package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pb33f/jsonschema/v6"
	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
)

// TestOpenAPIValid loads the embedded document with libopenapi (a full
// OpenAPI 3.1 model) and checks it against the OpenAPI 3.1 schema with
// libopenapi-validator: a document that does not build or validate fails.
func TestOpenAPIValid(t *testing.T) {
	doc, err := libopenapi.NewDocument(OpenAPI())
	if err != nil {
		t.Fatalf("libopenapi.NewDocument: %v", err)
	}
	if v := doc.GetVersion(); v != "3.1.0" {
		t.Errorf("openapi version %q, want 3.1.0", v)
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		t.Fatalf("BuildV3Model: %v", err)
	}
	if model.Model.Paths == nil || model.Model.Paths.PathItems.Len() == 0 {
		t.Fatal("no paths in the document")
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("NewValidator: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, e := range verrs {
			t.Errorf("document invalid: %s: %s", e.Message, e.Reason)
			for _, se := range e.SchemaValidationErrors {
				t.Errorf("  at %s (line %d): %s", se.FieldPath, se.Line, se.Reason)
			}
		}
	}
}

// TestOpenAPISchemas compiles every schema of the document against the
// JSON Schema 2020-12 meta-schema (OpenAPI 3.1's dialect): a typo such as
// "type": "integr" fails here, which the OpenAPI schema alone lets through.
func TestOpenAPISchemas(t *testing.T) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(OpenAPI()))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource("openapi.json", doc); err != nil {
		t.Fatal(err)
	}
	ptrs := schemaPointers(doc, "")
	if len(ptrs) < 20 {
		t.Fatalf("only %d schemas found in the document", len(ptrs))
	}
	for _, p := range ptrs {
		if _, err := c.Compile("openapi.json#" + p); err != nil {
			t.Errorf("schema at %s: %v", p, err)
		}
	}
}

// schemaPointers returns the JSON pointers of every schema of an OpenAPI
// document: the entries of components/schemas and every "schema" value
// (parameters, bodies, answers).
func schemaPointers(v any, at string) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		for k, sub := range x {
			p := at + "/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(k)
			switch {
			case k == "schema" || at == "/components/schemas":
				out = append(out, p)
			case k == "examples" || k == "example":
				continue
			default:
				out = append(out, schemaPointers(sub, p)...)
			}
		}
	case []any:
		for i, sub := range x {
			out = append(out, schemaPointers(sub, at+"/"+strconv.Itoa(i))...)
		}
	}
	return out
}

// routerParam turns httprouter's ":name" and "*name" segments into
// OpenAPI's "{name}".
var routerParam = regexp.MustCompile(`[:*]([A-Za-z_]+)`)

// TestOpenAPIComplete requires every route of the router in the
// document, with its method (HEAD answers of GET routes excepted: they
// mirror the GET), and no path in the document that the router lacks.
func TestOpenAPIComplete(t *testing.T) {
	s := newStaticServer(t, "", nil)
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	routed := map[string]bool{}
	for _, r := range s.routeList {
		method, path := r[0], routerParam.ReplaceAllString(r[1], "{$1}")
		routed[path] = true
		if method == http.MethodHead {
			continue
		}
		if _, ok := doc.Paths[path][strings.ToLower(method)]; !ok {
			t.Errorf("route %s %s is not in httpapi/openapi.json: add it under \"paths\" (and to docs/API.md)", method, path)
		}
	}
	for path, ops := range doc.Paths {
		if !routed[path] {
			t.Errorf("httpapi/openapi.json documents %s, which no route serves", path)
		}
		for m := range ops {
			if m == "parameters" || m == "summary" || m == "description" {
				continue
			}
			if !slices.Contains(s.routeList, [2]string{strings.ToUpper(m), openAPIToRouter(s.routeList, path)}) {
				t.Errorf("httpapi/openapi.json documents %s %s, which no route serves", strings.ToUpper(m), path)
			}
		}
	}
}

// openAPIToRouter returns the router's form of a documented path.
func openAPIToRouter(routes [][2]string, path string) string {
	for _, r := range routes {
		if routerParam.ReplaceAllString(r[1], "{$1}") == path {
			return r[1]
		}
	}
	return path
}

// TestOpenAPIServed: the document is served as is, without a session
// even when users exist.
func TestOpenAPIServed(t *testing.T) {
	s := newStaticServer(t, "", testUsers)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://127.0.0.1:0"+pathOpenAPI, nil))
	if rec.Code != http.StatusOK || rec.Body.String() != string(openAPI) {
		t.Fatalf("GET %s = %d, %d bytes; want 200 and the document", pathOpenAPI, rec.Code, rec.Body.Len())
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
}

// TestDocCopies: the reference pages the dashboard's Documentation link
// shows (ui/doc/*.txt, embedded) are the repository's docs/API.md and
// docs/CONFIG.md, byte for byte. After editing docs/, copy them:
// cp docs/API.md httpapi/ui/doc/API.txt; cp docs/CONFIG.md httpapi/ui/doc/CONFIG.txt
func TestDocCopies(t *testing.T) {
	for src, dst := range map[string]string{"../docs/API.md": "ui/doc/API.txt", "../docs/CONFIG.md": "ui/doc/CONFIG.txt"} {
		want, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		got, err := uiFiles.ReadFile(dst)
		if err != nil {
			t.Fatalf("%s not embedded: %v", dst, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("httpapi/%s differs from docs/%s: cp docs/%s httpapi/%s", dst, src[8:], src[8:], dst)
		}
	}
}

// TestOpenAPIValidatorCatchesDrift shows that the answer validation of the
// integration tests can fail: an answer with a field the document does
// not know, or without a required one, or with an undocumented status,
// is refused; the documented answer passes.
func TestOpenAPIValidatorCatchesDrift(t *testing.T) {
	doc, err := libopenapi.NewDocument(OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	tests := []struct {
		name   string
		status int
		body   string
		ok     bool
	}{
		{"documented", 200, `{"data":{"live":true,"ready":true,"checks":{"config":"ok"}},"code":200}`, true},
		{"unknown field", 200, `{"data":{"live":true,"ready":true,"checks":{},"extra":1},"code":200}`, false},
		{"missing field", 200, `{"data":{"live":true,"checks":{}},"code":200}`, false},
		{"wrong type", 200, `{"data":{"live":"yes","ready":true,"checks":{}},"code":200}`, false},
		{"undocumented status", 418, `{"message":"teapot","code":418}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:31937"+pathHealth, nil)
			resp := &http.Response{StatusCode: tt.status, Header: http.Header{"Content-Type": {"application/json"}},
				Body: io.NopCloser(strings.NewReader(tt.body)), Request: req}
			if ok, errs := v.ValidateHttpResponse(req, resp); ok != tt.ok {
				t.Errorf("ValidateHttpResponse = %v (%v), want %v", ok, errs, tt.ok)
			}
		})
	}
}
