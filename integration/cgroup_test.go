package integration

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// mountCgroup2 mounts a cgroup2 file system on a new temporary directory
// and returns a new child cgroup of it; the test is skipped, with the
// reason, when that is not possible (not root, no cgroup2). Cleanup
// removes what it made and unmounts only that mount.
func mountCgroup2(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: mounting cgroup2 needs root")
	}
	mnt, err := os.MkdirTemp("", "karajo-cg2-")
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("none", mnt, "cgroup2", 0, ""); err != nil {
		_ = os.Remove(mnt)
		t.Skipf("skipped: mount -t cgroup2 on %s: %v", mnt, err)
	}
	var r [6]byte
	_, _ = rand.Read(r[:])
	dir := filepath.Join(mnt, "karajo-test-"+hex.EncodeToString(r[:]))
	if err := os.Mkdir(dir, 0o755); err != nil {
		_ = syscall.Unmount(mnt, 0)
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.Remove(dir); err != nil {
			t.Errorf("remove test cgroup: %v", err)
		}
		if err := syscall.Unmount(mnt, 0); err != nil {
			t.Errorf("unmount %s: %v", mnt, err)
			return
		}
		_ = os.Remove(mnt)
	})
	return dir
}

// TestCgroupKillsEscapees: with [karajo] cgroup set, cancel and timeout
// kill a process that left the run's process group (setsid) and cleared
// its environment (env -i, so no run token): only the cgroup still holds
// it. The engine reports the cgroup mechanism, and no run cgroup is left.
func TestCgroupKillsEscapees(t *testing.T) {
	t.Parallel()
	cg := mountCgroup2(t)
	dir := t.TempDir()
	pidCancel, pidTimeout := filepath.Join(dir, "cancel.pid"), filepath.Join(dir, "timeout.pid")
	escape := func(pidfile string) string {
		return `env -i setsid sh -c 'sleep 300 >/dev/null 2>&1 & echo $! > ` + pidfile + `'; sleep 60`
	}
	head := strings.Replace(configHeader(dir), "max_job_running = 4", "max_job_running = 4\nkill_grace = \"1s\"\ncgroup = \""+cg+"\"", 1)
	writeConfig(t, dir, head+`
[job.esc_cancel]
path = "/esc_cancel"
commands = ["`+strings.ReplaceAll(escape(pidCancel), `"`, `\"`)+`"]

[job.esc_timeout]
path = "/esc_timeout"
timeout = "2s"
commands = ["`+strings.ReplaceAll(escape(pidTimeout), `"`, `\"`)+`"]
`)
	s := startDir(t, dir)
	var eng struct {
		Data struct {
			Kill string `json:"kill_mechanism"`
			Dir  string `json:"cgroup_dir"`
		} `json:"data"`
	}
	if err := json.Unmarshal(s.get(t, "/karajo/api/engine").body, &eng); err != nil {
		t.Fatal(err)
	}
	if eng.Data.Kill != "cgroup" || eng.Data.Dir != cg {
		t.Errorf("engine: kill_mechanism %q cgroup_dir %q, want cgroup and %s", eng.Data.Kill, eng.Data.Dir, cg)
	}
	wantEnvelope(t, s.trigger(t, "esc_cancel", testSecret), http.StatusOK)
	wantEnvelope(t, s.trigger(t, "esc_timeout", testSecret), http.StatusOK)
	pids := map[string]int{}
	for job, f := range map[string]string{"esc_cancel": pidCancel, "esc_timeout": pidTimeout} {
		waitFor(t, 10*time.Second, job+" wrote its escapee's PID", func() bool {
			b, err := os.ReadFile(f)
			n, err2 := strconv.Atoi(strings.TrimSpace(string(b)))
			pids[job] = n
			return err == nil && err2 == nil && n > 0
		})
	}
	t.Cleanup(func() {
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL) // in case the test failed
		}
	})
	var running struct {
		Data struct {
			Running []struct {
				Job    string `json:"job"`
				Cgroup string `json:"cgroup"`
			} `json:"running"`
		} `json:"data"`
	}
	if err := json.Unmarshal(s.get(t, "/karajo/api/engine").body, &running); err != nil {
		t.Fatal(err)
	}
	for _, r := range running.Data.Running {
		if !strings.HasPrefix(r.Cgroup, cg+"/run-"+r.Job+"-1-") {
			t.Errorf("running %s: cgroup %q, want under %s/run-%s-1-", r.Job, r.Cgroup, cg, r.Job)
		}
	}
	if len(running.Data.Running) != 2 {
		t.Errorf("engine: %d runs running, want 2", len(running.Data.Running))
	}
	if j := s.act(t, "cancel", "esc_cancel"); j.Status != "canceled" {
		t.Errorf("cancel answered status %q, want canceled", j.Status)
	}
	if st := s.waitRun(t, "esc_timeout", 1, 30*time.Second); st != "failed" {
		t.Errorf("esc_timeout #1: %q, want failed", st)
	}
	for job, pid := range pids {
		waitFor(t, 5*time.Second, job+"'s escapee "+strconv.Itoa(pid)+" is gone", func() bool {
			_, err := os.Stat("/proc/" + strconv.Itoa(pid))
			return err != nil
		})
	}
	waitFor(t, 5*time.Second, "no run cgroup left", func() bool {
		out, _ := exec.Command("ls", cg).Output()
		return !strings.Contains(string(out), "run-")
	})
}
