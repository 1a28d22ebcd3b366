package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// triggerJobs is the number of webhook jobs of the trigger scenario.
const triggerJobs = 8

// triggerBody is the signed body of every trigger (the webhook does not
// check the epoch, so one signature serves all).
var triggerBody = []byte(`{"_karajo_epoch":1700000000}`)

func sign(body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// trigger measures signed webhook triggers: the latency from the request
// to the command's own start on an idle job, then accepted and executed
// runs per second under load, over one job and round-robin over 8, with
// max_job_running 1 and 8.
func (b *bench) trigger() error {
	for _, mjr := range []int{1, 8} {
		if err := b.triggerServer(mjr); err != nil {
			return fmt.Errorf("max_job_running %d: %w", mjr, err)
		}
	}
	return nil
}

func (b *bench) triggerServer(mjr int) error {
	dir, err := b.newDir(fmt.Sprintf("trigger%d", mjr))
	if err != nil {
		return err
	}
	defer b.removeDir(dir)
	out := filepath.Join(dir, "times")
	if err := os.MkdirAll(out, 0o700); err != nil {
		return err
	}
	var jobs []jobSpec
	for i := range triggerJobs {
		id := "t" + strconv.Itoa(i)
		jobs = append(jobs, jobSpec{name: id, path: "/" + id,
			commands: []string{fmt.Sprintf("date +%%s%%N >> %s/%s.times", out, id)}})
	}
	s, err := b.startReady(dir, karajoConfig{maxJobRunning: mjr, jobs: jobs}, time.Minute)
	if err != nil {
		return err
	}
	defer b.stopServer(s)
	tc := &triggerClient{s: s, sig: sign(triggerBody)}
	if mjr == 1 {
		if err := b.triggerLatency(tc, out); err != nil {
			return err
		}
	}
	// The limit is the fork rate of /bin/sh -c true; the jobs'
	// command also execs date, so the rate of that same command is shown
	// as a second ratio.
	limit, same := "fork-seq", "fork-date"
	if mjr > 1 {
		limit, same = "fork-par", "fork-date-par"
	}
	for _, nj := range []int{1, triggerJobs} {
		var acc, ref, exe []float64
		for range b.rounds {
			r, err := b.triggerLoad(tc, out, nj)
			if err != nil {
				return err
			}
			acc = append(acc, r.accepted)
			ref = append(ref, r.refused)
			exe = append(exe, r.executed)
		}
		what := fmt.Sprintf("1 job, max_job_running %d", mjr)
		if nj > 1 {
			what = fmt.Sprintf("%d jobs round-robin, max_job_running %d", nj, mjr)
		}
		b.add(row{scenario: "trigger", figure: what + ": accepted (200)", unit: "/s", vals: acc})
		b.add(row{scenario: "trigger", figure: what + ": refused (429)", unit: "/s", vals: ref})
		b.add(row{scenario: "trigger", figure: what + ": executed runs", unit: "runs/s", vals: exe, limit: limit})
		b.add(row{scenario: "trigger", figure: what + ": executed runs, against the same command", unit: "runs/s", vals: exe, limit: same})
	}
	return nil
}

// triggerClient sends signed triggers to one server.
type triggerClient struct {
	s   *server
	sig string
}

func (tc *triggerClient) send(c *http.Client, id string) (int, error) {
	req, _ := http.NewRequest(http.MethodPost, tc.s.base+"/karajo/api/job_exec/run/"+id, bytes.NewReader(triggerBody))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Karajo-Sign", tc.sig)
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// triggerLatency triggers job t0 while it is idle, one trigger at a time,
// and measures send time → the command's own `date +%s%N`.
func (b *bench) triggerLatency(tc *triggerClient, out string) error {
	n := b.idleTriggerCount()
	var p50, p99, bare, over []float64
	for range b.rounds {
		bp50, err := bareStamp(filepath.Join(tc.s.dir, "bare.times"), n)
		if err != nil {
			return err
		}
		bare = append(bare, bp50)
		lat, err := tc.idleTriggers(out, n)
		if err != nil {
			return err
		}
		p50 = append(p50, ms(pct(lat, 50)))
		p99 = append(p99, ms(pct(lat, 99)))
		over = append(over, p50[len(p50)-1]-bp50)
	}
	what := fmt.Sprintf("trigger → command start, idle job (%d sequential triggers per round)", n)
	b.add(row{scenario: "trigger", figure: fmt.Sprintf("bare fork/exec of the same command → its own time stamp (%d per round): p50", n),
		unit: "ms", vals: bare, isLimit: "bare-stamp-ms"})
	b.add(row{scenario: "trigger", figure: what + ": p50", unit: "ms", vals: p50, limit: "bare-stamp-ms"})
	b.add(row{scenario: "trigger", figure: what + ": p50 minus the bare p50 of the same round", unit: "ms", vals: over, goal: "trigger-over-bare"})
	b.add(row{scenario: "trigger", figure: what + ": p99", unit: "ms", vals: p99, limit: "fork-seq-ms"})
	return nil
}

// idleTriggerCount is the number of sequential triggers per round.
func (b *bench) idleTriggerCount() int {
	if b.quick {
		return 20
	}
	return 50
}

// idleTriggers sends n triggers to job t0 (command `date +%s%N >>
// out/t0.times`), each once the previous run is recorded, and returns
// the sorted latencies send → the command's own time stamp.
func (tc *triggerClient) idleTriggers(out string, n int) ([]time.Duration, error) {
	file := filepath.Join(out, "t0.times")
	logDir := filepath.Join(tc.s.dir, "var", "log", "karajo", "job", "t0")
	c := &http.Client{Timeout: requestTimeout}
	var lat []time.Duration
	for range n {
		before := countLines(file)
		t0 := time.Now()
		code, err := tc.send(c, "t0")
		if err != nil {
			return nil, err
		}
		if code != http.StatusOK {
			return nil, fmt.Errorf("trigger of idle job t0: status %d", code)
		}
		ts, err := waitLine(file, before, 10*time.Second)
		if err != nil {
			return nil, err
		}
		lat = append(lat, time.Unix(0, ts).Sub(t0))
		// Wait for the run to be recorded so that the next trigger finds
		// the job idle (the counter is the number of stamps so far: the
		// file is the job's only writer).
		done := filepath.Join(logDir, fmt.Sprintf("t0.%d.success", before+1))
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			if _, err := os.Stat(done); err == nil {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	slices.Sort(lat)
	return lat, nil
}

// bareStamp forks `/bin/sh -c 'date +%s%N >> file'` n times, one after
// the other, as karajo would (the same command, from Go's os/exec), and
// returns the p50 of the time from just before the fork to the command's
// own time stamp: the floor of trigger → command start.
func bareStamp(file string, n int) (float64, error) {
	var lat []time.Duration
	for range n {
		before := countLines(file)
		t0 := time.Now()
		if err := exec.Command("/bin/sh", "-c", "date +%s%N >> "+file).Run(); err != nil {
			return 0, fmt.Errorf("bare fork/exec: %w", err)
		}
		st := readStamps(file)
		if len(st) <= before {
			return 0, fmt.Errorf("bare fork/exec: no time stamp in %s", file)
		}
		lat = append(lat, time.Unix(0, st[before]).Sub(t0))
	}
	slices.Sort(lat)
	return ms(pct(lat, 50)), nil
}

// countLines returns the number of lines in file (0 when missing).
func countLines(file string) int {
	b, _ := os.ReadFile(file)
	return bytes.Count(b, []byte("\n"))
}

// waitLine waits until file has more than before lines and returns the
// time stamp on line before+1.
func waitLine(file string, before int, limit time.Duration) (int64, error) {
	deadline := time.Now().Add(limit)
	for {
		lines := readStamps(file)
		if len(lines) > before {
			return lines[before], nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%s: no new line within %v", file, limit)
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// readStamps returns the nanosecond time stamps, one per line, of file.
func readStamps(file string) []int64 {
	b, _ := os.ReadFile(file)
	var out []int64
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, err := strconv.ParseInt(strings.TrimSpace(line), 10, 64); err == nil {
			out = append(out, v)
		}
	}
	return out
}

type loadRound struct {
	accepted, refused, executed float64 // per second
}

// triggerLoad sends triggers from 8 senders round-robin over the first nj
// jobs for one round, waits until every accepted trigger has run, and
// returns the rates. A sender that gets 429 waits 5 ms before its next
// trigger, so that refused requests do not eat the CPU the runs need.
func (b *bench) triggerLoad(tc *triggerClient, out string, nj int) (loadRound, error) {
	const senders = 8
	files := make([]string, nj)
	before := make([]int, nj)
	for i := range nj {
		files[i] = filepath.Join(out, fmt.Sprintf("t%d.times", i))
		before[i] = len(readStamps(files[i]))
	}
	tr := &http.Transport{MaxIdleConnsPerHost: senders}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: requestTimeout}
	var next, accepted, refused, other atomic.Int64
	var firstErr error
	var once sync.Once
	dur := b.roundDur()
	start := time.Now()
	end := start.Add(dur)
	var wg sync.WaitGroup
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(end) {
				i := int(next.Add(1)-1) % nj
				code, err := tc.send(c, "t"+strconv.Itoa(i))
				switch {
				case err != nil:
					other.Add(1)
					once.Do(func() { firstErr = err })
					time.Sleep(time.Millisecond)
				case code == http.StatusOK:
					accepted.Add(1)
				case code == http.StatusTooManyRequests:
					refused.Add(1)
					time.Sleep(5 * time.Millisecond)
				default:
					other.Add(1)
					once.Do(func() { firstErr = fmt.Errorf("status %d", code) })
				}
			}
		}()
	}
	wg.Wait()
	sendTime := time.Since(start)
	if n := other.Load(); n > 0 {
		b.note("trigger %d job(s): %d triggers failed (neither 200 nor 429); first: %v", nj, n, firstErr)
	}
	// Every accepted trigger makes one run: wait until all have written.
	want := int(accepted.Load())
	var last int64
	got := 0
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		got, last = 0, 0
		for i, f := range files {
			st := readStamps(f)
			if len(st) > before[i] {
				got += len(st) - before[i]
				last = max(last, slices.Max(st[before[i]:]))
			}
		}
		if got >= want {
			break
		}
		if time.Now().After(deadline) {
			b.note("trigger %d job(s): only %d of %d accepted triggers ran within 60 s", nj, got, want)
			break
		}
	}
	// Let the last runs finish so the next round starts from idle jobs.
	time.Sleep(100 * time.Millisecond)
	wall := time.Unix(0, last).Sub(start)
	if wall <= 0 {
		wall = sendTime
	}
	return loadRound{
		accepted: float64(accepted.Load()) / sendTime.Seconds(),
		refused:  float64(refused.Load()) / sendTime.Seconds(),
		executed: float64(got) / wall.Seconds(),
	}, nil
}
