package actors

import (
	"math"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// jobGauge is a gauge with the labels job and kind, one value per job, in
// place of a GaugeVec for the gauges every job sets when it loads
// (karajo_last_success_timestamp_seconds, karajo_job_consecutive_failures):
// a GaugeVec makes a metric object with its label pairs per job, which at
// 100,000 jobs cost a start 0.5 s of CPU and 90 MB of garbage, the jobs
// queueing on its lock. Here a job's value is a float in a cell of its own
// (written with an atomic store), found by a map under a read lock that is
// only written when a job sets its first value; the metrics are made when
// Prometheus collects. What a scrape shows is the same as with a GaugeVec:
// the same name, help, labels and values, a job only once it has set one.
type jobGauge struct {
	desc  *prometheus.Desc
	mu    sync.RWMutex
	cells map[jobGaugeKey]*atomic.Uint64 // math.Float64bits of the value
}

// jobGaugeKey is a job's kind and ID.
type jobGaugeKey struct{ kind, id string }

// newJobGauge returns a jobGauge named name; register it with a Registerer.
func newJobGauge(name, help string) *jobGauge {
	return &jobGauge{
		desc:  prometheus.NewDesc(name, help, []string{"job", "kind"}, nil),
		cells: map[jobGaugeKey]*atomic.Uint64{},
	}
}

// reserve makes room for n jobs (the map grows once, not step by step
// while the jobs load).
func (g *jobGauge) reserve(n int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.cells) == 0 {
		g.cells = make(map[jobGaugeKey]*atomic.Uint64, n)
	}
}

// set sets the job's value.
func (g *jobGauge) set(kind, id string, v float64) {
	k := jobGaugeKey{kind: kind, id: id}
	g.mu.RLock()
	c := g.cells[k]
	g.mu.RUnlock()
	if c == nil {
		g.mu.Lock()
		if c = g.cells[k]; c == nil {
			c = new(atomic.Uint64)
			g.cells[k] = c
		}
		g.mu.Unlock()
	}
	c.Store(math.Float64bits(v))
}

// Describe implements prometheus.Collector.
func (g *jobGauge) Describe(ch chan<- *prometheus.Desc) { ch <- g.desc }

// Collect implements prometheus.Collector: one gauge per job that has a
// value (the registry sorts them).
func (g *jobGauge) Collect(ch chan<- prometheus.Metric) {
	type kv struct {
		k jobGaugeKey
		c *atomic.Uint64
	}
	g.mu.RLock()
	all := make([]kv, 0, len(g.cells))
	for k, c := range g.cells {
		all = append(all, kv{k, c})
	}
	g.mu.RUnlock()
	for _, e := range all {
		ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, math.Float64frombits(e.c.Load()), e.k.id, e.k.kind)
	}
}
