package actors

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/karajo/karajo/logstore"
)

// groupSet is the set of process groups of the commands running now, so
// that an emergency stop (a second signal) can kill them all at once. It is
// a registry of OS resources shared by the run goroutines, not job state.
type groupSet struct {
	mu sync.Mutex
	m  map[int]struct{}
}

func newGroupSet() *groupSet { return &groupSet{m: make(map[int]struct{})} }

func (g *groupSet) add(pgid int) {
	g.mu.Lock()
	g.m[pgid] = struct{}{}
	g.mu.Unlock()
}

func (g *groupSet) remove(pgid int) {
	g.mu.Lock()
	delete(g.m, pgid)
	g.mu.Unlock()
}

// killAll sends SIGKILL to every registered group and returns how many.
func (g *groupSet) killAll() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	for pgid := range g.m {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	}
	return len(g.m)
}

// procStart returns the start time of process pid (field 22 of
// /proc/<pid>/stat, in clock ticks since boot).
func procStart(pid int) (uint64, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// pid (comm) state ppid ...: comm may hold spaces and parentheses.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return 0, false
	}
	start, err := strconv.ParseUint(f[19], 10, 64)
	return start, err == nil
}

// killLeftover kills the process group a crashed server left running, if
// it is still the same one: its leader alive with the recorded start time,
// or the leader gone while members of the group remain (Linux does not
// hand out a PID that is still a process group ID). It reports whether it
// sent the signal.
func killLeftover(g logstore.Group) bool {
	if start, ok := procStart(g.PGID); ok {
		if start != g.Start {
			return false // the PID was reused by an unrelated process
		}
	} else if err := syscall.Kill(-g.PGID, 0); errors.Is(err, syscall.ESRCH) {
		return false // nothing left
	}
	return syscall.Kill(-g.PGID, syscall.SIGKILL) == nil
}
