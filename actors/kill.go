package actors

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// tokenVar is the environment variable that marks every process of a run
// with the run's token, so that processes which left the run's process
// group (setsid, a double fork) are still found and killed: the way
// Jenkins' ProcessTreeKiller uses BUILD_ID. A process that clears its own
// environment escapes it.
const tokenVar = "KARAJO_RUN_TOKEN"

// Kill mechanisms, as GET /karajo/api/engine reports them: the process
// group, then the run's token in the environment of karajo's children
// (karajo is their subreaper, reaper.go) or, when prctl refuses that, of
// every process of /proc.
const (
	KillSubreaper = "process-group+subreaper+env-token"
	KillProcScan  = "process-group+env-token"
)

// mechanism returns the kill mechanism in use.
func (s *sweeper) mechanism() string {
	if s != nil && s.subreaper {
		return KillSubreaper
	}
	return KillProcScan
}

// tokenPrefix returns the prefix of the run tokens of an engine whose
// dir_base is base: "k" and 12 hex digits of its absolute path's SHA-256,
// so that the sweep at start finds only this instance's leftovers.
func tokenPrefix(base string) string {
	sum := sha256.Sum256([]byte(base))
	return "k" + hex.EncodeToString(sum[:6])
}

// runToken returns a new token for run counter of job id.
func runToken(prefix, id string, counter int64) string {
	var r [6]byte
	_, _ = rand.Read(r[:]) // never fails (crypto/rand)
	return prefix + "." + id + "." + strconv.FormatInt(counter, 10) + "." + hex.EncodeToString(r[:])
}

// sweeper kills the processes that carry given run tokens. Requests are
// batched: one pass over /proc serves every token asked for meanwhile, in
// a goroutine of its own, off the run path.
type sweeper struct {
	log    *slog.Logger
	prefix string
	self   int

	mu      sync.Mutex
	pending map[string]int // token → the first PID of its run (see kill)
	busy    bool
	last    time.Time  // start of the latest pass
	idle    *sync.Cond // signalled when a pass ends with nothing pending

	subreaper bool         // karajo is a child subreaper: escapees are its children (reaper.go)
	strangers map[int]bool // children neither started nor reaped by os/exec, as of the last pass; loop only
}

func newSweeper(prefix string, log *slog.Logger) *sweeper {
	s := &sweeper{log: log, prefix: prefix, self: os.Getpid(), pending: make(map[string]int)}
	s.idle = sync.NewCond(&s.mu)
	return s
}

// kill asks for the processes carrying token to be killed soon. floor is
// the PID of the run's first command (0: unknown): every process of the
// run was forked after it, so while PIDs have not wrapped around, only
// processes with a PID of at least floor are read.
func (s *sweeper) kill(token string, floor int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.pending[token]; ok && f < floor {
		floor = f
	}
	s.pending[token] = floor
	if !s.busy {
		s.busy = true
		go s.loop()
	}
}

// sweepGap is the least time between the starts of two passes over /proc.
// A pass reads the environment of every process of the machine (a few
// hundred to thousands of files), far more than a short run costs; under
// load the tokens asked for meanwhile wait for the next pass together, so
// that the passes cost a bounded share of the CPU however many runs end.
// An escaped process lives at most this much longer.
const sweepGap = 200 * time.Millisecond

// loop sweeps until no token is pending, at most one pass per sweepGap.
func (s *sweeper) loop() {
	s.mu.Lock()
	for len(s.pending) > 0 {
		if d := time.Until(s.last.Add(sweepGap)); d > 0 {
			s.mu.Unlock()
			time.Sleep(d) // tokens asked for meanwhile join this pass
			s.mu.Lock()
		}
		s.last = time.Now()
		set := s.pending
		s.pending = make(map[string]int)
		s.mu.Unlock()
		floor := -1
		for _, f := range set {
			if floor < 0 || f < floor {
				floor = f
			}
		}
		if last, ok := lastPID(); !ok || last < floor {
			floor = 0 // PIDs wrapped around since (or unknown): read all
		}
		match := func(tok string) bool { _, ok := set[tok]; return ok }
		var n int
		if s.subreaper {
			var dead bool
			if n, dead = s.sweepChildren(match); dead {
				s.mu.Lock()
				s.pending[""] = 0 // one more pass, after sweepGap, reaps them
				s.mu.Unlock()
			}
		} else {
			n = sweepProc(s.self, floor, match)
		}
		if n > 0 {
			s.log.Warn("killed processes that left their run's process group", "count", n)
		}
		s.mu.Lock()
	}
	s.busy = false
	s.idle.Broadcast()
	s.mu.Unlock()
}

// flush waits until every requested sweep is done.
func (s *sweeper) flush() {
	s.mu.Lock()
	for s.busy {
		s.idle.Wait()
	}
	s.mu.Unlock()
}

// sweepAll kills every process carrying a token of this engine: at start
// (runs interrupted by a crash) and on an emergency stop. It returns how
// many it killed.
func (s *sweeper) sweepAll() int {
	p := s.prefix + "."
	return sweepProc(s.self, 0, func(tok string) bool { return len(tok) > len(p) && tok[:len(p)] == p })
}

// sweepProc sends SIGKILL to every process (but self) whose environment
// holds tokenVar with a value match accepts, reading /proc/<pid>/environ;
// processes of other users are unreadable unless karajo runs as root. It
// repeats while it finds some (a process may fork while it is read), at
// most three passes, and returns how many it killed. Processes with a
// PID below floor are not read.
func sweepProc(self, floor int, match func(string) bool) int {
	killed := 0
	for range 3 {
		n := sweepOnce(self, floor, match)
		killed += n
		if n == 0 {
			break
		}
	}
	return killed
}

func sweepOnce(self, floor int, match func(string) bool) int {
	d, err := os.Open("/proc")
	if err != nil {
		return 0
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	killed := 0
	key := []byte(tokenVar + "=")
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil || pid == self || pid < floor {
			continue
		}
		b, err := os.ReadFile("/proc/" + name + "/environ")
		if err != nil {
			continue
		}
		for kv := range bytes.SplitSeq(b, []byte{0}) {
			if v, ok := bytes.CutPrefix(kv, key); ok && match(string(v)) {
				if syscall.Kill(pid, syscall.SIGKILL) == nil {
					killed++
				}
				break
			}
		}
	}
	return killed
}

// lastPID returns the PID the kernel handed out last in karajo's PID
// namespace (/proc/sys/kernel/ns_last_pid).
func lastPID() (int, bool) {
	b, err := os.ReadFile("/proc/sys/kernel/ns_last_pid")
	if err != nil {
		return 0, false
	}
	n, err := strconv.Atoi(string(bytes.TrimSpace(b)))
	return n, err == nil
}
