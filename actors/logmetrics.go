package actors

import "github.com/prometheus/client_golang/prometheus"

// logMetrics count the runs whose log failed: a run that could not start
// because its log could not be created, and a run whose log writes failed
// (once per run), by job ID and kind.
type logMetrics struct {
	createErrors *prometheus.CounterVec
	writeErrors  *prometheus.CounterVec
}

// newLogMetrics creates the log failure counters and registers them with reg.
func newLogMetrics(reg prometheus.Registerer) *logMetrics {
	m := &logMetrics{
		createErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "karajo_log_create_errors_total",
			Help: "Runs that did not start because their log could not be created, by job ID and kind.",
		}, []string{"job", "kind"}),
		writeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "karajo_log_write_errors_total",
			Help: "Runs whose log writes failed (counted once per run; the run ends failed), by job ID and kind.",
		}, []string{"job", "kind"}),
	}
	reg.MustRegister(m.createErrors, m.writeErrors)
	return m
}

// logCreateFailed counts a run that did not start for want of a log.
func (m *Metrics) logCreateFailed(kind, id string) {
	if m != nil && m.logs != nil {
		m.logs.createErrors.WithLabelValues(id, kind).Inc()
	}
}

// logWriteFailed counts a run whose log writes failed. It may be called
// from any goroutine.
func (m *Metrics) logWriteFailed(kind, id string) {
	if m != nil && m.logs != nil {
		m.logs.writeErrors.WithLabelValues(id, kind).Inc()
	}
}
