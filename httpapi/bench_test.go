package httpapi

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/karajo/karajo/actors"
	"github.com/karajo/karajo/config"
	"github.com/karajo/karajo/logstore"
)

// benchServer starts an engine over n webhook-only jobs and the API on it.
func benchServer(b *testing.B, n int) (*Server, *actors.Engine) {
	b.Helper()
	dir := b.TempDir()
	var jobs []*config.Job
	for i := range n {
		id := fmt.Sprintf("job%05d", i)
		jobs = append(jobs, &config.Job{Name: "Job " + id, ID: id, Path: "/" + id, AuthKind: config.AuthHMACSHA256,
			HeaderSign: "X-Karajo-Sign", Secret: authSecret, LogRetention: 5,
			Commands: []string{"echo hello $KARAJO_JOB_COUNTER", "echo done"}})
	}
	env := &config.Env{Name: "bench", ListenAddress: "127.0.0.1:0", DirBase: dir, Secret: authSecret,
		HTTPTimeout: 5 * time.Second, MaxJobRunning: 1, ShutdownTimeout: 5 * time.Second,
		SessionIdle: 2 * time.Hour, SessionMax: 24 * time.Hour, Jobs: jobs}
	store, err := logstore.New(dir, nil)
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e, err := actors.Start(env, store, log, actors.Options{ListenAddress: "127.0.0.1:1", Version: "bench"})
	if err != nil {
		b.Fatalf("actors.Start: %v", err)
	}
	s := New(Options{Env: env, Engine: e, Log: log, Version: "bench"})
	b.Cleanup(func() {
		s.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := e.Shutdown(ctx); err != nil {
			b.Errorf("Shutdown: %v", err)
		}
	})
	return s, e
}

// discardWriter is a ResponseWriter that keeps only the status and the
// byte count, so the benchmarks measure the handler, not a recorder.
type discardWriter struct {
	h    http.Header
	code int
	n    int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }
func (w *discardWriter) Write(p []byte) (int, error) { w.n += len(p); return len(p), nil }

func (w *discardWriter) reset() {
	clear(w.h)
	w.code, w.n = 0, 0
}

// BenchmarkEnvironment measures GET /karajo/api/environment through the
// whole handler (ServeHTTP) over 1,000 jobs, gzipped and plain, against
// a handler that writes the same bytes with the same headers ("x-bare").
// "gzip-parallel" asks from 16×GOMAXPROCS goroutines at once.
// "changed" makes a job change before every request (pause and resume in
// turn), so each answer is built and gzipped anew: the cost of a poll
// right after a change. "changed-req" does the same but does not time the
// change (the job saving its state), only the request: snapshot, envelope
// and, when the client accepts it, gzip.
func BenchmarkEnvironment(b *testing.B) {
	s, e := benchServer(b, 1000)
	for _, tt := range []struct {
		name, ae string
		change   bool
		untimed  bool // the change is not timed
	}{
		{"gzip", "gzip, deflate, br, zstd", false, false},
		{"plain", "", false, false},
		{"gzip-changed", "gzip, deflate, br, zstd", true, false},
		{"gzip-changed-req", "gzip, deflate, br, zstd", true, true},
		{"plain-changed-req", "", true, true},
	} {
		b.Run(tt.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, pathEnv, nil)
			req.Host = "localhost"
			if tt.ae != "" {
				req.Header.Set("Accept-Encoding", tt.ae)
			}
			w := &discardWriter{h: http.Header{}}
			s.ServeHTTP(w, req)
			if w.code != http.StatusOK {
				b.Fatalf("GET %s: status %d", pathEnv, w.code)
			}
			// The bare handler answers with the bytes the real one just built.
			a := s.envCache.Load()
			body := a.plain
			if tt.ae != "" {
				var err error
				if body, err = a.gzipped(); err != nil {
					b.Fatal(err)
				}
			}
			bare := func(w http.ResponseWriter, _ *http.Request) {
				h := w.Header()
				h.Set("Content-Type", "application/json")
				h.Add("Vary", "Accept-Encoding")
				if tt.ae != "" {
					h.Set("Content-Encoding", "gzip")
				}
				h.Set("Content-Length", strconv.Itoa(len(body)))
				w.WriteHeader(http.StatusOK)
				_, _ = w.Write(body)
			}
			pid, _ := e.Job("job00000")
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for i := range b.N {
				if tt.change {
					if tt.untimed {
						b.StopTimer()
					}
					var msg any = &actors.Pause{}
					if i%2 == 1 {
						msg = &actors.Resume{}
					}
					if _, err := actors.Ask[*actors.JobView](e.Root(), pid, msg, 10*time.Second); err != nil {
						b.Fatal(err)
					}
					if tt.untimed {
						b.StartTimer()
					}
				}
				w.reset()
				s.ServeHTTP(w, req)
				if w.code != http.StatusOK {
					b.Fatalf("status %d", w.code)
				}
			}
			took := time.Since(start)
			if tt.untimed {
				took = b.Elapsed()
			}
			b.StopTimer()
			start = time.Now()
			for range b.N {
				w.reset()
				bare(w, req)
			}
			b.ReportMetric(float64(took)/float64(time.Since(start)), "x-bare")
		})
	}
	// Many goroutines at once, as 32 polling clients are (gzip, unchanged).
	b.Run("gzip-parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(16)
		b.RunParallel(func(pb *testing.PB) {
			req := httptest.NewRequest(http.MethodGet, pathEnv, nil)
			req.Host = "localhost"
			req.Header.Set("Accept-Encoding", "gzip")
			w := &discardWriter{h: http.Header{}}
			for pb.Next() {
				w.reset()
				s.ServeHTTP(w, req)
				if w.code != http.StatusOK {
					b.Errorf("status %d", w.code)
					return
				}
			}
		})
	})
}

// BenchmarkVerifyWebhook measures webhook signature verification of a
// small JSON body for each auth kind, against computing the HMAC-SHA256
// alone ("x-hmac").
func BenchmarkVerifyWebhook(b *testing.B) {
	body := []byte(`{"_karajo_epoch":1677350854}`)
	mac := func() string {
		m := hmac.New(sha256.New, []byte(authSecret))
		m.Write(body)
		return hex.EncodeToString(m.Sum(nil))
	}
	sig := mac()
	for _, tt := range []struct {
		name, kind string
		h          http.Header
	}{
		{"hmac-sha256", config.AuthHMACSHA256, http.Header{"X-Karajo-Sign": {sig}}},
		{"github", config.AuthGitHub, http.Header{"X-Hub-Signature-256": {"sha256=" + sig}}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			start := time.Now()
			for range b.N {
				if err := verifyWebhook(tt.kind, "X-Karajo-Sign", authSecret, tt.h, body); err != nil {
					b.Fatal(err)
				}
			}
			took := time.Since(start)
			b.StopTimer()
			start = time.Now()
			for range b.N {
				if mac() != sig {
					b.Fatal("mac")
				}
			}
			b.ReportMetric(float64(took)/float64(time.Since(start)), "x-hmac")
		})
	}
}

// BenchmarkVerifyWebhookSenders measures the kinds and the secret
// rotation of issue 15 on the same body, as ratios to one HMAC-SHA256
// ("x-hmac") measured in the same run: "rotated" lists two secrets and
// the second matches (both HMACs are computed and compared).
func BenchmarkVerifyWebhookSenders(b *testing.B) {
	body := []byte(`{"_karajo_epoch":1677350854}`)
	sig := signHMAC(authSecret, body)
	rotated := []string{"new-" + authSecret, authSecret}
	for _, tt := range []struct {
		name, kind string
		secrets    []string
		h          http.Header
	}{
		{"hmac-sha256", config.AuthHMACSHA256, []string{authSecret}, http.Header{"X-Karajo-Sign": {sig}}},
		{"hmac-sha256-rotated", config.AuthHMACSHA256, rotated, http.Header{"X-Karajo-Sign": {sig}}},
		{"gitea", config.AuthGitea, []string{authSecret}, http.Header{"X-Gitea-Signature": {sig}}},
		{"gitlab", config.AuthGitLab, []string{authSecret}, http.Header{"X-Gitlab-Token": {authSecret}}},
		{"hmac-sha512", config.AuthHMACSHA512, []string{authSecret}, http.Header{"X-Karajo-Sign": {macHex(sha512.New, authSecret, body)}}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			start := time.Now()
			for range b.N {
				if err := verifyWebhookAny(tt.kind, "X-Karajo-Sign", tt.secrets, tt.h, body); err != nil {
					b.Fatal(err)
				}
			}
			took := time.Since(start)
			b.StopTimer()
			start = time.Now()
			for range b.N {
				if signHMAC(authSecret, body) != sig {
					b.Fatal("mac")
				}
			}
			b.ReportMetric(float64(took)/float64(time.Since(start)), "x-hmac")
		})
	}
}
