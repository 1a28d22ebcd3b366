package config

import (
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// cgroupSuperMagic is the file system type of cgroup2 (statfs).
const cgroupSuperMagic = 0x63677270

// cgroup checks [karajo] cgroup: "auto" (the default), "off", or the
// absolute path of a writable cgroup2 directory other than the
// hierarchy's root.
func (c *checker) cgroup(file, v string) string {
	v = strings.TrimSpace(v)
	switch strings.ToLower(v) {
	case "", "auto":
		return "auto"
	case "off":
		return "off"
	}
	const key = "karajo.cgroup"
	if !filepath.IsAbs(v) {
		c.fail(file, key, "must be \"auto\", \"off\" or an absolute path, got %q", v)
		return "off"
	}
	v = filepath.Clean(v)
	var st unix.Statfs_t
	if err := unix.Statfs(v, &st); err != nil {
		c.fail(file, key, "%s: %v", v, err)
		return "off"
	}
	if st.Type != cgroupSuperMagic {
		c.fail(file, key, "%s is not a directory of a cgroup2 file system", v)
		return "off"
	}
	if err := unix.Access(filepath.Join(v, "cgroup.kill"), unix.W_OK); err != nil {
		c.fail(file, key, "%s has no writable cgroup.kill (the root of a hierarchy has none): %v", v, err)
		return "off"
	}
	if err := unix.Access(v, unix.W_OK); err != nil {
		c.fail(file, key, "%s is not writable: %v", v, err)
		return "off"
	}
	return v
}
