package actors

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// With karajo a child subreaper (PR_SET_CHILD_SUBREAPER), a process that
// leaves its run's process group (setsid, a double fork) becomes karajo's
// own child as soon as its parent in the run exits. So at the end of a run
// its escapees are among karajo's direct children, which are few, and the
// sweep reads those instead of every process of the machine: its cost no
// longer grows with what else the machine forks. karajo's only other
// children are the commands it started (known), which os/exec reaps; the
// others it reaps itself.

// prSetChildSubreaper is prctl's PR_SET_CHILD_SUBREAPER.
const prSetChildSubreaper = 36

// becomeSubreaper makes karajo the reaper of its commands' orphans.
func becomeSubreaper() bool {
	_, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0)
	return errno == 0
}

// knownChildren are the PIDs of the commands startCommand started and
// os/exec has not reaped yet: children that are not strangers.
var knownChildren = struct {
	sync.Mutex
	m map[int]bool
}{m: make(map[int]bool)}

func rememberChild(pid int) {
	knownChildren.Lock()
	knownChildren.m[pid] = true
	knownChildren.Unlock()
}

func forgetChild(pid int) {
	knownChildren.Lock()
	delete(knownChildren.m, pid)
	knownChildren.Unlock()
}

func isKnownChild(pid int) bool {
	knownChildren.Lock()
	defer knownChildren.Unlock()
	return knownChildren.m[pid]
}

// childPIDs lists karajo's direct children, from the children files of
// all its threads.
func childPIDs() []int {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return nil
	}
	var pids []int
	for _, t := range tasks {
		b, err := os.ReadFile("/proc/self/task/" + t.Name() + "/children")
		if err != nil {
			continue
		}
		for f := range strings.FieldsSeq(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// sweepChildren kills the strangers among karajo's children that carry a
// token match accepts, reaps them, and looks again for their own children
// (reparented to karajo when they died), at most three rounds. Strangers
// found dead (zombies) are reaped once they were strangers in an earlier
// pass too: a command just started is known within microseconds, so a
// child unknown in two passes 200 ms apart is no command of karajo's. It
// returns how many it killed, and whether dead strangers wait for the
// next pass to be reaped.
func (s *sweeper) sweepChildren(match func(string) bool) (int, bool) {
	killed, dead := 0, false
	seen := make(map[int]bool)
	for range 3 {
		var victims []int
		for _, pid := range childPIDs() {
			if isKnownChild(pid) {
				continue
			}
			seen[pid] = true
			tok, alive := procToken(pid)
			switch {
			case !alive && s.strangers[pid]:
				reap(pid, 0)
			case !alive:
				dead = true
			case alive && tok != "" && match(tok):
				if syscall.Kill(pid, syscall.SIGKILL) == nil {
					victims = append(victims, pid)
				}
			}
		}
		for _, pid := range victims {
			reap(pid, time.Second)
		}
		killed += len(victims)
		if len(victims) == 0 {
			break
		}
	}
	s.strangers = seen
	return killed, dead
}

// procToken returns the run token in the environment of pid, and whether
// pid is alive (not a zombie, whose environment cannot be read).
func procToken(pid int) (string, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil || len(b) == 0 {
		return "", false
	}
	key := []byte(tokenVar + "=")
	for kv := range bytes.SplitSeq(b, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, key); ok {
			return string(v), true
		}
	}
	return "", true
}

// reap waits for child pid to end, at most for about d, and collects its
// exit status.
func reap(pid int, d time.Duration) {
	deadline := time.Now().Add(d)
	for {
		var ws syscall.WaitStatus
		n, err := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
		if n == pid || err != nil || !time.Now().Before(deadline) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}
