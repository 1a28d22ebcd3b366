package integration

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestLargeOutputMemory runs a command that prints 200 MB: the server's
// RSS must not grow with the output (IMP-9; growth under 30 MB), and the
// log is on disk in full.
func TestLargeOutputMemory(t *testing.T) {
	t.Parallel()
	s := start(t, `
[job.big]
path = "/big"
commands = ['head -c 200000000 /dev/zero | tr "\0" "a" | fold -w 100', "echo big-done"]
`)
	// Baseline: after start and a few API calls.
	for i := 0; i < 3; i++ {
		s.environment(t)
	}
	base := vmRSS(t, s.pid())

	var (
		mu      sync.Mutex
		peak    int64
		samples int
	)
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stopSampling:
				return
			case <-tick.C:
			}
			data, err := os.ReadFile("/proc/" + strconv.Itoa(s.pid()) + "/status")
			if err != nil {
				return
			}
			if v := parseRSS(data); v > 0 {
				mu.Lock()
				peak = max(peak, v)
				samples++
				mu.Unlock()
			}
		}
	}()

	t0 := time.Now()
	wantEnvelope(t, s.trigger(t, "big", testSecret), http.StatusOK)
	st := s.waitRun(t, "big", 1, 150*time.Second)
	took := time.Since(t0)
	close(stopSampling)
	<-sampled
	after := vmRSS(t, s.pid())

	mu.Lock()
	defer mu.Unlock()
	if st != "success" {
		t.Errorf("big #1: %q, want success", st)
	}
	fi, err := os.Stat(filepath.Join(s.logDir("big"), "big.1.success"))
	if err != nil {
		t.Fatalf("log file: %v", err)
	}
	growth := max(peak, after) - base
	t.Logf("200 MB output: run %v, log file %d MB, RSS baseline %d KiB, peak during run %d KiB (%d samples), after %d KiB, growth %.1f MiB",
		took.Round(time.Millisecond), fi.Size()>>20, base, peak, samples, after, float64(growth)/1024)
	if fi.Size() < 200000000 {
		t.Errorf("log file is %d bytes, want ≥ 200000000 (the whole output)", fi.Size())
	}
	if growth > 30*1024 {
		t.Errorf("RSS grew by %d KiB during a 200 MB run, want < 30 MiB (IMP-9)", growth)
	}
}

// parseRSS reads VmRSS (KiB) from the content of /proc/PID/status; 0 if absent.
func parseRSS(status []byte) int64 {
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}
