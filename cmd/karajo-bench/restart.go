package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// restart starts the server on 1,000 webhook jobs that each have 100 kept
// logs on disk (and no state files) and measures the time to the first
// answer.
func (b *bench) restart() error {
	const nJobs, nLogs = 1000, 100
	dir, err := b.newDir("restart")
	if err != nil {
		return err
	}
	defer b.removeDir(dir)
	jobs := webhookJobs(nJobs)
	for i := range jobs {
		jobs[i].retention = nLogs
	}
	mainPath, err := karajoConfig{jobs: jobs}.write(dir)
	if err != nil {
		return err
	}
	t0 := time.Now()
	for _, j := range jobs {
		logDir := filepath.Join(dir, "var", "log", "karajo", "job", j.name)
		if err := os.MkdirAll(logDir, 0o700); err != nil {
			return err
		}
		for n := 1; n <= nLogs; n++ {
			name := filepath.Join(logDir, j.name+"."+strconv.Itoa(n)+".success")
			line := fmt.Sprintf("2026-01-01 00:00:00 UTC job: %s: === job: %s: finished.\n", j.name, j.name)
			if err := os.WriteFile(name, []byte(line), 0o600); err != nil {
				return err
			}
		}
	}
	b.logf("   wrote %d log files in %v", nJobs*nLogs, time.Since(t0).Round(time.Millisecond))
	var first, rss []float64
	for range b.rounds {
		// No state files: the state comes from the logs, as after v0.9.3.
		states, _ := filepath.Glob(filepath.Join(dir, "var", "lib", "karajo", "job", "*.state"))
		for _, f := range states {
			_ = os.Remove(f)
		}
		s, err := b.startWith(dir, mainPath)
		if err != nil {
			return err
		}
		d, err := s.waitReady(5 * time.Minute)
		if err != nil {
			b.stopServer(s)
			return err
		}
		v, _ := procStatus(s.pid, "VmRSS")
		b.stopServer(s)
		first = append(first, d.Seconds())
		rss = append(rss, mb(v))
	}
	b.add(row{scenario: "restart", figure: "1,000 jobs × 100 kept logs (100,000 files, no state files): start → first 200", unit: "s", vals: first})
	b.add(row{scenario: "restart", figure: "1,000 jobs × 100 kept logs: RSS after the first answer", unit: "MB", vals: rss})
	return nil
}
