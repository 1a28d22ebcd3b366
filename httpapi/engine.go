package httpapi

import (
	"net/http"

	"github.com/julienschmidt/httprouter"

	"github.com/karajo/karajo/actors"
)

// pathEngine is the engine's state (not in v0.9.3).
const pathEngine = "/karajo/api/engine"

// engineState handles GET /karajo/api/engine: the run slots, the queue
// for them, the runs in progress and waiting for a retry, the kill
// mechanism and the actors' health (actors.EngineState). Read access as
// the environment (401 without it); 200 {"data":<state>,"code":200}.
func (s *Server) engineState(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	if _, err := s.readQuery(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	st, err := actors.Ask[*actors.EngineState](s.engine.Root(), s.engine.Supervisor(), &actors.GetEngineState{}, s.timeout)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, envelope{Data: st, Code: http.StatusOK})
}
