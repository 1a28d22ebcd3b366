package integration

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Hostile load of the soak (issue 14): beside the signed triggers, slow
// clients trickle their headers a byte a second, and uploads to real
// webhook paths send part of a large body and stall. The server must cut
// each off within its timeout (plus slack) and its RSS stay under
// skRSSBound, across the kills and restarts.

// skBodyTimeout is the soak's body_timeout.
const skBodyTimeout = 3 * time.Second

// skRSSBound is the most the (race-built) soak server may hold resident:
// about 45 MiB at start, plus room for the race detector's shadow memory.
const skRSSBound = 256 << 20

// Bounds within which the server must close a hostile connection: its
// header timeout (10 s) or body_timeout, plus slack for a loaded machine.
const (
	skSlowHeaderBound = 10*time.Second + 8*time.Second
	skStalledBound    = skBodyTimeout + 8*time.Second
)

// skHostile is the tally of the hostile load.
type skHostile struct {
	slow, stalled         atomic.Int64 // connections opened
	slowLate, stalledLate atomic.Int64 // not closed by the server within their bound
	stalledAnswers        sync.Map     // first line of the answer → *atomic.Int64
	peakRSS               atomic.Int64 // bytes
}

// run starts the hostile clients against the server at addr() and the
// RSS sampler of pid(), until stop is closed; wait waits for them.
func (h *skHostile) run(addr func() string, pid func() int, hooks []*skJob, stop chan struct{}) (wait func()) {
	var wg sync.WaitGroup
	loop := func(every time.Duration, f func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				case <-time.After(every + time.Duration(rand.Int64N(int64(every)))):
				}
				f()
			}
		}()
	}
	for range 2 { // slow clients: about 8 open at a time
		loop(2*time.Second, func() { h.slowClient(addr(), stop) })
	}
	for range 2 { // stalled uploads: about 4 open at a time, 1 MiB each
		loop(1500*time.Millisecond, func() { h.stalledUpload(addr(), hooks[rand.IntN(len(hooks))].path, stop) })
	}
	loop(250*time.Millisecond, func() {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid())); err == nil {
			if kib := parseRSS(b); kib*1024 > h.peakRSS.Load() {
				h.peakRSS.Store(kib * 1024)
			}
		}
	})
	return wg.Wait
}

// slowClient opens a connection and sends a header a byte a second until
// the server closes it; it reports a close later than skSlowHeaderBound.
func (h *skHostile) slowClient(addr string, stop chan struct{}) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return // the server is down (a kill) or refuses: fine
	}
	defer c.Close()
	h.slow.Add(1)
	t0 := time.Now()
	if _, err := io.WriteString(c, "GET /karajo/api/environment HTTP/1.1\r\nHost: localhost\r\nX-Slow: "); err != nil {
		return
	}
	closed := make(chan struct{})
	go func() {
		c.SetReadDeadline(t0.Add(skSlowHeaderBound + 5*time.Second))
		io.Copy(io.Discard, c)
		close(closed)
	}()
	for {
		select {
		case <-closed:
			if time.Since(t0) > skSlowHeaderBound {
				h.slowLate.Add(1)
			}
			return
		case <-stop:
			return
		case <-time.After(time.Second):
			c.Write([]byte("a"))
		}
	}
}

// stalledUpload announces 16 MiB to a webhook path, sends 1 MiB and
// stalls; the server must answer (408) or close within skStalledBound.
func (h *skHostile) stalledUpload(addr, path string, stop chan struct{}) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return
	}
	defer c.Close()
	h.stalled.Add(1)
	t0 := time.Now()
	head := fmt.Sprintf("POST /karajo/api/job_exec/run%s HTTP/1.1\r\nHost: localhost\r\nX-Karajo-Sign: %s\r\nContent-Length: %d\r\n\r\n", path, strings.Repeat("0", 64), 16<<20)
	c.SetWriteDeadline(t0.Add(skStalledBound))
	if _, err := io.WriteString(c, head+strings.Repeat("z", 1<<20)); err != nil {
		return // the server went away
	}
	c.SetReadDeadline(t0.Add(skStalledBound + 5*time.Second))
	buf := make([]byte, 64)
	n, _ := io.ReadAtLeast(c, buf, 12)
	first := strings.SplitN(string(buf[:n]), "\r\n", 2)[0]
	io.Copy(io.Discard, c)
	select {
	case <-stop:
		return
	default:
	}
	if time.Since(t0) > skStalledBound {
		h.stalledLate.Add(1)
	}
	if first == "" {
		first = "(closed without an answer)"
	}
	v, _ := h.stalledAnswers.LoadOrStore(first, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

// answers lists the answers to stalled uploads.
func (h *skHostile) answers() string {
	var parts []string
	h.stalledAnswers.Range(func(k, v any) bool {
		parts = append(parts, fmt.Sprintf("%s: %d", k, v.(*atomic.Int64).Load()))
		return true
	})
	return strings.Join(parts, ", ")
}
