package config

import (
	"cmp"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
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
			(j.Interval != 0 && j.Interval < MinInterval) || (j.Sched == nil) != (j.Schedule == "" && j.Cron == nil) ||
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
