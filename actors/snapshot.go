package actors

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// memberCache keeps the JSON object that encoding/json makes of a map of
// job views keyed by job name (map[string]*V), cut into one encoded member
// per job, so that after a change only the changed jobs are encoded again
// and the object is rebuilt by concatenation: O(bytes) of memcpy instead of
// one json.Marshal per job.
//
// The views themselves stay in the supervisor's map by ID; the cache is only
// told which IDs were set or deleted (touch) and reads their views when the
// object is next asked for (object). Every change of that map must be
// followed by touch, else the object goes stale. The zero value is an empty
// cache, ready to use. A memberCache belongs to its actor: it is not safe
// for concurrent use.
type memberCache[V any] struct {
	byID  map[string]*member  // the encoded member of every job, by ID
	order []*member           // the same members, sorted by name, then ID
	dirty map[string]struct{} // IDs set or deleted since the last object
	size  int                 // the sum of len(enc) over order
}

// member is one job's part of the object: `"<name>":<view>`, the key
// encoded as encoding/json encodes a map key of kind string and the value
// as json.Marshal(&view) encodes it.
type member struct {
	id   string
	name string // the raw key: the order of the object is the byte order of name
	enc  []byte
	gone bool // removed from byID; to be dropped from order
}

// compareMembers orders members by name in byte order, as encoding/json
// sorts map keys, then by ID to break ties between jobs of the same name.
func compareMembers(a, b *member) int {
	if c := strings.Compare(a.name, b.name); c != 0 {
		return c
	}
	return cmp.Compare(a.id, b.id)
}

// touch records that the view of id was set or deleted; it is encoded
// again (or dropped) by the next object.
func (c *memberCache[V]) touch(id string) {
	if c.dirty == nil {
		c.dirty = make(map[string]struct{})
	}
	c.dirty[id] = struct{}{}
}

// object returns the JSON object of views keyed by name(&view): byte for
// byte what json.Marshal makes of the map[string]*V that has one entry
// per view of views. Only the views touched since the last call are
// encoded. When two views share a name, the map would hold one of them:
// the object holds the one with the smallest ID. The result is a new
// slice that the cache never changes. On error the cache is as it was
// before the call.
func (c *memberCache[V]) object(views map[string]V, name func(*V) string) ([]byte, error) {
	if err := c.update(views, name); err != nil {
		return nil, err
	}
	out := make([]byte, 0, c.size+len(c.order)+2)
	out = append(out, '{')
	var prev *member
	for _, m := range c.order {
		if prev != nil {
			if m.name == prev.name {
				continue // a map has one entry per key: keep the smallest ID
			}
			out = append(out, ',')
		}
		out = append(out, m.enc...)
		prev = m
	}
	return append(out, '}'), nil
}

// change is the new state of one touched ID, encoded before any change
// of the cache so that an encoding error leaves it untouched.
type change struct {
	id      string
	name    string
	enc     []byte
	deleted bool
}

// update encodes the touched views and applies them to byID and order:
// a changed view whose name is the same is replaced in place; a new or
// renamed one is merged into order, a deleted or renamed one dropped from
// it, each in one pass over order whatever the number of changes.
func (c *memberCache[V]) update(views map[string]V, name func(*V) string) error {
	if len(c.dirty) == 0 {
		return nil
	}
	var enc memberEncoder
	changes := make([]change, 0, len(c.dirty))
	for id := range c.dirty {
		v, ok := views[id]
		if !ok {
			changes = append(changes, change{id: id, deleted: true})
			continue
		}
		n := name(&v)
		b, err := enc.encode(n, &v)
		if err != nil {
			return fmt.Errorf("encode job %q: %w", id, err)
		}
		changes = append(changes, change{id: id, name: n, enc: b})
	}
	if c.byID == nil {
		c.byID = make(map[string]*member, len(changes))
	}
	var added []*member
	removed := false
	for _, ch := range changes {
		old := c.byID[ch.id]
		if old != nil && !ch.deleted && old.name == ch.name {
			c.size += len(ch.enc) - len(old.enc)
			old.enc = ch.enc
			continue
		}
		if old != nil {
			old.gone, removed = true, true
			c.size -= len(old.enc)
			delete(c.byID, ch.id)
		}
		if ch.deleted {
			continue
		}
		m := &member{id: ch.id, name: ch.name, enc: ch.enc}
		c.byID[ch.id] = m
		c.size += len(m.enc)
		added = append(added, m)
	}
	if removed {
		c.order = slices.DeleteFunc(c.order, func(m *member) bool { return m.gone })
	}
	if len(added) > 0 {
		slices.SortFunc(added, compareMembers)
		c.order = mergeMembers(c.order, added)
	}
	clear(c.dirty)
	return nil
}

// mergeMembers merges two slices sorted by compareMembers into a new one.
func mergeMembers(a, b []*member) []*member {
	if len(a) == 0 {
		return b
	}
	out := make([]*member, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if compareMembers(a[0], b[0]) <= 0 {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	out = append(out, a...)
	return append(out, b...)
}

// memberEncoder encodes members into one scratch buffer, so that each
// member costs one allocation: its own bytes.
type memberEncoder struct {
	buf bytes.Buffer
	enc *json.Encoder // writes to buf; HTML-escapes as json.Marshal does
}

// encode returns one member of a name-keyed object of views: name as
// encoding/json encodes a map key of kind string (the encoding of a string
// value: HTML-escaped, invalid UTF-8 replaced), a colon, then v as
// json.Marshal(v) encodes it. A json.Encoder writes what json.Marshal
// returns, followed by a newline, which is cut.
func (e *memberEncoder) encode(name string, v any) ([]byte, error) {
	if e.enc == nil {
		e.enc = json.NewEncoder(&e.buf)
	}
	e.buf.Reset()
	if err := e.enc.Encode(name); err != nil {
		return nil, fmt.Errorf("encode name: %w", err)
	}
	e.buf.Truncate(e.buf.Len() - 1)
	e.buf.WriteByte(':')
	if err := e.enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode view: %w", err)
	}
	return bytes.Clone(e.buf.Bytes()[:e.buf.Len()-1]), nil
}

// jobName is the key of an exec job in the environment's "jobs".
func jobName(v *JobView) string { return v.Name }

// httpJobName is the key of a JobHttp in the environment's "http_jobs".
func httpJobName(v *JobHTTPView) string { return v.Name }

// setView records an exec job's new view.
func (s *supervisor) setView(v JobView) {
	s.views[v.ID] = v
	s.jobsJSON.touch(v.ID)
}

// setHTTPView records a JobHttp's new view.
func (s *supervisor) setHTTPView(v JobHTTPView) {
	s.httpViews[v.ID] = v
	s.httpJobsJSON.touch(v.ID)
}

// dropView forgets the view of a removed exec job; the next snapshot no
// longer shows it.
func (s *supervisor) dropView(id string) {
	delete(s.views, id)
	s.jobsJSON.touch(id)
	s.gen++
}

// dropHTTPView forgets the view of a removed JobHttp; the next snapshot
// no longer shows it.
func (s *supervisor) dropHTTPView(id string) {
	delete(s.httpViews, id)
	s.httpJobsJSON.touch(id)
	s.gen++
}

// snapshot returns the encoded views. It builds a new Snapshot only when
// a view changed since the last call, and then encodes only the views
// that changed (memberCache); the rest is concatenation.
func (s *supervisor) snapshot() (*Snapshot, error) {
	if s.snap != nil && s.snap.Gen == s.gen {
		return s.snap, nil
	}
	jb, err := s.jobsJSON.object(s.views, jobName)
	if err != nil {
		return nil, fmt.Errorf("encode jobs: %w", err)
	}
	hb, err := s.httpJobsJSON.object(s.httpViews, httpJobName)
	if err != nil {
		return nil, fmt.Errorf("encode http jobs: %w", err)
	}
	s.snap = &Snapshot{Gen: s.gen, Jobs: jb, HTTPJobs: hb}
	return s.snap, nil
}
