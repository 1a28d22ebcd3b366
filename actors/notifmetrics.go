package actors

import "github.com/prometheus/client_golang/prometheus"

// notifMetrics are the collectors of notifications and alerts (issue 16).
type notifMetrics struct {
	failures *jobGauge              // karajo_job_consecutive_failures (jobgauges.go)
	sent     *prometheus.CounterVec // karajo_notifications_total
}

// newNotifMetrics creates the collectors and registers them with reg.
func newNotifMetrics(reg prometheus.Registerer) *notifMetrics {
	m := &notifMetrics{
		failures: newJobGauge("karajo_job_consecutive_failures",
			"Failed runs in a row (0 after a success), by job ID and kind; rebuilt from the logs at start."),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "karajo_notifications_total",
			Help: "Notifications by notif kind (email, webhook, slack) and result: sent, failed (every attempt failed), dropped (queue full or notifier stopped).",
		}, []string{"kind", "result"}),
	}
	reg.MustRegister(m.failures, m.sent)
	for _, k := range []string{"email", "webhook", "slack"} {
		for _, r := range []string{"sent", "failed", "dropped"} {
			m.sent.WithLabelValues(k, r)
		}
	}
	return m
}

// consecutiveFailures sets a job's failures in a row.
func (m *Metrics) consecutiveFailures(kind, id string, n int) {
	if m == nil || m.notif == nil {
		return
	}
	m.notif.failures.set(kind, id, float64(n))
}

// notification counts one notification of a notif kind by result.
func (m *Metrics) notification(kind, result string) {
	if m == nil || m.notif == nil {
		return
	}
	m.notif.sent.WithLabelValues(kind, result).Inc()
}
