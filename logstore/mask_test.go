package logstore

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// maskRef is the reference masking: every byte inside an occurrence of a
// secret is covered; each run of covered bytes becomes one Masked.
func maskRef(s string, secrets []string) string {
	covered := make([]bool, len(s))
	for _, sec := range secrets {
		if sec == "" {
			continue
		}
		for i := 0; i+len(sec) <= len(s); i++ {
			if s[i:i+len(sec)] == sec {
				for k := i; k < i+len(sec); k++ {
					covered[k] = true
				}
			}
		}
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if !covered[i] {
			b.WriteByte(s[i])
			continue
		}
		if i == 0 || !covered[i-1] {
			b.WriteString(Masked)
		}
	}
	return b.String()
}

// collapse merges repeated Masked: where a stream is split right between
// two adjacent occurrences, the masker writes one Masked for each.
func collapse(s string) string {
	for strings.Contains(s, Masked+Masked) {
		s = strings.ReplaceAll(s, Masked+Masked, Masked)
	}
	return s
}

// streamMask feeds the pieces to a masker and returns what it emitted.
func streamMask(pieces []string, secrets []string) string {
	m := newMasker(secrets)
	var out []byte
	emit := func(p []byte) error { out = append(out, p...); return nil }
	for _, p := range pieces {
		_ = m.feed([]byte(p), false, emit)
	}
	_ = m.feed(nil, true, emit)
	return string(out)
}

func TestMaskString(t *testing.T) {
	tests := []struct {
		name, in string
		secrets  []string
		want     string
	}{
		{"none", "hello", []string{"pw"}, "hello"},
		{"one", "user=bob pw=hunter2!", []string{"hunter2"}, "user=bob pw=***!"},
		{"repeated", "aXbXc", []string{"X"}, "a***b***c"},
		{"overlapping secrets", "xabcdx", []string{"abc", "bcd"}, "x***x"},
		{"secret inside another", "-password-", []string{"pass", "password"}, "-***-"},
		{"self-overlapping", "aaaaa", []string{"aa"}, "***"},
		{"adjacent", "abab", []string{"ab"}, "***"},
		{"empty secret ignored", "x", []string{""}, "x"},
		{"multi-line secret", "k=l1\nl2\n", []string{"l1\nl2"}, "k=***\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MaskString(tt.in, tt.secrets); got != tt.want {
				t.Errorf("MaskString(%q, %q) = %q, want %q", tt.in, tt.secrets, got, tt.want)
			}
		})
	}
}

// TestMaskSplit splits a text at every pair of points and checks that the
// streamed result equals the reference: a secret split across writes is
// masked all the same.
func TestMaskSplit(t *testing.T) {
	cases := []struct {
		text    string
		secrets []string
	}{
		{"token=s3cr3t-v4lue; again s3cr3t-v4lue.", []string{"s3cr3t-v4lue"}},
		{"xabcdx abc bcd abcd", []string{"abc", "bcd"}},
		{"aaaaaaa b aa", []string{"aa"}},
		{"pass password passw", []string{"pass", "password"}},
		{"s3cs3cr3t", []string{"s3cr3t"}},
		{"[k1][k2k1k2]", []string{"k1k2", "k2k1"}},
		{"xxhunter2 hunterhunter2 ter2x hunter2x", []string{"hunter2", "ter2x", "hunter"}},
		{"abcdabcdeabcdefabcd", []string{"abcde", "cdab", "dabc"}},
	}
	for _, c := range cases {
		want := maskRef(c.text, c.secrets)
		for i := 0; i <= len(c.text); i++ {
			for j := i; j <= len(c.text); j++ {
				pieces := []string{c.text[:i], c.text[i:j], c.text[j:]}
				if got := collapse(streamMask(pieces, c.secrets)); got != want {
					t.Fatalf("split %q at %d,%d with %q: got %q, want %q", c.text, i, j, c.secrets, got, want)
				}
			}
		}
	}
}

// TestMaskRandom streams random text made of secrets, their prefixes and
// noise in random pieces; the result must equal the reference and hold no
// secret.
func TestMaskRandom(t *testing.T) {
	for _, secrets := range [][]string{
		{"hunter2", "nter2x", "zz", "q"}, // short ones: a bytes.Index pass per secret
		{"hunter2", "nter2x", "r2xhu"},   // one scan for all
		{"hunter2", "hunter2hunter2", "nter"},
	} {
		testMaskRandom(t, secrets)
	}
}

func testMaskRandom(t *testing.T, secrets []string) {
	r := rand.New(rand.NewPCG(1, 2))
	parts := []string{"hunter2", "hunt", "nter2x", "z", "zz", "q", "-", "\n", "hu", "abc", "nter", "r2xhu", "r2"}
	for round := range 6000 {
		var b strings.Builder
		for range r.IntN(30) {
			b.WriteString(parts[r.IntN(len(parts))])
		}
		text := b.String()
		var pieces []string
		maxPiece := 6 // small pieces: held-back bytes joined by copying
		if round%2 == 1 {
			maxPiece = 40 // large ones: held-back bytes settled with the next piece
		}
		for rest := text; rest != ""; {
			n := min(len(rest), r.IntN(maxPiece))
			pieces = append(pieces, rest[:n])
			rest = rest[n:]
		}
		got := streamMask(pieces, secrets)
		if want := maskRef(text, secrets); collapse(got) != want {
			t.Fatalf("round %d: %q in %q: got %q, want %q", round, text, pieces, got, want)
		}
		for _, s := range secrets {
			if strings.Contains(strings.ReplaceAll(got, Masked, "\x00"), s) {
				t.Fatalf("round %d: secret %q in %q", round, s, got)
			}
		}
	}
}

// TestRunLogSecrets: a run log masks a secret split across two writes,
// in lines too, and flushes the held-back end at Finish.
func TestRunLogSecrets(t *testing.T) {
	const p = "2026-11-28 16:40:10 UTC job: j: "
	s := newStore(t, fixedClock(time.Date(2026, 11, 28, 16, 40, 10, 0, time.UTC)), KindJob, "j")
	l, err := s.Create(KindJob, "j", 1)
	if err != nil {
		t.Fatal(err)
	}
	l.SetSecrets([]string{"s3cr3t", ""})
	for _, op := range []op{w("pw=s3c"), w("r3t\nagain s3"), ln("line s3cr3t"), w("tail s3cr")} {
		if op.line {
			err = l.Line(op.s)
		} else {
			_, err = l.Write([]byte(op.s))
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	ref, err := l.Finish("success")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(l.dir + "/" + ref.Name)
	if err != nil {
		t.Fatal(err)
	}
	want := p + "pw=***\n" + p + "again s3line ***\n" + p + "tail s3cr"
	if string(got) != want {
		t.Errorf("log = %q, want %q", got, want)
	}
}

// benchSecrets returns n random secrets of 24 bytes of [a-z0-9].
func benchSecrets(n int) []string {
	r := rand.New(rand.NewPCG(3, 4))
	var secrets []string
	for range n {
		s := make([]byte, 24)
		for i := range s {
			s[i] = "abcdefghijklmnopqrstuvwxyz0123456789"[r.IntN(36)]
		}
		secrets = append(secrets, string(s))
	}
	return secrets
}

// BenchmarkMasker measures the masker alone on 32 KiB chunks of 80-byte
// lines with 1, 3 and 5 secrets of 24 bytes.
func BenchmarkMasker(b *testing.B) {
	chunk := chunk80(32 << 10)
	for _, n := range []int{1, 3, 5} {
		b.Run(fmt.Sprintf("secrets=%d", n), func(b *testing.B) {
			m := newMasker(benchSecrets(n))
			b.SetBytes(int64(len(chunk)))
			for b.Loop() {
				_ = m.feed(chunk, false, func([]byte) error { return nil })
			}
		})
	}
}

// BenchmarkRunLogMask measures the cost of masking on log throughput: each
// iteration streams 200 MB of 80-byte lines in 32 KiB chunks through a
// RunLog with N secrets (24 bytes each; the text holds one occurrence per
// MiB) and the same 200 MB through a RunLog without secrets, in
// alternating 4 MiB blocks, so that both see the same machine. It reports
// ratio = time with secrets / time without (1.05 = 5 % slower) and the
// throughput with secrets; cpu-ratio is the same ratio of the writing
// thread's CPU time (user + system), which the other processes of a busy
// machine disturb much less than the wall clock.
func BenchmarkRunLogMask(b *testing.B) {
	const total, block, chunkSize = 200 << 20, 4 << 20, 32 << 10
	plain := chunk80(chunkSize)
	secrets := benchSecrets(5)
	withSecret := chunk80(chunkSize)
	copy(withSecret[100:], secrets[0])
	for _, n := range []int{1, 3, 5} {
		b.Run(fmt.Sprintf("secrets=%d", n), func(b *testing.B) {
			s, err := New(memDir(b), time.Now)
			if err != nil {
				b.Fatal(err)
			}
			if err := s.Prepare(KindJob, "bench"); err != nil {
				b.Fatal(err)
			}
			var counter int64
			create := func(sec []string) *RunLog {
				counter++
				l, err := s.Create(KindJob, "bench", counter)
				if err != nil {
					b.Fatal(err)
				}
				l.SetSecrets(sec)
				return l
			}
			writeBlock := func(l *RunLog, wall, cpu *time.Duration) {
				start, cpu0 := time.Now(), threadCPU()
				for k := 0; k < block; k += chunkSize {
					c := plain
					if k%(1<<20) == 0 {
						c = withSecret
					}
					if _, err := l.Write(c); err != nil {
						b.Fatal(err)
					}
				}
				*cpu += threadCPU() - cpu0
				*wall += time.Since(start)
			}
			finish := func(l *RunLog) {
				ref, err := l.Finish("success")
				if err == nil {
					err = s.Remove(KindJob, "bench", ref.Name)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			runtime.LockOSThread() // threadCPU measures this thread
			defer runtime.UnlockOSThread()
			var masked, unmasked, cpuMasked, cpuUnmasked time.Duration
			b.SetBytes(total)
			for b.Loop() {
				lm, lp := create(secrets[:n]), create(nil)
				for written := 0; written < total; written += block {
					writeBlock(lm, &masked, &cpuMasked)
					writeBlock(lp, &unmasked, &cpuUnmasked)
				}
				finish(lm)
				finish(lp)
			}
			b.ReportMetric(float64(masked)/float64(unmasked), "ratio")
			b.ReportMetric(float64(cpuMasked)/float64(cpuUnmasked), "cpu-ratio")
			b.ReportMetric(float64(total)*float64(b.N)/masked.Seconds()/1e6, "MB/s-masked")
		})
	}
}

// threadCPU returns the CPU time (user + system) of the calling thread.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(1, &ru) // RUSAGE_THREAD
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
