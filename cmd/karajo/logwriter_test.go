package main

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuf is an io.Writer safe for the writer's goroutine and the test.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLogWriterKeepsEveryLine: lines from many goroutines all reach the
// output by Close, each goroutine's in its order, none torn; a line
// written after Close goes straight through.
func TestLogWriterKeepsEveryLine(t *testing.T) {
	var out syncBuf
	w := newLogWriter(&out)
	const writers, lines = 8, 500
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range lines {
				if _, err := fmt.Fprintf(w, "g%d line %d\n", g, i); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	next := make([]int, writers)
	got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(got) != writers*lines {
		t.Fatalf("%d lines, want %d", len(got), writers*lines)
	}
	for _, l := range got {
		var g, i int
		if _, err := fmt.Sscanf(l, "g%d line %d", &g, &i); err != nil || g < 0 || g >= writers {
			t.Fatalf("torn line %q", l)
		}
		if i != next[g] {
			t.Fatalf("goroutine %d: line %d after %d", g, i, next[g]-1)
		}
		next[g]++
	}
	fmt.Fprintln(w, "after close")
	if !strings.HasSuffix(out.String(), "after close\n") {
		t.Error("a line written after Close did not reach the output")
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// blockedWriter blocks every Write until released.
type blockedWriter struct {
	release chan struct{}
	out     syncBuf
}

func (b *blockedWriter) Write(p []byte) (int, error) {
	<-b.release
	return b.out.Write(p)
}

// TestLogWriterBlockedOutput: with the output blocked, writers go on until
// maxLogBuffer bytes wait, then wait themselves; nothing is lost once the
// output moves again.
func TestLogWriterBlockedOutput(t *testing.T) {
	bw := &blockedWriter{release: make(chan struct{})}
	w := newLogWriter(bw)
	line := strings.Repeat("x", 1023) + "\n"
	n := 2*maxLogBuffer/len(line) + 10
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range n {
			_, _ = io.WriteString(w, line)
		}
	}()
	// The writer must get stuck: the buffer is bounded.
	for {
		w.mu.Lock()
		full := len(w.buf) > maxLogBuffer
		w.mu.Unlock()
		if full {
			break
		}
		select {
		case <-done:
			t.Fatal("all lines buffered with the output blocked: the buffer is unbounded")
		case <-time.After(time.Millisecond):
		}
	}
	close(bw.release)
	<-done
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := len(bw.out.String()); got != n*len(line) {
		t.Errorf("%d bytes written, want %d", got, n*len(line))
	}
}
