package logstore

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// file is a log directory entry of a Recover test case.
type file struct {
	content string
	mtime   time.Time // zero: left as created
}

// fill creates files and sub-directories in the job's log directory and, if
// state is not nil, writes it as the raw state file.
func fill(t *testing.T, s *Store, kind Kind, id string, files map[string]file, dirs []string, state *string) {
	t.Helper()
	dir := s.LogDir(kind, id)
	for name, f := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(f.content), 0o600); err != nil {
			t.Fatal(err)
		}
		if !f.mtime.IsZero() {
			if err := os.Chtimes(p, f.mtime, f.mtime); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, d := range dirs {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if state != nil {
		if err := os.WriteFile(s.StatePath(kind, id), []byte(*state), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// listDir returns the sorted entry names of dir.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	names := []string{}
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// logs returns files named id.1.<s1>, id.2.<s2>, ... with mtimes a minute
// apart, oldest first.
func logs(id string, statuses ...string) map[string]file {
	m := map[string]file{}
	for i, st := range statuses {
		m[fmt.Sprintf("%s.%d.%s", id, i+1, st)] = file{content: st + "\n", mtime: t0.Add(time.Duration(i) * time.Minute)}
	}
	return m
}

func str(s string) *string { return &s }

func TestRecover(t *testing.T) {
	tests := []struct {
		name      string
		id        string
		noPrepare bool
		files     map[string]file
		dirs      []string
		state     *string
		retention int

		wantLogs     []string // names, in order
		wantCounter  int64
		wantStatus   string
		wantPaused   bool
		wantLastRun  time.Time
		wantOnDisk   []string // entries of the log dir after Recover
		wantWarnings []string // substrings, one warning each, in order
	}{
		{
			name: "no log directory", id: "a", noPrepare: true,
			wantLogs: []string{}, wantOnDisk: []string{},
		},
		{
			name: "empty", id: "a",
			wantLogs: []string{}, wantOnDisk: []string{},
		},
		{
			name: "SPEC 3.3 invalid entries are ignored, not deleted", id: "job1",
			files: map[string]file{
				"README":            {content: "x"},
				"other.x.success":   {content: "x"},
				"other.8":           {content: "not ours to finalise"},
				"zzz.9.weird.extra": {content: "x", mtime: t0},
				"job1.1.success":    {content: "x", mtime: t0},
				"job1.2.failed":     {content: "x", mtime: t0},
				"job1.10.":          {content: "x"},
			},
			dirs:         []string{"sub", "job1.3.success", "job1.4"},
			wantLogs:     []string{"job1.1.success", "job1.2.failed", "zzz.9.weird.extra"},
			wantCounter:  9,
			wantStatus:   "weird",
			wantLastRun:  time.Date(2026, 11, 28, 16, 40, 10, 0, time.UTC),
			wantOnDisk:   []string{"README", "job1.1.success", "job1.10.", "job1.2.failed", "job1.3.success", "job1.4", "other.8", "other.x.success", "sub", "zzz.9.weird.extra"},
			wantWarnings: []string{`"README"`, `"job1.10."`, `sub-directory "job1.3.success"`, `sub-directory "job1.4"`, `"other.8"`, `"other.x.success"`, `sub-directory "sub"`},
		},
		{
			name:         "the job's own in-progress file is finalised",
			id:           "other",
			files:        map[string]file{"other.7.success": {content: "x", mtime: t0}, "other.8": {content: "x\n", mtime: t0.Add(time.Minute)}},
			wantLogs:     []string{"other.7.success", "other.8.failed"},
			wantCounter:  8,
			wantStatus:   "failed",
			wantLastRun:  time.Date(2026, 11, 28, 16, 41, 10, 0, time.UTC),
			wantOnDisk:   []string{"other.7.success", "other.8.failed"},
			wantWarnings: []string{`"other.8" finalised as "other.8.failed"`},
		},
		{
			name: "v0.9.3: highest log paused, no state file", id: "a",
			files:    logs("a", "success", "paused"),
			wantLogs: []string{"a.1.success", "a.2.paused"}, wantCounter: 2, wantStatus: "paused", wantPaused: true,
			wantLastRun: time.Date(2026, 11, 28, 16, 41, 10, 0, time.UTC),
			wantOnDisk:  []string{"a.1.success", "a.2.paused"},
		},
		{
			name: "v0.9.3: paused then resumed, no state file", id: "a",
			files:    logs("a", "paused", "success"),
			wantLogs: []string{"a.1.paused", "a.2.success"}, wantCounter: 2, wantStatus: "success",
			wantLastRun: time.Date(2026, 11, 28, 16, 41, 10, 0, time.UTC),
			wantOnDisk:  []string{"a.1.paused", "a.2.success"},
		},
		{
			name: "state counter higher than the logs", id: "a",
			files: logs("a", "success", "success"), state: str(`{"counter":10,"paused":true}`),
			wantLogs: []string{"a.1.success", "a.2.success"}, wantCounter: 10, wantStatus: "success", wantPaused: true,
			wantLastRun: time.Date(2026, 11, 28, 16, 41, 10, 0, time.UTC),
			wantOnDisk:  []string{"a.1.success", "a.2.success"},
		},
		{
			name: "state file wins over a paused log", id: "a",
			files: logs("a", "success", "success", "paused"), state: str(`{"counter":1,"paused":false}`),
			wantLogs: []string{"a.1.success", "a.2.success", "a.3.paused"}, wantCounter: 3, wantStatus: "paused",
			wantLastRun: time.Date(2026, 11, 28, 16, 42, 10, 0, time.UTC),
			wantOnDisk:  []string{"a.1.success", "a.2.success", "a.3.paused"},
		},
		{
			name: "corrupt state file: warning and v0.9.3 fallback", id: "a",
			files: logs("a", "success", "paused"), state: str(`{"counter":99,"pau`),
			wantLogs: []string{"a.1.success", "a.2.paused"}, wantCounter: 2, wantStatus: "paused", wantPaused: true,
			wantLastRun:  time.Date(2026, 11, 28, 16, 41, 10, 0, time.UTC),
			wantOnDisk:   []string{"a.1.success", "a.2.paused"},
			wantWarnings: []string{"corrupt state file"},
		},
		{
			name: "state without logs", id: "a", state: str(`{"counter":4,"paused":true}`),
			wantLogs: []string{}, wantCounter: 4, wantPaused: true, wantOnDisk: []string{},
		},
		{
			name: "retention 2 of 4 deletes the oldest files", id: "a",
			files: logs("a", "success", "failed", "success", "canceled"), retention: 2,
			wantLogs: []string{"a.3.success", "a.4.canceled"}, wantCounter: 4, wantStatus: "canceled",
			wantLastRun: time.Date(2026, 11, 28, 16, 43, 10, 0, time.UTC),
			wantOnDisk:  []string{"a.3.success", "a.4.canceled"},
		},
		{
			name: "retention 0 means 5, counters sort as numbers", id: "a",
			files:    logs("a", "s", "s", "s", "s", "s", "s", "s", "s", "s", "s", "s"),
			wantLogs: []string{"a.7.s", "a.8.s", "a.9.s", "a.10.s", "a.11.s"}, wantCounter: 11, wantStatus: "s",
			wantLastRun: time.Date(2026, 11, 28, 16, 50, 10, 0, time.UTC),
			wantOnDisk:  []string{"a.10.s", "a.11.s", "a.7.s", "a.8.s", "a.9.s"},
		},
		{
			name: "retention never touches invalid entries", id: "a",
			files: map[string]file{"a.1.x": {mtime: t0}, "a.2.x": {mtime: t0}, "a.3.x": {mtime: t0}, "notes.txt": {mtime: t0}}, retention: 1,
			wantLogs: []string{"a.3.x"}, wantCounter: 3, wantStatus: "x",
			wantLastRun:  time.Date(2026, 11, 28, 16, 40, 10, 0, time.UTC),
			wantOnDisk:   []string{"a.3.x", "notes.txt"},
			wantWarnings: []string{`"notes.txt"`},
		},
		{
			name: "last_run is the latest mtime, rounded, in UTC", id: "a",
			files: map[string]file{
				"a.1.success": {mtime: time.Date(2026, 1, 2, 11, 0, 0, 700_000_000, time.FixedZone("X", 3600))},
				"a.2.success": {mtime: time.Date(2026, 1, 2, 9, 0, 0, 0, time.UTC)},
				"README":      {mtime: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
			},
			wantLogs: []string{"a.1.success", "a.2.success"}, wantCounter: 2, wantStatus: "success",
			wantLastRun:  time.Date(2026, 1, 2, 10, 0, 1, 0, time.UTC),
			wantOnDisk:   []string{"README", "a.1.success", "a.2.success"},
			wantWarnings: []string{`"README"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(t.TempDir(), fixedClock(t0))
			if err != nil {
				t.Fatal(err)
			}
			if !tt.noPrepare {
				if err := s.Prepare(KindJob, tt.id); err != nil {
					t.Fatal(err)
				}
			}
			fill(t, s, KindJob, tt.id, tt.files, tt.dirs, tt.state)
			rec, err := s.Recover(KindJob, tt.id, tt.retention)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, l := range rec.Logs {
				names = append(names, l.Name)
			}
			if !slices.Equal(names, tt.wantLogs) {
				t.Errorf("Logs = %q, want %q", names, tt.wantLogs)
			}
			if rec.Counter != tt.wantCounter || rec.Status != tt.wantStatus || rec.Paused != tt.wantPaused {
				t.Errorf("Counter, Status, Paused = %d, %q, %v, want %d, %q, %v",
					rec.Counter, rec.Status, rec.Paused, tt.wantCounter, tt.wantStatus, tt.wantPaused)
			}
			if !rec.LastRun.Equal(tt.wantLastRun) || rec.LastRun.Location() != time.UTC {
				t.Errorf("LastRun = %v, want %v", rec.LastRun, tt.wantLastRun)
			}
			if got := listDir(t, s.LogDir(KindJob, tt.id)); !slices.Equal(got, tt.wantOnDisk) {
				t.Errorf("on disk: %q, want %q", got, tt.wantOnDisk)
			}
			if len(rec.Warnings) != len(tt.wantWarnings) {
				t.Errorf("Warnings = %q, want %d", rec.Warnings, len(tt.wantWarnings))
			} else {
				for i, w := range tt.wantWarnings {
					if !strings.Contains(rec.Warnings[i], w) {
						t.Errorf("Warnings[%d] = %q, want it to contain %q", i, rec.Warnings[i], w)
					}
				}
			}
			for _, l := range rec.Logs {
				ref, ok := ParseName(l.Name)
				if !ok || ref != l {
					t.Errorf("Logs has %+v, ParseName gives %+v, %v", l, ref, ok)
				}
			}
		})
	}
}

// copyDir copies the regular files of src into dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRecoverV093 takes over a log directory as v0.9.3 leaves it
// (testdata/v093), without state file.
func TestRecoverV093(t *testing.T) {
	s := newStore(t, fixedClock(t0), KindJob, "test_fail")
	dir := s.LogDir(KindJob, "test_fail")
	copyDir(t, "testdata/v093/test_fail", dir)
	before := listDir(t, dir)
	rec, err := s.Recover(KindJob, "test_fail", 3)
	if err != nil {
		t.Fatal(err)
	}
	want := []LogRef{
		{JobID: "test_fail", Counter: 2, Status: "failed", Name: "test_fail.2.failed"},
		{JobID: "test_fail", Counter: 3, Status: "paused", Name: "test_fail.3.paused"},
		{JobID: "zzz", Counter: 9, Status: "weird", Name: "zzz.9.weird.extra"},
	}
	if !slices.Equal(rec.Logs, want) {
		t.Errorf("Logs = %+v, want %+v", rec.Logs, want)
	}
	if rec.Counter != 9 || rec.Status != "weird" || rec.Paused {
		t.Errorf("Counter, Status, Paused = %d, %q, %v, want 9, weird, false", rec.Counter, rec.Status, rec.Paused)
	}
	if len(rec.Warnings) != 3 { // README, other.8, other.x.success
		t.Errorf("Warnings = %q, want 3", rec.Warnings)
	}
	after := listDir(t, dir)
	wantAfter := slices.DeleteFunc(before, func(n string) bool { return n == "test_fail.1.success" })
	if !slices.Equal(after, wantAfter) {
		t.Errorf("on disk after Recover: %q, want %q", after, wantAfter)
	}
}

func TestRecoverInterrupted(t *testing.T) {
	clock := time.Date(2026, 11, 28, 16, 45, 0, 200_000_000, time.UTC)
	const line = "2026-11-28 16:45:00 UTC job: job1: !!! job: job1: interrupted, server stopped\n"
	partial, err := os.ReadFile("testdata/interrupted/job1.3")
	if err != nil {
		t.Fatal(err)
	}
	golden, err := os.ReadFile("testdata/interrupted/job1.3.failed.golden")
	if err != nil {
		t.Fatal(err)
	}
	mtime := time.Date(2026, 11, 28, 16, 40, 22, 0, time.UTC)
	tests := []struct {
		name    string
		content string
		want    string
	}{
		{"partial line (testdata)", string(partial), string(golden)},
		{"ends with a newline", "a\n", "a\n" + line},
		{"empty", "", line},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t, fixedClock(clock), KindJob, "job1")
			fill(t, s, KindJob, "job1", map[string]file{
				"job1.2.success": {mtime: mtime.Add(-time.Hour)},
				"job1.3":         {content: tt.content, mtime: mtime},
			}, nil, nil)
			rec, err := s.Recover(KindJob, "job1", 5)
			if err != nil {
				t.Fatal(err)
			}
			dir := s.LogDir(KindJob, "job1")
			got, err := os.ReadFile(filepath.Join(dir, "job1.3.failed"))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("job1.3.failed = %q, want %q", got, tt.want)
			}
			if names := listDir(t, dir); !slices.Equal(names, []string{"job1.2.success", "job1.3.failed"}) {
				t.Errorf("on disk: %q", names)
			}
			last := rec.Logs[len(rec.Logs)-1]
			if rec.Counter != 3 || rec.Status != "failed" || last.Name != "job1.3.failed" || last.Counter != 3 {
				t.Errorf("Recover = %+v, want counter 3, status failed", rec)
			}
			if !rec.LastRun.Equal(mtime) {
				t.Errorf("LastRun = %v, want the interrupted run's mtime %v", rec.LastRun, mtime)
			}
			if len(rec.Warnings) != 1 || !strings.Contains(rec.Warnings[0], "finalised") {
				t.Errorf("Warnings = %q, want one about the finalised run", rec.Warnings)
			}
		})
	}
	t.Run("never overwrites an existing .failed", func(t *testing.T) {
		s := newStore(t, fixedClock(clock), KindJob, "job1")
		fill(t, s, KindJob, "job1", map[string]file{
			"job1.3":        {content: "in progress"},
			"job1.3.failed": {content: "finished"},
		}, nil, nil)
		rec, err := s.Recover(KindJob, "job1", 5)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Counter != 3 || len(rec.Logs) != 1 || len(rec.Warnings) != 1 || !strings.Contains(rec.Warnings[0], "not finalised") {
			t.Errorf("Recover = %+v, want counter 3, one log, one warning", rec)
		}
		for name, want := range map[string]string{"job1.3": "in progress", "job1.3.failed": "finished"} {
			if got, err := os.ReadFile(filepath.Join(s.LogDir(KindJob, "job1"), name)); string(got) != want || err != nil {
				t.Errorf("%s = %q, %v, want %q", name, got, err, want)
			}
		}
	})
	t.Run("counts when not finalised", func(t *testing.T) {
		s := newStore(t, fixedClock(clock), KindJob, "job1")
		// A directory in the way of the rename: job1.4 cannot be finalised.
		fill(t, s, KindJob, "job1", map[string]file{"job1.1.success": {}, "job1.4": {}}, []string{"job1.4.failed"}, nil)
		rec, err := s.Recover(KindJob, "job1", 5)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Counter != 4 {
			t.Errorf("Counter = %d, want 4", rec.Counter)
		}
	})
	t.Run("a RunLog left open is finalised", func(t *testing.T) {
		s := newStore(t, fixedClock(clock), KindJobHTTP, "ping")
		l, err := s.Create(KindJobHTTP, "ping", 1)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Line("=== BEGIN"); err != nil {
			t.Fatal(err)
		}
		if _, err := l.Write([]byte("half")); err != nil {
			t.Fatal(err)
		}
		// Crash: no Finish. A restart recovers with a new Store.
		s2, err := New(s.Base(), fixedClock(clock))
		if err != nil {
			t.Fatal(err)
		}
		rec, err := s2.Recover(KindJobHTTP, "ping", 5)
		if err != nil {
			t.Fatal(err)
		}
		if len(rec.Logs) != 1 || rec.Logs[0].Name != "ping.1.failed" || rec.Counter != 1 {
			t.Fatalf("Recover = %+v, want ping.1.failed", rec)
		}
		got, err := os.ReadFile(filepath.Join(s.LogDir(KindJobHTTP, "ping"), "ping.1.failed"))
		if err != nil {
			t.Fatal(err)
		}
		p := "2026-11-28 16:45:00 UTC job_http: ping: "
		want := p + "=== BEGIN\n" + p + "half\n" + p + "!!! job_http: ping: interrupted, server stopped\n"
		if string(got) != want {
			t.Errorf("ping.1.failed = %q, want %q", got, want)
		}
		if _, err := l.Finish("success"); err == nil {
			t.Error("Finish of a log finalised by Recover: nil error")
		}
	})
}

// TestRecoverLastSuccess checks the end of the last successful run found
// at start (issue 16: karajo_last_success_timestamp_seconds survives a
// restart): the newest success log's mtime, truncated, whatever came after.
func TestRecoverLastSuccess(t *testing.T) {
	tests := []struct {
		name      string
		files     map[string]file
		retention int
		want      time.Time
	}{
		{"no logs", nil, 0, time.Time{}},
		{"never succeeded", logs("a", "failed", "canceled"), 0, time.Time{}},
		{"failures after the success", logs("a", "success", "failed", "failed"), 0, t0.Truncate(time.Second).UTC()},
		{"newest success", logs("a", "success", "success", "failed"), 0, t0.Add(time.Minute).Truncate(time.Second).UTC()},
		{"success pruned by retention still counts", logs("a", "success", "failed", "failed"), 1, t0.Truncate(time.Second).UTC()},
		{"truncated, not rounded", map[string]file{"a.1.success": {mtime: time.Date(2026, 1, 2, 9, 0, 0, 900_000_000, time.UTC)}}, 0,
			time.Date(2026, 1, 2, 9, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(t.TempDir(), fixedClock(t0))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Prepare(KindJob, "a"); err != nil {
				t.Fatal(err)
			}
			fill(t, s, KindJob, "a", tt.files, nil, nil)
			rec, err := s.Recover(KindJob, "a", tt.retention)
			if err != nil {
				t.Fatal(err)
			}
			if !rec.LastSuccess.Equal(tt.want) || (!tt.want.IsZero() && rec.LastSuccess.Location() != time.UTC) {
				t.Errorf("LastSuccess = %v, want %v", rec.LastSuccess, tt.want)
			}
		})
	}
}
