package actors

import (
	"reflect"
	"testing"
	"time"
)

func TestMergeRunViews(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	lg := func(n int64, node, status string) LogRefView {
		return LogRefView{JobID: "j", Name: "j.x", Status: status, Counter: n, Node: node}
	}
	cases := []struct {
		name        string
		own, remote runView
		keep        int
		want        runView
	}{
		{"nothing remote", runView{Status: StatusSuccess, LastRun: t0}, runView{}, 5,
			runView{Status: StatusSuccess, LastRun: t0}},
		{"remote newer: its status and last run", runView{NextRun: t0.Add(time.Hour)},
			runView{Status: StatusFailed, LastRun: t0, LastError: "x", NextRun: t0.Add(time.Minute)}, 5,
			runView{Status: StatusFailed, LastRun: t0, LastError: "x", NextRun: t0.Add(time.Hour)}},
		{"own newer: own", runView{Status: StatusSuccess, LastRun: t0.Add(time.Second)},
			runView{Status: StatusFailed, LastRun: t0}, 5,
			runView{Status: StatusSuccess, LastRun: t0.Add(time.Second)}},
		{"own running: own status", runView{Status: StatusRunning, Busy: true},
			runView{Status: StatusSuccess, LastRun: t0}, 5,
			runView{Status: StatusRunning, Busy: true}},
		{"own paused: stays paused", runView{Status: StatusPaused},
			runView{Status: StatusSuccess, LastRun: t0}, 5,
			runView{Status: StatusPaused}},
		{"remote still running: not taken", runView{},
			runView{Status: StatusRunning, LastRun: t0, Busy: true, InProgress: []int64{3}}, 5,
			runView{}},
		{"logs merged by counter, own wins a counter, latest keep",
			runView{Logs: []LogRefView{lg(4, "b", StatusFailed), lg(5, "b", StatusSuccess)}},
			runView{Logs: []LogRefView{lg(1, "a", StatusSuccess), lg(2, "a", StatusSuccess), lg(3, "a", StatusSuccess), lg(4, "a", StatusRunning)}}, 3,
			runView{Logs: []LogRefView{lg(3, "a", StatusSuccess), lg(4, "b", StatusFailed), lg(5, "b", StatusSuccess)}}},
		{"own logs beyond keep all stay",
			runView{Logs: []LogRefView{lg(4, "b", StatusSuccess), lg(5, "b", StatusRunning)}},
			runView{Logs: []LogRefView{lg(3, "a", StatusSuccess)}}, 1,
			runView{Logs: []LogRefView{lg(4, "b", StatusSuccess), lg(5, "b", StatusRunning)}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := mergeRunViews(c.own, c.remote, c.keep); !reflect.DeepEqual(got, c.want) {
				t.Errorf("got  %+v\nwant %+v", got, c.want)
			}
		})
	}
}
