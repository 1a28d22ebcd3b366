package actors

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/karajo/karajo/config"
	"github.com/karajo/karajo/logstore"
)

// TestSlotFreedBeforeFlush (start-up burst admission): with
// max_job_running 1, a run whose commands
// have ended gives its slot to the next job while its log's flush is held;
// the run itself is not reported finished (still running, no final name)
// until the flush completes.
func TestSlotFreedBeforeFlush(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(t.TempDir(), "b-ran")
	env := &config.Env{DirBase: dir, MaxJobRunning: 1, Secret: "s3cret", Jobs: []*config.Job{
		{ID: "a", Name: "a", Path: "/a", LogRetention: 5, Commands: []string{"echo a"}},
		{ID: "b", Name: "b", Path: "/b", LogRetention: 5, Commands: []string{"touch " + marker}},
	}}
	e, store := startEnv(t, env)
	entered, release := make(chan struct{}), make(chan struct{})
	first := true
	store.SetFlushHook(func(what string, _ int) {
		if what == "data" && first { // the committer's goroutine only
			first = false
			close(entered)
			<-release
		}
	})
	released := false
	unblock := func() {
		if !released {
			released = true
			close(release)
		}
	}
	defer unblock()
	if _, err := ask[*JobView](t, e, "a", &Trigger{Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-entered:
	case <-time.After(30 * time.Second):
		t.Fatal("a's log was never flushed")
	}
	if _, err := ask[*JobView](t, e, "b", &Trigger{Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat(marker); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("b's command did not run while a's log flush was held: a keeps the slot")
		}
	}
	if v := getJob(t, e, "a"); !v.Running || v.Status != StatusRunning {
		t.Errorf("a reported finished (running=%v status=%q) before its log is durable", v.Running, v.Status)
	}
	if _, err := os.Stat(filepath.Join(store.LogDir(logstore.KindJob, "a"), "a.1.success")); err == nil {
		t.Error("a's log has its final name before its flush")
	}
	unblock()
	for _, id := range []string{"a", "b"} {
		v := waitJob(t, e, id, "its run recorded", func(v JobView) bool { return len(v.Logs) == 1 && idle(v) })
		if v.Status != StatusSuccess {
			t.Errorf("%s: %s (%s), want success", id, v.Status, v.LastError)
		}
	}
	st, err := Ask[*EngineState](e.Root(), e.Supervisor(), &GetEngineState{}, askTimeout)
	if err != nil {
		t.Fatal(err)
	}
	if st.Slots.InUse != 0 || len(st.Queue) != 0 {
		t.Errorf("after both runs: %d slots in use, %d queued; want none", st.Slots.InUse, len(st.Queue))
	}
}
