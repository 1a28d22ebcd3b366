package actors

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/karajo/karajo/logstore/history"
)

// TestRecorderHoldsReconcilesAtStart: the logs jobs send at start are not
// reconciled before the engine says it serves and histReconcileDelay has
// passed, except when a query syncs (read-your-writes); then they are.
func TestRecorderHoldsReconcilesAtStart(t *testing.T) {
	old := histReconcileDelay
	histReconcileDelay = 50 * time.Millisecond
	defer func() { histReconcileDelay = old }()
	dir := t.TempDir()
	h, _, err := history.Open(filepath.Join(dir, history.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	logOf := func(job string) history.JobLogs {
		p := filepath.Join(dir, job+".1.success")
		if err := os.WriteFile(p, []byte("ok\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return history.JobLogs{Kind: "job", Job: job, Keep: 10, Logs: []history.LogInfo{{Counter: 1, Status: "success", Path: p}}}
	}
	system := actor.NewActorSystem()
	root := system.Root
	rec := root.Spawn(actor.PropsFromProducer(func() actor.Actor {
		return newHistRecorder(h, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}))
	defer root.Stop(rec)
	synced := func() {
		t.Helper()
		if _, err := Ask[*histSynced](root, rec, &histSync{}, 5*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	has := func(job string) bool { _, ok := h.Get("job", job, 1); return ok }

	// Many more than a batch, and a flush timer's worth of time: held.
	for i := range histMaxBatch + 10 {
		root.Send(rec, &histReconcile{logs: logOf("held" + strconv.Itoa(i))})
	}
	time.Sleep(histFlushDelay + 200*time.Millisecond)
	root.Send(rec, &histReconcile{logs: logOf("a")})
	root.Send(rec, &histFlush{})
	time.Sleep(100 * time.Millisecond)
	if has("a") || has("held1") {
		t.Fatal("a reconcile was written while the start held them")
	}
	synced()
	if !has("a") || !has("held1") {
		t.Fatal("histSync did not write the held reconciles")
	}

	// After histServing and the delay, a reconcile is written without a sync.
	root.Send(rec, &histReconcile{logs: logOf("b")})
	root.Send(rec, &histServing{})
	deadline := time.Now().Add(10 * time.Second)
	for !has("b") {
		if time.Now().After(deadline) {
			t.Fatal("reconcile not written after histServing and histReconcileDelay")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRecorderReconcilesBeforeRecords: while the start holds the
// reconciles, a record to write makes the recorder reconcile first, so a
// run left running by a crash is settled from its log (success) and not
// overtaken by what the job writes after the start (the kill -9 burst
// test found records saying failed beside logs saying success).
func TestRecorderReconcilesBeforeRecords(t *testing.T) {
	dir := t.TempDir()
	h, _, err := history.Open(filepath.Join(dir, history.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	started := time.Now().Add(-time.Minute)
	// The record of run #1, written before the crash: running.
	if err := h.Write([]history.Put{{Kind: "job", Keep: 10, Rec: history.Record{Job: "j", Key: history.RunKey(1), Counter: 1,
		Status: "running", StartedAt: started}}}); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "j.1.success")
	if err := os.WriteFile(p, []byte("ok\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	system := actor.NewActorSystem()
	root := system.Root
	rec := root.Spawn(actor.PropsFromProducer(func() actor.Actor {
		return newHistRecorder(h, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}))
	defer root.Stop(rec)
	root.Send(rec, &histReconcile{logs: history.JobLogs{Kind: "job", Job: "j", Keep: 10,
		Logs: []history.LogInfo{{Counter: 1, Status: "success", Path: p}}}})
	root.Send(rec, &histPut{kind: "job", keep: 10, rec: history.Record{Job: "j", Key: history.RunKey(2), Counter: 2,
		Status: "running", StartedAt: time.Now()}})
	root.Send(rec, &histFlush{})
	deadline := time.Now().Add(10 * time.Second)
	for {
		r1, ok1 := h.Get("job", "j", 1)
		_, ok2 := h.Get("job", "j", 2)
		if ok2 {
			if !ok1 || r1.Status != "success" {
				t.Fatalf("record #2 written while #1 says %q: the reconcile was overtaken", r1.Status)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("record #2 not written")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRecorderStopLeavesNoDeadLetter: a recorder stopped with a flush and
// the start's release still armed sends nothing to itself afterwards (it
// used to: a dead letter in the log a second after every stop).
func TestRecorderStopLeavesNoDeadLetter(t *testing.T) {
	oldFlush, oldRelease := histFlushDelay, histReconcileDelay
	histFlushDelay, histReconcileDelay = 100*time.Millisecond, 150*time.Millisecond
	defer func() { histFlushDelay, histReconcileDelay = oldFlush, oldRelease }()
	h, _, err := history.Open(filepath.Join(t.TempDir(), history.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	system := actor.NewActorSystem()
	dead := make(chan any, 16)
	sub := system.EventStream.Subscribe(func(ev any) {
		if d, ok := ev.(*actor.DeadLetterEvent); ok {
			dead <- d.Message
		}
	})
	defer system.EventStream.Unsubscribe(sub)
	rec := system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor {
		return newHistRecorder(h, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}))
	system.Root.Send(rec, &histServing{})
	system.Root.Send(rec, &histPut{kind: "job", rec: history.Record{Job: "a", Kind: "job", Status: "success", Key: history.Key{Counter: 1}}, keep: 10})
	if _, err := Ask[*histSynced](system.Root, rec, &histSync{}, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := system.Root.StopFuture(rec).Wait(); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-dead:
		t.Fatalf("dead letter after the recorder stopped: %T", m)
	case <-time.After(3 * histReconcileDelay):
	}
}
