package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestRunWatchdogWithholdsPingsWhileProbeIsStuck drives the watchdog loop
// with a probe that answers, then blocks (a stuck engine), then answers
// again: no ping is sent while it is stuck, and pings resume after.
func TestRunWatchdogWithholdsPingsWhileProbeIsStuck(t *testing.T) {
	var stuck atomic.Bool
	var pings atomic.Int64
	probed := make(chan bool, 100) // each probe's outcome, in order
	probe := func(timeout time.Duration) error {
		if stuck.Load() {
			time.Sleep(timeout) // an Ask that times out
			probed <- false
			return errors.New("timed out")
		}
		probed <- true
		return nil
	}
	var logBuf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&syncWriter{w: &logBuf}, nil))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		runWatchdog(ctx, 5*time.Millisecond, probe, func() { pings.Add(1) }, log)
		close(done)
	}()
	waitProbes := func(ok bool, n int) {
		t.Helper()
		for seen := 0; seen < n; {
			select {
			case r := <-probed:
				if r == ok {
					seen++
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("no probe with outcome %v", ok)
			}
		}
	}
	waitProbes(true, 3)
	stuck.Store(true)
	waitProbes(false, 1) // from here on every probe fails
	before := pings.Load()
	waitProbes(false, 3)
	if got := pings.Load(); got != before {
		t.Fatalf("%d pings sent while the probe was stuck", got-before)
	}
	stuck.Store(false)
	waitProbes(true, 3)
	cancel()
	<-done
	if pings.Load() < before+2 {
		t.Fatalf("pings did not resume: %d then %d", before, pings.Load())
	}
	out := logBuf.String()
	if strings.Count(out, "pings withheld") != 1 || strings.Count(out, "pings resumed") != 1 {
		t.Fatalf("want one 'withheld' and one 'resumed' line, got:\n%s", out)
	}
}

// syncWriter serialises writes and reads of a buffer (the loop logs from
// its goroutine).
type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// TestNewLoggerUnderJournal: with JOURNAL_STREAM naming stderr's file, log
// lines have no time of their own; naming another file, or unset, they do.
func TestNewLoggerUnderJournal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		stream   string
		wantTime bool
	}{
		{fmt.Sprintf("%d:%d", st.Dev, st.Ino), false},
		{fmt.Sprintf("%d:%d", st.Dev, st.Ino+1), true}, // stderr redirected elsewhere
		{"", true},
		{"garbage", true},
	} {
		t.Setenv("JOURNAL_STREAM", c.stream)
		if err := f.Truncate(0); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Seek(0, 0); err != nil {
			t.Fatal(err)
		}
		newLogger(f, f).Info("hello", "k", "v")
		b, err := os.ReadFile(f.Name())
		if err != nil {
			t.Fatal(err)
		}
		line := string(b)
		if got := strings.HasPrefix(line, "time="); got != c.wantTime || !strings.Contains(line, "level=INFO msg=hello k=v") {
			t.Errorf("JOURNAL_STREAM=%q: %q, want time= %v", c.stream, line, c.wantTime)
		}
	}
}
