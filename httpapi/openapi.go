package httpapi

import (
	_ "embed"
	"net/http"

	"github.com/julienschmidt/httprouter"
)

// pathOpenAPI serves the OpenAPI document of the API.
const pathOpenAPI = "/karajo/api/openapi.json"

// openAPI is the OpenAPI 3.1 document of every route (openapi.json, kept
// by hand beside the handlers). TestOpenAPIComplete fails when a route is
// missing from it; the integration tests validate real answers against it.
//
//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the embedded OpenAPI document (a copy).
func OpenAPI() []byte { return append([]byte(nil), openAPI...) }

// routeOpenAPI adds GET (and HEAD) /karajo/api/openapi.json: the
// document, public like the health check (it describes the API, it holds
// no state), cacheable for an hour.
func (s *Server) routeOpenAPI(handle func(method, path string, h httprouter.Handle)) {
	serve := func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = w.Write(openAPI)
		}
	}
	handle(http.MethodGet, pathOpenAPI, serve)
	handle(http.MethodHead, pathOpenAPI, serve)
}
