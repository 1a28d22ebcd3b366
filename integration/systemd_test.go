package integration

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// This file tests karajo as a Type=notify systemd service: the test plays
// the service manager, listening on the datagram socket that NOTIFY_SOCKET
// names, and reads what karajo says (sd_notify protocol).

// sdSocket is a notify socket listened on by the test.
type sdSocket struct {
	name string // the NOTIFY_SOCKET value
	conn *net.UnixConn
	mu   sync.Mutex
	msgs []string // datagrams in arrival order
}

// sdListen listens on name: a path, or an abstract name starting with '@'.
func sdListen(t *testing.T, name string) *sdSocket {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatalf("listen on notify socket %s: %v", name, err)
	}
	s := &sdSocket{name: name, conn: conn}
	t.Cleanup(func() { conn.Close() })
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			s.mu.Lock()
			s.msgs = append(s.msgs, string(buf[:n]))
			s.mu.Unlock()
		}
	}()
	return s
}

// all returns the datagrams received so far.
func (s *sdSocket) all() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.msgs...)
}

// firstKeys is each datagram's first line ("READY=1", "WATCHDOG=1", …).
func firstKeys(msgs []string) []string {
	keys := make([]string, len(msgs))
	for i, m := range msgs {
		keys[i], _, _ = strings.Cut(m, "\n")
	}
	return keys
}

// count is how many datagrams start with key.
func count(msgs []string, key string) int {
	n := 0
	for _, k := range firstKeys(msgs) {
		if k == key {
			n++
		}
	}
	return n
}

// withoutWatchdog drops the WATCHDOG=1 datagrams.
func withoutWatchdog(msgs []string) []string {
	var out []string
	for _, m := range msgs {
		if m != "WATCHDOG=1" {
			out = append(out, m)
		}
	}
	return out
}

// shortTempDir is a temporary directory with a short path: a socket path
// must fit in 108 bytes.
func shortTempDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "sd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

const sdJobs = `
[job."a"]
commands = ["echo a"]

[job_http."h"]
http_url = "/karajo/api/health"
`

// TestSystemdNotifyProtocol: READY=1 first (listener bound, jobs loaded),
// WATCHDOG=1 at WatchdogSec/2 while the engine answers, RELOADING=1 with
// MONOTONIC_USEC then READY=1 around SIGHUP (applied or refused), and
// STOPPING=1 last, with no ping after it.
func TestSystemdNotifyProtocol(t *testing.T) {
	sock := sdListen(t, filepath.Join(shortTempDir(t), "notify"))
	dir := t.TempDir()
	writeConfig(t, dir, configHeader(dir)+sdJobs)
	// WatchdogSec=600ms: a ping every 300ms.
	srv := startDirEnv(t, dir, []string{"NOTIFY_SOCKET=" + sock.name, "WATCHDOG_USEC=600000"})

	waitFor(t, 30*time.Second, "READY=1", func() bool { return count(sock.all(), "READY=1") == 1 })
	first := sock.all()[0]
	if !strings.HasPrefix(first, "READY=1\nSTATUS=listening on "+srv.addr+", 1 jobs, 1 http jobs") {
		t.Fatalf("first message = %q, want READY=1 with the bound address and the jobs", first)
	}
	// READY=1 means the listener is bound and the jobs are loaded.
	if r := srv.get(t, "/karajo/api/environment"); r.status != 200 || !bytes.Contains(r.body, []byte(`"a"`)) {
		t.Fatalf("job a after READY=1: %v", r)
	}
	waitFor(t, 30*time.Second, "3 watchdog pings", func() bool { return count(sock.all(), "WATCHDOG=1") >= 3 })

	// A valid reload, then a refused one: both are bracketed.
	for _, cfg := range []string{configHeader(dir) + sdJobs + "\n[job.\"b\"]\ncommands = [\"true\"]\n", "[karajo\nbroken"} {
		writeConfig(t, dir, cfg)
		n := count(sock.all(), "READY=1")
		before := monotonicUsec(t)
		if err := srv.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 30*time.Second, "READY=1 after the reload", func() bool { return count(sock.all(), "READY=1") == n+1 })
		msgs := withoutWatchdog(sock.all())
		reloading, ready := msgs[len(msgs)-2], msgs[len(msgs)-1]
		lines := strings.Split(reloading, "\n")
		if lines[0] != "RELOADING=1" || len(lines) < 2 || !strings.HasPrefix(lines[1], "MONOTONIC_USEC=") {
			t.Fatalf("message before READY=1 = %q, want RELOADING=1 then MONOTONIC_USEC=", reloading)
		}
		usec, err := strconv.ParseInt(strings.TrimPrefix(lines[1], "MONOTONIC_USEC="), 10, 64)
		if err != nil || usec < before || usec > monotonicUsec(t) {
			t.Fatalf("MONOTONIC_USEC = %q, want CLOCK_MONOTONIC in µs between %d and now", lines[1], before)
		}
		if !strings.HasPrefix(ready, "READY=1\nSTATUS=listening on "+srv.addr+", 2 jobs") {
			t.Fatalf("after reload: %q, want READY=1 with 2 jobs (the refused reload keeps the applied one)", ready)
		}
	}

	pings := count(sock.all(), "WATCHDOG=1")
	waitFor(t, 30*time.Second, "pings go on after the reloads", func() bool { return count(sock.all(), "WATCHDOG=1") >= pings+2 })
	srv.stop()
	time.Sleep(100 * time.Millisecond) // a datagram sent just before the exit
	msgs := sock.all()
	keys := firstKeys(msgs)
	if keys[len(keys)-1] != "STOPPING=1" || count(msgs, "STOPPING=1") != 1 {
		t.Fatalf("messages end with %q, want exactly one STOPPING=1, last", keys[max(0, len(keys)-3):])
	}
	want := []string{"READY=1", "RELOADING=1", "READY=1", "RELOADING=1", "READY=1", "STOPPING=1"}
	if got := firstKeys(withoutWatchdog(msgs)); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("messages without pings = %q, want %q", got, want)
	}
}

// TestSystemdNotifyAbstractSocket: an abstract NOTIFY_SOCKET ('@' name)
// works, and a WATCHDOG_PID of another process turns the watchdog off.
func TestSystemdNotifyAbstractSocket(t *testing.T) {
	sock := sdListen(t, fmt.Sprintf("@karajo-it-%d-%d", os.Getpid(), time.Now().UnixNano()))
	dir := t.TempDir()
	writeConfig(t, dir, configHeader(dir)+sdJobs)
	srv := startDirEnv(t, dir, []string{"NOTIFY_SOCKET=" + sock.name, "WATCHDOG_USEC=200000", "WATCHDOG_PID=1"})
	waitFor(t, 30*time.Second, "READY=1", func() bool { return count(sock.all(), "READY=1") == 1 })
	// Ten ping periods (100ms) without a ping.
	time.Sleep(time.Second)
	srv.stop()
	time.Sleep(100 * time.Millisecond)
	if got := firstKeys(sock.all()); fmt.Sprint(got) != "[READY=1 STOPPING=1]" {
		t.Fatalf("messages = %q, want READY=1 and STOPPING=1 only (the watchdog is another process's)", got)
	}
}

// TestSystemdNoSocket: without NOTIFY_SOCKET karajo says nothing about
// systemd (and starts as always).
func TestSystemdNoSocket(t *testing.T) {
	dir := t.TempDir()
	writeConfig(t, dir, configHeader(dir)+sdJobs)
	srv := startDirEnv(t, dir, []string{"NOTIFY_SOCKET=", "WATCHDOG_USEC=200000"})
	srv.stop()
	if strings.Contains(srv.stderr.String(), "systemd") {
		t.Fatalf("log mentions systemd without NOTIFY_SOCKET:\n%s", srv.stderr.String())
	}
}

// monotonicUsec is CLOCK_MONOTONIC in microseconds, as MONOTONIC_USEC.
func monotonicUsec(t *testing.T) int64 {
	t.Helper()
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		t.Fatal(err)
	}
	return ts.Nano() / 1000
}

// TestSystemdUnitVerifies: examples/systemd/karajo.service passes
// systemd-analyze verify without a warning (ExecStart pointed at the
// binary under test, since verify requires the executables to exist).
func TestSystemdUnitVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("skipped: systemd-analyze is not installed here (" + err.Error() + ")")
	}
	unit, err := os.ReadFile(filepath.Join("..", "examples", "systemd", "karajo.service"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(unit, []byte("Type=notify\n")) || !bytes.Contains(unit, []byte("WatchdogSec=")) {
		t.Fatalf("the unit is not Type=notify with a watchdog")
	}
	p := filepath.Join(t.TempDir(), "karajo.service")
	if err := os.WriteFile(p, bytes.ReplaceAll(unit, []byte("/usr/local/bin/karajo"), []byte(binPath)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", "--man=no", p).CombinedOutput()
	if err != nil || bytes.Contains(out, []byte("karajo.service")) {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// sandboxScript is what the hardening test runs karajo under, the way the
// unit's directives would: in a mount namespace of its own, everything
// read-only but dir_base (ProtectSystem=strict, ReadWritePaths=), and with
// no new privileges (NoNewPrivileges=yes). $1 is dir_base; the rest is
// the command, exec'd so that the PID stays karajo's.
const sandboxScript = `set -e
base="$1"; shift
mount --bind "$base" "$base"
mount --bind / /
mount -o remount,bind,ro /
exec setpriv --no-new-privs -- "$@"`

// TestSystemdHardened: karajo starts, says READY=1, runs a job that writes
// in its work directory, reloads and stops cleanly under the unit's
// ProtectSystem=strict + ReadWritePaths + NoNewPrivileges (emulated with
// unshare and setpriv: there is no systemd PID 1 to run the unit itself);
// a command writing outside dir_base fails, so the sandbox is real.
// Skipped with the reason where mount namespaces are not allowed.
func TestSystemdHardened(t *testing.T) {
	for _, tool := range []string{"unshare", "setpriv", "mount"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("skipped: %s is not installed: %v", tool, err)
		}
	}
	if out, err := exec.Command("unshare", "--mount", "--propagation", "private", "--", "mount", "--bind", "/", "/").CombinedOutput(); err != nil {
		t.Skipf("skipped: mount namespaces are not allowed here: %v %s", err, out)
	}
	sock := sdListen(t, filepath.Join(shortTempDir(t), "notify"))
	dir := t.TempDir()
	outside := filepath.Join(shortTempDir(t), "outside")
	writeConfig(t, dir, configHeader(dir)+fmt.Sprintf(`
[job.writer]
path = "/writer"
commands = ["echo data > in-work-dir", "cat in-work-dir", "grep NoNewPrivs /proc/self/status"]

[job.escaper]
path = "/escaper"
commands = ["echo x > %s"]
`, outside))
	wrap := []string{"unshare", "--mount", "--propagation", "private", "--", "sh", "-c", sandboxScript, "sandbox", dir}
	srv := startDirWrapped(t, dir, []string{"NOTIFY_SOCKET=" + sock.name}, wrap)
	waitFor(t, 30*time.Second, "READY=1", func() bool { return count(sock.all(), "READY=1") == 1 })

	wantEnvelope(t, srv.trigger(t, "/writer", testSecret), 200)
	if st := srv.waitRun(t, "writer", 1, 30*time.Second); st != "success" {
		t.Fatalf("writer #1 = %q, want success:\n%s", st, srv.logOf(t, "writer", 1).Content)
	}
	if log := srv.logOf(t, "writer", 1).Content; !strings.Contains(string(log), "NoNewPrivs:\t1") {
		t.Errorf("the command does not run with no_new_privs:\n%s", log)
	}
	wantEnvelope(t, srv.trigger(t, "/escaper", testSecret), 200)
	if st := srv.waitRun(t, "escaper", 1, 30*time.Second); st != "failed" {
		t.Fatalf("escaper #1 = %q, want failed (read-only outside dir_base)", st)
	}
	if log := srv.logOf(t, "escaper", 1).Content; !strings.Contains(string(log), "Read-only file system") {
		t.Errorf("escaper log does not say read-only:\n%s", log)
	}
	if err := srv.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "READY=1 after the reload", func() bool { return count(sock.all(), "READY=1") == 2 })
	srv.stop()
	if strings.Contains(srv.stderr.String(), "level=ERROR") {
		t.Errorf("errors in the log under the sandbox:\n%s", srv.stderr.String())
	}
}

// TestSystemdJournalStream: with JOURNAL_STREAM naming karajo's stderr (as
// systemd sets it when stderr is the journal), log lines carry no time of
// their own; the same stderr without the variable keeps it.
func TestSystemdJournalStream(t *testing.T) {
	for _, journal := range []bool{true, false} {
		dir := t.TempDir()
		cfg := writeConfig(t, dir, configHeader(dir)+sdJobs)
		f, err := os.Create(filepath.Join(dir, "stderr"))
		if err != nil {
			t.Fatal(err)
		}
		var st syscall.Stat_t
		if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(binPath, "-config", cfg)
		cmd.Stderr, cmd.Stdout = f, f
		cmd.Env = append(os.Environ(), "JOURNAL_STREAM=")
		if journal {
			cmd.Env = append(cmd.Env, fmt.Sprintf("JOURNAL_STREAM=%d:%d", st.Dev, st.Ino))
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		f.Close()
		read := func() string { b, _ := os.ReadFile(filepath.Join(dir, "stderr")); return string(b) }
		waitFor(t, 60*time.Second, "karajo started", func() bool { return strings.Contains(read(), `msg="karajo started"`) })
		_ = cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Fatalf("exit: %v\n%s", err, read())
		}
		for _, line := range strings.Split(strings.TrimSpace(read()), "\n") {
			if strings.HasPrefix(line, "time=") == journal {
				t.Fatalf("JOURNAL_STREAM set=%v: line %q", journal, line)
			}
		}
	}
}
