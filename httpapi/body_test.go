package httpapi

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/karajo/karajo/actors"
	"github.com/karajo/karajo/config"
)

// TestReadSigned: a body is verified as it streams; kept, it comes back
// whole from memory or from the spool file; not kept, only its size.
func TestReadSigned(t *testing.T) {
	for _, n := range []int{0, 10, spoolAbove, spoolAbove + 1, 300 << 10} {
		body := make([]byte, n)
		_, _ = rand.Read(body)
		h := http.Header{"X-Karajo-Sign": {signHMAC("k", body)}}
		for _, keep := range []bool{false, true} {
			check, err := newWebhookCheck(config.AuthHMACSHA256, "", []string{"k"}, h)
			if err != nil {
				t.Fatal(err)
			}
			vb, err := readSigned(httptest.NewRecorder(), bytes.NewReader(body), 1<<20, check, keep, t.TempDir())
			if err != nil {
				t.Fatalf("%d bytes, keep %v: %v", n, keep, err)
			}
			if vb.Size() != int64(n) {
				t.Errorf("%d bytes, keep %v: Size = %d", n, keep, vb.Size())
			}
			if keep {
				if spooled := vb.file != nil; spooled != (n > spoolAbove) {
					t.Errorf("%d bytes: spooled = %v", n, spooled)
				}
				got, _ := io.ReadAll(vb.Open())
				if !bytes.Equal(got, body) {
					t.Errorf("%d bytes: Open gives %d different bytes", n, len(got))
				}
			}
			if err := vb.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		}
		// A body that does not match its signature is refused at its end.
		bad := append(append([]byte{}, body...), 'x')
		check, _ := newWebhookCheck(config.AuthHMACSHA256, "", []string{"k"}, h)
		if _, err := readSigned(httptest.NewRecorder(), bytes.NewReader(bad), 1<<20, check, true, t.TempDir()); !errors.Is(err, errForbidden) {
			t.Errorf("%d bytes + 1: err = %v, want errForbidden", n, err)
		}
	}
	// Over the cap: a *http.MaxBytesError.
	check, _ := newWebhookCheck(config.AuthHMACSHA256, "", []string{"k"}, http.Header{"X-Karajo-Sign": {"00"}})
	_, err := readSigned(httptest.NewRecorder(), strings.NewReader(strings.Repeat("a", 2000)), 1000, check, false, "")
	var mbe *http.MaxBytesError
	if !errors.As(err, &mbe) {
		t.Errorf("over the cap: err = %v, want *http.MaxBytesError", err)
	}
}

// TestBodyBudget: bytes are charged as they arrive and given back.
func TestBodyBudget(t *testing.T) {
	var b bodyBudget
	one := &budgetBody{ReadCloser: io.NopCloser(strings.NewReader(strings.Repeat("a", 600))), budget: &b, limit: 1000}
	two := &budgetBody{ReadCloser: io.NopCloser(strings.NewReader(strings.Repeat("b", 600))), budget: &b, limit: 1000}
	if _, err := io.ReadAll(one); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(two); !errors.Is(err, errBodyBudget) {
		t.Fatalf("second body past the budget: err = %v, want errBodyBudget", err)
	}
	one.release()
	two.release()
	if got := b.used.Load(); got != 0 {
		t.Fatalf("after release: %d bytes in flight, want 0", got)
	}
	if toAPIError(errBodyBudget).Code != http.StatusServiceUnavailable {
		t.Error("errBodyBudget is not a 503")
	}
}

// trapBody fails the test's expectations by counting any read.
type trapBody struct{ reads *atomic.Int64 }

func (b trapBody) Read(p []byte) (int, error) { b.reads.Add(1); return 0, io.ErrUnexpectedEOF }
func (b trapBody) Close() error               { return nil }

// TestRunBeforeBody: what does not depend on the body is answered
// without reading any of it.
func TestRunBeforeBody(t *testing.T) {
	f := newAuthFixture(t, nil, func(env *config.Env) { env.Limits.MaxBodyBytesInFlight = 1 << 20 })
	for _, tt := range []struct {
		name, path string
		length     int64
		sign       bool
		code       int
	}{
		{"unknown path", "/karajo/api/job_exec/run/nope", 33554431, true, 404},
		{"over the cap", "/karajo/api/job_exec/run/e", maxRunBody + 1, true, 413},
		{"no signature", "/karajo/api/job_exec/run/e", 1000, false, 403},
		{"over the budget", "/karajo/api/job_exec/run/e", 2 << 20, true, 503},
	} {
		var reads atomic.Int64
		r := httptest.NewRequest("POST", tt.path, nil)
		r.Host = "localhost"
		r.Body, r.ContentLength = trapBody{&reads}, tt.length
		if tt.sign {
			r.Header.Set("X-Karajo-Sign", strings.Repeat("0", 64))
		}
		w := httptest.NewRecorder()
		f.s.ServeHTTP(w, r)
		if w.Code != tt.code || reads.Load() != 0 {
			t.Errorf("%s: %d %s after %d reads, want %d and no read", tt.name, w.Code, w.Body, reads.Load(), tt.code)
		}
	}
}

// BenchmarkReadSigned measures reading and verifying a webhook body as it
// streams (readSigned, not kept) against reading it whole and verifying it
// after (the way before issue 14), for a small and a large body; x-readall
// is the ratio of the two in the same run.
func BenchmarkReadSigned(b *testing.B) {
	for _, n := range []int{28, 64 << 10, 1 << 20} {
		body := bytes.Repeat([]byte("a"), n)
		h := http.Header{"X-Karajo-Sign": {signHMAC(authSecret, body)}}
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(n))
			w := httptest.NewRecorder()
			var took [2]time.Duration
			for i := range 2 {
				start := time.Now()
				for range b.N {
					if i == 0 {
						check, err := newWebhookCheck(config.AuthHMACSHA256, "", []string{authSecret}, h)
						if err != nil {
							b.Fatal(err)
						}
						if _, err := readSigned(w, bytes.NewReader(body), maxRunBody, check, false, ""); err != nil {
							b.Fatal(err)
						}
						continue
					}
					all, err := io.ReadAll(http.MaxBytesReader(w, io.NopCloser(bytes.NewReader(body)), maxRunBody))
					if err != nil {
						b.Fatal(err)
					}
					if err := verifyWebhook(config.AuthHMACSHA256, "", authSecret, h, all); err != nil {
						b.Fatal(err)
					}
				}
				took[i] = time.Since(start)
				if i == 0 {
					b.StopTimer()
				}
			}
			b.ReportMetric(float64(took[0])/float64(took[1]), "x-readall")
		})
	}
}

// BenchmarkFrontDoorChecks measures what every request pays at the front
// door before routing (Host check, proxied-client count, body set-up),
// for a GET as the environment polls send it; x-env is its share of a
// whole GET /karajo/api/environment in the same run.
func BenchmarkFrontDoorChecks(b *testing.B) {
	f := newAuthFixture(b, nil, nil)
	req := httptest.NewRequest(http.MethodGet, pathEnv, nil)
	req.Host = "localhost:31937"
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	start := time.Now()
	for range b.N {
		if f.s.checkHost(w, req) {
			b.Fatal("host refused")
		}
		r, done := f.s.frontBody(w, req)
		release, ok := f.s.limitProxied(w, r)
		if !ok {
			b.Fatal("refused")
		}
		release()
		done()
	}
	checks := time.Since(start)
	b.StopTimer()
	start = time.Now()
	for range b.N {
		w.reset()
		f.s.ServeHTTP(w, req)
	}
	b.ReportMetric(float64(checks)/float64(time.Since(start)), "x-env")
}

// TestRunPausedPayload: a paused job that takes its payload answers a
// signed webhook 412 (its payload not kept) and a badly signed one 403,
// in SPEC order; resumed, the same webhook is accepted.
func TestRunPausedPayload(t *testing.T) {
	f := newAuthFixture(t, nil, func(env *config.Env) { env.Jobs[0].PassPayload = config.PayloadFile })
	pid, _ := f.e.Job("e")
	if _, err := actors.Ask[*actors.JobView](f.e.Root(), pid, &actors.Pause{}, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	body := bytes.Repeat([]byte("p"), 200<<10)
	post := func(sig string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/karajo/api/job_exec/run/e", bytes.NewReader(body))
		r.Host = "localhost"
		r.Header.Set("X-Karajo-Sign", sig)
		w := httptest.NewRecorder()
		f.s.ServeHTTP(w, r)
		return w
	}
	if w := post(strings.Repeat("0", 64)); w.Code != http.StatusForbidden {
		t.Errorf("paused, bad signature: %d %s, want 403", w.Code, w.Body)
	}
	if w := post(signHMAC(authSecret, body)); w.Code != http.StatusPreconditionFailed {
		t.Errorf("paused, good signature: %d %s, want 412", w.Code, w.Body)
	}
	if _, err := actors.Ask[*actors.JobView](f.e.Root(), pid, &actors.Resume{}, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if w := post(signHMAC(authSecret, body)); w.Code != http.StatusOK {
		t.Errorf("resumed: %d %s, want 200", w.Code, w.Body)
	}
}
