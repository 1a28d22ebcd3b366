package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/julienschmidt/httprouter"

	"github.com/karajo/karajo/actors"
)

// Server-Sent Events paths.
const (
	pathEvents        = "/karajo/api/events"
	pathExecLogStream = "/karajo/api/job_exec/log/stream"
	pathHTTPLogStream = "/karajo/api/job_http/log/stream"
)

// Tuning of the streams.
var (
	heartbeat    = 15 * time.Second       // comment line that keeps proxies from closing an idle stream
	tailPoll     = 200 * time.Millisecond // how often a running log is checked for growth
	eventsBuffer = 256                    // events a slow client may lag before a resync
	maxTailChunk = 64 << 10               // bytes of log text per SSE event
)

// routeEvents registers the Server-Sent Events streams.
func (s *Server) routeEvents(handle func(method, path string, h httprouter.Handle)) {
	handle(http.MethodGet, pathEvents, s.stream(s.events))
	handle(http.MethodGet, pathExecLogStream, s.stream(s.logStream(false)))
	handle(http.MethodGet, pathHTTPLogStream, s.stream(s.logStream(true)))
}

// eventItem is one job in the events stream: the job object exactly as the
// environment API shows it, plus whether it runs or waits for a slot.
type eventItem struct {
	Kind    string `json:"kind"` // "job" or "job_http"
	Job     any    `json:"job"`
	Running bool   `json:"running"`
	Waiting bool   `json:"waiting"`
}

func execItem(v *actors.JobView) eventItem {
	return eventItem{Kind: "job", Job: v, Running: v.Running, Waiting: v.Waiting}
}

func httpItem(v *actors.JobHTTPView) eventItem {
	return eventItem{Kind: "job_http", Job: v, Running: v.Running}
}

// sse writes Server-Sent Events to one client.
type sse struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

// startSSE sends the stream's headers. A stream has no write deadline: it
// lasts as long as the client stays.
func startSSE(w http.ResponseWriter) *sse {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{})
	s := &sse{w: w, rc: rc}
	_ = s.flush()
	return s
}

func (s *sse) flush() error { return s.rc.Flush() }

// send writes one event whose data is v encoded as JSON (one line).
func (s *sse) send(event string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	buf.Grow(len(b) + len(event) + 16)
	buf.WriteString("event: ")
	buf.WriteString(event)
	buf.WriteString("\ndata: ")
	buf.Write(b)
	buf.WriteString("\n\n")
	if _, err := s.w.Write(buf.Bytes()); err != nil {
		return err
	}
	return s.flush()
}

func (s *sse) comment(text string) error {
	if _, err := io.WriteString(s.w, ": "+text+"\n\n"); err != nil {
		return err
	}
	return s.flush()
}

// events handles GET /karajo/api/events: a Server-Sent Events stream of
// job state. The first event, "snapshot", holds every job
// ({"name","version","items":[item…]}); then one "job" event (an item) per
// change. Each stream is fed by its own subscriber actor, stopped when the
// client goes.
func (s *Server) events(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	if _, err := s.readQuery(r); err != nil { // a malformed query is a 400, as on every read
		s.writeError(w, r, err)
		return
	}
	still := s.streamGuard(r)
	sub := s.engine.Subscribe(eventsBuffer)
	defer sub.Close()
	out := startSSE(w)
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		var err error
		select {
		case <-r.Context().Done():
			return
		case <-s.closing:
			return
		case <-tick.C:
			err = s.beat(out, still) // sessionauth.go
		case ev, ok := <-sub.C:
			if !ok {
				return
			}
			err = s.sendEvent(out, ev)
		}
		if err != nil {
			return // the client went away
		}
	}
}

func (s *Server) sendEvent(out *sse, ev actors.Event) error {
	switch {
	case ev.Snapshot != nil:
		items := make([]eventItem, 0, len(ev.Snapshot.Jobs)+len(ev.Snapshot.HTTPJobs))
		for i := range ev.Snapshot.Jobs {
			items = append(items, execItem(&ev.Snapshot.Jobs[i]))
		}
		for i := range ev.Snapshot.HTTPJobs {
			items = append(items, httpItem(&ev.Snapshot.HTTPJobs[i]))
		}
		return out.send("snapshot", map[string]any{"name": s.conf.Load().env.Name, "version": s.version, "items": items})
	case ev.Job != nil:
		return out.send("job", execItem(ev.Job))
	case ev.HTTPJob != nil:
		return out.send("job", httpItem(ev.HTTPJob))
	}
	return nil
}

// logStream builds the handler of GET /karajo/api/job_exec/log/stream and
// /karajo/api/job_http/log/stream (?id=&counter=): the log's text as "log"
// events (data: a JSON string), following it while the run goes, then one
// "end" event ({"status":…}). Errors before the stream starts are the
// usual JSON envelopes of the log endpoints.
func (s *Server) logStream(httpJob bool) httprouter.Handle {
	return func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
		pid, q, err := s.logJob(r, httpJob)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		id := strings.ToLower(q.Get("id"))
		raw := q.Get("counter")
		counter, ok := parseCounter(raw)
		if !ok {
			s.writeError(w, r, &apiError{Code: http.StatusNotFound, Message: "log #" + raw + " not found"})
			return
		}
		// Subscribe before opening the log, so the end of the run cannot
		// slip between the two.
		sub := s.engine.Subscribe(16)
		defer sub.Close()
		lf, err := actors.Ask[*actors.LogFile](s.engine.Root(), pid, &actors.GetLog{Counter: counter}, s.timeout)
		if err != nil {
			if errors.Is(err, actors.ErrLogNotFound) {
				err = &apiError{Code: http.StatusNotFound, Message: fmt.Sprintf("log #%d not found", counter), Err: err}
			}
			s.writeError(w, r, err)
			return
		}
		defer lf.File.Close()
		s.tail(w, r, sub, lf, id, httpJob, s.streamGuard(r))
	}
}

// tail streams lf from its start, following it while its run goes on.
func (s *Server) tail(w http.ResponseWriter, r *http.Request, sub *actors.Subscription, lf *actors.LogFile, id string, httpJob bool, still func() bool) {
	out := startSSE(w)
	buf := make([]byte, maxTailChunk+utf8.UTFMax)
	carry := 0 // bytes of an incomplete UTF-8 character kept from the last read
	drain := func() error {
		for {
			n, err := lf.File.Read(buf[carry:maxTailChunk])
			n += carry
			// Send whole characters only: hold back a character cut by the read.
			cut := n
			for i := 1; i < utf8.UTFMax && i <= n; i++ {
				if b := buf[n-i]; utf8.RuneStart(b) {
					if !utf8.FullRune(buf[n-i : n]) {
						cut = n - i
					}
					break
				}
			}
			if cut > 0 {
				if err := out.send("log", string(buf[:cut])); err != nil {
					return err
				}
			}
			carry = copy(buf, buf[cut:n])
			if err == io.EOF || n-carry == 0 {
				return nil
			}
			if err != nil {
				return err
			}
		}
	}
	status := lf.Status
	poll := time.NewTicker(tailPoll)
	defer poll.Stop()
	beat := time.NewTicker(heartbeat)
	defer beat.Stop()
	for status == "running" {
		if err := drain(); err != nil {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-s.closing:
			return
		case <-poll.C:
		case <-beat.C:
			if s.beat(out, still) != nil { // sessionauth.go
				return
			}
		case ev, ok := <-sub.C:
			if !ok {
				return
			}
			if st, found := logStatus(ev, id, lf.Counter, httpJob); found && st != "running" {
				status = st
			}
		}
	}
	if drain() == nil {
		if carry > 0 { // the log ends in a cut character: send it as it is
			_ = out.send("log", string(buf[:carry]))
		}
		_ = out.send("end", map[string]string{"status": status})
	}
}

// logStatus finds the status of log counter of job id in an event.
func logStatus(ev actors.Event, id string, counter int64, httpJob bool) (string, bool) {
	var logs []actors.LogRefView
	switch {
	case ev.Snapshot != nil && !httpJob:
		for _, j := range ev.Snapshot.Jobs {
			if j.ID == id {
				logs = j.Logs
			}
		}
	case ev.Snapshot != nil:
		for _, j := range ev.Snapshot.HTTPJobs {
			if j.ID == id {
				logs = j.Logs
			}
		}
	case ev.Job != nil && !httpJob && ev.Job.ID == id:
		logs = ev.Job.Logs
	case ev.HTTPJob != nil && httpJob && ev.HTTPJob.ID == id:
		logs = ev.HTTPJob.Logs
	default:
		return "", false
	}
	for _, l := range logs {
		if l.Counter == counter {
			return l.Status, true
		}
	}
	return "", false // pruned or a new job: treat as unknown
}
