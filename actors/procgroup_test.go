package actors

import (
	"io"
	"log/slog"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/karajo/karajo/logstore"
)

// TestOpenGroupsKillsLeftovers records two process groups in the table as
// a server that crashed would have left them: one with the start window
// of its fork, one whose PID (as if reused) started outside the recorded
// window. The next start kills the first group, every process of it, and
// spares the second.
func TestOpenGroupsKillsLeftovers(t *testing.T) {
	store, err := logstore.New(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	tab, _, err := store.OpenGroups()
	if err != nil {
		t.Fatal(err)
	}
	spawn := func(script string) *exec.Cmd {
		c := exec.Command("/bin/sh", "-c", script)
		c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { _ = c.Wait() }()
		return c
	}
	lo := bootTicks(false)
	left := spawn("sleep 300 & sleep 300 & wait")
	hi := bootTicks(true)
	other := spawn("sleep 300")
	t.Cleanup(func() { _ = syscall.Kill(-other.Process.Pid, syscall.SIGKILL) })
	time.Sleep(100 * time.Millisecond) // the shell forks its sleeps
	if _, err := tab.Add(logstore.Group{PGID: left.Process.Pid, Start: lo, StartMax: hi}); err != nil {
		t.Fatal(err)
	}
	if _, err := tab.Add(logstore.Group{PGID: other.Process.Pid, Start: hi + 100_000, StartMax: hi + 100_001}); err != nil {
		t.Fatal(err)
	}
	tab.Close()

	next := openGroups(store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if next == nil {
		t.Fatal("no table after the restart")
	}
	defer next.Close()
	for deadline := time.Now().Add(10 * time.Second); len(groupAlive(left.Process.Pid)) > 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("left-over group %d still alive: %v", left.Process.Pid, groupAlive(left.Process.Pid))
		}
	}
	if len(groupAlive(other.Process.Pid)) == 0 {
		t.Errorf("group %d with a foreign start time was killed", other.Process.Pid)
	}
}
