package actors

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/karajo/karajo/config"
	"github.com/karajo/karajo/logstore"
)

const askTimeout = 10 * time.Second

// startEngine starts an engine over jobs in a fresh dir_base and stops it
// at cleanup.
func startEngine(t *testing.T, maxRunning int, jobs ...*config.Job) (*Engine, *logstore.Store) {
	t.Helper()
	dir := t.TempDir()
	return startEngineIn(t, dir, maxRunning, jobs...)
}

func startEngineIn(t *testing.T, dir string, maxRunning int, jobs ...*config.Job) (*Engine, *logstore.Store) {
	t.Helper()
	for _, j := range jobs {
		if j.LogRetention == 0 {
			j.LogRetention = 5
		}
		if j.Name == "" {
			j.Name = j.ID
		}
	}
	env := &config.Env{DirBase: dir, MaxJobRunning: maxRunning, Jobs: jobs, Secret: "s3cret"}
	return startEnv(t, env)
}

// startEnv starts an engine over env and stops it at cleanup.
func startEnv(t *testing.T, env *config.Env) (*Engine, *logstore.Store) {
	t.Helper()
	store, err := logstore.New(env.DirBase, nil)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	e, err := Start(env, store, log, Options{ListenAddress: "127.0.0.1:1", Version: "test"})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := e.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return e, store
}

func ask[R any](t *testing.T, e *Engine, id string, msg any) (R, error) {
	t.Helper()
	pid, ok := e.Job(id)
	if !ok {
		t.Fatalf("no job %q", id)
	}
	return Ask[R](e.Root(), pid, msg, askTimeout)
}

func getJob(t *testing.T, e *Engine, id string) JobView {
	t.Helper()
	v, err := ask[*JobView](t, e, id, &GetJob{})
	if err != nil {
		t.Fatalf("GetJob %s: %v", id, err)
	}
	return *v
}

// waitJob polls the job until cond holds or the deadline passes.
func waitJob(t *testing.T, e *Engine, id string, what string, cond func(JobView) bool) JobView {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		v := getJob(t, e, id)
		if cond(v) {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s: timed out waiting for %s; last view: status=%q running=%v logs=%v", id, what, v.Status, v.Running, v.Logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func idle(v JobView) bool { return !v.Running && !v.Waiting }

// TestMaxJobRunning fires 50 concurrent triggers over 5 jobs with
// max_job_running 2; the commands record their own start and end times,
// and at no instant may more than 2 of them overlap. Every accepted trigger
// must have produced exactly one run.
func TestMaxJobRunning(t *testing.T) {
	const maxRunning, nJobs, nTriggers = 2, 5, 50
	record := t.TempDir()
	var jobs []*config.Job
	for i := range nJobs {
		id := fmt.Sprintf("job%d", i)
		jobs = append(jobs, &config.Job{
			ID:   id,
			Path: "/" + id,
			Commands: []string{
				fmt.Sprintf(`echo "start $(date +%%s%%N)" >> %s/%s.times`, record, id),
				"sleep 0.2",
				fmt.Sprintf(`echo "end $(date +%%s%%N)" >> %s/%s.times`, record, id),
			},
			LogRetention: 50,
		})
	}
	e, _ := startEngine(t, maxRunning, jobs...)

	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted := map[string]int{}
	refused := 0
	for i := range nTriggers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("job%d", i%nJobs)
			_, err := ask[*JobView](t, e, id, &Trigger{Reason: "test"})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				accepted[id]++
			case errors.Is(err, ErrJobBusy):
				refused++
			default:
				t.Errorf("Trigger %s: %v", id, err)
			}
		}()
	}
	wg.Wait()
	total := 0
	for _, j := range jobs {
		n := accepted[j.ID]
		total += n
		if n < 1 || n > 2 {
			t.Errorf("job %s accepted %d triggers, want 1 or 2 (one run plus one pending)", j.ID, n)
		}
		waitJob(t, e, j.ID, fmt.Sprintf("%d runs", n), func(v JobView) bool {
			return idle(v) && len(v.Logs) == n && v.Logs[len(v.Logs)-1].Status == StatusSuccess
		})
	}
	if total+refused != nTriggers {
		t.Errorf("accepted %d + refused %d != %d", total, refused, nTriggers)
	}

	type event struct {
		at    int64
		delta int
	}
	var events []event
	for _, j := range jobs {
		f, err := os.Open(filepath.Join(record, j.ID+".times"))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		starts := 0
		for sc.Scan() {
			kind, ns, _ := strings.Cut(sc.Text(), " ")
			at, err := strconv.ParseInt(ns, 10, 64)
			if err != nil {
				t.Fatalf("bad record %q", sc.Text())
			}
			d := 1
			if kind == "end" {
				d = -1
			} else {
				starts++
			}
			events = append(events, event{at, d})
		}
		f.Close()
		if starts != accepted[j.ID] {
			t.Errorf("job %s ran %d times, accepted %d triggers", j.ID, starts, accepted[j.ID])
		}
	}
	sort.Slice(events, func(a, b int) bool {
		if events[a].at != events[b].at {
			return events[a].at < events[b].at
		}
		return events[a].delta < events[b].delta // an end before a start at the same ns
	})
	running, peak := 0, 0
	for _, ev := range events {
		running += ev.delta
		peak = max(peak, running)
	}
	if peak > maxRunning {
		t.Errorf("%d runs overlapped, max_job_running is %d", peak, maxRunning)
	}
	if peak < maxRunning {
		t.Errorf("peak concurrency %d: the limit %d was never used, the test proves nothing", peak, maxRunning)
	}
	t.Logf("accepted %d, refused %d, peak concurrency %d", total, refused, peak)
}

// TestPauseStopsTimerAndTriggers: a paused interval job does not run on
// its timer, refuses triggers with ErrJobPaused, records nothing, and runs
// again after Resume.
func TestPauseStopsTimerAndTriggers(t *testing.T) {
	e, store := startEngine(t, 1, &config.Job{ID: "tick", Path: "/tick", Interval: time.Hour, Commands: []string{"true"}})
	// An interval job that never ran runs at once at start.
	waitJob(t, e, "tick", "first run", func(v JobView) bool { return idle(v) && len(v.Logs) == 1 })

	v, err := ask[*JobView](t, e, "tick", &Pause{})
	if err != nil || v.Status != StatusPaused {
		t.Fatalf("Pause = %+v, %v; want status paused", v, err)
	}
	if _, err := ask[*JobView](t, e, "tick", &Trigger{}); !errors.Is(err, ErrJobPaused) {
		t.Fatalf("Trigger on paused job: err = %v, want ErrJobPaused", err)
	}
	// Fire the timer by hand: a paused tick moves next_run on and records nothing.
	pid, _ := e.Job("tick")
	before := getJob(t, e, "tick")
	e.Root().Send(pid, &tick{gen: 0}) // stale gen: ignored
	got := getJob(t, e, "tick")
	if len(got.Logs) != 1 || got.Status != StatusPaused {
		t.Fatalf("after paused tick: logs=%v status=%q, want 1 log and paused", got.Logs, got.Status)
	}
	st, _, err := store.LoadState(logstore.KindJob, "tick")
	if err != nil || !st.Paused || st.Counter != 1 {
		t.Fatalf("state file = %+v, %v; want paused, counter 1", st, err)
	}
	if !got.NextRun.Equal(before.NextRun) {
		t.Fatalf("a stale tick moved next_run from %v to %v", before.NextRun, got.NextRun)
	}

	v, err = ask[*JobView](t, e, "tick", &Resume{})
	if err != nil || v.Status != StatusStarted {
		t.Fatalf("Resume = %+v, %v; want status started", v, err)
	}
	if _, err := ask[*JobView](t, e, "tick", &Trigger{}); err != nil {
		t.Fatalf("Trigger after resume: %v", err)
	}
	waitJob(t, e, "tick", "second run", func(v JobView) bool { return idle(v) && len(v.Logs) == 2 && v.Status == StatusSuccess })
}

// TestPausedTickRecordsNothing: the real timer of a paused schedule-less
// interval job fires (interval raised to run soon) without a run.
func TestPausedTickRecordsNothing(t *testing.T) {
	e, _ := startEngine(t, 1, &config.Job{ID: "quick", Interval: 300 * time.Millisecond, Commands: []string{"true"}})
	waitJob(t, e, "quick", "first run", func(v JobView) bool { return idle(v) && len(v.Logs) >= 1 })
	if _, err := ask[*JobView](t, e, "quick", &Pause{}); err != nil {
		t.Fatal(err)
	}
	n := len(getJob(t, e, "quick").Logs)
	first := getJob(t, e, "quick").NextRun
	// Wait for at least two paused ticks: next_run moves, no log appears.
	v := waitJob(t, e, "quick", "next_run to advance", func(v JobView) bool { return v.NextRun.After(first.Add(time.Second)) })
	if len(v.Logs) != n || v.Status != StatusPaused {
		t.Fatalf("paused ticks recorded runs: logs %d → %d, status %q", n, len(v.Logs), v.Status)
	}
}

// TestPauseDuringRunSurvives (IMP-3): a pause during a run keeps the job
// paused after the run ends; the log gets the run's real result.
func TestPauseDuringRunSurvives(t *testing.T) {
	e, _ := startEngine(t, 1, &config.Job{ID: "slow", Path: "/slow", Commands: []string{"sleep 0.5"}})
	if _, err := ask[*JobView](t, e, "slow", &Trigger{}); err != nil {
		t.Fatal(err)
	}
	waitJob(t, e, "slow", "running", func(v JobView) bool { return v.Running })
	if _, err := ask[*JobView](t, e, "slow", &Pause{}); err != nil {
		t.Fatal(err)
	}
	v := waitJob(t, e, "slow", "run end", idle)
	if v.Status != StatusPaused {
		t.Errorf("status after run = %q, want paused", v.Status)
	}
	if len(v.Logs) != 1 || v.Logs[0].Status != StatusSuccess {
		t.Errorf("logs = %+v, want one success log", v.Logs)
	}
}

// TestCancelKillsProcessGroup (IMP-28): cancel kills every process of the
// command's group, including background children holding the output pipe,
// and the run ends promptly as canceled.
func TestCancelKillsProcessGroup(t *testing.T) {
	rec := t.TempDir()
	pgidFile := filepath.Join(rec, "pgid")
	e, store := startEngine(t, 1, &config.Job{ID: "group", Path: "/group", Commands: []string{
		fmt.Sprintf("echo $$ > %s.tmp && mv %s.tmp %s; sleep 300 & sleep 300 & wait", pgidFile, pgidFile, pgidFile),
		"echo never",
	}})
	if _, err := ask[*JobView](t, e, "group", &Trigger{}); err != nil {
		t.Fatal(err)
	}
	var pgid int
	deadline := time.Now().Add(20 * time.Second)
	for pgid == 0 {
		if b, err := os.ReadFile(pgidFile); err == nil {
			pgid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		if time.Now().After(deadline) {
			t.Fatal("command did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := syscall.Kill(-pgid, 0); err != nil {
		t.Fatalf("process group %d not alive before cancel: %v", pgid, err)
	}
	start := time.Now()
	if _, err := ask[*JobView](t, e, "group", &Cancel{}); err != nil {
		t.Fatal(err)
	}
	v := waitJob(t, e, "group", "cancel", idle)
	if d := time.Since(start); d > killGrace+drainGrace+5*time.Second {
		t.Errorf("cancel took %v", d)
	}
	if v.Status != StatusCanceled || v.Logs[0].Status != StatusCanceled {
		t.Fatalf("status %q, logs %+v; want canceled", v.Status, v.Logs)
	}
	// Killed processes may take a moment to die and be reaped by init.
	for alive := groupAlive(pgid); len(alive) > 0; alive = groupAlive(pgid) {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("processes of group %d alive after cancel: %v", pgid, alive)
		}
		time.Sleep(20 * time.Millisecond)
	}
	f, err := store.Open(logstore.KindJob, "group", v.Logs[0].Name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, _ := io.ReadAll(f)
	if !strings.HasSuffix(string(b), "??? CANCELED\n") || strings.Contains(string(b), "never") {
		t.Fatalf("log does not end canceled after the first command:\n%s", b)
	}
}

// groupAlive lists the live (not zombie) processes of process group pgid,
// read from /proc: kill -0 also succeeds on zombies not yet reaped.
func groupAlive(pgid int) []string {
	if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
		return nil
	}
	var alive []string
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces.
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) > 2 && f[2] == strconv.Itoa(pgid) && f[0] != "Z" {
			alive = append(alive, string(b[:i+1]))
		}
	}
	return alive
}

// TestRestartKeepsState: counters, statuses, paused flags and logs survive
// an engine restart on the same dir_base, and the next run takes counter+1.
func TestRestartKeepsState(t *testing.T) {
	dir := t.TempDir()
	mk := func() []*config.Job {
		return []*config.Job{
			{ID: "a", Path: "/a", Commands: []string{"true"}},
			{ID: "b", Path: "/b", Commands: []string{"false"}},
		}
	}
	e, store := startEngineIn(t, dir, 1, mk()...)
	for range 2 {
		if _, err := ask[*JobView](t, e, "a", &Trigger{}); err != nil {
			t.Fatal(err)
		}
		waitJob(t, e, "a", "run", idle)
	}
	if _, err := ask[*JobView](t, e, "b", &Trigger{}); err != nil {
		t.Fatal(err)
	}
	waitJob(t, e, "b", "run", func(v JobView) bool { return idle(v) && len(v.Logs) == 1 })
	if _, err := ask[*JobView](t, e, "b", &Pause{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := e.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	// Runs do not write the state file on their way to the command; a
	// graceful stop brings it up to date.
	for id, want := range map[string]logstore.State{"a": {Counter: 2}, "b": {Counter: 1, Paused: true}} {
		st, ok, err := store.LoadState(logstore.KindJob, id)
		if err != nil || !ok || st != want {
			t.Errorf("state file of %s after shutdown = %+v, %v, %v; want %+v", id, st, ok, err, want)
		}
	}

	e2, _ := startEngineIn(t, dir, 1, mk()...)
	a, b := getJob(t, e2, "a"), getJob(t, e2, "b")
	if a.Status != StatusSuccess || len(a.Logs) != 2 || a.Logs[1].Counter != 2 {
		t.Errorf("a after restart: status %q logs %+v", a.Status, a.Logs)
	}
	if b.Status != StatusPaused || !b.Paused || len(b.Logs) != 1 || b.Logs[0].Status != StatusFailed {
		t.Errorf("b after restart: status %q paused %v logs %+v", b.Status, b.Paused, b.Logs)
	}
	if a.LastRun.IsZero() {
		t.Errorf("a last_run lost")
	}
	if _, err := ask[*JobView](t, e2, "a", &Trigger{}); err != nil {
		t.Fatal(err)
	}
	a = waitJob(t, e2, "a", "third run", func(v JobView) bool { return idle(v) && len(v.Logs) == 3 })
	if a.Logs[2].Counter != 3 || a.Logs[2].Name != "a.3.success" {
		t.Errorf("third run = %+v, want a.3.success", a.Logs[2])
	}
}

// TestTriggerQueue: one run plus one pending trigger; the third is refused
// (SPEC 4.4.3: 200, 200, 429, 429) and both accepted ones run.
func TestTriggerQueue(t *testing.T) {
	e, _ := startEngine(t, 1, &config.Job{ID: "q", Path: "/q", Commands: []string{"sleep 0.3"}})
	var errs []error
	for range 4 {
		_, err := ask[*JobView](t, e, "q", &Trigger{})
		errs = append(errs, err)
	}
	if errs[0] != nil || errs[1] != nil || !errors.Is(errs[2], ErrJobBusy) || !errors.Is(errs[3], ErrJobBusy) {
		t.Fatalf("four triggers: %v, want nil nil busy busy", errs)
	}
	waitJob(t, e, "q", "two runs", func(v JobView) bool { return idle(v) && len(v.Logs) == 2 })
}

// TestRetention: log_retention counts the run in progress and deletes
// pruned files.
func TestRetention(t *testing.T) {
	e, store := startEngine(t, 1, &config.Job{ID: "r", Path: "/r", Commands: []string{"true"}, LogRetention: 2})
	for i := 1; i <= 4; i++ {
		if _, err := ask[*JobView](t, e, "r", &Trigger{}); err != nil {
			t.Fatal(err)
		}
		waitJob(t, e, "r", "run", func(v JobView) bool { return idle(v) && v.Logs[len(v.Logs)-1].Counter == int64(i) })
	}
	v := getJob(t, e, "r")
	if len(v.Logs) != 2 || v.Logs[0].Counter != 3 || v.Logs[1].Counter != 4 {
		t.Fatalf("logs = %+v, want counters 3 and 4", v.Logs)
	}
	entries, err := os.ReadDir(store.LogDir(logstore.KindJob, "r"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, en := range entries {
		names = append(names, en.Name())
	}
	if strings.Join(names, " ") != "r.3.success r.4.success" {
		t.Fatalf("files on disk = %v", names)
	}
}

// TestReload: added jobs start, a removed job finishes its run and then
// disappears, a changed job keeps its counter and logs and uses its new
// commands; max_job_running follows the config.
func TestReload(t *testing.T) {
	dir := t.TempDir()
	e, _ := startEngineIn(t, dir, 1,
		&config.Job{ID: "a", Path: "/a", Commands: []string{"echo old"}},
		&config.Job{ID: "b", Path: "/b", Commands: []string{"sleep 0.5"}},
	)
	if _, err := ask[*JobView](t, e, "a", &Trigger{}); err != nil {
		t.Fatal(err)
	}
	waitJob(t, e, "a", "first run", func(v JobView) bool { return idle(v) && len(v.Logs) == 1 })
	if _, err := ask[*JobView](t, e, "b", &Trigger{}); err != nil {
		t.Fatal(err)
	}
	waitJob(t, e, "b", "running", func(v JobView) bool { return v.Running })

	next := &config.Env{DirBase: dir, MaxJobRunning: 2, Secret: "s3cret", Jobs: []*config.Job{
		{ID: "a", Name: "a", Path: "/a", Commands: []string{"echo new"}, LogRetention: 5},
		{ID: "c", Name: "c", Path: "/c", Commands: []string{"true"}, LogRetention: 5},
	}}
	ch, err := e.Reload(next)
	if err != nil {
		t.Fatal(err)
	}
	want := Changes{Added: []string{"job:c"}, Removed: []string{"job:b"}, Changed: []string{"job:a"}}
	if fmt.Sprint(ch) != fmt.Sprint(want) {
		t.Errorf("changes = %+v, want %+v", ch, want)
	}
	if _, ok := e.Job("b"); ok {
		t.Error("removed job b still looked up")
	}
	// b's run goes on and ends normally, then b leaves the snapshot.
	deadline := time.Now().Add(20 * time.Second)
	for {
		list, err := Ask[*JobList](e.Root(), e.Supervisor(), &GetJobs{}, askTimeout)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, j := range list.Jobs {
			ids = append(ids, j.ID)
		}
		if strings.Join(ids, ",") == "a,c" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("jobs after reload = %v, want a,c", ids)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := ask[*JobView](t, e, "c", &Trigger{}); err != nil {
		t.Fatalf("trigger added job: %v", err)
	}
	waitJob(t, e, "c", "run", func(v JobView) bool { return idle(v) && len(v.Logs) == 1 })
	if _, err := ask[*JobView](t, e, "a", &Trigger{}); err != nil {
		t.Fatal(err)
	}
	a := waitJob(t, e, "a", "second run", func(v JobView) bool { return idle(v) && len(v.Logs) == 2 })
	if a.Logs[1].Counter != 2 || a.Commands[0] != "echo new" {
		t.Fatalf("a after reload: logs %+v commands %v", a.Logs, a.Commands)
	}
	lf, err := ask[*LogFile](t, e, "a", &GetLog{Counter: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer lf.File.Close()
	b, _ := io.ReadAll(lf.File)
	if !strings.Contains(string(b), ": new\n") {
		t.Fatalf("second run did not use the new command:\n%s", b)
	}
}

// TestDirectoriesCreated: every job's work and log directories exist soon
// after start even when it never runs (SPEC 3.1; they are made in the
// background), and a job whose directories are made late still runs.
func TestDirectoriesCreated(t *testing.T) {
	e, store := startEngine(t, 1,
		&config.Job{ID: "idle", Path: "/idle", Commands: []string{"true"}},
		&config.Job{ID: "runs", Path: "/runs", Commands: []string{"pwd"}},
	)
	// Triggered at once: the job prepares its own directories if the
	// background pass has not reached it yet.
	if _, err := ask[*JobView](t, e, "runs", &Trigger{}); err != nil {
		t.Fatal(err)
	}
	v := waitJob(t, e, "runs", "run", func(v JobView) bool { return idle(v) && len(v.Logs) == 1 })
	if v.Logs[0].Status != StatusSuccess {
		t.Errorf("run = %+v, want success", v.Logs[0])
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, id := range []string{"idle", "runs"} {
		for _, d := range []string{store.WorkDir(logstore.KindJob, id), store.LogDir(logstore.KindJob, id)} {
			for {
				fi, err := os.Stat(d)
				if err == nil && fi.IsDir() {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s not created: %v", d, err)
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
	}
}
