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
// commands, in alternating rounds (with -compare BIN, BIN's 100 jobs too); cronScale, start, RSS and idle CPU of n
// cron jobs in a zone against n v0.9.3 daily@ schedule jobs (interval jobs
// that never ran would all run at start, so the baseline is the other
// kind of timer that waits).

// cronServer is one server of the lateness rounds: its jobs fire at
// offset past each 10-second boundary and write their stamps to file.
type cronServer struct {
	srv    *server
	file   string
	offset time.Duration
}

// startCron starts bin with the 100 cron jobs, due at offset (0 or 3 s)
// past every 10-second boundary.
func (b *bench) startCron(bin, name string, offset time.Duration) (*cronServer, func(), error) {
	dir, err := b.newDir(name)
	if err != nil {
		return nil, nil, err
	}
	file := filepath.Join(dir, "cron.times")
	expr := "*/10 * * * * *"
	if offset > 0 {
		s := int(offset / time.Second)
		expr = fmt.Sprintf("%d-59/10 * * * * *", s)
	}
	var jobs []jobSpec
	for i := range cronJobs {
		jobs = append(jobs, jobSpec{name: "c" + strconv.Itoa(i), cron: expr, timezone: cronZone,
			commands: []string{"date +%s%N >> " + file}})
	}
	s, err := b.startBinReady(bin, dir, karajoConfig{maxJobRunning: cronJobs, jobs: jobs}, time.Minute)
	if err != nil {
		b.removeDir(dir)
		return nil, nil, err
	}
	return &cronServer{srv: s, file: file, offset: offset}, func() { b.stopServer(s); b.removeDir(dir) }, nil
}

// cpu returns the server's CPU time so far (0 when unreadable).
func (c *cronServer) cpu() time.Duration {
	t, _ := cpuTime(c.srv.pid)
	return t
}

// lateness returns the sorted lateness of the runs c's jobs started for
// the boundary bnd (nil when none ran), noting a burst that was short.
func (b *bench) lateness(c *cronServer, bnd time.Time) []time.Duration {
	due := bnd.Add(c.offset)
	var lat []time.Duration
	for _, ts := range readStamps(c.file) {
		if t := time.Unix(0, ts); t.Add(-c.offset).Truncate(10 * time.Second).Equal(bnd) {
			lat = append(lat, t.Sub(due))
		}
	}
	if len(lat) < cronJobs {
		b.note("cron: %d of %d jobs ran at %s", len(lat), cronJobs, due.Format("15:04:05"))
	}
	slices.Sort(lat)
	return lat
}

// latFigs are the p50, p99 and max lateness of the rounds of one side.
type latFigs struct{ p50, p99, max []float64 }

func (f *latFigs) add(lat []time.Duration) {
	f.p50, f.p99, f.max = append(f.p50, ms(pct(lat, 50))), append(f.p99, ms(pct(lat, 99))), append(f.max, ms(lat[len(lat)-1]))
}

// cronLateness runs the lateness rounds: at each 10-second boundary the
// server's 100 jobs fire; with -compare BIN, BIN's 100 jobs fire 3 s
// later; 6 s after the boundary the bare burst runs. Every round thus has
// one burst of each, and the per-round ratios are paired.
func (b *bench) cronLateness() error {
	this, stop, err := b.startCron(b.bin, "cron", 0)
	if err != nil {
		return err
	}
	defer stop()
	var other *cronServer
	if b.compare != "" {
		if other, stop, err = b.startCron(b.compare, "cron-compare", 3*time.Second); err != nil {
			return err
		}
		defer stop()
	}
	first := time.Now().Truncate(10 * time.Second).Add(20 * time.Second) // after start-up work
	var k, c, bare latFigs
	var ratio, cmpRatio, thisCmp, kcpu, ccpu []float64
	for r := range b.rounds {
		bnd := first.Add(time.Duration(r) * 10 * time.Second)
		time.Sleep(time.Until(bnd.Add(-500 * time.Millisecond)))
		cpu0 := this.cpu()
		time.Sleep(time.Until(bnd.Add(2500 * time.Millisecond)))
		lat := b.lateness(this, bnd)
		kcpu = append(kcpu, ms(this.cpu()-cpu0))
		var olat []time.Duration
		if other != nil {
			cpu0 := other.cpu()
			time.Sleep(time.Until(bnd.Add(5500 * time.Millisecond)))
			olat = b.lateness(other, bnd)
			ccpu = append(ccpu, ms(other.cpu()-cpu0))
		}
		time.Sleep(time.Until(bnd.Add(6 * time.Second)))
		bl, err := forkBurst(cronJobs) // due 200 ms from now: between the servers' bursts
		if err != nil {
			return err
		}
		bare.add(bl)
		bp50 := ms(pct(bl, 50))
		if len(lat) > 0 {
			k.add(lat)
			ratio = append(ratio, ms(pct(lat, 50))/bp50)
		}
		if len(olat) > 0 {
			c.add(olat)
			cmpRatio = append(cmpRatio, ms(pct(olat, 50))/bp50)
			if len(lat) > 0 {
				thisCmp = append(thisCmp, ms(pct(lat, 50))/ms(pct(olat, 50)))
			}
		}
	}
	bareWhat := fmt.Sprintf("bare Go timer forking %d `date` at one instant (same run, alternating): lateness", cronJobs)
	b.add(row{scenario: "cron", figure: bareWhat + " p50", unit: "ms", vals: bare.p50, isLimit: "cron-bare-p50"})
	b.add(row{scenario: "cron", figure: bareWhat + " p99", unit: "ms", vals: bare.p99, isLimit: "cron-bare-p99"})
	b.add(row{scenario: "cron", figure: bareWhat + " max", unit: "ms", vals: bare.max, isLimit: "cron-bare-max"})
	what := fmt.Sprintf("%d jobs `*/10 * * * * *` in %s, max_job_running %d: lateness of the command's start", cronJobs, cronZone, cronJobs)
	b.add(row{scenario: "cron", figure: what + " p50", unit: "ms", vals: k.p50, limit: "cron-bare-p50", goal: "cron-lateness-p50"})
	b.add(row{scenario: "cron", figure: what + " p99", unit: "ms", vals: k.p99, limit: "cron-bare-p99"})
	b.add(row{scenario: "cron", figure: what + " max", unit: "ms", vals: k.max, limit: "cron-bare-max"})
	b.add(row{scenario: "cron", figure: "lateness p50 / the same round's bare p50 (median of per-round ratios)", unit: "×", vals: ratio})
	b.add(row{scenario: "cron", figure: "server CPU from 0.5 s before the due instant to 2.5 s after (100 runs)", unit: "ms", vals: kcpu})
	if other == nil {
		return nil
	}
	cw := "the -compare binary, the same jobs due 3 s later: lateness"
	b.add(row{scenario: "cron", figure: cw + " p50", unit: "ms", vals: c.p50, limit: "cron-bare-p50"})
	b.add(row{scenario: "cron", figure: cw + " p99", unit: "ms", vals: c.p99, limit: "cron-bare-p99"})
	b.add(row{scenario: "cron", figure: cw + " max", unit: "ms", vals: c.max, limit: "cron-bare-max"})
	b.add(row{scenario: "cron", figure: "the -compare binary: lateness p50 / the same round's bare p50 (median of per-round ratios)", unit: "×", vals: cmpRatio})
	b.add(row{scenario: "cron", figure: "lateness p50: this / the -compare binary (median of per-round ratios)", unit: "×", vals: thisCmp})
	b.add(row{scenario: "cron", figure: "the -compare binary: server CPU from 0.5 s before its due instant to 2.5 s after (100 runs)", unit: "ms", vals: ccpu})
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
