package main

import (
	"fmt"
	"time"
)

// apiRead polls GET /karajo/api/environment with many keep-alive clients
// over webhook-only jobs (nothing runs).
func (b *bench) apiRead() error {
	for _, n := range b.apiSizes() {
		if err := b.apiReadSize(n); err != nil {
			return fmt.Errorf("%d jobs: %w", n, err)
		}
	}
	return nil
}

func (b *bench) apiReadSize(n int) error {
	dir, err := b.newDir(fmt.Sprintf("api%d", n))
	if err != nil {
		return err
	}
	defer b.removeDir(dir)
	s, err := b.startReady(dir, karajoConfig{jobs: webhookJobs(n), manyClients: true}, 2*time.Minute)
	if err != nil {
		return err
	}
	defer b.stopServer(s)
	gz, err := b.fetchEnv(s, n)
	if err != nil {
		return err
	}
	b.logf("   environment of %d jobs: %d bytes gzip", n, len(gz))
	for _, c := range []int{1, 32, 256} {
		var rps, p50, p99, hung, failed []float64
		for range b.rounds {
			r := load(s.base+envPath, c, b.roundDur(), browserAE)
			rps = append(rps, r.rps)
			p50 = append(p50, ms(r.p50))
			p99 = append(p99, ms(r.p99))
			hung = append(hung, float64(r.hung))
			failed = append(failed, float64(r.failed))
			if r.hung+r.failed > 0 {
				b.note("api-read %d jobs, %d clients: %d requests hung (no answer in %v), %d failed; first error: %v",
					n, c, r.hung, requestTimeout, r.failed, r.firstErr)
			}
		}
		what := fmt.Sprintf("environment, %s jobs, %s", num(float64(n)), clients(c))
		b.add(row{scenario: "api-read", figure: what + ": requests/s", unit: "req/s", vals: rps, limit: bareKey(n, min(c, 32))})
		b.add(row{scenario: "api-read", figure: what + ": p50", unit: "ms", vals: p50})
		b.add(row{scenario: "api-read", figure: what + ": p99", unit: "ms", vals: p99})
		b.add(row{scenario: "api-read", figure: what + ": hung (10 s) + failed", unit: "requests", vals: sumVals(hung, failed)})
	}
	return nil
}

func sumVals(a, b []float64) []float64 {
	out := make([]float64, len(a))
	for i := range a {
		out[i] = a[i] + b[i]
	}
	return out
}
