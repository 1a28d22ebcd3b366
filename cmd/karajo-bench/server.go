package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// secret signs every webhook and is the env secret of every generated config.
const secret = "bench-s3cret"

// envPath is the API path the scenarios poll.
const envPath = "/karajo/api/environment"

// browserAE is the Accept-Encoding header a current browser sends.
const browserAE = "gzip, deflate, br, zstd"

// jobSpec is one exec job of a generated configuration.
type jobSpec struct {
	name      string
	schedule  string // "" = none
	cron      string // "" = none
	timezone  string // "" = none
	interval  string // "" = none
	path      string // "" = no webhook
	retention int    // 0 = default
	extra     string // more TOML lines of the table, as they are
	commands  []string
}

// karajoConfig is a generated configuration: the main file plus jobs,
// spread over job.d files of perFile jobs each.
type karajoConfig struct {
	maxJobRunning int
	jobs          []jobSpec
	// manyClients lifts max_connections_per_client (default 256) for a
	// load of hundreds of clients that all come from 127.0.0.1.
	manyClients bool
	// listen is the listen_address ("" = 127.0.0.1:0); mainExtra is
	// appended to the main file as it is (a [cluster] table).
	listen    string
	mainExtra string
}

// jobsPerFile is how many jobs go in one job.d file.
const jobsPerFile = 1000

// write writes the configuration under dir (the dir_base) and returns the
// path of the main file.
func (c karajoConfig) write(dir string) (string, error) {
	etc := filepath.Join(dir, "etc", "karajo")
	if err := os.MkdirAll(filepath.Join(etc, "job.d"), 0o700); err != nil {
		return "", err
	}
	mjr := max(c.maxJobRunning, 1)
	listen := c.listen
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	main := fmt.Sprintf(`[karajo]
name = "karajo-bench"
listen_address = %q
dir_base = %q
secret = %q
max_job_running = %d
`, listen, dir, secret, mjr)
	if c.manyClients {
		main += "max_connections_per_client = 4096\n"
	}
	main += c.mainExtra
	mainPath := filepath.Join(etc, "karajo.toml")
	if err := os.WriteFile(mainPath, []byte(main), 0o600); err != nil {
		return "", err
	}
	for start := 0; start < len(c.jobs); start += jobsPerFile {
		var b strings.Builder
		for _, j := range c.jobs[start:min(start+jobsPerFile, len(c.jobs))] {
			fmt.Fprintf(&b, "[job.%q]\n", j.name)
			if j.schedule != "" {
				fmt.Fprintf(&b, "schedule = %q\n", j.schedule)
			}
			if j.cron != "" {
				fmt.Fprintf(&b, "cron = %q\n", j.cron)
			}
			if j.timezone != "" {
				fmt.Fprintf(&b, "timezone = %q\n", j.timezone)
			}
			if j.interval != "" {
				fmt.Fprintf(&b, "interval = %q\n", j.interval)
			}
			if j.path != "" {
				fmt.Fprintf(&b, "path = %q\n", j.path)
			}
			if j.retention > 0 {
				fmt.Fprintf(&b, "log_retention = %d\n", j.retention)
			}
			b.WriteString(j.extra)
			b.WriteString("commands = [")
			for i, cmd := range j.commands {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString(strconv.Quote(cmd))
			}
			b.WriteString("]\n\n")
		}
		name := filepath.Join(etc, "job.d", fmt.Sprintf("jobs-%06d.toml", start))
		if err := os.WriteFile(name, []byte(b.String()), 0o600); err != nil {
			return "", err
		}
	}
	return mainPath, nil
}

// webhookJobs returns n webhook-only jobs named w0, w1, … (no timer, so
// nothing runs unless triggered).
func webhookJobs(n int) []jobSpec {
	jobs := make([]jobSpec, n)
	for i := range jobs {
		jobs[i] = jobSpec{name: "w" + strconv.Itoa(i), path: "/w" + strconv.Itoa(i), commands: []string{"true"}}
	}
	return jobs
}

// server is a running karajo process.
type server struct {
	cmd     *exec.Cmd
	pid     int
	addr    string // host:port it listens on
	base    string // http://addr
	dir     string // dir_base
	started time.Time
	client  *http.Client

	mu   sync.Mutex
	tail []string // the last lines of its stderr
	// dirsReady is closed when the server logs that the background pass
	// over the job directories is over; dirsAt is when that was seen.
	dirsReady chan struct{}
	dirsAt    time.Time
	// heapBack is closed when the server logs that it returned the heap
	// grown during its start ("start-up heap returned"): its last
	// start-up work.
	heapBack chan struct{}
	done     chan struct{}
	err      error // of Wait, valid after done
}

// stderrTail is how many lines of stderr are kept for error messages.
const stderrTail = 40

// startServer writes cfg under dir and starts bin on it. It returns once
// the server has logged its listening address (the engine may still be
// loading jobs: see waitReady).
func (b *bench) startServer(dir string, cfg karajoConfig) (*server, error) {
	mainPath, err := cfg.write(dir)
	if err != nil {
		return nil, fmt.Errorf("write config: %w", err)
	}
	return b.startWith(dir, mainPath)
}

// startWith starts the binary under test on an existing configuration.
func (b *bench) startWith(dir, mainPath string) (*server, error) {
	return b.startBin(b.bin, dir, mainPath)
}

// startBin starts bin on an existing configuration.
func (b *bench) startBin(bin, dir, mainPath string) (*server, error) {
	cmd := exec.Command(bin, "-config", mainPath)
	cmd.Stdout = io.Discard
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, dir: dir, done: make(chan struct{}), dirsReady: make(chan struct{}), heapBack: make(chan struct{})}
	addrc := make(chan string, 1)
	s.started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	s.pid = cmd.Process.Pid
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		sent, dirs, heap := false, false, false
		for sc.Scan() {
			line := sc.Text()
			if !heap && strings.Contains(line, `msg="start-up heap returned"`) {
				heap = true
				close(s.heapBack)
			}
			if !dirs && strings.Contains(line, `msg="job directories ready"`) {
				dirs = true
				s.mu.Lock()
				s.dirsAt = time.Now()
				s.mu.Unlock()
				close(s.dirsReady)
			}
			if !sent {
				if i := strings.Index(line, "msg=listening addr="); i >= 0 {
					f := strings.Fields(line[i+len("msg=listening addr="):])
					if len(f) > 0 {
						addrc <- strings.Trim(f[0], `"`)
						sent = true
					}
				}
			}
			s.mu.Lock()
			s.tail = append(s.tail, line)
			if len(s.tail) > stderrTail {
				s.tail = s.tail[len(s.tail)-stderrTail:]
			}
			s.mu.Unlock()
		}
		_, _ = io.Copy(io.Discard, stderr)
		s.err = cmd.Wait()
		close(s.done)
	}()
	select {
	case s.addr = <-addrc:
	case <-s.done:
		return nil, fmt.Errorf("karajo exited before listening (%v):\n%s", s.err, s.stderr())
	case <-time.After(2 * time.Minute):
		s.kill()
		return nil, fmt.Errorf("karajo logged no listening address in 2 minutes:\n%s", s.stderr())
	}
	s.base = "http://" + s.addr
	s.client = &http.Client{Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 4}}
	return s, nil
}

// waitDirs waits until the server has made every job's directories (its
// "job directories ready" line) and returns the time from its start.
func (s *server) waitDirs(limit time.Duration) (time.Duration, error) {
	select {
	case <-s.dirsReady:
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.dirsAt.Sub(s.started), nil
	case <-s.done:
		return 0, fmt.Errorf("karajo exited (%v):\n%s", s.err, s.stderr())
	case <-time.After(limit):
		return 0, fmt.Errorf("karajo did not log \"job directories ready\" in %v:\n%s", limit, s.stderr())
	}
}

// waitHeapBack waits up to limit for the server's "start-up heap
// returned" line (a binary that does not log it: the whole limit).
func (s *server) waitHeapBack(limit time.Duration) {
	select {
	case <-s.heapBack:
	case <-s.done:
	case <-time.After(limit):
	}
}

// startReady starts the server as startServer does and waits up to limit
// for its first 200; a server that does not get there is stopped.
func (b *bench) startReady(dir string, cfg karajoConfig, limit time.Duration) (*server, error) {
	return b.startBinReady(b.bin, dir, cfg, limit)
}

// startBinReady is startReady for binary bin (the runs scenario drives a
// second binary with -compare).
func (b *bench) startBinReady(bin, dir string, cfg karajoConfig, limit time.Duration) (*server, error) {
	mainPath, err := cfg.write(dir)
	if err != nil {
		return nil, fmt.Errorf("write config: %w", err)
	}
	s, err := b.startBin(bin, dir, mainPath)
	if err != nil {
		return nil, err
	}
	if _, err := s.waitReady(limit); err != nil {
		b.stopServer(s)
		return nil, err
	}
	return s, nil
}

// stderr returns the last lines of the server's stderr.
func (s *server) stderr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.tail, "\n")
}

// waitReady polls the environment until it answers 200 and returns the
// time from process start to that answer.
func (s *server) waitReady(limit time.Duration) (time.Duration, error) {
	deadline := s.started.Add(limit)
	for {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		code, err := s.getEnv(ctx)
		cancel()
		if code == http.StatusOK {
			return time.Since(s.started), nil
		}
		select {
		case <-s.done:
			return 0, fmt.Errorf("karajo exited (%v):\n%s", s.err, s.stderr())
		default:
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("no 200 from %s within %v (last: %d %v); the server's last lines:\n%s", envPath, limit, code, err, s.stderr())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// getEnv reads the environment once (gzip, body discarded).
func (s *server) getEnv(ctx context.Context) (int, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.base+envPath, nil)
	req.Header.Set("Accept-Encoding", browserAE)
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}

// fetch reads path and returns the answer's body as sent (gzip when the
// server gzips) and its headers.
func (s *server) fetch(path string) ([]byte, http.Header, error) {
	req, _ := http.NewRequest(http.MethodGet, s.base+path, nil)
	req.Header.Set("Accept-Encoding", browserAE)
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return body, resp.Header, err
}

// stop sends SIGTERM and waits up to 30 s for the exit, then kills. An
// unclean exit is returned as an error (the caller reports it).
func (s *server) stop() error {
	if s == nil {
		return nil
	}
	s.client.CloseIdleConnections()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		s.kill()
		return fmt.Errorf("karajo did not stop within 30 s of SIGTERM")
	}
	var ee *exec.ExitError
	if errors.As(s.err, &ee) {
		return fmt.Errorf("karajo exited with %v:\n%s", s.err, s.stderr())
	}
	return nil
}

func (s *server) kill() {
	_ = s.cmd.Process.Kill()
	<-s.done
}

// procStatus returns a field of /proc/PID/status in bytes (the kB value
// times 1024), e.g. "VmRSS".
func procStatus(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				break
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// clockTicks is USER_HZ, 100 on every Linux architecture Go supports.
const clockTicks = 100

// cpuTime returns utime+stime of the process from /proc/PID/stat.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces: fields count from ")".
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, fmt.Errorf("bad /proc/%d/stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime is field 14, stime field 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

// rssSampler samples VmRSS of a process every interval and keeps the peak.
type rssSampler struct {
	stop chan struct{}
	done chan struct{}
	peak int64
	n    int
}

func sampleRSS(pid int, every time.Duration) *rssSampler {
	r := &rssSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if v, err := procStatus(pid, "VmRSS"); err == nil {
				r.n++
				r.peak = max(r.peak, v)
			}
			select {
			case <-r.stop:
				return
			case <-t.C:
			}
		}
	}()
	return r
}

// finish stops sampling and returns the peak VmRSS seen.
func (r *rssSampler) finish() int64 {
	close(r.stop)
	<-r.done
	return r.peak
}
