package main

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The runs scenario measures the cost of a run with `true` as the command
// (issue 10): executed runs/s with 8 jobs and max_job_running 8 and with
// one job, the drain of 1,000 interval jobs due at start, the first run of
// 50 interval jobs after start, and the server's CPU per run. With
// -compare BIN the same cases run against BIN too, in alternating rounds
// (the order flips every round), and each figure gets a third row: the
// median of the per-round ratios this / BIN.

// binUnderTest is one binary the runs scenario drives.
type binUnderTest struct {
	label string // "this" or "compare"
	path  string
}

// runCase is one case of the runs scenario; measure runs it once against
// bin and returns its figures by name (in the order of figs).
type runCase struct {
	name    string
	figs    []runFig
	measure func(b *bench, bin string) (map[string]float64, error)
}

// runFig is one figure of a run case.
type runFig struct {
	key, figure, unit, limit string
}

func (b *bench) runCases() []runCase {
	drainJobs := 1000
	if b.quick {
		drainJobs = 300
	}
	return []runCase{
		{name: "hammer-8", figs: []runFig{
			{"runs", "8 jobs hammered, max_job_running 8, `true`: executed runs", "runs/s", "fork-par"},
			{"cpu", "8 jobs hammered: server CPU per executed run", "ms", ""},
		}, measure: func(b *bench, bin string) (map[string]float64, error) { return b.hammer(bin, 8, 8) }},
		{name: "hammer-1", figs: []runFig{
			{"runs", "1 job hammered, max_job_running 1, `true`: executed runs", "runs/s", "fork-seq"},
			{"cpu", "1 job hammered: server CPU per executed run", "ms", ""},
		}, measure: func(b *bench, bin string) (map[string]float64, error) { return b.hammer(bin, 1, 1) }},
		{name: "refused", figs: []runFig{
			{"rps", "triggers of a busy job (all refused, 429), 8 senders: requests", "req/s", ""},
			{"cpu", "triggers of a busy job: server CPU per request (the HTTP and actor cost of a trigger, no run)", "ms", ""},
		}, measure: (*bench).refused},
		{name: "drain", figs: []runFig{
			{"all", fmt.Sprintf("%d interval jobs due at start (fresh dir_base, max_job_running 8): start → all ran", drainJobs), "s", ""},
			{"rate", fmt.Sprintf("%d interval jobs due at start: runs/s while draining (first run → last)", drainJobs), "runs/s", "fork-par"},
			{"cpu", fmt.Sprintf("%d interval jobs due at start: server CPU per run (start included)", drainJobs), "ms", ""},
		}, measure: func(b *bench, bin string) (map[string]float64, error) { return b.drain(bin, drainJobs) }},
		{name: "first-run", figs: []runFig{
			{"p50", "50 interval jobs (max_job_running 8): start → first command, p50", "ms", ""},
			{"max", "50 interval jobs: start → first command, max", "ms", ""},
		}, measure: func(b *bench, bin string) (map[string]float64, error) { return b.firstRuns(bin, 50) }},
	}
}

// runs measures every run case for the binary under test and, with
// -compare, for the other binary, alternating.
func (b *bench) runs() error {
	bins := []binUnderTest{{"this", b.bin}}
	if b.compare != "" {
		bins = append(bins, binUnderTest{"compare", b.compare})
	}
	if err := b.runLimits(); err != nil {
		return err
	}
	for _, rc := range b.runCases() {
		if b.cases != "" && !slices.Contains(strings.Split(b.cases, ","), rc.name) {
			continue
		}
		vals := map[string]map[string][]float64{} // bin label → fig key → rounds
		ratios := map[string][]float64{}          // fig key → per-round this/compare
		for round := range b.rounds {
			order := slices.Clone(bins)
			if round%2 == 1 {
				slices.Reverse(order)
			}
			got := map[string]map[string]float64{}
			for _, bu := range order {
				m, err := rc.measure(b, bu.path)
				if err != nil {
					return fmt.Errorf("%s (%s): %w", rc.name, bu.label, err)
				}
				got[bu.label] = m
				if vals[bu.label] == nil {
					vals[bu.label] = map[string][]float64{}
				}
				for k, v := range m {
					vals[bu.label][k] = append(vals[bu.label][k], v)
				}
			}
			if len(bins) == 2 {
				for _, f := range rc.figs {
					if c := got["compare"][f.key]; c != 0 {
						ratios[f.key] = append(ratios[f.key], got["this"][f.key]/c)
					}
				}
			}
		}
		for _, f := range rc.figs {
			for _, bu := range bins {
				fig := f.figure
				if len(bins) == 2 {
					fig += " [" + bu.label + "]"
				}
				r := row{scenario: "runs", figure: fig, unit: f.unit, vals: vals[bu.label][f.key], limit: f.limit}
				if bu.label == "this" {
					r.goal = rc.name + "-" + f.key
				}
				b.add(r)
			}
			if len(bins) == 2 {
				b.add(row{scenario: "runs", figure: f.figure + ": this / compare (median of per-round ratios)", unit: "×", vals: ratios[f.key]})
			}
		}
	}
	return nil
}

// runLimits measures fork-seq and fork-par of `/bin/sh -c true` unless the
// limits scenario already did in this run.
func (b *bench) runLimits() error {
	if _, ok := b.limits["fork-par"]; ok {
		return nil
	}
	var seq, par []float64
	for range b.rounds {
		r1, err := forkRate(1, 2*time.Second, []string{"-c", "true"})
		if err != nil {
			return err
		}
		r2, err := forkRate(2, 2*time.Second, []string{"-c", "true"})
		if err != nil {
			return err
		}
		seq, par = append(seq, r1), append(par, r2)
	}
	b.add(row{scenario: "runs", figure: "fork/exec `/bin/sh -c true`, sequential", unit: "runs/s", vals: seq, isLimit: "fork-seq"})
	b.add(row{scenario: "runs", figure: "fork/exec `/bin/sh -c true`, 2 in parallel", unit: "runs/s", vals: par, isLimit: "fork-par"})
	return nil
}

// envJobs is the part of the environment answer the runs scenario reads.
type envJobs struct {
	Data struct {
		Jobs map[string]struct {
			ID   string `json:"id"`
			Logs []struct {
				Status  string `json:"status"`
				Counter int64  `json:"counter"`
			} `json:"logs"`
		} `json:"jobs"`
	} `json:"data"`
}

// finished returns, per job ID, the highest counter of a finished run:
// runs of a job end in counter order, so it is the number of runs that
// ended (on a fresh dir_base).
func (s *server) finished() (map[string]int64, error) {
	req, _ := http.NewRequest(http.MethodGet, s.base+envPath, nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			return nil, err
		}
		r = zr
	}
	var env envJobs
	if err := json.NewDecoder(r).Decode(&env); err != nil {
		return nil, fmt.Errorf("environment: %w", err)
	}
	out := make(map[string]int64, len(env.Data.Jobs))
	for _, j := range env.Data.Jobs {
		var c int64
		for _, l := range j.Logs {
			if l.Status != "running" && l.Status != "" && l.Counter > c {
				c = l.Counter
			}
		}
		out[j.ID] = c
	}
	return out, nil
}

func sum(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// hammer starts bin with nj webhook jobs running `true` and max_job_running
// mjr, keeps every job busy with one sender each (a trigger while the job
// runs queues the next run; one more is refused with 429, and the sender
// then waits 2 ms, so refusals cost little of the CPU the runs need) and
// returns executed runs/s and server CPU ms per run over the round.
func (b *bench) hammer(bin string, nj, mjr int) (map[string]float64, error) {
	dir, err := b.newDir(fmt.Sprintf("hammer%d", nj))
	if err != nil {
		return nil, err
	}
	defer b.removeDir(dir)
	var jobs []jobSpec
	for i := range nj {
		id := "h" + strconv.Itoa(i)
		jobs = append(jobs, jobSpec{name: id, path: "/" + id, retention: 5, commands: []string{"true"}})
	}
	s, err := b.startBinReady(bin, dir, karajoConfig{maxJobRunning: mjr, jobs: jobs}, time.Minute)
	if err != nil {
		return nil, err
	}
	defer b.stopServer(s)
	tc := &triggerClient{s: s, sig: sign(triggerBody)}
	tr := &http.Transport{MaxIdleConnsPerHost: nj}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: requestTimeout}
	var stop atomic.Bool
	var failed atomic.Int64
	var wg sync.WaitGroup
	for i := range nj {
		wg.Go(func() {
			id := "h" + strconv.Itoa(i)
			for !stop.Load() {
				code, err := tc.send(c, id)
				if err != nil || (code != http.StatusOK && code != http.StatusTooManyRequests) {
					failed.Add(1)
				}
				if code != http.StatusOK {
					time.Sleep(2 * time.Millisecond)
				}
			}
		})
	}
	time.Sleep(300 * time.Millisecond) // warm-up
	f0, err := s.finished()
	if err != nil {
		return nil, err
	}
	c0, t0 := mustCPU(s.pid), time.Now()
	time.Sleep(b.roundDur())
	f1, err := s.finished()
	c1, t1 := mustCPU(s.pid), time.Now()
	stop.Store(true)
	wg.Wait()
	if err != nil {
		return nil, err
	}
	if n := failed.Load(); n > 0 {
		b.note("runs hammer %d job(s) (%s): %d triggers failed", nj, filepath.Base(bin), n)
	}
	runs := sum(f1) - sum(f0)
	if runs <= 0 {
		return nil, fmt.Errorf("no run ended in %v", t1.Sub(t0))
	}
	return map[string]float64{
		"runs": float64(runs) / t1.Sub(t0).Seconds(),
		"cpu":  ms(c1-c0) / float64(runs),
	}, nil
}

// mustCPU is cpuTime with 0 for an error (the process is ours and alive).
func mustCPU(pid int) time.Duration {
	d, _ := cpuTime(pid)
	return d
}

// drain starts bin on a fresh dir_base with n interval jobs, all due at
// start, and returns the time until every one has run once, the rate from
// the first ended run to the last, and the server's CPU per run.
func (b *bench) drain(bin string, n int) (map[string]float64, error) {
	dir, err := b.newDir("drain")
	if err != nil {
		return nil, err
	}
	defer b.removeDir(dir)
	jobs := make([]jobSpec, n)
	for i := range jobs {
		jobs[i] = jobSpec{name: "d" + strconv.Itoa(i), interval: "1h", commands: []string{"true"}}
	}
	s, err := b.startBinReady(bin, dir, karajoConfig{maxJobRunning: 8, jobs: jobs}, time.Minute)
	if err != nil {
		return nil, err
	}
	defer b.stopServer(s)
	var first time.Time
	for deadline := time.Now().Add(5 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
		f, err := s.finished()
		if err != nil {
			return nil, err
		}
		done := sum(f)
		if done > 0 && first.IsZero() {
			first = time.Now()
		}
		if done >= int64(n) {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("only %d of %d interval jobs ran within 5 minutes", done, n)
		}
	}
	all := time.Since(s.started)
	rate := float64(n) / max(time.Since(first), time.Millisecond).Seconds()
	return map[string]float64{
		"all":  all.Seconds(),
		"rate": rate,
		"cpu":  ms(mustCPU(s.pid)) / float64(n),
	}, nil
}

// firstRuns starts bin with n interval jobs that write their start time
// and returns the p50 and max of process start → command start.
func (b *bench) firstRuns(bin string, n int) (map[string]float64, error) {
	dir, err := b.newDir("first")
	if err != nil {
		return nil, err
	}
	defer b.removeDir(dir)
	out := filepath.Join(dir, "times")
	if err := os.MkdirAll(out, 0o700); err != nil {
		return nil, err
	}
	jobs := make([]jobSpec, n)
	for i := range jobs {
		jobs[i] = jobSpec{name: "f" + strconv.Itoa(i), interval: "1h",
			commands: []string{fmt.Sprintf("date +%%s%%N > %s/f%d", out, i)}}
	}
	mainPath, err := karajoConfig{maxJobRunning: 8, jobs: jobs}.write(dir)
	if err != nil {
		return nil, err
	}
	s, err := b.startBin(bin, dir, mainPath)
	if err != nil {
		return nil, err
	}
	defer b.stopServer(s)
	var lat []time.Duration
	for deadline := time.Now().Add(time.Minute); len(lat) < n; time.Sleep(10 * time.Millisecond) {
		lat = lat[:0]
		for i := range n {
			if st := readStamps(filepath.Join(out, "f"+strconv.Itoa(i))); len(st) > 0 {
				lat = append(lat, time.Unix(0, st[0]).Sub(s.started))
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("only %d of %d interval jobs ran within a minute", len(lat), n)
		}
	}
	slices.Sort(lat)
	return map[string]float64{"p50": ms(pct(lat, 50)), "max": ms(lat[len(lat)-1])}, nil
}

// refused starts bin with one webhook job whose run lasts a minute,
// triggers it twice (a run and a queued trigger), then sends triggers from
// 8 senders for a round: every one is refused with 429. It returns the
// requests/s and the server's CPU per request, the cost of a trigger's way
// through HTTP, verification and the job actor without any run.
func (b *bench) refused(bin string) (map[string]float64, error) {
	dir, err := b.newDir("refused")
	if err != nil {
		return nil, err
	}
	defer b.removeDir(dir)
	jobs := []jobSpec{{name: "busy", path: "/busy", commands: []string{"sleep 60"}}}
	s, err := b.startBinReady(bin, dir, karajoConfig{maxJobRunning: 1, jobs: jobs}, time.Minute)
	if err != nil {
		return nil, err
	}
	defer b.stopServer(s)
	tc := &triggerClient{s: s, sig: sign(triggerBody)}
	tr := &http.Transport{MaxIdleConnsPerHost: 8}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: requestTimeout}
	for range 2 {
		if code, err := tc.send(c, "busy"); err != nil || code != http.StatusOK {
			return nil, fmt.Errorf("trigger of the idle job: %d %v", code, err)
		}
	}
	var n, other atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	c0, t0 := mustCPU(s.pid), time.Now()
	for range 8 {
		wg.Go(func() {
			for !stop.Load() {
				code, err := tc.send(c, "busy")
				if err != nil || code != http.StatusTooManyRequests {
					other.Add(1)
				}
				n.Add(1)
			}
		})
	}
	time.Sleep(b.roundDur())
	stop.Store(true)
	wg.Wait()
	c1, t1 := mustCPU(s.pid), time.Now()
	if k := other.Load(); k > 0 {
		b.note("runs refused (%s): %d of %d triggers were not answered 429", filepath.Base(bin), k, n.Load())
	}
	return map[string]float64{
		"rps": float64(n.Load()) / t1.Sub(t0).Seconds(),
		"cpu": ms(c1-c0) / float64(max(n.Load(), 1)),
	}, nil
}
