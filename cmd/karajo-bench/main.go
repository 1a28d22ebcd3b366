// Command karajo-bench measures a real karajo binary under load and prints
// a markdown table: for each figure the median of several rounds with min
// and max, and its ratio to the limit of this machine measured in the same
// run (a bare net/http server answering the same bytes, fork/exec of
// /bin/sh -c true).
//
//	karajo-bench [-karajo bin/karajo] [-rounds 3] [-quick] [-only api-read,trigger] [-out FILE] [-compare BIN]
//
// Each scenario starts the binary on a generated configuration in a
// temporary dir_base, listening on 127.0.0.1:0, and stops it with SIGTERM.
// Scenarios: limits, api-read, trigger, scale, timer, big-output, restart,
// runs, webhook, cluster, cluster-trigger, history-scale. With -compare BIN
// the runs, webhook, cron and history-scale scenarios drive BIN as well, in
// alternating rounds, and print this / BIN ratios.
// Under the table it judges the targets of the issues (goals.go) that the
// run measured: met, or missed and by how much.
// Full mode takes about 13 minutes, -quick under 3. The exit status is
// non-zero only when the tool itself fails (a server that cannot start, a
// broken answer), never for a missed target.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// scenario is one group of measurements.
type scenario struct {
	name string
	desc string
	run  func(b *bench) error
}

var scenarios = []scenario{
	{"limits", "bare net/http server with the same bytes; fork/exec rate", (*bench).measureLimits},
	{"api-read", "GET environment, 10/1,000/10,000 jobs, 1/32/256 clients", (*bench).apiRead},
	{"trigger", "signed webhooks, 1 and 8 jobs, max_job_running 1 and 8", (*bench).trigger},
	{"scale", "1,000/10,000/100,000 jobs: start, RSS, idle CPU", (*bench).scale},
	{"webhook", "signed trigger p50 with replay protection, require_epoch and records against the v0.9.3 path; 10,000 webhook jobs with full windows: start", (*bench).webhook},
	{"timer", "100 minutely jobs: lateness of the command's start", (*bench).timer},
	{"cron", "100 cron jobs due in one second: lateness against a bare Go timer in alternating rounds", (*bench).cronLateness},
	{"cron-scale", "10,000/100,000 cron jobs in a zone against daily@ jobs: start, RSS, idle CPU", (*bench).cronScale},
	{"history-scale", "100,000 cron jobs × 5 logs + history.db: restart, CPU to the first answer; with -compare BIN against it", (*bench).historyScale},
	{"big-output", "one command printing 200 MB (and 1 GB): server RSS", (*bench).bigOutput},
	{"restart", "1,000 jobs x 100 kept logs: time to first answer", (*bench).restart},
	{"cluster", "10,000 jobs on 3 cluster nodes (karajo etcd-dev) against 3 single hosts at once: start, restart, owner views shown", (*bench).clusterBench},
	{"cluster-trigger", "trigger → command start on the owning node of a cluster (etcd-dev) against a single host, alternating rounds", (*bench).clusterTrigger},
	{"runs", "cost of a run: 8 and 1 jobs hammered, 1,000 due at start, first runs; with -compare BIN against it", (*bench).runs},
}

// bench holds the settings and results of one run of the tool.
type bench struct {
	bin     string
	compare string // -compare: a second binary for the runs scenario
	histDir string // -hist-dir: history-scale's reused dir_base ("" = fresh)
	cases   string // -cases: the run cases to measure ("" = all)
	rounds  int
	quick   bool
	tmp     string
	keep    bool
	log     io.Writer

	rows   []row
	limits map[string]float64 // median of each limit, by key
	envGz  map[int][]byte     // gzipped environment answers by job count
	envHdr map[int]map[string]string
	errs   []error  // failures of the tool: exit status 1
	notes  []string // server misbehaviour worth reporting (not a tool failure)
}

func main() {
	os.Exit(run())
}

func run() int {
	var (
		bin    = flag.String("karajo", "bin/karajo", "karajo binary; built with go build ./cmd/karajo when missing")
		rounds = flag.Int("rounds", 3, "rounds per figure (the table shows their median, min and max)")
		quick  = flag.Bool("quick", false, "short CI-friendly run (under 3 minutes): fewer sizes, shorter rounds")
		only   = flag.String("only", "", "comma-separated scenarios to run (default all): "+names())
		out    = flag.String("out", "", "also write the report (machine and table) to this file")
		tmp    = flag.String("tmp", "", "parent of the temporary dir_base directories (default $TMPDIR)")
		keep   = flag.Bool("keep", false, "keep the temporary directories")
		bare   = flag.String("serve-bare", "", "internal: serve this gzipped answer as the bare server and print its address")
		cases  = flag.String("cases", "", "runs scenario: comma-separated cases (default all): hammer-8,hammer-1,refused,drain,first-run")
		hist   = flag.String("hist-dir", "", "history-scale: prepare its dir_base in this directory once and reuse it in later runs (default: a fresh one, removed)")
		cmp    = flag.String("compare", "", "runs, webhook, cron and history-scale scenarios: also drive this karajo-compatible binary (same config format), in alternating rounds, and print ratios")
	)
	flag.Parse()
	if *bare != "" {
		return serveBare(*bare)
	}
	roundsSet := false
	flag.Visit(func(f *flag.Flag) { roundsSet = roundsSet || f.Name == "rounds" })
	if *quick && !roundsSet {
		*rounds = 1
	}
	if *rounds < 1 {
		fmt.Fprintln(os.Stderr, "karajo-bench: -rounds must be at least 1")
		return 2
	}
	var selected []scenario
	if *only == "" {
		selected = scenarios
	} else {
		for n := range strings.SplitSeq(*only, ",") {
			n = strings.TrimSpace(n)
			i := slices.IndexFunc(scenarios, func(s scenario) bool { return s.name == n })
			if i < 0 {
				fmt.Fprintf(os.Stderr, "karajo-bench: unknown scenario %q (have %s)\n", n, names())
				return 2
			}
			selected = append(selected, scenarios[i])
		}
	}
	dir, err := os.MkdirTemp(*tmp, "karajo-bench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "karajo-bench:", err)
		return 1
	}
	b := &bench{bin: *bin, compare: *cmp, histDir: *hist, cases: *cases, rounds: *rounds, quick: *quick, tmp: dir, keep: *keep, log: os.Stderr,
		limits: map[string]float64{}, envGz: map[int][]byte{}, envHdr: map[int]map[string]string{}}
	defer func() {
		if !b.keep {
			_ = os.RemoveAll(dir)
		} else {
			b.logf("kept %s", dir)
		}
	}()
	if err := b.ensureBinary(); err != nil {
		fmt.Fprintln(os.Stderr, "karajo-bench:", err)
		return 1
	}

	start := time.Now()
	header := b.machine()
	fmt.Fprint(os.Stderr, header)
	var timing strings.Builder
	for _, sc := range selected {
		t0 := time.Now()
		load := loadAvg()
		b.logf("== %s: %s (load %s)", sc.name, sc.desc, load)
		if err := sc.run(b); err != nil {
			b.errs = append(b.errs, fmt.Errorf("%s: %w", sc.name, err))
			b.logf("!! %s failed: %v", sc.name, err)
		}
		took := time.Since(t0).Round(time.Second)
		b.logf("== %s done in %v", sc.name, took)
		fmt.Fprintf(&timing, "%s %v (load %s); ", sc.name, took, load)
	}
	var rep bytes.Buffer
	rep.WriteString(header)
	fmt.Fprintf(&rep, "- command: `karajo-bench %s`\n- wall time: %v\n", strings.Join(os.Args[1:], " "), time.Since(start).Round(time.Second))
	fmt.Fprintf(&rep, "- per scenario (1-minute load average when it began): %s\n\n", strings.TrimSuffix(timing.String(), "; "))
	b.table(&rep)
	goalTable(&rep, judgeGoals(goals, b.rows, b.limits))
	for _, n := range b.notes {
		fmt.Fprintf(&rep, "\n**note:** %s\n", n)
	}
	for _, err := range b.errs {
		fmt.Fprintf(&rep, "\n**error:** %v\n", err)
	}
	os.Stdout.Write(rep.Bytes())
	if *out != "" {
		if err := os.WriteFile(*out, rep.Bytes(), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "karajo-bench:", err)
			return 1
		}
	}
	if len(b.errs) > 0 {
		return 1
	}
	return 0
}

func names() string {
	var n []string
	for _, s := range scenarios {
		n = append(n, s.name)
	}
	return strings.Join(n, ",")
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "%s %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// ensureBinary builds the karajo binary when the given path does not exist.
func (b *bench) ensureBinary() error {
	if _, err := os.Stat(b.bin); err == nil {
		abs, err := filepath.Abs(b.bin)
		b.bin = abs
		return err
	}
	out := filepath.Join(b.tmp, "karajo")
	b.logf("%s not found: go build -o %s ./cmd/karajo", b.bin, out)
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, "./cmd/karajo")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build karajo (run from the repository root, or give -karajo): %w", err)
	}
	b.bin = out
	return nil
}

// machine describes this machine and run as a markdown list.
func (b *bench) machine() string {
	model := "?"
	if ci, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(ci), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	ver, _ := exec.Command(b.bin, "version").Output()
	mode := "full"
	if b.quick {
		mode = "quick"
	}
	var s strings.Builder
	fmt.Fprintf(&s, "## karajo-bench (%s mode, %d round(s) per figure)\n\n", mode, b.rounds)
	fmt.Fprintf(&s, "- date: %s\n", time.Now().UTC().Format(time.RFC3339))
	fmt.Fprintf(&s, "- machine: %d CPU (nproc), %s, Linux %s\n", runtime.NumCPU(), model, strings.TrimSpace(string(kernel)))
	fmt.Fprintf(&s, "- load average at start: %s\n", loadAvg())
	fmt.Fprintf(&s, "- go: %s (tool); %s\n", runtime.Version(), strings.TrimSpace(string(ver)))
	return s.String()
}

// newDir makes a fresh dir_base under the run's temporary directory.
func (b *bench) newDir(name string) (string, error) {
	return os.MkdirTemp(b.tmp, name+"-")
}

// removeDir deletes a dir_base unless -keep.
func (b *bench) removeDir(dir string) {
	if !b.keep {
		_ = os.RemoveAll(dir)
	}
}

// stopServer stops s and notes an unclean stop (the server's fault, not
// the tool's).
func (b *bench) stopServer(s *server) {
	if err := s.stop(); err != nil {
		b.note("%v", err)
	}
}

// note records something the report must mention.
func (b *bench) note(format string, args ...any) {
	n := fmt.Sprintf(format, args...)
	b.notes = append(b.notes, n)
	b.logf("note: %s", n)
}

// loadAvg returns the 1-, 5- and 15-minute load averages.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "?"
}
