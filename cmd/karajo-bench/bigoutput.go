package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// bigOutput runs one command printing 200 MB (and 1 GB in full mode) and
// samples the server's RSS every 50 ms during the run and while the
// finished log is read through GET /karajo/api/job_exec/log.
func (b *bench) bigOutput() error {
	dir, err := b.newDir("big")
	if err != nil {
		return err
	}
	defer b.removeDir(dir)
	sizes := []int64{200_000_000}
	if !b.quick {
		sizes = append(sizes, 1_000_000_000)
	}
	var jobs []jobSpec
	for _, n := range sizes {
		id := fmt.Sprintf("big%d", n/1_000_000)
		jobs = append(jobs, jobSpec{name: id, path: "/" + id, commands: []string{
			fmt.Sprintf(`head -c %d /dev/zero | tr '\0' a | fold -w 100`, n)}})
	}
	s, err := b.startReady(dir, karajoConfig{jobs: jobs}, time.Minute)
	if err != nil {
		return err
	}
	defer b.stopServer(s)
	tc := &triggerClient{s: s, sig: sign(triggerBody)}
	for _, n := range sizes {
		id := fmt.Sprintf("big%d", n/1_000_000)
		rounds := b.rounds
		if n > 200_000_000 {
			rounds = 1 // 1 GB: one round keeps the full run under 15 minutes
		}
		var runGrow, readGrow, runSecs, readSecs, logMB []float64
		for counter := 1; counter <= rounds; counter++ {
			time.Sleep(time.Second) // let the previous round's garbage go
			base, err := procStatus(s.pid, "VmRSS")
			if err != nil {
				return err
			}
			sm := sampleRSS(s.pid, 50*time.Millisecond)
			t0 := time.Now()
			code, err := tc.send(http.DefaultClient, id)
			if err == nil && code != http.StatusOK {
				err = fmt.Errorf("trigger %s: status %d", id, code)
			}
			if err != nil {
				sm.finish()
				return err
			}
			logFile, err := waitFinished(s.dir, id, counter, 10*time.Minute)
			peak := sm.finish()
			if err != nil {
				return err
			}
			runSecs = append(runSecs, time.Since(t0).Seconds())
			runGrow = append(runGrow, mb(peak-base))
			if fi, err := os.Stat(logFile); err == nil {
				logMB = append(logMB, mb(fi.Size()))
			}

			time.Sleep(time.Second)
			base, err = procStatus(s.pid, "VmRSS")
			if err != nil {
				return err
			}
			sm = sampleRSS(s.pid, 50*time.Millisecond)
			t0 = time.Now()
			nread, err := readLog(s, id, counter)
			peak = sm.finish()
			if err != nil {
				return err
			}
			readSecs = append(readSecs, time.Since(t0).Seconds())
			readGrow = append(readGrow, mb(peak-base))
			b.logf("   %s #%d: log %s MB, read %s MB gzip in %.1f s", id, counter, num(logMB[len(logMB)-1]), num(mb(nread)), readSecs[len(readSecs)-1])
		}
		what := fmt.Sprintf("%d MB of output", n/1_000_000)
		b.add(row{scenario: "big-output", figure: what + ": server RSS growth during the run (peak − before)", unit: "MB", vals: runGrow})
		b.add(row{scenario: "big-output", figure: what + ": server RSS growth while the log is read (gzip)", unit: "MB", vals: readGrow})
		b.add(row{scenario: "big-output", figure: what + ": run time (trigger → log file final)", unit: "s", vals: runSecs})
		b.add(row{scenario: "big-output", figure: what + ": log file size (with line prefixes)", unit: "MB", vals: logMB})
		b.add(row{scenario: "big-output", figure: what + ": log read through the API", unit: "s", vals: readSecs})
	}
	return nil
}

// waitFinished waits for the log file of run counter of job id to get its
// final name and returns its path.
func waitFinished(base, id string, counter int, limit time.Duration) (string, error) {
	dir := filepath.Join(base, "var", "log", "karajo", "job", id)
	prefix := fmt.Sprintf("%s.%d.", id, counter)
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if name := e.Name(); len(name) > len(prefix) && name[:len(prefix)] == prefix {
				if name != prefix+"success" {
					return "", fmt.Errorf("run %s ended as %s", prefix[:len(prefix)-1], name[len(prefix):])
				}
				return filepath.Join(dir, name), nil
			}
		}
	}
	return "", fmt.Errorf("run %s.%d not finished within %v", id, counter, limit)
}

// readLog reads one log through the API with gzip, streaming the answer to
// io.Discard, and returns the bytes received.
func readLog(s *server, id string, counter int) (int64, error) {
	c := &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: 10 * time.Minute}
	req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/karajo/api/job_exec/log?id=%s&counter=%d", s.base, id, counter), nil)
	req.Header.Set("Accept-Encoding", browserAE)
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return 0, fmt.Errorf("GET log %s #%d: %s %s", id, counter, resp.Status, bytes.TrimSpace(msg))
	}
	return io.Copy(io.Discard, resp.Body)
}
