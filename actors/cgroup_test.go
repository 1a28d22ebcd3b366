package actors

import (
	"os"
	"path/filepath"
	"testing"
)

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "cgroup", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestAutoCgroupDir: karajo's cgroup v2 directory is its "0::" path under
// the first cgroup2 mount of the hierarchy's root; hosts with cgroup v1
// only, or a cgroup2 mounted from a subdirectory only, have none.
func TestAutoCgroupDir(t *testing.T) {
	for _, tc := range []struct {
		cgroup, mountinfo, want string
	}{
		{"systemd.cgroup", "unified.mountinfo", "/sys/fs/cgroup/system.slice/karajo.service"},
		{"hybrid.cgroup", "hybrid.mountinfo", "/sys/fs/cgroup/unified/system.slice/karajo.service"},
		{"hybrid.cgroup", "container.mountinfo", "/sys/fs/cgroup/system.slice/karajo.service"},
		{"v1.cgroup", "unified.mountinfo", ""},
		{"systemd.cgroup", "v1.mountinfo", ""},
		{"root.cgroup", "unified.mountinfo", ""},
	} {
		got, err := autoCgroupDir(readTestdata(t, tc.cgroup), readTestdata(t, tc.mountinfo))
		if got != tc.want || (err == nil) != (tc.want != "") {
			t.Errorf("%s + %s: %q, %v; want %q", tc.cgroup, tc.mountinfo, got, err, tc.want)
		}
	}
}

// TestUnescapeMount: mountinfo's octal escapes are undone.
func TestUnescapeMount(t *testing.T) {
	for in, want := range map[string]string{`/mnt/my\040cgroups`: "/mnt/my cgroups", `/a\134b`: `/a\b`, `/plain`: "/plain", `/end\04`: `/end\04`} {
		if got := unescapeMount(in); got != want {
			t.Errorf("unescapeMount(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestCgroupMechanism: the engine reports "cgroup" when commands get a
// cgroup, the sweeper's mechanism otherwise.
func TestCgroupMechanism(t *testing.T) {
	var none *cgroups
	if got := none.mechanism(&sweeper{subreaper: true}); got != KillSubreaper {
		t.Errorf("no cgroups: %q, want %q", got, KillSubreaper)
	}
	if got := (&cgroups{dir: "/x"}).mechanism(nil); got != KillCgroup {
		t.Errorf("cgroups: %q, want %q", got, KillCgroup)
	}
	if none.path() != "" || none.create("j", 1) != nil || none.killAll() != 0 {
		t.Error("nil cgroups must do nothing")
	}
}
