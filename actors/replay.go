package actors

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrReplayed: a webhook delivery whose id the job already accepted within
// its replay_window (issue 15). The error is a *ReplayedError.
var ErrReplayed = errors.New("delivery already accepted")

// ReplayedError refuses a repeated delivery and names the run the first
// one started.
type ReplayedError struct {
	Job        string // the job's ID
	DeliveryID string // the repeated id
	Counter    int64  // the run the first delivery started (or queued as)
}

// Error says which run the delivery already started.
func (e *ReplayedError) Error() string {
	return fmt.Sprintf("job %s: delivery %s already accepted as run #%d", e.Job, e.DeliveryID, e.Counter)
}

// Is makes a *ReplayedError match ErrReplayed.
func (e *ReplayedError) Is(target error) bool { return target == ErrReplayed }

// MaxReplayIDs is the most delivery ids a job remembers: past it the
// oldest is forgotten first, whatever its age. Ids longer than
// maxDeliveryID are refused by the API before they get here, so a job's
// window holds at most MaxReplayIDs × (maxDeliveryID + ~40) bytes in
// memory and on disk (about 0.7 MB).
const MaxReplayIDs = 4096

// maxDeliveryID is the longest delivery id kept (UUIDs are 36 bytes).
const maxDeliveryID = 128

// replayEntry is one accepted delivery.
type replayEntry struct {
	id      string
	at      time.Time
	counter int64
}

// replayWindow is the delivery ids a job accepted within window, oldest
// first: a pure type, owned by the job actor, with no I/O.
type replayWindow struct {
	entries []replayEntry    // in the order accepted
	index   map[string]int64 // id → counter, for the entries
	lines   int              // lines in the file: appended ones count until it is rewritten
}

// newReplayWindow returns an empty window.
func newReplayWindow() *replayWindow {
	return &replayWindow{index: map[string]int64{}}
}

// prune forgets what is older than window before now, and what is over
// MaxReplayIDs.
func (w *replayWindow) prune(now time.Time, window time.Duration) {
	n := 0
	for n < len(w.entries) && (now.Sub(w.entries[n].at) > window || len(w.entries)-n > MaxReplayIDs) {
		if e := w.entries[n]; w.index[e.id] == e.counter { // else a later entry holds the id
			delete(w.index, e.id)
		}
		n++
	}
	if n > 0 {
		// Re-slicing is O(1); append reallocates (and drops what was
		// cut) once the backing array is full, so memory stays within
		// about twice MaxReplayIDs entries.
		clear(w.entries[:n])
		w.entries = w.entries[n:]
	}
}

// seen reports the run a delivery id started if it was accepted within
// window before now.
func (w *replayWindow) seen(id string, now time.Time, window time.Duration) (int64, bool) {
	w.prune(now, window)
	c, ok := w.index[id]
	return c, ok
}

// add records id as accepted at now, starting run counter.
func (w *replayWindow) add(id string, counter int64, now time.Time, window time.Duration) {
	w.entries = append(w.entries, replayEntry{id: id, at: now, counter: counter})
	w.index[id] = counter
	w.prune(now, window)
}

// line is one entry as the file holds it.
func (e replayEntry) line() string {
	return fmt.Sprintf("%d %d %s\n", e.at.UnixNano(), e.counter, e.id)
}

// needsRewrite reports whether the file holds so many lines of forgotten
// entries that it should be rewritten with the kept ones.
func (w *replayWindow) needsRewrite() bool {
	return w.lines > 2*len(w.entries)+64
}

// encode is the window as text: one "unix-nanos counter id" line per
// entry, oldest first.
func (w *replayWindow) encode() []byte {
	var b bytes.Buffer
	for _, e := range w.entries {
		b.WriteString(e.line())
	}
	return b.Bytes()
}

// decodeReplay reads what encode wrote. A line that does not parse is
// skipped and counted: a damaged file loses those ids, never the rest.
func decodeReplay(data []byte) (*replayWindow, int) {
	w, bad := newReplayWindow(), 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		w.lines++
		f := strings.SplitN(sc.Text(), " ", 3)
		if len(f) != 3 {
			bad++
			continue
		}
		ns, err1 := strconv.ParseInt(f[0], 10, 64)
		c, err2 := strconv.ParseInt(f[1], 10, 64)
		if err1 != nil || err2 != nil || !validDeliveryID(f[2]) {
			bad++
			continue
		}
		w.entries = append(w.entries, replayEntry{id: f[2], at: time.Unix(0, ns), counter: c})
		w.index[f[2]] = c
	}
	return w, bad
}

// validDeliveryID reports whether id may be kept: 1 to maxDeliveryID
// visible ASCII bytes (no space: the file format splits on it).
func validDeliveryID(id string) bool {
	if id == "" || len(id) > maxDeliveryID {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

// replayWindowOf is the job's replay_window; JobHttp jobs have none.
func (j *job) replayWindowOf() time.Duration {
	if j.exec == nil || j.exec.ReplayWindow <= 0 {
		return 0
	}
	return j.exec.ReplayWindow
}

// replayLoaded returns the job's window, reading its file on first use
// (so that a start with many webhook jobs reads none of them). A file
// that cannot be read is logged and the window starts empty.
func (j *job) replayLoaded() *replayWindow {
	if j.replay != nil {
		return j.replay
	}
	data, err := j.store.LoadDeliveries(j.kind, j.id)
	if err != nil {
		j.log.Error("load accepted delivery ids", "job", j.id, "err", err)
	}
	w, bad := decodeReplay(data)
	if bad > 0 {
		j.log.Warn("accepted delivery ids: lines skipped", "job", j.id, "lines", bad)
	}
	j.replay = w
	return w
}

// checkReplay refuses a delivery id the job accepted within its window.
func (j *job) checkReplay(id string, now time.Time) error {
	window := j.replayWindowOf()
	if id == "" || window == 0 {
		return nil
	}
	if c, ok := j.replayLoaded().seen(id, now, window); ok {
		return &ReplayedError{Job: j.id, DeliveryID: id, Counter: c}
	}
	return nil
}

// recordReplay remembers an accepted delivery id and the run it started,
// and appends it to the file before the trigger is answered, so that a
// restart (or a crash of karajo) does not reopen it; the flush to the
// disk follows in the background (logstore.AppendDeliveries). Once the
// file holds many forgotten entries it is rewritten, durably, with the
// kept ones. A failed write is logged: the run goes on, as the delivery
// was accepted.
func (j *job) recordReplay(id string, counter int64, now time.Time) {
	window := j.replayWindowOf()
	if id == "" || window == 0 {
		return
	}
	w := j.replayLoaded()
	w.add(id, counter, now, window)
	w.lines++
	var err error
	if w.needsRewrite() {
		w.lines = len(w.entries)
		err = j.store.SaveDeliveries(j.kind, j.id, w.encode())
	} else {
		err = j.store.AppendDeliveries(j.kind, j.id, []byte(w.entries[len(w.entries)-1].line()))
	}
	if err != nil {
		j.log.Error("save accepted delivery ids", "job", j.id, "err", err)
	}
}
