package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"
)

// timerJobs is the number of minutely jobs of the timer scenario.
const timerJobs = 100

// timer runs 100 minutely jobs (max_job_running 100) over one or two
// minute boundaries and measures each command's own start against the
// boundary. Each boundary is one round.
func (b *bench) timer() error {
	boundaries := 2
	if b.quick {
		boundaries = 1
	}
	dir, err := b.newDir("timer")
	if err != nil {
		return err
	}
	defer b.removeDir(dir)
	file := filepath.Join(dir, "timer.times")
	var jobs []jobSpec
	for i := range timerJobs {
		jobs = append(jobs, jobSpec{name: "m" + strconv.Itoa(i), schedule: "minutely",
			commands: []string{"date +%s%N >> " + file}})
	}
	s, err := b.startReady(dir, karajoConfig{maxJobRunning: timerJobs, jobs: jobs}, time.Minute)
	if err != nil {
		return err
	}
	defer b.stopServer(s)
	// The first boundary must come after every job armed its timer, with a
	// margin so start-up work does not disturb it.
	first := time.Now().Truncate(time.Minute).Add(time.Minute)
	if time.Until(first) < 2*time.Second {
		first = first.Add(time.Minute)
	}
	last := first.Add(time.Duration(boundaries-1) * time.Minute)
	b.logf("   waiting for %d minute boundar%s, the last at %s", boundaries, map[bool]string{true: "y", false: "ies"}[boundaries == 1], last.Format("15:04:05"))
	time.Sleep(time.Until(last.Add(5 * time.Second)))

	byMinute := map[int64][]time.Duration{}
	if _, err := os.Stat(file); err != nil {
		return fmt.Errorf("no run recorded: %w", err)
	}
	for _, ts := range readStamps(file) {
		t := time.Unix(0, ts)
		bnd := t.Truncate(time.Minute)
		if bnd.Before(first) || bnd.After(last) {
			continue
		}
		byMinute[bnd.Unix()] = append(byMinute[bnd.Unix()], t.Sub(bnd))
	}
	var p50, p99, mx, count []float64
	for bnd := first; !bnd.After(last); bnd = bnd.Add(time.Minute) {
		l := byMinute[bnd.Unix()]
		slices.Sort(l)
		count = append(count, float64(len(l)))
		if len(l) < timerJobs {
			b.note("timer: %d of %d jobs ran at %s", len(l), timerJobs, bnd.Format("15:04"))
		}
		if len(l) == 0 {
			continue
		}
		p50 = append(p50, ms(pct(l, 50)))
		p99 = append(p99, ms(pct(l, 99)))
		mx = append(mx, ms(l[len(l)-1]))
	}
	what := fmt.Sprintf("%d minutely jobs, max_job_running %d: lateness of the command's start", timerJobs, timerJobs)
	b.add(row{scenario: "timer", figure: what + ", p50", unit: "ms", vals: p50, limit: "burst-p50"})
	b.add(row{scenario: "timer", figure: what + ", p99", unit: "ms", vals: p99, limit: "burst-p99"})
	b.add(row{scenario: "timer", figure: what + ", max", unit: "ms", vals: mx, limit: "burst-max"})
	b.add(row{scenario: "timer", figure: "runs seen per minute boundary", unit: "runs", vals: count})
	return nil
}
