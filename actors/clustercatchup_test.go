package actors

import (
	"strings"
	"testing"
	"time"

	"github.com/karajo/karajo/actors/cluster"
	"github.com/karajo/karajo/config"
	"github.com/karajo/karajo/config/schedule"
	"github.com/karajo/karajo/logstore/history"
)

// TestClusterBacklog: the points a job catches up once the cluster tells
// its cursor, by rule, with what is already queued.
func TestClusterBacklog(t *testing.T) {
	s, err := schedule.ParseCron("*/10 * * * * *", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	at := func(sec int) time.Time { return time.Date(2026, 1, 1, 0, 0, sec, 0, time.UTC) }
	due := func(secs ...int) []duePoint {
		var out []duePoint
		for _, sec := range secs {
			out = append(out, duePoint{nominal: at(sec), fire: at(sec), reason: triggerCatchUp})
		}
		return out
	}
	now := at(45)
	for _, tc := range []struct {
		name    string
		plan    catchUpPlan
		backlog []duePoint
		cursor  time.Time
		want    []duePoint
		added   int
	}{
		{"none", catchUpPlan{policy: config.CatchUpNone, window: time.Hour, max: 10}, nil, at(0), nil, 0},
		{"latest", catchUpPlan{policy: config.CatchUpLatest, window: time.Hour, max: 10}, nil, at(0), due(40), 1},
		{"latest replaces what waits", catchUpPlan{policy: config.CatchUpLatest, window: time.Hour, max: 10}, due(30), at(0), due(40), 1},
		{"all, oldest first", catchUpPlan{policy: config.CatchUpAll, window: time.Hour, max: 10}, nil, at(0), due(10, 20, 30, 40), 4},
		{"all, newest max", catchUpPlan{policy: config.CatchUpAll, window: time.Hour, max: 2}, nil, at(0), due(30, 40), 2},
		{"all, within the window", catchUpPlan{policy: config.CatchUpAll, window: 20 * time.Second, max: 10}, nil, at(0), due(30, 40), 2},
		{"all, queued points not twice", catchUpPlan{policy: config.CatchUpAll, window: time.Hour, max: 10}, due(10, 20), at(0), due(10, 20, 30, 40), 2},
		{"cursor at the last point", catchUpPlan{policy: config.CatchUpAll, window: time.Hour, max: 10}, nil, at(40), nil, 0},
		{"no cursor", catchUpPlan{policy: config.CatchUpAll, window: time.Hour, max: 10}, nil, time.Time{}, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, added := clusterBacklog(tc.plan, s, tc.backlog, tc.cursor, now)
			if added != tc.added || len(got) != len(tc.want) {
				t.Fatalf("got %v (%d added), want %v (%d)", got, added, tc.want, tc.added)
			}
			for i := range got {
				if !got[i].nominal.Equal(tc.want[i].nominal) || got[i].reason != triggerCatchUp {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
}

// TestLostRetry: what follows a run lost with its node, by the job's
// retries and the attempt lost.
func TestLostRetry(t *testing.T) {
	p := func(retries int, onFailed bool) retryPolicy {
		return retryPolicy{retries: retries, delay: time.Second, backoff: 2, maxDelay: time.Minute, onFailed: onFailed}
	}
	point := time.Date(2026, 1, 1, 0, 0, 10, 0, time.UTC)
	lr := func(attempt int, payload bool) cluster.LostRun {
		return cluster.LostRun{Job: cluster.Job{Kind: "job", ID: "j"}, Counter: 7, Node: "n1",
			RunInfo: cluster.RunInfo{Attempt: attempt, Trigger: "timer", Scheduled: point, Payload: payload}}
	}
	for _, tc := range []struct {
		name    string
		p       retryPolicy
		lr      cluster.LostRun
		attempt int // of the re-run; 0 = none
		wait    time.Duration
		line    string
	}{
		{"retries = 0", p(0, true), lr(1, false), 0, 0, ""},
		{"first attempt lost", p(1, true), lr(1, false), 2, time.Second, "=== job: j: attempt 2/2 follows as a new run in 1s"},
		{"last attempt lost", p(1, true), lr(2, false), 0, 0, ""},
		{"second of three lost", p(2, true), lr(2, false), 3, 2 * time.Second, "=== job: j: attempt 3/3 follows as a new run in 2s"},
		{"retry_on timeout only", p(1, false), lr(1, false), 0, 0, ""},
		{"webhook request on the lost node", p(1, true), lr(1, true), 0, 0, "??? job: j: no further attempt: the webhook's request was on node n1"},
		{"attempt unknown counts as 1", p(1, true), lr(0, false), 2, time.Second, "=== job: j: attempt 2/2 follows as a new run in 1s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, wait, line := lostRetry(tc.p, "j", tc.lr, 0.5)
			if line != tc.line {
				t.Errorf("line %q, want %q", line, tc.line)
			}
			if tc.attempt == 0 {
				if d != nil {
					t.Fatalf("re-run %+v, want none", d)
				}
				return
			}
			switch {
			case d == nil:
				t.Fatal("no re-run")
			case d.lost.attempt != tc.attempt || d.firstAttempt() != tc.attempt || wait != tc.wait:
				t.Errorf("re-run at attempt %d after %v, want %d after %v", d.lost.attempt, wait, tc.attempt, tc.wait)
			case !d.nominal.Equal(point) || d.reason != "timer" || d.lost.counter != 7 || d.lost.node != "n1":
				t.Errorf("re-run %+v %+v: not the lost run's point, trigger, counter and node", d, d.lost)
			case !strings.Contains(d.rerunNote("j"), "re-run of run #7, interrupted with node n1"):
				t.Errorf("note %q", d.rerunNote("j"))
			}
			if h := histTrigger(*d, "webhook", history.Trigger{Kind: history.TriggerWebhook}); h != (history.Trigger{Kind: history.TriggerRetry, RetryOf: 7}) {
				t.Errorf("history trigger %+v, want a retry of #7", h)
			}
		})
	}
}
