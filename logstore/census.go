package logstore

import (
	"os"
	"path/filepath"
	"strings"
)

// Census lists, for one kind, which jobs have a state file, which a
// process-group record and which a log directory, read with one directory
// listing each. At a start with many jobs it spares one failed open per
// job and file: most jobs have neither a state file (written on pause,
// resume and clean stop) nor a record (only while a command runs), and on
// a fresh dir_base no job has a log directory yet.
//
// A census is true only for the moment it was taken: use it for the loads
// at start, never later. The zero value and nil know nothing, so every
// question is answered "maybe" (true) and the caller opens the file.
type Census struct {
	states map[string]bool // IDs with "<ID>.state"
	groups map[string]bool // IDs with "<ID>.pgid"
	logs   map[string]bool // IDs with an entry in the kind's log directory
	known  bool            // both listings succeeded
	index  *startIndex     // the kind's start index; nil without a usable one
}

// TakeCensus lists var/lib/karajo/<kind>/, var/run/karajo/<kind>/ and
// var/log/karajo/<kind>/, and reads the kind's start index. A listing that
// fails gives a census that knows nothing (never an error: the loads then
// open each file as without a census). Close it once the loads are done.
func (s *Store) TakeCensus(kind Kind) *Census {
	index := s.loadStartIndex(kind)
	states, err1 := listSuffix(filepath.Join(s.base, "var", "lib", "karajo", string(kind)), ".state")
	groups, err2 := listSuffix(filepath.Join(s.base, "var", "run", "karajo", string(kind)), ".pgid")
	logs, err3 := listSuffix(filepath.Join(s.base, "var", "log", "karajo", string(kind)), "")
	if err1 != nil || err2 != nil || err3 != nil {
		return &Census{index: index}
	}
	return &Census{states: states, groups: groups, logs: logs, known: true, index: index}
}

// Close releases the census's start index (its open directories). A load
// after Close reads the job's files.
func (c *Census) Close() {
	if c != nil {
		c.index.close()
	}
}

// fromIndex is the job's state from the start index, when the index holds
// it and its files are unchanged since.
func (c *Census) fromIndex(id string, retention int) (Recovered, bool) {
	if c == nil {
		return Recovered{}, false
	}
	return c.index.recovered(id, retention)
}

// listSuffix returns the names in dir ending in suffix, without it (every
// name for ""), except names starting with '.'. A missing dir holds
// nothing.
func listSuffix(dir, suffix string) (map[string]bool, error) {
	f, err := os.Open(dir)
	if os.IsNotExist(err) {
		return map[string]bool{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	found := make(map[string]bool)
	for _, n := range names {
		if id, ok := strings.CutSuffix(n, suffix); ok && id != "" && !strings.HasPrefix(n, ".") {
			found[id] = true
		}
	}
	return found, nil
}

// HasState reports whether the job may have a state file: false only when
// the census knows it has none.
func (c *Census) HasState(id string) bool { return c == nil || !c.known || c.states[id] }

// HasGroup reports whether the job may have a process-group record: false
// only when the census knows it has none.
func (c *Census) HasGroup(id string) bool { return c == nil || !c.known || c.groups[id] }

// HasLogs reports whether the job may have a log directory: false only
// when the census knows it has none.
func (c *Census) HasLogs(id string) bool { return c == nil || !c.known || c.logs[id] }
