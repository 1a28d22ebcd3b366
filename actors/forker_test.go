package actors

import (
	"os/exec"
	goruntime "runtime"
	"syscall"
	"testing"
	"time"
)

// startDeathsig starts "sleep 30" with Pdeathsig from a goroutine locked
// to its thread, which then exits (ending the thread), using start; it
// reports whether the command was still alive after the thread had gone.
func startDeathsig(t *testing.T, start func(*exec.Cmd) error) bool {
	t.Helper()
	cmd := exec.Command("sleep", "30")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	started := make(chan error)
	go func() {
		goruntime.LockOSThread() // never unlocked: the thread ends with the goroutine
		started <- start(cmd)
	}()
	if err := <-started; err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	defer func() {
		_ = cmd.Process.Kill()
		<-exited
	}()
	select {
	case <-exited:
		return false
	case <-time.After(500 * time.Millisecond):
		return true
	}
}

// TestPdeathsigThread: a command started by startCommand outlives the
// thread of the goroutine that asked for it; started from that thread
// itself it would not (which shows that the test can fail).
func TestPdeathsigThread(t *testing.T) {
	if !startDeathsig(t, startCommand) {
		t.Errorf("the command started by startCommand died with its caller's thread")
	}
	// The control: forked by the exiting thread, Linux kills it.
	if startDeathsig(t, (*exec.Cmd).Start) {
		t.Errorf("control: a command forked by a thread that exited survived; the test cannot tell the fix from the bug")
	}
}
