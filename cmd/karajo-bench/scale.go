package main

import (
	"fmt"
	"path/filepath"
	"strconv"
	"time"
)

// scaleSizes are the job counts of the scale scenario.
func (b *bench) scaleSizes() []int {
	if b.quick {
		return []int{1000, 10000}
	}
	return []int{1000, 10000, 100000}
}

// scaleJobs returns n jobs, half of them on a daily schedule twelve hours
// away (so nothing fires during the run) and half webhook-only.
func scaleJobs(n int) []jobSpec {
	at := fmt.Sprintf("daily@%02d:00", (time.Now().UTC().Hour()+12)%24)
	jobs := make([]jobSpec, n)
	for i := range jobs {
		if i%2 == 0 {
			jobs[i] = jobSpec{name: "s" + strconv.Itoa(i), schedule: at, commands: []string{"true"}}
		} else {
			jobs[i] = jobSpec{name: "w" + strconv.Itoa(i), path: "/w" + strconv.Itoa(i), commands: []string{"true"}}
		}
	}
	return jobs
}

// scale starts the server with many jobs in a fresh dir_base per round:
// time to the first 200 of the environment, RSS per job, idle CPU.
func (b *bench) scale() error {
	idle := 20 * time.Second
	if b.quick {
		idle = 5 * time.Second
	}
	for _, n := range b.scaleSizes() {
		var first, dirs, again, rssStart, rssIdle, perJob, cpu []float64
		for r := range b.rounds {
			res, err := b.scaleRound(n, scaleJobs(n), idle)
			if err != nil {
				return fmt.Errorf("%d jobs: %w", n, err)
			}
			first = append(first, res.first.Seconds())
			dirs = append(dirs, res.dirs.Seconds())
			again = append(again, res.again.Seconds())
			rssStart = append(rssStart, mb(res.rssStart))
			rssIdle = append(rssIdle, mb(res.rssIdle))
			perJob = append(perJob, float64(res.rssIdle)/1024/float64(n))
			cpu = append(cpu, res.cpuPct)
			if res.first > time.Minute && r+1 < b.rounds {
				b.note("scale %d jobs: start took %v; further rounds skipped to stay in time", n, res.first.Round(time.Second))
				break
			}
		}
		what := fmt.Sprintf("%s jobs (half daily schedule, half webhook)", num(float64(n)))
		b.add(row{scenario: "scale", figure: what + ": start → first 200 (fresh dir_base)", unit: "s", vals: first})
		b.add(row{scenario: "scale", figure: what + ": start → every job directory made (fresh dir_base, in the background)", unit: "s", vals: dirs})
		b.add(row{scenario: "scale", figure: what + ": restart → first 200 (directories exist)", unit: "s", vals: again})
		b.add(row{scenario: "scale", figure: what + ": RSS after the first answer", unit: "MB", vals: rssStart})
		b.add(row{scenario: "scale", figure: fmt.Sprintf("%s: RSS after %v idle", what, idle), unit: "MB", vals: rssIdle})
		b.add(row{scenario: "scale", figure: what + ": RSS / jobs", unit: "KB/job", vals: perJob})
		b.add(row{scenario: "scale", figure: fmt.Sprintf("%s: idle CPU over %v", what, idle), unit: "% of a core", vals: cpu})
	}
	// The separate target: 10,000 webhook jobs start in ≤ 1 s.
	var first []float64
	for range b.rounds {
		res, err := b.scaleRound(10000, webhookJobs(10000), 0)
		if err != nil {
			return fmt.Errorf("10,000 webhook jobs: %w", err)
		}
		first = append(first, res.first.Seconds())
	}
	b.add(row{scenario: "scale", figure: "10,000 webhook-only jobs: start → first 200 (fresh dir_base)", unit: "s", vals: first})
	return nil
}

type scaleResult struct {
	first, again      time.Duration // fresh start; restart on the same dir_base
	dirs              time.Duration // fresh start → its background mkdir pass is over
	rssStart, rssIdle int64
	cpuPct            float64
}

func (b *bench) scaleRound(n int, jobs []jobSpec, idle time.Duration) (scaleResult, error) {
	var res scaleResult
	dir, err := b.newDir(fmt.Sprintf("scale%d", n))
	if err != nil {
		return res, err
	}
	defer b.removeDir(dir)
	s, err := b.startServer(dir, karajoConfig{jobs: jobs})
	if err != nil {
		return res, err
	}
	if res.first, err = s.waitReady(5 * time.Minute); err != nil {
		b.stopServer(s)
		return res, fmt.Errorf("fresh start: %w", err)
	}
	if idle == 0 {
		b.stopServer(s)
		return res, nil
	}
	// The server makes the job directories in the background after its
	// first answer; a restart on them, and idle CPU, come after that.
	if res.dirs, err = s.waitDirs(5 * time.Minute); err != nil {
		b.stopServer(s)
		return res, fmt.Errorf("fresh start, job directories: %w", err)
	}
	// A restart on the same dir_base: directories and state exist now.
	b.stopServer(s)
	if s, err = b.startWith(dir, filepath.Join(dir, "etc", "karajo", "karajo.toml")); err != nil {
		return res, err
	}
	defer b.stopServer(s)
	if res.again, err = s.waitReady(5 * time.Minute); err != nil {
		return res, fmt.Errorf("restart: %w", err)
	}
	if res.rssStart, err = procStatus(s.pid, "VmRSS"); err != nil {
		return res, err
	}
	// Idle means after the start's work, the pass over the directories
	// (a stat each on a restart) included.
	if _, err := s.waitDirs(5 * time.Minute); err != nil {
		return res, err
	}
	s.waitHeapBack(15 * time.Second) // karajo returns its start-up heap 5 s after the load
	c0, err := cpuTime(s.pid)
	if err != nil {
		return res, err
	}
	t0 := time.Now()
	time.Sleep(idle)
	c1, err := cpuTime(s.pid)
	if err != nil {
		return res, err
	}
	res.cpuPct = 100 * (c1 - c0).Seconds() / time.Since(t0).Seconds()
	res.rssIdle, err = procStatus(s.pid, "VmRSS")
	return res, err
}
