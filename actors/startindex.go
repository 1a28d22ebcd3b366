package actors

import (
	"context"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/karajo/karajo/logstore"
)

// writeStartIndex writes the start index of each kind (logstore's cache of
// what the jobs' files hold, checked by one stat per job and file at the
// next start) once every job has stopped. It gives up at deadline, leaving
// the previous index, whose entries are checked the same way.
func (e *Engine) writeStartIndex(deadline time.Time) {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	t := e.tables.Load()
	for kind, pids := range map[logstore.Kind]map[string]*actor.PID{logstore.KindJob: t.jobs, logstore.KindJobHTTP: t.httpJobs} {
		if len(pids) == 0 {
			continue
		}
		ids := make([]string, 0, len(pids))
		for id := range pids {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		t0 := time.Now()
		st, err := e.store.WriteStartIndex(ctx, kind, ids)
		if err != nil {
			e.log.Warn("start index not written", "kind", kind, "err", err)
			continue
		}
		e.log.Info("start index written", "kind", kind, "jobs", st.Jobs, "reused", st.Reused, "read", st.Scanned,
			"left_out", st.Left, "took", time.Since(t0).Round(time.Millisecond))
	}
}
