package actors

import (
	"os/exec"
	goruntime "runtime"
	"sync"
	"sync/atomic"
)

// Commands get Pdeathsig = SIGKILL so that they die with karajo. Linux
// ties that signal to the thread that forked, not to the process (Go issue
// 27505): a command forked from an OS thread that later exits (the Go
// runtime ends the thread of a goroutine that exits while locked to it)
// would be killed right then. So commands are forked only by a few
// goroutines locked to their threads for the life of karajo, and the
// signal fires when karajo dies, not before.

// forkReq asks a forker to start cmd.
type forkReq struct {
	cmd  *exec.Cmd
	done chan error
}

// minForkers is the least number of forker threads: a fork holds its
// thread until the child has exec'd (CLONE_VFORK), which under load can
// take milliseconds, so forks of concurrent runs must not queue behind
// each other for want of threads.
const minForkers = 8

// maxForkers bounds the forker threads. When a fork finds every forker
// busy (a burst: 100 jobs due in the same second), one more is started,
// up to this many, and kept: with 8 the burst's forks went out in waves
// of 8, its median 1.76x a bare timer's that forks all at once.
const maxForkers = 128

var (
	forkOnce sync.Once
	forkReqs chan forkReq
	forkers  atomic.Int32
)

// startCommand starts cmd from one of the forker threads and returns
// cmd.Start's error.
func startCommand(cmd *exec.Cmd) error {
	forkOnce.Do(func() {
		forkReqs = make(chan forkReq)
		for range max(2*goruntime.GOMAXPROCS(0), minForkers) {
			forkers.Add(1)
			go forker()
		}
	})
	done := make(chan error, 1)
	req := forkReq{cmd: cmd, done: done}
	select {
	case forkReqs <- req:
	default: // every forker is busy
		if forkers.Add(1) <= maxForkers {
			go forker()
		} else {
			forkers.Add(-1)
		}
		forkReqs <- req
	}
	return <-done
}

// forker locks its goroutine to its OS thread for good and starts the
// commands it is given.
func forker() {
	goruntime.LockOSThread() // never unlocked: the thread lives as long as karajo
	for r := range forkReqs {
		err := r.cmd.Start()
		if err == nil {
			rememberChild(r.cmd.Process.Pid) // before anyone can see it as a stranger (reaper.go)
		}
		r.done <- err
	}
}
