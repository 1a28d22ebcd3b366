package actors

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// KillCgroup is the kill mechanism where each command runs in a cgroup v2
// of its own, killed whole through cgroup.kill: no process escapes it,
// whatever it does to its process group or environment. The process group
// and the run token are still used as well.
const KillCgroup = "cgroup"

// Cgroup settings of [karajo] cgroup besides a path.
const (
	CgroupAuto = "auto"
	CgroupOff  = "off"
)

// cgroupEventsPoll is how often cgroup.events is read while waiting for a
// killed cgroup to empty.
const cgroupEventsPoll = 2 * time.Millisecond

// cgroupEmptyWait bounds the wait for a killed cgroup to empty.
const cgroupEmptyWait = 5 * time.Second

// cgroups makes a cgroup v2 per command under dir and kills it whole. It
// is a registry of OS resources shared by the run goroutines, not job
// state.
type cgroups struct {
	dir string
	log *slog.Logger
	seq atomic.Int64

	mu   sync.Mutex
	live map[string]bool // paths of the cgroups of the commands running now
}

// selfCgroupPath returns the cgroup v2 path of the process from the text
// of /proc/self/cgroup: the "0::<path>" line.
func selfCgroupPath(text string) (string, bool) {
	for line := range strings.SplitSeq(text, "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok && strings.HasPrefix(p, "/") {
			return p, true
		}
	}
	return "", false
}

// cgroup2Mount returns the mount point of the cgroup2 file system whose
// root is "/" from the text of /proc/self/mountinfo.
func cgroup2Mount(text string) (string, bool) {
	for line := range strings.SplitSeq(text, "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		f, g := strings.Fields(pre), strings.Fields(post)
		if len(f) < 5 || len(g) < 1 || g[0] != "cgroup2" || f[3] != "/" {
			continue
		}
		return unescapeMount(f[4]), true
	}
	return "", false
}

// unescapeMount undoes the octal escapes (\040 for a space) of mountinfo.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// autoCgroupDir returns the cgroup v2 directory karajo runs in, from the
// texts of /proc/self/cgroup and /proc/self/mountinfo, or why there is
// none.
func autoCgroupDir(selfCgroup, mountinfo string) (string, error) {
	p, ok := selfCgroupPath(selfCgroup)
	if !ok {
		return "", errors.New("karajo is in no cgroup v2 hierarchy")
	}
	if p == "/" {
		// Nobody gave karajo a cgroup (systemd puts a service in one of
		// its own): the root is not karajo's to fill.
		return "", errors.New("karajo runs in the root cgroup (nothing delegated)")
	}
	m, ok := cgroup2Mount(mountinfo)
	if !ok {
		return "", errors.New("no cgroup2 file system is mounted")
	}
	return filepath.Join(m, p), nil
}

// IsCgroup2 reports whether dir is a directory of a cgroup2 file system.
func IsCgroup2(dir string) bool {
	var st unix.Statfs_t
	return unix.Statfs(dir, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC
}

// setupCgroups returns the cgroups for setting ("auto", "off" or a
// cgroup2 directory checked by config), or nil when commands run without.
// With "auto", karajo moves itself into a child "karajo" of the cgroup it
// runs in (a cgroup with children holds no processes) and makes the
// commands' cgroups beside it.
func setupCgroups(setting string, log *slog.Logger) *cgroups {
	switch setting {
	case CgroupOff:
		return nil
	case "", CgroupAuto:
		dir, err := autoDir()
		if err == nil {
			err = moveSelf(dir)
		}
		if err != nil {
			log.Info("commands run without a cgroup of their own", "reason", err.Error())
			return nil
		}
		setting = dir
	}
	c := &cgroups{dir: setting, log: log, live: make(map[string]bool)}
	if n := c.sweep(); n > 0 {
		log.Warn("killed cgroups of runs that a crash left running", "count", n)
	}
	return c
}

// autoDir returns karajo's own cgroup v2 directory when it is writable.
func autoDir() (string, error) {
	sc, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", err
	}
	dir, err := autoCgroupDir(string(sc), string(mi))
	if err != nil {
		return "", err
	}
	if filepath.Base(dir) == "karajo" && IsCgroup2(dir) {
		dir = filepath.Dir(dir) // moved there by an earlier engine of this process
	}
	if !IsCgroup2(dir) {
		return "", fmt.Errorf("%s is not a cgroup2 directory", dir)
	}
	if err := unix.Access(dir, unix.W_OK); err != nil {
		return "", fmt.Errorf("%s is not writable: %w", dir, err)
	}
	return dir, nil
}

// moveSelf moves karajo into the child "karajo" of dir.
func moveSelf(dir string) error {
	leaf := filepath.Join(dir, "karajo")
	if err := os.Mkdir(leaf, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("make %s: %w", leaf, err)
	}
	if err := os.WriteFile(filepath.Join(leaf, "cgroup.procs"), []byte(strconv.Itoa(os.Getpid())), 0); err != nil {
		return fmt.Errorf("move karajo into %s: %w", leaf, err)
	}
	return nil
}

// mechanism returns the kill mechanism: KillCgroup, or that of the sweeper.
func (c *cgroups) mechanism(s *sweeper) string {
	if c != nil {
		return KillCgroup
	}
	return s.mechanism()
}

// runCgroup is the cgroup of one command.
type runCgroup struct {
	c    *cgroups
	path string
	fd   *os.File // the directory, for SysProcAttr.CgroupFD
}

// create makes the cgroup of a command of run counter of job id; nil (and
// a logged warning) when that fails, and the command runs without.
func (c *cgroups) create(id string, counter int64) *runCgroup {
	if c == nil {
		return nil
	}
	name := "run-" + strings.ReplaceAll(id, "/", "_") + "-" + strconv.FormatInt(counter, 10) + "-" + strconv.FormatInt(c.seq.Add(1), 10)
	p := filepath.Join(c.dir, name)
	if err := os.Mkdir(p, 0o755); err != nil {
		c.log.Warn("make the cgroup of a command", "job", id, "err", err)
		return nil
	}
	fd, err := os.OpenFile(p, os.O_RDONLY|syscall.O_DIRECTORY, 0)
	if err != nil {
		_ = os.Remove(p)
		c.log.Warn("open the cgroup of a command", "job", id, "err", err)
		return nil
	}
	c.mu.Lock()
	c.live[p] = true
	c.mu.Unlock()
	return &runCgroup{c: c, path: p, fd: fd}
}

// attr puts the command into the cgroup.
func (g *runCgroup) attr(a *syscall.SysProcAttr) {
	if g != nil {
		a.UseCgroupFD, a.CgroupFD = true, int(g.fd.Fd())
	}
}

// signal sends sig to every process of the cgroup.
func (g *runCgroup) signal(sig syscall.Signal) {
	if g == nil {
		return
	}
	b, err := os.ReadFile(filepath.Join(g.path, "cgroup.procs"))
	if err != nil {
		return
	}
	for f := range strings.FieldsSeq(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil {
			_ = syscall.Kill(pid, sig)
		}
	}
}

// kill kills every process of the cgroup.
func (g *runCgroup) kill() {
	if g != nil {
		_ = killCgroup(g.path)
	}
}

// close kills what is left in the cgroup, waits until it is empty and
// removes it.
func (g *runCgroup) close() {
	if g == nil {
		return
	}
	_ = g.fd.Close()
	if err := destroyCgroup(g.path); err != nil {
		g.c.log.Warn("remove the cgroup of a command", "cgroup", g.path, "err", err)
	}
	g.c.mu.Lock()
	delete(g.c.live, g.path)
	g.c.mu.Unlock()
}

func killCgroup(p string) error {
	return os.WriteFile(filepath.Join(p, "cgroup.kill"), []byte("1"), 0)
}

// populated reads "populated" of the cgroup.events of p.
func populated(p string) (bool, error) {
	f, err := os.Open(filepath.Join(p, "cgroup.events"))
	if err != nil {
		return false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, 4096))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "populated "); ok {
			return v != "0", nil
		}
	}
	return false, errors.New("cgroup.events holds no populated line")
}

// destroyCgroup kills the processes of cgroup p, waits until it is empty
// and removes it.
func destroyCgroup(p string) error {
	if full, err := populated(p); err != nil {
		return err
	} else if full {
		if err := killCgroup(p); err != nil {
			return fmt.Errorf("kill: %w", err)
		}
		for end := time.Now().Add(cgroupEmptyWait); ; {
			if full, err = populated(p); err != nil || !full {
				break
			}
			if time.Now().After(end) {
				return errors.New("still populated after cgroup.kill")
			}
			time.Sleep(cgroupEventsPoll)
		}
	}
	if err := os.Remove(p); err != nil {
		return fmt.Errorf("rmdir: %w", err)
	}
	return nil
}

// sweep destroys the cgroups of commands of runs that a crash left behind
// (the "run-" children of dir) and returns how many.
func (c *cgroups) sweep() int {
	ents, err := os.ReadDir(c.dir)
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range ents {
		if e.IsDir() && strings.HasPrefix(e.Name(), "run-") {
			if err := destroyCgroup(filepath.Join(c.dir, e.Name())); err != nil {
				c.log.Warn("remove a leftover cgroup", "cgroup", e.Name(), "err", err)
				continue
			}
			n++
		}
	}
	return n
}

// killAll kills the cgroups of every command running now (an emergency
// stop) and returns how many.
func (c *cgroups) killAll() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for p := range c.live {
		_ = killCgroup(p)
	}
	return len(c.live)
}

// path returns the directory of the commands' cgroups; "" for none.
func (c *cgroups) path() string {
	if c == nil {
		return ""
	}
	return c.dir
}
