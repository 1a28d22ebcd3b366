package integration

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSignalDuringStartup (issue 14, finding 7): a SIGHUP 50 ms after the
// start of a server with 10,000 jobs leaves it running, and it reloads
// once start-up is done.
func TestSignalDuringStartup(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var jobs strings.Builder
	for i := range 10000 {
		fmt.Fprintf(&jobs, "[job.j%05d]\ncommands = [\"true\"]\n", i)
	}
	cfg := writeConfig(t, dir, configHeader(dir)+"\n"+jobs.String())
	stderr := &syncBuffer{}
	// Started with SIGHUP ignored (as under nohup): the Go runtime then
	// leaves SIGHUP alone until signal.Notify asks for it, so SigCgt below
	// shows earlysig's handler, not the runtime's own (which the runtime
	// installs before any init runs, and which exits on SIGHUP).
	cmd := exec.Command("/bin/sh", "-c", `trap "" HUP; exec "$0" "$@"`, binPath, "-config", cfg)
	cmd.Stderr, cmd.Stdout = stderr, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("stderr:\n%s", tail(stderr.String(), 4000))
		}
	}()
	// No process can catch a signal before its handler exists: wait until
	// the kernel shows SIGHUP caught (karajo's earlysig init installs it,
	// about 1 ms after exec), long before the 10,000 jobs are started.
	waitFor(t, 30*time.Second, "SIGHUP handler installed", func() bool {
		return sigCaught(cmd.Process.Pid, syscall.SIGHUP)
	})
	if strings.Contains(stderr.String(), "karajo started") {
		t.Fatal("start-up was over before the SIGHUP could be sent: the test proves nothing")
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatalf("SIGHUP: %v", err)
	}
	started := regexp.MustCompile(`msg="?karajo started"?`)
	waitFor(t, 120*time.Second, "karajo started", func() bool {
		select {
		case err := <-done:
			done <- err
			t.Fatalf("karajo exited after a SIGHUP during start-up: %v", err)
		default:
		}
		return started.MatchString(stderr.String())
	})
	waitFor(t, 60*time.Second, "the deferred reload", func() bool {
		return strings.Contains(stderr.String(), "configuration reloaded")
	})
	time.Sleep(500 * time.Millisecond)
	if n := strings.Count(stderr.String(), "reloading configuration"); n != 1 {
		t.Errorf("%d reloads after one SIGHUP, want 1", n)
	}
	addr := regexp.MustCompile(`msg="?listening"? .*?addr="?([0-9.]+:[0-9]+)`).FindStringSubmatch(stderr.String())
	if addr == nil {
		t.Fatal("no listening line")
	}
	resp, err := httpClient.Get("http://" + addr[1] + "/karajo/api/health")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("health after the reload: %v %v", resp, err)
	}
	resp.Body.Close()
}

// sigCaught tells whether process pid has a handler for sig, from the
// SigCgt mask of /proc/<pid>/status.
func sigCaught(pid int, sig syscall.Signal) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return false
	}
	m := regexp.MustCompile(`(?m)^SigCgt:\s*([0-9a-f]+)$`).FindSubmatch(b)
	if m == nil {
		return false
	}
	mask, err := strconv.ParseUint(string(m[1]), 16, 64)
	return err == nil && mask&(1<<(uint(sig)-1)) != 0
}

// TestGeneratedSecretNotLogged: without a [karajo] secret, the generated
// one goes to a 0600 file, never to the log.
func TestGeneratedSecretNotLogged(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeConfig(t, dir, fmt.Sprintf("[karajo]\nlisten_address = \"127.0.0.1:0\"\ndir_base = %q\n", dir))
	s := startDir(t, dir)
	p := filepath.Join(dir, "var", "run", "karajo", "secret")
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatalf("generated secret not saved: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", p, fi.Mode().Perm())
	}
	b, _ := os.ReadFile(p)
	secret := strings.TrimSpace(string(b))
	if len(secret) != 32 {
		t.Fatalf("saved secret %d characters, want 32", len(secret))
	}
	if strings.Contains(s.stderr.String(), secret) {
		t.Error("the generated secret is in karajo's log")
	}
	if !strings.Contains(s.stderr.String(), p) {
		t.Error("the log does not say where the generated secret is")
	}
}
