package actors

import (
	"errors"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/karajo/karajo/logstore"
)

// groupSet is the set of process groups of the commands running now, so
// that an emergency stop (a second signal) can kill them all at once, and
// so that they are recorded in the store's process-group table for the
// next start after a crash. It is a registry of OS resources shared by the
// run goroutines, not job state.
type groupSet struct {
	table *logstore.GroupTable // nil: nothing recorded on disk
	log   *slog.Logger

	// halted is set by killAll, before any kill: the server is about to
	// exit at once, and the runs that end because of it leave their logs
	// as they are for the next start to finalise as interrupted.
	halted atomic.Bool

	mu sync.Mutex
	m  map[int]int64 // pgid → slot in table (-1: none)
}

func newGroupSet(table *logstore.GroupTable, log *slog.Logger) *groupSet {
	return &groupSet{table: table, log: log, m: make(map[int]int64)}
}

// add registers the group of a command forked between the boot-clock
// ticks lo and hi (see bootTicks), which bound its start time.
func (g *groupSet) add(pgid int, lo, hi uint64) {
	slot := int64(-1)
	if g.table != nil {
		s, err := g.table.Add(logstore.Group{PGID: pgid, Start: lo, StartMax: hi})
		if err != nil {
			g.log.Warn("record process group", "pgid", pgid, "err", err)
		} else {
			slot = s
		}
	}
	g.mu.Lock()
	g.m[pgid] = slot
	g.mu.Unlock()
}

func (g *groupSet) remove(pgid int) {
	g.mu.Lock()
	slot, ok := g.m[pgid]
	delete(g.m, pgid)
	g.mu.Unlock()
	if ok && slot >= 0 {
		if err := g.table.Remove(slot); err != nil {
			g.log.Warn("clear process group record", "pgid", pgid, "err", err)
		}
	}
}

// clockTicks is USER_HZ, the unit of the start time in /proc/<pid>/stat:
// 100 on every Linux architecture Go runs on.
const clockTicks = 100

// bootTicks returns the boot clock (CLOCK_BOOTTIME, the clock of the
// start time in /proc/<pid>/stat) in clock ticks, rounded down, or up
// when up is set. Read before and after a fork, it bounds the child's
// start time without reading /proc.
func bootTicks(up bool) uint64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return 0
	}
	const tick = int64(time.Second) / clockTicks
	ns := ts.Nano()
	if up {
		ns += tick - 1
	}
	return uint64(ns / tick)
}

// killAll sends SIGKILL to every registered group and returns how many.
// It is for an emergency stop: from now on, halted reports true.
func (g *groupSet) killAll() int {
	g.halted.Store(true)
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
		if start < g.Start || start > max(g.StartMax, g.Start) {
			return false // the PID was reused by an unrelated process
		}
	} else if err := syscall.Kill(-g.PGID, 0); errors.Is(err, syscall.ESRCH) {
		return false // nothing left
	}
	return syscall.Kill(-g.PGID, syscall.SIGKILL) == nil
}
