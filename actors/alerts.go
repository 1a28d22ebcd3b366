package actors

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/karajo/karajo/config"
)

// jobAlerts is a job actor's alert machinery (issue 16): the state the
// policy (alertpolicy.go) decides on, and the dead-man's timer. It belongs
// to the job actor like the rest of its fields.
type jobAlerts struct {
	state  alertState
	active bool        // the job has an alert rule: the state is saved in its .alerts file
	timer  *time.Timer // fires alertDue; nil when the switch is off or has fired
	gen    uint64
}

// alertDue is a job's dead-man's timer firing; gen tells a stale timer apart.
type alertDue struct {
	gen uint64
}

// alertConfig is the job's alert settings.
func (j *job) alertConfig() config.Alerts {
	if j.exec != nil {
		return j.exec.Alerts
	}
	return j.http.Alerts
}

// rules is the part of the settings the policy decides by.
func (j *job) rules() alertRules {
	a := j.alertConfig()
	return alertRules{streak: a.FailedStreak, window: a.NoSuccessWithin}
}

// hasAlertRules reports whether a sets any alert rule.
func hasAlertRules(a config.Alerts) bool {
	return a.FailedStreak > 0 || len(a.NotifOnRecovered) > 0 || a.NoSuccessWithin > 0
}

// startAlerts loads the alert state once the job has loaded its logs: from
// its .alerts file, else (no file, or one that misses runs in the logs)
// rebuilt from the logs, the time of each from its file. A job without
// alert rules only counts its trailing failures, for the metric, and keeps
// no file. The dead-man's switch is checked at once (the server may have
// been down past it) and armed.
func (j *job) startAlerts(ctx actor.Context) {
	j.al.active = hasAlertRules(j.alertConfig())
	if !j.al.active {
		j.al.state = deriveAlertState(j.rules(), j.pastRuns(false), now())
		j.rt.metrics.consecutiveFailures(string(j.kind), j.id, j.al.state.Failures)
		return
	}
	var s alertState
	data, err := j.store.LoadAlerts(j.kind, j.id)
	if err == nil && data != nil {
		err = json.Unmarshal(data, &s)
	}
	if err != nil {
		j.log.Warn("alert state unreadable: rebuilt from the logs", string(j.kind), j.id, "err", err)
	}
	if runs := j.pastRuns(false); err != nil || data == nil || s.stale(lastCounter(runs)) {
		s = deriveAlertState(j.rules(), j.pastRuns(true), now())
		j.al.state = s
		j.saveAlerts()
	}
	j.al.state = s // (saveAlerts wrote j.al.state)
	j.rt.metrics.consecutiveFailures(string(j.kind), j.id, j.al.state.Failures)
	j.onAlertDue(ctx, j.al.gen)
}

// lastCounter is the highest counter of runs (ascending), 0 without any.
func lastCounter(runs []pastRun) int64 {
	if len(runs) == 0 {
		return 0
	}
	return runs[len(runs)-1].counter
}

// reconfigureAlerts applies changed alert settings (a reload): a job that
// gains rules starts watching, one that loses them stops, and the
// dead-man's timer follows the new window.
func (j *job) reconfigureAlerts(ctx actor.Context) {
	if hasAlertRules(j.alertConfig()) != j.al.active {
		j.stopAlertTimer()
		j.startAlerts(ctx)
		return
	}
	if j.al.active {
		j.armAlert(ctx)
	}
}

// pastRuns lists the job's finished runs from its kept logs, oldest first;
// withTimes stats each file for its end.
func (j *job) pastRuns(withTimes bool) []pastRun {
	runs := make([]pastRun, 0, len(j.logs))
	dir := j.store.LogDir(j.kind, j.id)
	for _, ref := range j.logs {
		if ref.Status == "" {
			continue
		}
		p := pastRun{counter: ref.Counter, status: ref.Status}
		if withTimes {
			if fi, err := os.Stat(filepath.Join(dir, ref.Name)); err == nil {
				p.end = fi.ModTime().Round(time.Second).UTC()
			}
		}
		runs = append(runs, p)
	}
	return runs
}

// saveAlerts writes the alert state; a failure is logged (the state is
// rebuilt from the logs at the next start).
func (j *job) saveAlerts() {
	data, err := json.Marshal(&j.al.state)
	if err == nil {
		err = j.store.SaveAlerts(j.kind, j.id, append(data, '\n'))
	}
	if err != nil {
		j.log.Warn("save alert state", string(j.kind), j.id, "err", err)
	}
}

// armAlert (re)arms the dead-man's timer for the state's due time.
func (j *job) armAlert(ctx actor.Context) {
	j.stopAlertTimer()
	due := j.al.state.due(j.rules())
	if due.IsZero() {
		return
	}
	root, self, gen := ctx.ActorSystem().Root, ctx.Self(), j.al.gen
	j.al.timer = time.AfterFunc(max(time.Until(due), 0), func() { root.Send(self, &alertDue{gen: gen}) })
}

// stopAlertTimer stops the dead-man's timer; a firing already sent is
// ignored by its generation.
func (j *job) stopAlertTimer() {
	j.al.gen++
	if j.al.timer != nil {
		j.al.timer.Stop()
		j.al.timer = nil
	}
}

// onAlertDue fires the dead-man's switch when it is due (once until the
// next success), and arms the timer for later otherwise.
func (j *job) onAlertDue(ctx actor.Context, gen uint64) {
	if gen != j.al.gen || !j.al.active {
		return
	}
	r := j.rules()
	if !j.al.state.check(r, now()) {
		j.armAlert(ctx)
		return
	}
	j.al.timer = nil
	j.saveAlerts()
	text := noSuccessText(string(j.kind), j.id, r.window, &j.al.state)
	j.log.Warn("alert: no successful run", string(j.kind), j.id, "within", r.window, "since", stamp(j.al.state.reference()))
	j.sendNotif(ctx, &notifyRun{event: eventNoSuccess, title: "no successful run within " + r.window.String(), text: text,
		counter: j.counter}, j.alertConfig().NotifOnAlert)
}

// notify applies the alert policy to a finished run and queues its
// notifications (SPEC 10.1, for both kinds: v0.9.3 ignores them on
// JobHttp, this project does not): notif_on_success, notif_on_failed
// (every failure, or once at the streak's threshold) and notif_on_recovered.
func (j *job) notify(ctx actor.Context, msg *runFinished) {
	r := j.rules()
	d := j.al.state.onRun(r, msg.status, msg.counter, now())
	j.rt.metrics.consecutiveFailures(string(j.kind), j.id, j.al.state.Failures)
	if j.al.active {
		j.saveAlerts()
		j.armAlert(ctx)
	}
	if msg.ref.Name == "" {
		return // no log to show
	}
	run := j.runNotif(msg)
	switch {
	case msg.status == StatusSuccess:
		j.sendNotif(ctx, run, j.notifNames(true))
	case d.notifyFailed && r.streak > 0:
		streak := *run
		streak.event, streak.title = eventStreak, "failed "+strconv.Itoa(d.failures)+" times in a row"
		streak.text = streakText(string(j.kind), j.id, msg.counter, d)
		j.log.Warn("alert: failed streak", string(j.kind), j.id, "failures", d.failures, "since", stamp(d.since))
		j.sendNotif(ctx, &streak, j.notifNames(false))
	case d.notifyFailed:
		j.sendNotif(ctx, run, j.notifNames(false))
	}
	if d.recovered {
		rec := *run
		rec.event, rec.title = eventRecovered, "recovered"
		rec.text = recoveredText(string(j.kind), j.id, msg.counter, d)
		j.log.Info("alert: recovered", string(j.kind), j.id, "counter", msg.counter, "since", stamp(d.since))
		j.sendNotif(ctx, &rec, j.alertConfig().NotifOnRecovered)
	}
}

// notifNames is notif_on_success (success) or notif_on_failed.
func (j *job) notifNames(success bool) []string {
	switch {
	case j.exec != nil && success:
		return j.exec.NotifOnSuccess
	case j.exec != nil:
		return j.exec.NotifOnFailed
	case success:
		return j.http.NotifOnSuccess
	}
	return j.http.NotifOnFailed
}

// runNotif describes a finished run for the notifier.
func (j *job) runNotif(msg *runFinished) *notifyRun {
	return &notifyRun{
		event:   eventRun,
		counter: msg.counter,
		status:  msg.status,
		logPath: filepath.Join(j.store.LogDir(j.kind, j.id), msg.ref.Name),
		jobName: j.name(),
		trigger: j.runTrigger,
		started: j.startedAt,
		dur:     msg.dur,
	}
}

// sendNotif fills in the job and sends n to the notifier for names, if
// any; without a notifier (no notifs configured) nothing is sent.
func (j *job) sendNotif(ctx actor.Context, n *notifyRun, names []string) {
	if j.rt.notifier == nil || len(names) == 0 {
		return
	}
	n.kind, n.jobID, n.jobName, n.names = string(j.kind), j.id, j.name(), names
	ctx.Send(j.rt.notifier, n)
}

// name is the job's configured name.
func (j *job) name() string {
	if j.exec != nil {
		return j.exec.Name
	}
	return j.http.Name
}
