package actors

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/karajo/karajo/config"
	"github.com/karajo/karajo/logstore"
)

// TestDeadMansTimer runs the dead-man's switch in an engine, with a window
// far below the configuration's minimum: it fires on its timer (the job
// never ran), a success is a recovery and re-arms it, and it fires again
// when the window passes once more without a success.
func TestDeadMansTimer(t *testing.T) {
	rec := newHookReceiver(t)
	hook := &config.Notif{Name: "hook", Kind: config.NotifWebhook, URL: rec.srv.URL}
	job := &config.Job{ID: "quiet", Name: "Quiet", Commands: []string{"true"}, LogRetention: 5,
		Alerts: config.Alerts{NoSuccessWithin: 1500 * time.Millisecond, NotifOnAlert: []string{"hook"}, NotifOnRecovered: []string{"hook"}}}
	env := &config.Env{DirBase: t.TempDir(), MaxJobRunning: 1, Jobs: []*config.Job{job}, Secret: "s",
		Notifs: map[string]*config.Notif{"hook": hook}}
	e, store := startEnv(t, env)
	events := func() []string {
		var out []string
		for _, p := range rec.posts() {
			var d struct{ Event, Message string }
			if err := json.Unmarshal(p.body, &d); err != nil {
				t.Fatal(err)
			}
			out = append(out, d.Event)
		}
		return out
	}
	waitMail(t, "the first alert", func() bool { return len(rec.posts()) >= 1 })
	if _, err := ask[*JobView](t, e, "quiet", &Trigger{Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	waitMail(t, "recovered, then the second alert", func() bool { return len(rec.posts()) >= 3 })
	if got := fmt.Sprint(events()); got != "[no_success recovered no_success]" {
		t.Fatalf("events %s", got)
	}
	data, err := store.LoadAlerts("job", "quiet")
	if err != nil || !strings.Contains(string(data), `"alerted_at"`) || !strings.Contains(string(data), `"last_success"`) {
		t.Fatalf("alerts file %s, %v: want the last success and the alert", data, err)
	}
}

// TestNotifierAlertMail: an alert by e-mail has the alert's subject and
// starts with its line; a streak alert also carries the run's log.
func TestNotifierAlertMail(t *testing.T) {
	rec, port := startSMTP(t, "127.0.0.1", smtpPlain, tls.Certificate{})
	nt := startNotifier(t, map[string]*config.Notif{"ops": mailNotif("smtp", "127.0.0.1", port)}, notifierOptions{})
	text := "job b: no successful run within 25h0m0s: the last one ended 2026-01-01T00:00:00Z"
	nt.system.Root.Send(nt.pid, &notifyRun{kind: "job", jobID: "b", counter: 4, names: []string{"ops"},
		event: eventNoSuccess, title: "no successful run within 25h0m0s", text: text})
	waitMail(t, "the alert mail", func() bool { return len(rec.received()) == 1 })
	checkMail(t, rec.received()[0], "job: b: no successful run within 25h0m0s", text+"\n\n")

	path := writeMailLog(t, mailLog)
	streak := "job b: failed 3 times in a row since 2026-01-01T00:00:00Z (last: run #5)"
	nt.system.Root.Send(nt.pid, &notifyRun{kind: "job", jobID: "b", counter: 5, status: "failed", logPath: path,
		names: []string{"ops"}, event: eventStreak, title: "failed 3 times in a row", text: streak})
	waitMail(t, "the streak mail", func() bool { return len(rec.received()) == 2 })
	checkMail(t, rec.received()[1], "job: b: failed 3 times in a row", streak+"\n\n"+mailLog)
}

// TestAlertsFileRebuilt: an alert file that a crash left torn, or one that
// misses a run found in the logs, is rebuilt from the logs at start.
func TestAlertsFileRebuilt(t *testing.T) {
	for name, content := range map[string]string{
		"torn":  `{"watching_since":"2026-01-02T03:00:00Z","failures":0,"counter":2}"failures":7}`,
		"stale": `{"watching_since":"2026-01-02T03:00:00Z","failures":0,"counter":1}`,
		"empty": ``,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			store, err := logstore.New(dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			logDir := store.LogDir("job", "j")
			if err := os.MkdirAll(logDir, 0o700); err != nil {
				t.Fatal(err)
			}
			for _, n := range []string{"j.1.failed", "j.2.failed"} {
				if err := os.WriteFile(filepath.Join(logDir, n), []byte("x\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.MkdirAll(filepath.Dir(store.AlertsPath("job", "j")), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(store.AlertsPath("job", "j"), []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			job := &config.Job{ID: "j", Name: "j", Commands: []string{"true"}, LogRetention: 5,
				Alerts: config.Alerts{FailedStreak: 2}}
			startEnv(t, &config.Env{DirBase: dir, MaxJobRunning: 1, Jobs: []*config.Job{job}, Secret: "s"})
			data, err := store.LoadAlerts("job", "j")
			var s alertState
			if err != nil || json.Unmarshal(data, &s) != nil || s.Failures != 2 || !s.StreakNotified || s.Counter != 2 {
				t.Fatalf("alert file after start: %s (%v), want 2 failures from the logs", data, err)
			}
		})
	}
}
