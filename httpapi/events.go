package httpapi

import "github.com/julienschmidt/httprouter"

// routeEvents registers the Server-Sent Events streams.
func (s *Server) routeEvents(handle func(method, path string, h httprouter.Handle)) {}
