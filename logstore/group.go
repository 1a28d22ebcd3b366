package logstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Group is the process group of the command a run is executing, recorded
// while it runs so that a start after a crash can kill what the crash left
// behind (a killed server cannot kill its children's process groups).
type Group struct {
	PGID  int    // process group ID (the shell's PID)
	Start uint64 // the shell's start time, field 22 of /proc/<pid>/stat, to tell a reused PID
}

// GroupPath returns $dir_base/var/run/karajo/<kind>/<id>.pgid.
func (s *Store) GroupPath(kind Kind, id string) string {
	return filepath.Join(s.base, "var", "run", "karajo", string(kind), id+".pgid")
}

// SaveGroup records g as the job's live process group. The file is small
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
