package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"time"
)

// cronJobs is the number of jobs of the cron lateness figure.
const cronJobs = 100

// cronZone is the zone of the cron scenario's jobs: a DST zone, so the
// zone code is on the path.
const cronZone = "Europe/Berlin"

// The scheduler of issue 13 against baselines taken in the same run:
// cronLateness, 100 cron jobs due in the same second (six fields, every
// 10 s, in Europe/Berlin) against a bare Go timer forking the same 100
// commands, in alternating rounds; cronScale, start, RSS and idle CPU of n
// cron jobs in a zone against n v0.9.3 daily@ schedule jobs (interval jobs
// that never ran would all run at start, so the baseline is the other
// kind of timer that waits).

// cronLateness runs the lateness rounds: at each 10-second boundary the
// server's 100 jobs fire; 5 s later the bare burst runs.
func (b *bench) cronLateness() error {
	dir, err := b.newDir("cron")
	if err != nil {
		return err
	}
	defer b.removeDir(dir)
	file := filepath.Join(dir, "cron.times")
	var jobs []jobSpec
	for i := range cronJobs {
		jobs = append(jobs, jobSpec{name: "c" + strconv.Itoa(i), cron: "*/10 * * * * *", timezone: cronZone,
			commands: []string{"date +%s%N >> " + file}})
	}
	s, err := b.startReady(dir, karajoConfig{maxJobRunning: cronJobs, jobs: jobs}, time.Minute)
	if err != nil {
		return err
	}
	defer b.stopServer(s)
	first := time.Now().Truncate(10 * time.Second).Add(20 * time.Second) // after start-up work
	var kp50, kp99, kmax, bp50, bp99, bmax []float64
	for r := range b.rounds {
		bnd := first.Add(time.Duration(r) * 10 * time.Second)
		time.Sleep(time.Until(bnd.Add(5 * time.Second)))
		var lat []time.Duration
		for _, ts := range readStamps(file) {
			if t := time.Unix(0, ts); t.Truncate(10 * time.Second).Equal(bnd) {
				lat = append(lat, t.Sub(bnd))
			}
		}
		if len(lat) < cronJobs {
			b.note("cron: %d of %d jobs ran at %s", len(lat), cronJobs, bnd.Format("15:04:05"))
		}
		if len(lat) == 0 {
			continue
		}
		slices.Sort(lat)
		kp50, kp99, kmax = append(kp50, ms(pct(lat, 50))), append(kp99, ms(pct(lat, 99))), append(kmax, ms(lat[len(lat)-1]))
		bare, err := forkBurst(cronJobs) // due 200 ms from now: between the server's boundaries
		if err != nil {
			return err
		}
		bp50, bp99, bmax = append(bp50, ms(pct(bare, 50))), append(bp99, ms(pct(bare, 99))), append(bmax, ms(bare[len(bare)-1]))
	}
	bareWhat := fmt.Sprintf("bare Go timer forking %d `date` at one instant (same run, alternating): lateness", cronJobs)
	b.add(row{scenario: "cron", figure: bareWhat + " p50", unit: "ms", vals: bp50, isLimit: "cron-bare-p50"})
	b.add(row{scenario: "cron", figure: bareWhat + " p99", unit: "ms", vals: bp99, isLimit: "cron-bare-p99"})
	b.add(row{scenario: "cron", figure: bareWhat + " max", unit: "ms", vals: bmax, isLimit: "cron-bare-max"})
	what := fmt.Sprintf("%d jobs `*/10 * * * * *` in %s, max_job_running %d: lateness of the command's start", cronJobs, cronZone, cronJobs)
	b.add(row{scenario: "cron", figure: what + " p50", unit: "ms", vals: kp50, limit: "cron-bare-p50", goal: "cron-lateness-p50"})
	b.add(row{scenario: "cron", figure: what + " p99", unit: "ms", vals: kp99, limit: "cron-bare-p99"})
	b.add(row{scenario: "cron", figure: what + " max", unit: "ms", vals: kmax, limit: "cron-bare-max"})
	return nil
}

// cronSizes are the job counts of the cron start figures.
func (b *bench) cronSizes() []int {
	if b.quick {
		return []int{10000}
	}
	return []int{10000, 100000}
}

// cronScale starts n cron jobs and n daily@ jobs in alternating rounds.
func (b *bench) cronScale() error {
	idle := 20 * time.Second
	if b.quick {
		idle = 5 * time.Second
	}
	hour := (time.Now().UTC().Hour() + 12) % 24 // nothing fires during the run
	for _, n := range b.cronSizes() {
		cron, daily := make([]jobSpec, n), make([]jobSpec, n)
		for i := range n {
			name := "s" + strconv.Itoa(i)
			cron[i] = jobSpec{name: name, cron: fmt.Sprintf("%d %d * * *", i%60, hour), timezone: cronZone, commands: []string{"true"}}
			daily[i] = jobSpec{name: name, schedule: fmt.Sprintf("daily@%02d:%02d", hour, i%60), commands: []string{"true"}}
		}
		var fc, fd, rc, rd, cc, cd []float64
		for range b.rounds {
			for _, k := range []struct {
				jobs       []jobSpec
				first, rss *[]float64
				cpu        *[]float64
			}{{daily, &fd, &rd, &cd}, {cron, &fc, &rc, &cc}} {
				res, err := b.scaleRound(n, k.jobs, idle)
				if err != nil {
					kind := "cron"
					if k.jobs[0].schedule != "" {
						kind = "daily@"
					}
					return fmt.Errorf("cron scale %d %s jobs: %w", n, kind, err)
				}
				*k.first = append(*k.first, res.first.Seconds())
				*k.rss = append(*k.rss, float64(res.rssIdle)/1024/float64(n))
				*k.cpu = append(*k.cpu, res.cpuPct)
			}
		}
		base := fmt.Sprintf("%s jobs `daily@HH:MM` (v0.9.3 syntax, UTC), same run", num(float64(n)))
		what := fmt.Sprintf("%s jobs `M H * * *` in %s", num(float64(n)), cronZone)
		key := "daily-" + strconv.Itoa(n)
		b.add(row{scenario: "cron", figure: base + ": start → first 200", unit: "s", vals: fd, isLimit: key + "-start"})
		b.add(row{scenario: "cron", figure: what + ": start → first 200", unit: "s", vals: fc, limit: key + "-start", goal: "cron-" + strconv.Itoa(n) + "-start"})
		b.add(row{scenario: "cron", figure: base + ": RSS / jobs", unit: "KB/job", vals: rd, isLimit: key + "-rss"})
		b.add(row{scenario: "cron", figure: what + ": RSS / jobs", unit: "KB/job", vals: rc, limit: key + "-rss", goal: "cron-" + strconv.Itoa(n) + "-rss"})
		b.add(row{scenario: "cron", figure: fmt.Sprintf("%s: idle CPU over %v", base, idle), unit: "% of a core", vals: cd, isLimit: key + "-cpu"})
		b.add(row{scenario: "cron", figure: fmt.Sprintf("%s: idle CPU over %v", what, idle), unit: "% of a core", vals: cc, limit: key + "-cpu", goal: "cron-" + strconv.Itoa(n) + "-cpu"})
	}
	return nil
}
