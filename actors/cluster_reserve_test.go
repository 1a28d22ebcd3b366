package actors

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/karajo/karajo/actors/cluster/devetcd"
	"github.com/karajo/karajo/config"
	"github.com/karajo/karajo/logstore"
)

// TestClusterTriggerNamesNoLogBeforeClaim: in a cluster a trigger that
// waits for its slot leaves no log named for a counter on disk until the
// cluster gives the counter (a node killed while it waits would otherwise
// leave a log whose counter the next owner gives to another run); once
// the slot comes, the run gets its log and runs.
func TestClusterTriggerNamesNoLogBeforeClaim(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded etcd")
	}
	t.Parallel()
	srv, err := devetcd.Start(t.TempDir(), "http://127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	gate := filepath.Join(t.TempDir(), "gate")
	env := &config.Env{DirBase: t.TempDir(), MaxJobRunning: 1, Secret: "s3cret", Jobs: []*config.Job{
		{ID: "hold", Name: "hold", Path: "/hold", LogRetention: 5,
			Commands: []string{"while [ ! -f " + gate + " ]; do sleep 0.05; done"}},
		{ID: "hook", Name: "hook", Path: "/hook", LogRetention: 5, Commands: []string{"echo hook"}},
	}}
	e, store, _ := startCoordEngine(t, srv.Endpoint, "reserve", "n1", env)
	t.Cleanup(func() { _ = os.WriteFile(gate, nil, 0o600) }) // before the engine's stop: cleanups run last first
	trigger := func(id string) {
		t.Helper()
		var err error
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if _, err = ask[*JobView](t, e, id, &Trigger{Reason: "test"}); err == nil {
				return
			}
		}
		t.Fatalf("trigger %s: %v (the node never owned the job?)", id, err)
	}
	trigger("hold")
	waitJob(t, e, "hold", "running", func(v JobView) bool { return v.Running })
	trigger("hook") // accepted; waits for hold's slot
	time.Sleep(100 * time.Millisecond)
	ents, err := os.ReadDir(store.LogDir(logstore.KindJob, "hook"))
	if err != nil {
		t.Fatalf("the trigger did not make hook's log directory: %v", err)
	}
	if len(ents) != 0 {
		t.Errorf("hook's log directory while its run waits for the claim: %d entries (%s), want none", len(ents), ents[0].Name())
	}
	if err := os.WriteFile(gate, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	v := waitJob(t, e, "hook", "its run recorded", func(v JobView) bool { return len(v.Logs) == 1 && idle(v) })
	if v.Status != StatusSuccess || v.Logs[0].Counter != 1 {
		t.Errorf("hook: status %s, logs %+v; want one success, counter 1", v.Status, v.Logs)
	}
}
