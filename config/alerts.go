package config

import "time"

// MinAlertWindow is the shortest alert_if_no_success_within.
const MinAlertWindow = time.Minute

// Alerts are a job's alert rules (issue 16), beyond the per-run
// notif_on_success / notif_on_failed.
type Alerts struct {
	// FailedStreak is notif_on_failed_streak: with it, notif_on_failed
	// notifies only at the FailedStreak-th failure in a row, once per
	// streak. 0 = every failure notifies (v0.9.3).
	FailedStreak int
	// NotifOnRecovered names the notifs told of the first success after a
	// streak that reached FailedStreak (1 without it) or after an alert.
	NotifOnRecovered []string
	// NoSuccessWithin is alert_if_no_success_within: the dead-man's switch
	// fires once when the job has had no successful run for this long.
	// 0 = off; else at least MinAlertWindow.
	NoSuccessWithin time.Duration
	// NotifOnAlert names the notifs told when the switch fires.
	NotifOnAlert []string
}

// alertsTOML are the alert keys of [job] and [job_http] tables.
type alertsTOML struct {
	NotifOnFailedStreak    *int     `toml:"notif_on_failed_streak"` // nil: absent
	NotifOnRecovered       []string `toml:"notif_on_recovered"`
	AlertIfNoSuccessWithin duration `toml:"alert_if_no_success_within"`
	NotifOnAlert           []string `toml:"notif_on_alert"`
}

// alerts checks the alert keys of the job table at table and returns them.
func (c *checker) alerts(env *Env, file, table string, t *alertsTOML) Alerts {
	a := Alerts{NotifOnRecovered: t.NotifOnRecovered, NotifOnAlert: t.NotifOnAlert}
	if p := t.NotifOnFailedStreak; p != nil {
		if *p < 1 {
			c.fail(file, table+".notif_on_failed_streak", "must be at least 1, got %d", *p)
		}
		a.FailedStreak = *p
	}
	a.NoSuccessWithin = c.duration(file, table+".alert_if_no_success_within", t.AlertIfNoSuccessWithin)
	switch raw := t.AlertIfNoSuccessWithin.raw; {
	case raw != "" && a.NoSuccessWithin < MinAlertWindow && t.AlertIfNoSuccessWithin.err == nil:
		c.fail(file, table+".alert_if_no_success_within", "must be at least %v, got %q", MinAlertWindow, raw)
	case a.NoSuccessWithin > 0 && len(a.NotifOnAlert) == 0:
		c.warn(file, table+".alert_if_no_success_within", "set but notif_on_alert is empty: the alert is only logged")
	case a.NoSuccessWithin == 0 && len(a.NotifOnAlert) > 0:
		c.warn(file, table+".notif_on_alert", "set but alert_if_no_success_within is not: nothing alerts")
	}
	c.notifRefs(env, file, table+".notif_on_recovered", a.NotifOnRecovered)
	c.notifRefs(env, file, table+".notif_on_alert", a.NotifOnAlert)
	return a
}
