package logstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// Group is the process group of the command a run is executing, recorded
// while it runs so that a start after a crash can kill what the crash left
// behind (a killed server cannot kill its children's process groups).
type Group struct {
	PGID  int    // process group ID (the shell's PID)
	Start uint64 // the shell's start time, field 22 of /proc/<pid>/stat, to tell a reused PID
	// StartMax, when above Start, makes [Start, StartMax] the window the
	// start time lies in (the clock read before and after the fork).
	StartMax uint64
}

// GroupPath returns $dir_base/var/run/karajo/<kind>/<id>.pgid.
func (s *Store) GroupPath(kind Kind, id string) string {
	return filepath.Join(s.base, "var", "run", "karajo", string(kind), id+".pgid")
}

// SaveGroup records g as the job's live process group, in a file of its
// own (the form before GroupTable; a start still reads and clears it). The file is small
// and written in one write; a torn file is refused by LoadGroup.
func (s *Store) SaveGroup(kind Kind, id string, g Group) error {
	if err := checkJob(kind, id); err != nil {
		return fmt.Errorf("save group of %s %s: %w", kind, id, err)
	}
	b := []byte(strconv.Itoa(g.PGID) + " " + strconv.FormatUint(g.Start, 10) + "\n")
	if err := os.WriteFile(s.GroupPath(kind, id), b, fileMode); err != nil {
		return fmt.Errorf("save group of %s %s: %w", kind, id, err)
	}
	return nil
}

// ClearGroup removes the record of SaveGroup; a missing file is fine.
func (s *Store) ClearGroup(kind Kind, id string) error {
	err := os.Remove(s.GroupPath(kind, id))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("clear group of %s %s: %w", kind, id, err)
	}
	return nil
}

// LoadGroup reads the record of SaveGroup. ok is false when there is none
// or it is not well formed.
func (s *Store) LoadGroup(kind Kind, id string) (g Group, ok bool) {
	b, err := os.ReadFile(s.GroupPath(kind, id))
	if err != nil {
		return Group{}, false
	}
	f := strings.Fields(string(b))
	if len(f) != 2 || !strings.HasSuffix(string(b), "\n") {
		return Group{}, false
	}
	pgid, err1 := strconv.Atoi(f[0])
	start, err2 := strconv.ParseUint(f[1], 10, 64)
	if err1 != nil || err2 != nil || pgid <= 1 {
		return Group{}, false
	}
	return Group{PGID: pgid, Start: start}, true
}

// groupSlot is the size of one record of the process-group table: the
// text "<pgid> <start> <startMax>", padded with spaces, ending in '\n'; a
// free slot is all spaces.
const groupSlot = 64

// GroupsPath returns $dir_base/var/run/karajo/job/.groups, the table of
// the process groups running now (a dot file: never taken for a job's
// record).
func (s *Store) GroupsPath() string {
	return filepath.Join(s.base, "var", "run", "karajo", string(KindJob), ".groups")
}

// GroupTable records the process groups of the commands running now in one
// file of fixed slots, one pwrite(2) to add a group and one to remove it,
// so that a start after a crash of the server can kill what the crash left
// behind. It is never fsynced, on purpose: it matters only when the server
// dies and the machine does not (a power cut leaves no process behind),
// and then the page cache still holds every write. A write cannot be torn
// by a kill (it is one system call on one page-aligned slot). It is safe
// for concurrent use.
type GroupTable struct {
	f    *os.File
	mu   sync.Mutex
	free []int64 // offsets of free slots
	end  int64   // offset past the last slot handed out
}

// OpenGroups returns the groups recorded by the previous server (those it
// had running when it stopped; none after a clean stop) and a new, empty
// table in their place. Malformed slots are skipped.
func (s *Store) OpenGroups() (*GroupTable, []Group, error) {
	path := s.GroupsPath()
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("read process-group table: %w", err)
	}
	var left []Group
	for len(old) >= groupSlot {
		if g, ok := parseGroup(string(old[:groupSlot])); ok {
			left = append(left, g)
		}
		old = old[groupSlot:]
	}
	if err := s.mkdir(filepath.Dir(path)); err != nil {
		return nil, nil, fmt.Errorf("open process-group table: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, fileMode)
	if err != nil {
		return nil, nil, fmt.Errorf("open process-group table: %w", err)
	}
	return &GroupTable{f: f}, left, nil
}

// parseGroup reads one slot; ok is false for a free or malformed slot.
func parseGroup(slot string) (Group, bool) {
	f := strings.Fields(slot)
	if len(f) != 3 || !strings.HasSuffix(slot, "\n") {
		return Group{}, false
	}
	pgid, err1 := strconv.Atoi(f[0])
	start, err2 := strconv.ParseUint(f[1], 10, 64)
	startMax, err3 := strconv.ParseUint(f[2], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || pgid <= 1 || startMax < start {
		return Group{}, false
	}
	return Group{PGID: pgid, Start: start, StartMax: startMax}, true
}

// Add records g and returns its slot, for Remove.
func (t *GroupTable) Add(g Group) (int64, error) {
	t.mu.Lock()
	var off int64
	if n := len(t.free); n > 0 {
		off, t.free = t.free[n-1], t.free[:n-1]
	} else {
		off, t.end = t.end, t.end+groupSlot
	}
	t.mu.Unlock()
	b := make([]byte, 0, groupSlot)
	b = strconv.AppendInt(b, int64(g.PGID), 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, g.Start, 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, max(g.StartMax, g.Start), 10)
	if _, err := t.f.WriteAt(pad(b), off); err != nil {
		t.release(off)
		return 0, fmt.Errorf("record process group %d: %w", g.PGID, err)
	}
	return off, nil
}

// Remove frees the slot of a group that has ended.
func (t *GroupTable) Remove(slot int64) error {
	_, err := t.f.WriteAt(pad(make([]byte, 0, groupSlot)), slot)
	t.release(slot)
	if err != nil {
		return fmt.Errorf("clear process-group record: %w", err)
	}
	return nil
}

func (t *GroupTable) release(off int64) {
	t.mu.Lock()
	t.free = append(t.free, off)
	t.mu.Unlock()
}

// Close closes the table's file.
func (t *GroupTable) Close() error { return t.f.Close() }

// pad fills b with spaces to a whole slot ending in '\n'.
func pad(b []byte) []byte {
	for len(b) < groupSlot-1 {
		b = append(b, ' ')
	}
	return append(b[:groupSlot-1], '\n')
}
