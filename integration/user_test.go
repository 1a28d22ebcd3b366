package integration

import (
	"fmt"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRunAsUser: with user (and group), a job's commands run as that user
// with its supplementary groups, HOME, USER and LOGNAME; the work
// directory and the payload file are the user's, the log stays karajo's.
// It needs root; without it the test is skipped, saying why.
func TestRunAsUser(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("user = needs karajo to run as root, and this test does not run as root: skipped")
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Skipf("no user nobody on this machine: %v", err)
	}
	groupKey := ""
	wantGID := u.Gid
	if g, err := user.LookupGroup("nogroup"); err == nil {
		groupKey = `group = "nogroup"`
		wantGID = g.Gid
	}
	dir := t.TempDir()
	// The run user must be able to reach dir_base; karajo opens what is below.
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	writeConfig(t, dir, configHeader(dir)+fmt.Sprintf(`
[job.asuser]
path = "/asuser"
user = "nobody"
%s
pass_payload = "file"
commands = [
	"echo uid=$(id -u) gid=$(id -g)",
	"echo home=$HOME user=$USER logname=$LOGNAME",
	"echo payload=$(wc -c < \"$KARAJO_PAYLOAD_FILE\")",
	"touch made-here && stat -c owner=%%u made-here",
]
`, groupKey))
	s := startDir(t, dir)
	body := runBody()
	wantEnvelope(t, s.trigger(t, "asuser", testSecret), http.StatusOK)
	if st := s.waitRun(t, "asuser", 1, 60*time.Second); st != "success" {
		t.Fatalf("asuser #1: %q\n%s", st, s.logOf(t, "asuser", 1).Content)
	}
	lines := logLines(t, "asuser", s.logOf(t, "asuser", 1).Content)
	for _, want := range []string{
		"uid=" + u.Uid + " gid=" + wantGID,
		"home=" + u.HomeDir + " user=nobody logname=nobody",
		fmt.Sprintf("payload=%d", len(body)),
		"owner=" + u.Uid,
	} {
		if !jhHas(lines, want) {
			t.Errorf("log lacks %q:\n%s", want, strings.Join(lines, "\n"))
		}
	}
	for path, wantUID := range map[string]string{
		s.workDir("asuser"): u.Uid,
		filepath.Join(s.logDir("asuser"), "asuser.1.success"): "0",
	} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(fi.Sys().(*syscall.Stat_t).Uid); got != wantUID {
			t.Errorf("%s is owned by uid %s, want %s", path, got, wantUID)
		}
	}
}

// TestUnknownUserRefused: an unknown user or group stops the start.
func TestUnknownUserRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := writeConfig(t, dir, configHeader(dir)+`
[job.a]
commands = ["true"]
user = "no-such-user-karajo"

[job.b]
commands = ["true"]
user = "root"
group = "no-such-group-karajo"
`)
	code, out := runToExit(t, cfg)
	if code != 2 {
		t.Fatalf("exit code %d, want 2:\n%s", code, out)
	}
	for _, want := range []string{
		cfg + `: job."a".user: unknown user "no-such-user-karajo"`,
		cfg + `: job."b".group: unknown group "no-such-group-karajo"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
