package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// loadResult is what a closed-loop load of GETs measured.
type loadResult struct {
	n        int           // answers with status 200
	rps      float64       // of 200 answers
	p50, p99 time.Duration // latency of 200 answers
	hung     int           // requests that got no answer within the timeout
	failed   int           // other errors and non-200 answers
	firstErr error
}

// requestTimeout is how long a request may take before it counts as hung.
const requestTimeout = 10 * time.Second

// warmup opens the connections before a measured round.
const warmup = 300 * time.Millisecond

// load runs clients keep-alive clients, each sending GET url in a loop
// with Accept-Encoding ae, for dur after a short warm-up, and reads every
// answer to the end.
func load(url string, clients int, dur time.Duration, ae string) loadResult {
	tr := &http.Transport{
		DisableCompression:  true, // the body is read as sent, like a browser's bytes on the wire
		MaxIdleConnsPerHost: clients,
		MaxIdleConns:        clients,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
	}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: requestTimeout}
	get := func() (int, error) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if ae != "" {
			req.Header.Set("Accept-Encoding", ae)
		}
		resp, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, err
	}
	type result struct {
		lat          []time.Duration
		hung, failed int
		err          error
	}
	results := make([]result, clients)
	var wg sync.WaitGroup
	start := time.Now()
	measureFrom := start.Add(warmup)
	end := measureFrom.Add(dur)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &results[i]
			for {
				t0 := time.Now()
				if !t0.Before(end) {
					return
				}
				code, err := get()
				d := time.Since(t0)
				if t0.Before(measureFrom) && err == nil {
					continue
				}
				switch {
				case err != nil && isTimeout(err):
					r.hung++
					r.err = cmpErr(r.err, err)
				case err != nil || code != http.StatusOK:
					r.failed++
					if err == nil {
						err = fmt.Errorf("status %d", code)
					}
					r.err = cmpErr(r.err, err)
					time.Sleep(time.Millisecond) // a refused connection must not spin
				default:
					r.lat = append(r.lat, d)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(measureFrom)
	var out loadResult
	var all []time.Duration
	for _, r := range results {
		all = append(all, r.lat...)
		out.hung += r.hung
		out.failed += r.failed
		out.firstErr = cmpErr(out.firstErr, r.err)
	}
	slices.Sort(all)
	out.n = len(all)
	out.rps = float64(len(all)) / elapsed.Seconds()
	out.p50, out.p99 = pct(all, 50), pct(all, 99)
	return out
}

func cmpErr(old, err error) error {
	if old != nil {
		return old
	}
	return err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) ||
		(errors.As(err, &ne) && ne.Timeout())
}

// startBare starts this program as a separate process serving gz as the
// bare server (so that, like karajo, it does not share the load
// generator's process) and returns its URL.
func (b *bench) startBare(gz []byte) (url string, stop func(), err error) {
	file := filepath.Join(b.tmp, "bare.gz")
	if err := os.WriteFile(file, gz, 0o600); err != nil {
		return "", nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(self, "-serve-bare", file)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return "", nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop = func() {
		stdin.Close()
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		stop()
		return "", nil, fmt.Errorf("bare server: %w", err)
	}
	return strings.TrimSpace(line), stop, nil
}

// serveBare is the bare server process (-serve-bare FILE): it prints its
// URL and serves until its stdin closes or it gets SIGTERM.
func serveBare(file string) int {
	gz, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintln(os.Stderr, "karajo-bench -serve-bare:", err)
		return 1
	}
	url, stop, err := bareServer(gz)
	if err != nil {
		fmt.Fprintln(os.Stderr, "karajo-bench -serve-bare:", err)
		return 1
	}
	defer stop()
	fmt.Println(url)
	done := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); close(done) }()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	select {
	case <-done:
	case <-sig:
	}
	return 0
}

// bareServer serves body (the gzipped environment answer) with karajo's
// headers on a fresh 127.0.0.1 port, gzipped when the client accepts it
// and plain otherwise: the fastest any server could answer those bytes.
func bareServer(gz []byte) (url string, stop func(), err error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return "", nil, fmt.Errorf("environment answer is not gzip: %w", err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		return "", nil, err
	}
	gzLen, plainLen := strconv.Itoa(len(gz)), strconv.Itoa(len(plain))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Type", "application/json")
		hd.Set("Vary", "Accept-Encoding")
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			hd.Set("Content-Encoding", "gzip")
			hd.Set("Content-Length", gzLen)
			_, _ = w.Write(gz)
			return
		}
		hd.Set("Content-Length", plainLen)
		_, _ = w.Write(plain)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String() + envPath, func() { _ = srv.Close() }, nil
}
