package config

import (
	"cmp"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// FuzzLoad loads arbitrary bytes as a main file. Load must not panic; it
// returns either an Env that keeps the package's invariants or nil and an
// error wrapping ErrInvalid.
func FuzzLoad(f *testing.F) {
	for _, glob := range []string{"testdata/invalid/*.toml", "testdata/valid/etc/karajo/*.toml", "testdata/valid/etc/karajo/*/*.toml"} {
		files, _ := filepath.Glob(glob)
		for _, file := range files {
			if data, err := os.ReadFile(file); err == nil {
				f.Add(data)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "karajo.toml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		env, err := Load(path)
		if err != nil {
			if env != nil || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Load = %v, %v; want nil and ErrInvalid", env, err)
			}
			return
		}
		checkEnv(t, env)
	})
}

// checkEnv checks the invariants of a loaded Env.
func checkEnv(t *testing.T, env *Env) {
	t.Helper()
	if env.MaxJobRunning < 1 || env.HTTPTimeout == 0 || env.Secret == "" || env.Name == "" || env.ListenAddress == "" {
		t.Errorf("Env = %+v: defaults not applied", env)
	}
	if !slices.IsSortedFunc(env.Jobs, func(a, b *Job) int { return cmp.Compare(a.ID, b.ID) }) ||
		!slices.IsSortedFunc(env.JobHTTPs, func(a, b *JobHTTP) int { return cmp.Compare(a.ID, b.ID) }) {
		t.Errorf("jobs not sorted by ID")
	}
	for i, j := range env.Jobs {
		if i > 0 && env.Jobs[i-1].ID == j.ID {
			t.Errorf("two jobs with ID %q", j.ID)
		}
		if len(j.Commands) == 0 || j.LogRetention < 1 || j.Secret == "" || j.HeaderSign == "" ||
			(j.Interval != 0 && j.Interval < MinInterval) || (j.Sched == nil) != (j.Schedule == "") ||
			(j.Sched != nil && j.Interval != 0) {
			t.Errorf("Job = %+v", j)
		}
	}
	for i, j := range env.JobHTTPs {
		if i > 0 && env.JobHTTPs[i-1].ID == j.ID {
			t.Errorf("two job_https with ID %q", j.ID)
		}
		if j.HTTPURL == "" || j.LogRetention < 1 || j.HTTPTimeout < 0 || !httpMethods[j.Method] ||
			len(j.Headers) != len(j.HTTPHeaders) || (j.Interval != 0 && j.Interval < MinInterval) {
			t.Errorf("JobHTTP = %+v", j)
		}
	}
}

// FuzzParseSchedule parses arbitrary schedules. ParseSchedule must not
// panic; for a valid one, Next must be strictly after `after`, on a whole
// UTC minute, within 62 days, and the canonical String must parse back to
// the same schedule.
func FuzzParseSchedule(f *testing.F) {
	for _, s := range []string{"minutely", "hourly@0, 30", "daily@25:99,6", "weekly@mon,fri@09:00",
		"monthly@30,31@12:00", "monthly@31", "MONTHLY@0,32@x", "yearly", "weekly@@@", "daily@-1:-1:-1"} {
		f.Add(s, int64(1706696130), int64(0))
	}
	f.Add("monthly@31@23:59", int64(1735689540), int64(999999999)) // 2024-12-31 23:59
	f.Fuzz(func(t *testing.T, s string, sec, nsec int64) {
		sc, err := ParseSchedule(s)
		if err != nil {
			if sc != nil || !errors.Is(err, errScheduleKind) {
				t.Fatalf("ParseSchedule(%q) = %v, %v", s, sc, err)
			}
			return
		}
		const span = 1000 * 366 * 24 * 3600 // about a thousand years each side of 1970
		after := time.Unix(sec%span, nsec%int64(time.Second))
		next := sc.Next(after)
		if !next.After(after) || next.Second() != 0 || next.Nanosecond() != 0 || next.Location() != time.UTC ||
			next.Sub(after) > 62*24*time.Hour {
			t.Fatalf("ParseSchedule(%q).Next(%v) = %v", s, after, next)
		}
		again, err := ParseSchedule(sc.String())
		if err != nil || again.String() != sc.String() || !again.Next(after).Equal(next) {
			t.Fatalf("ParseSchedule(%q) = %v, %v; want %v", sc.String(), again, err, sc)
		}
	})
}
