package actors

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the engine's Prometheus collectors. A nil *Metrics records
// nothing, so tests and tools may leave it out.
type Metrics struct {
	runsStarted     *prometheus.CounterVec
	runsFinished    *prometheus.CounterVec
	runDuration     *prometheus.HistogramVec
	slotWait        prometheus.Histogram
	running         prometheus.Gauge
	waiting         prometheus.Gauge
	triggersRefused *prometheus.CounterVec
	lastSuccess     *jobGauge   // jobgauges.go
	logs            *logMetrics // logmetrics.go
	attempts        *prometheus.CounterVec
	overlaps        *prometheus.CounterVec
	deliveries      *prometheus.CounterVec // issue 15: webhook deliveries by job and verdict
	history         *historyMetrics        // history.go
	notif           *notifMetrics          // notifmetrics.go
}

// NewMetrics creates the engine's collectors and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		runsStarted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "karajo_runs_started_total",
			Help: "Runs started, by job ID and kind (job or job_http).",
		}, []string{"job", "kind"}),
		runsFinished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "karajo_runs_finished_total",
			Help: "Runs finished, by job ID, kind and final status (success, failed, canceled).",
		}, []string{"job", "kind", "status"}),
		runDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "karajo_run_duration_seconds",
			Help:    "Duration of finished runs, from the start of the first command (or request) to the end of the log, by kind.",
			Buckets: prometheus.ExponentialBuckets(0.01, 4, 10), // 10 ms … 43 min
		}, []string{"kind"}),
		slotWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "karajo_slot_wait_seconds",
			Help:    "Time exec runs waited for one of the max_job_running slots.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 12), // 0.1 ms … 70 min
		}),
		running: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "karajo_runs_running",
			Help: "Runs executing now (exec and JobHttp).",
		}),
		waiting: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "karajo_runs_waiting",
			Help: "Exec runs waiting for a max_job_running slot (the supervisor's queue length).",
		}),
		triggersRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "karajo_triggers_refused_total",
			Help: "Webhook triggers refused, by reason: paused (412), busy (429), skip (429, overlap = skip), forbidden (403), not_found (404), replayed (409), not_allowed (403, allow_from), ignored (202, events or refs).",
		}, []string{"reason"}),
		lastSuccess: newJobGauge("karajo_last_success_timestamp_seconds",
			"Unix time of the end of the last successful run, by job ID and kind."),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "karajo_attempts_total",
			Help: "Attempts of exec runs that ended, by job ID and outcome: success, failed, timeout (killed by its timeout), canceled.",
		}, []string{"job", "outcome"}),
		overlaps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "karajo_overlaps_total",
			Help: "Triggers and schedule ticks that came while a run was in progress and were skipped, dropped or replaced the run, by job ID, arrival (trigger, tick) and action.",
		}, []string{"job", "arrival", "action"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "karajo_webhook_deliveries_total",
			Help: "Requests to a webhook path, by job ID and verdict: accepted, pong, ignored, bad_request, forbidden, too_large, replayed, paused, busy, error.",
		}, []string{"job", "verdict"}),
	}
	reg.MustRegister(m.attempts, m.overlaps, m.deliveries)
	reg.MustRegister(m.runsStarted, m.runsFinished, m.runDuration, m.slotWait,
		m.running, m.waiting, m.triggersRefused, m.lastSuccess)
	for _, r := range []string{"paused", "busy", "skip", "forbidden", "not_found", "replayed", "not_allowed", "ignored"} {
		m.triggersRefused.WithLabelValues(r)
	}
	m.logs = newLogMetrics(reg)
	m.history = newHistoryMetrics(reg)
	m.notif = newNotifMetrics(reg)
	return m
}

// reserveJobs makes room for n jobs in the per-job gauges.
func (m *Metrics) reserveJobs(n int) {
	if m == nil {
		return
	}
	m.lastSuccess.reserve(n)
	if m.notif != nil {
		m.notif.failures.reserve(n)
	}
}

func (m *Metrics) runStarted(kind, id string) {
	if m == nil {
		return
	}
	m.runsStarted.WithLabelValues(id, kind).Inc()
	m.running.Inc()
}

func (m *Metrics) runFinished(kind, id, status string, d time.Duration, at time.Time) {
	if m == nil {
		return
	}
	m.running.Dec()
	m.runsFinished.WithLabelValues(id, kind, status).Inc()
	m.runDuration.WithLabelValues(kind).Observe(d.Seconds())
	if status == StatusSuccess {
		m.lastSuccess.set(kind, id, float64(at.Unix()))
	}
}

// lastSucceeded sets karajo_last_success_timestamp_seconds of a job from
// its logs at start, so a restart does not make the job look as if it
// never succeeded.
func (m *Metrics) lastSucceeded(kind, id string, at time.Time) {
	if m != nil {
		m.lastSuccess.set(kind, id, float64(at.Unix()))
	}
}

func (m *Metrics) slotWaited(d time.Duration) {
	if m != nil {
		m.slotWait.Observe(d.Seconds())
	}
}

func (m *Metrics) queueLength(n int) {
	if m != nil {
		m.waiting.Set(float64(n))
	}
}

// TriggerRefused counts a refused webhook trigger; reason is one of
// paused, busy, forbidden, not_found.
func (m *Metrics) TriggerRefused(reason string) {
	if m != nil {
		m.triggersRefused.WithLabelValues(reason).Inc()
	}
}

// outcomeNames are the outcome labels of karajo_attempts_total.
var outcomeNames = [...]string{outcomeSuccess: "success", outcomeFailed: "failed", outcomeTimeout: "timeout", outcomeCanceled: "canceled"}

// attemptEnded counts an ended attempt of an exec run by its outcome.
func (m *Metrics) attemptEnded(id string, o attemptOutcome) {
	if m != nil {
		m.attempts.WithLabelValues(id, outcomeNames[o]).Inc()
	}
}

// deliveryRecorded counts a request to the webhook path of job id by
// its verdict.
func (m *Metrics) deliveryRecorded(id, verdict string) {
	if m != nil {
		m.deliveries.WithLabelValues(id, verdict).Inc()
	}
}

// overlapped counts a trigger or tick that the overlap policy skipped,
// dropped or let replace the run in progress.
func (m *Metrics) overlapped(id, arrival, action string) {
	if m != nil {
		m.overlaps.WithLabelValues(id, arrival, action).Inc()
	}
}
