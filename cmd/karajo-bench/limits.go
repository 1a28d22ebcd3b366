package main

import (
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// apiSizes are the job counts of api-read (and of the bare-server limits).
func (b *bench) apiSizes() []int {
	if b.quick {
		return []int{10, 1000}
	}
	return []int{10, 1000, 10000}
}

// roundDur is the length of one load round.
func (b *bench) roundDur() time.Duration {
	if b.quick {
		return time.Second
	}
	return 3 * time.Second
}

// envAnswer returns the gzipped environment answer of a server with n
// webhook jobs, starting one for it unless api-read already did.
func (b *bench) envAnswer(n int) ([]byte, error) {
	if gz, ok := b.envGz[n]; ok {
		return gz, nil
	}
	dir, err := b.newDir(fmt.Sprintf("env%d", n))
	if err != nil {
		return nil, err
	}
	defer b.removeDir(dir)
	s, err := b.startReady(dir, karajoConfig{jobs: webhookJobs(n)}, 2*time.Minute)
	if err != nil {
		return nil, err
	}
	defer b.stopServer(s)
	return b.fetchEnv(s, n)
}

// fetchEnv reads the environment of s once, as a browser asks for it, and
// caches the bytes for the bare server.
func (b *bench) fetchEnv(s *server, n int) ([]byte, error) {
	gz, hdr, err := s.fetch(envPath)
	if err != nil {
		return nil, err
	}
	if hdr.Get("Content-Encoding") != "gzip" {
		return nil, fmt.Errorf("environment answer not gzipped (Content-Encoding %q)", hdr.Get("Content-Encoding"))
	}
	b.envGz[n] = gz
	return gz, nil
}

// limits measures what this machine can do at best: a bare net/http
// server answering the environment's bytes, and fork/exec of a shell.
func (b *bench) measureLimits() error {
	dur := b.roundDur()
	if !b.quick {
		dur = 2 * time.Second
	}
	for _, n := range b.apiSizes() {
		gz, err := b.envAnswer(n)
		if err != nil {
			return fmt.Errorf("environment of %d jobs: %w", n, err)
		}
		url, stop, err := b.startBare(gz)
		if err != nil {
			return err
		}
		for _, c := range []int{1, 32} {
			var rps []float64
			for range b.rounds {
				r := load(url, c, dur, browserAE)
				if r.hung+r.failed > 0 {
					stop()
					return fmt.Errorf("bare server, %d clients: %d hung, %d failed: %v", c, r.hung, r.failed, r.firstErr)
				}
				rps = append(rps, r.rps)
			}
			b.add(row{scenario: "limits", unit: "req/s", vals: rps, isLimit: bareKey(n, c),
				figure: fmt.Sprintf("bare net/http (own process), environment bytes of %d jobs (%s KB gzip), %s", n, num(float64(len(gz))/1024), clients(c))})
		}
		stop()
	}

	forkDur := 2 * time.Second
	if b.quick {
		forkDur = time.Second
	}
	for _, f := range []struct {
		figure, key string
		par         int
		args        []string
	}{
		{"fork/exec `/bin/sh -c true`, sequential", "fork-seq", 1, []string{"-c", "true"}},
		{"fork/exec `/bin/sh -c true`, 2 in parallel", "fork-par", 2, []string{"-c", "true"}},
		{"fork/exec `/bin/sh -c 'date +%s%N >>file'`, sequential (the trigger command)", "fork-date", 1, []string{"-c", "date +%s%N >/dev/null"}},
		{"fork/exec `/bin/sh -c 'date +%s%N >>file'`, 2 in parallel", "fork-date-par", 2, []string{"-c", "date +%s%N >/dev/null"}},
	} {
		var rates, costs []float64
		for range b.rounds {
			rate, err := forkRate(f.par, forkDur, f.args)
			if err != nil {
				return err
			}
			rates = append(rates, rate)
			costs = append(costs, 1000/rate*float64(f.par))
		}
		b.add(row{scenario: "limits", figure: f.figure, unit: "runs/s", vals: rates, isLimit: f.key})
		if f.par == 1 {
			b.add(row{scenario: "limits", figure: "  cost of one: " + f.figure, unit: "ms", vals: costs, isLimit: f.key + "-ms"})
		}
	}
	var p50, p99, mx []float64
	for range b.rounds {
		lat, err := forkBurst(timerJobs)
		if err != nil {
			return err
		}
		p50 = append(p50, ms(pct(lat, 50)))
		p99 = append(p99, ms(pct(lat, 99)))
		mx = append(mx, ms(lat[len(lat)-1]))
	}
	what := fmt.Sprintf("%d `/bin/sh -c 'date +%%s%%N'` due at one instant (Go timers, as the timer scenario): lateness", timerJobs)
	b.add(row{scenario: "limits", figure: what + " p50", unit: "ms", vals: p50, isLimit: "burst-p50"})
	b.add(row{scenario: "limits", figure: what + " p99", unit: "ms", vals: p99, isLimit: "burst-p99"})
	b.add(row{scenario: "limits", figure: what + " max", unit: "ms", vals: mx, isLimit: "burst-max"})
	return nil
}

// forkBurst arms n timers for the same instant; each starts
// /bin/sh -c 'date +%s%N' when it fires. It returns the sorted lateness of
// each command's own time stamp against that instant: the best any
// scheduler can do for n commands due at once on this machine.
func forkBurst(n int) ([]time.Duration, error) {
	at := time.Now().Add(200 * time.Millisecond)
	lat := make([]time.Duration, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		time.AfterFunc(time.Until(at), func() {
			defer wg.Done()
			out, err := exec.Command("/bin/sh", "-c", "date +%s%N").Output()
			if err != nil {
				errs[i] = err
				return
			}
			ts, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
			errs[i] = err
			lat[i] = time.Unix(0, ts).Sub(at)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	slices.Sort(lat)
	return lat, nil
}

func bareKey(n, clients int) string { return fmt.Sprintf("bare-%d-%d", n, clients) }

// forkRate runs /bin/sh args in par loops for dur and returns runs/s.
func forkRate(par int, dur time.Duration, args []string) (float64, error) {
	var n atomic.Int64
	var wg sync.WaitGroup
	var firstErr error
	var once sync.Once
	start := time.Now()
	end := start.Add(dur)
	for range par {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(end) {
				if err := exec.Command("/bin/sh", args...).Run(); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(n.Load()) / time.Since(start).Seconds(), firstErr
}

func clients(n int) string {
	if n == 1 {
		return "1 client"
	}
	return fmt.Sprintf("%d clients", n)
}
