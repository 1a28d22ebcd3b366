package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// histLogs is how many kept logs each job of the history-scale scenario
// has: the default log_retention.
const histLogs = 5

// histSizes are the job counts of the history-scale scenario.
func (b *bench) histSizes() []int {
	if b.quick {
		return []int{10000}
	}
	return []int{100000}
}

// historyScale measures issue 17's "100,000 jobs with full history start
// in ≤ 5 s": n cron jobs (as in cron-scale), each with histLogs logs on
// disk and its records in history.db (rebuilt from the logs by a first
// start, then stopped cleanly), restarted on that dir_base once per round:
// start → first 200 and the CPU the server used until then. With
// -compare BIN the rounds alternate between the two binaries on the same
// dir_base.
func (b *bench) historyScale() error {
	hour := (time.Now().UTC().Hour() + 12) % 24 // nothing fires during the run
	for _, n := range b.histSizes() {
		dir, mainPath, err := b.histBase(n, hour)
		if err != nil {
			return err
		}
		bins := []binUnderTest{{"this", b.bin}}
		if b.compare != "" {
			bins = append(bins, binUnderTest{"compare", b.compare})
		}
		first := map[string][]float64{}
		cpu := map[string][]float64{}
		for range b.rounds {
			for _, bin := range bins {
				d, c, err := b.histRestart(bin.path, dir, mainPath)
				if err != nil {
					b.removeHistDir(dir)
					return fmt.Errorf("history scale %d jobs, %s: %w", n, bin.label, err)
				}
				first[bin.label] = append(first[bin.label], d.Seconds())
				cpu[bin.label] = append(cpu[bin.label], c.Seconds())
			}
		}
		b.removeHistDir(dir)
		what := fmt.Sprintf("%s jobs `M H * * *` × %d logs + history.db", num(float64(n)), histLogs)
		key := "history-" + strconv.Itoa(n)
		if b.compare != "" {
			b.add(row{scenario: "history-scale", figure: what + ": restart → first 200 (compare)", unit: "s", vals: first["compare"], isLimit: key + "-compare"})
			b.add(row{scenario: "history-scale", figure: what + ": CPU to the first 200 (compare)", unit: "s", vals: cpu["compare"], isLimit: key + "-compare-cpu"})
		}
		r := row{scenario: "history-scale", figure: what + ": restart → first 200", unit: "s", vals: first["this"], goal: key + "-start"}
		c := row{scenario: "history-scale", figure: what + ": CPU to the first 200", unit: "s", vals: cpu["this"]}
		if b.compare != "" {
			r.limit, c.limit = key+"-compare", key+"-compare-cpu"
		}
		b.add(r)
		b.add(c)
	}
	return nil
}

// histBase returns the prepared dir_base of n jobs and its main file:
// under -hist-dir the one a previous run prepared there, if any.
func (b *bench) histBase(n, hour int) (string, string, error) {
	if b.histDir != "" {
		dir := filepath.Join(b.histDir, fmt.Sprintf("hist%d", n))
		mainPath := filepath.Join(dir, "etc", "karajo", "karajo.toml")
		if _, err := os.Stat(filepath.Join(dir, "prepared")); err == nil {
			b.logf("   reusing %s", dir)
			return dir, mainPath, nil
		}
		if err := os.RemoveAll(dir); err != nil {
			return "", "", err
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", "", err
		}
		if _, err := b.histPrepare(dir, n, hour); err != nil {
			return "", "", err
		}
		return dir, mainPath, os.WriteFile(filepath.Join(dir, "prepared"), nil, 0o600)
	}
	dir, err := b.newDir(fmt.Sprintf("hist%d", n))
	if err != nil {
		return "", "", err
	}
	mainPath, err := b.histPrepare(dir, n, hour)
	if err != nil {
		b.removeDir(dir)
	}
	return dir, mainPath, err
}

// removeHistDir removes a dir_base of histBase unless it is under -hist-dir.
func (b *bench) removeHistDir(dir string) {
	if b.histDir == "" {
		b.removeDir(dir)
	}
}

// histPrepare writes the configuration of n cron jobs, histLogs logs and
// a state file for each, then starts the binary under test once so that it
// builds history.db from the logs, and stops it cleanly (a binary with a
// start index writes it then: the rounds measure restarts of a server
// that was stopped cleanly, with nothing changed since).
func (b *bench) histPrepare(dir string, n, hour int) (string, error) {
	jobs := make([]jobSpec, n)
	for i := range n {
		jobs[i] = jobSpec{name: "h" + strconv.Itoa(i), cron: fmt.Sprintf("%d %d * * *", i%60, hour), timezone: cronZone, commands: []string{"true"}}
	}
	mainPath, err := karajoConfig{jobs: jobs}.write(dir)
	if err != nil {
		return "", err
	}
	t0 := time.Now()
	past := t0.Add(-time.Hour)
	if err := os.MkdirAll(filepath.Join(dir, "var", "lib", "karajo", "job"), 0o700); err != nil {
		return "", err
	}
	for _, j := range jobs {
		logDir := filepath.Join(dir, "var", "log", "karajo", "job", j.name)
		if err := os.MkdirAll(logDir, 0o700); err != nil {
			return "", err
		}
		for c := 1; c <= histLogs; c++ {
			name := filepath.Join(logDir, j.name+"."+strconv.Itoa(c)+".success")
			line := fmt.Sprintf("2026-01-01 00:00:00 UTC job: %s: === job: %s: finished.\n", j.name, j.name)
			if err := os.WriteFile(name, []byte(line), 0o600); err != nil {
				return "", err
			}
			at := past.Add(time.Duration(c) * time.Minute)
			if err := os.Chtimes(name, at, at); err != nil {
				return "", err
			}
		}
		// The state file a clean stop leaves (without it every job writes
		// one at the first stop, 200,000 fsyncs).
		state := filepath.Join(dir, "var", "lib", "karajo", "job", j.name+".state")
		if err := os.WriteFile(state, []byte(fmt.Sprintf(`{"counter":%d,"paused":false}`+"\n", histLogs)), 0o600); err != nil {
			return "", err
		}
	}
	b.logf("   wrote %d log files in %v", n*histLogs, time.Since(t0).Round(time.Millisecond))
	s, err := b.startWith(dir, mainPath)
	if err != nil {
		return "", err
	}
	if _, err := s.waitReady(5 * time.Minute); err != nil {
		b.stopServer(s)
		return "", fmt.Errorf("first start (history.db built from the logs): %w", err)
	}
	s.waitHeapBack(time.Minute)
	b.stopServer(s)
	if _, err := os.Stat(filepath.Join(dir, "var", "lib", "karajo", "history.db")); err != nil {
		return "", fmt.Errorf("first start made no history.db: %w", err)
	}
	return mainPath, nil
}

// histRestart starts bin on the prepared dir_base, waits for its first 200
// and returns the time to it and the server's CPU until then; after that it
// waits for the start's work to end and stops the server cleanly.
func (b *bench) histRestart(bin, dir, mainPath string) (time.Duration, time.Duration, error) {
	s, err := b.startBin(bin, dir, mainPath)
	if err != nil {
		return 0, 0, err
	}
	defer b.stopServer(s)
	d, err := s.waitReady(5 * time.Minute)
	if err != nil {
		return 0, 0, err
	}
	c, err := cpuTime(s.pid)
	if err != nil {
		return 0, 0, err
	}
	s.waitHeapBack(time.Minute)
	return d, c, nil
}
