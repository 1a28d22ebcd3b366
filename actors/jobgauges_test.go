package actors

import (
	"bytes"
	"strconv"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// TestJobGaugeAsGaugeVec: a scrape of a jobGauge is byte for byte the
// scrape of the GaugeVec it replaces, set the same way.
func TestJobGaugeAsGaugeVec(t *testing.T) {
	const name, help = "karajo_test_gauge", "A gauge by job ID and kind."
	vec := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, []string{"job", "kind"})
	g := newJobGauge(name, help)
	sets := []struct {
		kind, id string
		v        float64
	}{
		{"job", "b", 3}, {"job", "a", 1}, {"job_http", "a", 2}, {"job", "b", 0}, {"job", "z-9", 1764700000}, {"job_http", "a", 5},
	}
	for _, s := range sets {
		vec.WithLabelValues(s.id, s.kind).Set(s.v)
		g.set(s.kind, s.id, s.v)
	}
	scrape := func(c prometheus.Collector) string {
		t.Helper()
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(c)
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		for _, mf := range mfs {
			if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
				t.Fatal(err)
			}
		}
		return b.String()
	}
	want, got := scrape(vec), scrape(g)
	if got != want || want == "" {
		t.Errorf("jobGauge scrape:\n%s\nGaugeVec scrape:\n%s", got, want)
	}
	if empty := scrape(newJobGauge(name, help)); empty != "" {
		t.Errorf("a jobGauge without values shows %q", empty)
	}
}

// BenchmarkJobGaugeSet: setting an existing job's value (what a run's end
// does), with x-vec the ratio to the GaugeVec this replaced, measured in
// the same run.
func BenchmarkJobGaugeSet(b *testing.B) {
	const jobs = 10000
	ids := make([]string, jobs)
	vec := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "g", Help: "h"}, []string{"job", "kind"})
	g := newJobGauge("g", "h")
	for i := range ids {
		ids[i] = "job-" + strconv.Itoa(i)
		vec.WithLabelValues(ids[i], "job").Set(1)
		g.set("job", ids[i], 1)
	}
	var vecNs float64
	b.Run("gaugevec", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			vec.WithLabelValues(ids[i%jobs], "job").Set(float64(i))
		}
		vecNs = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	b.Run("jobgauge", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			g.set("job", ids[i%jobs], float64(i))
		}
		if vecNs > 0 {
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/vecNs, "x-vec")
		}
	})
}
