package actors

import (
	"bytes"
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
