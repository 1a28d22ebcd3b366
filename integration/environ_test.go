package integration

import (
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// inheritValue is in karajo's own environment (inherited from the tests)
// for inherit_env to pass through.
const inheritValue = "from-daemon"

func init() { os.Setenv("KARAJO_IT_INHERIT", inheritValue) }

// writeEnvFile writes an env file with mode 0600 next to the main config
// file (where a relative env_file is looked up).
func writeEnvFile(t *testing.T, dir, name, content string) {
	t.Helper()
	etc := filepath.Join(dir, "etc", "karajo")
	if err := os.MkdirAll(etc, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(etc, name), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// envLines returns the NAME=value lines a run printed with `env`, without
// the log prefixes and karajo's own lines, sorted.
func envLines(t *testing.T, id string, content []byte) []string {
	t.Helper()
	var out []string
	for _, l := range logLines(t, id, content) {
		// KARAJO_RUN_TOKEN is random per run: runcontrol_test.go checks it.
		if strings.Contains(l, "=") && !strings.HasPrefix(l, "---") && !strings.HasPrefix(l, "===") && !strings.HasPrefix(l, "KARAJO_RUN_TOKEN=") {
			out = append(out, l)
		}
	}
	slices.Sort(out)
	return out
}

// TestCommandEnvironment: what a command sees. Precedence (defaults, [karajo]
// env, env_file, inherit_env, then the job's, then the built-ins), the
// default PATH and HOME, nothing else of karajo's own environment, dir
// and shell.
func TestCommandEnvironment(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeEnvFile(t, dir, "global.env", "GLOBAL_FILE=gfile\nBOTH_FILE=global-file\n")
	writeEnvFile(t, dir, "job.env", "# the job's file\nexport BOTH_FILE='job-file'\nJOB_FILE=\"j \\\"q\\\"\"\nOVER=file\n")
	work := t.TempDir()
	writeConfig(t, dir, configHeader(dir)+`
env = { GLOBAL = "g", BOTH = "global", OVER = "global" }
env_file = "global.env"

[job.env]
path = "/env"
env = { BOTH = "job", OVER = "job-inline", KARAJO_JOB_ID = "fake" }
env_file = "job.env"
inherit_env = ["KARAJO_IT_INHERIT", "KARAJO_IT_UNSET"]
commands = ["env | rev"] # reversed: the log masks the env_file values as printed

[job.defaults]
path = "/defaults"
commands = ["env", "cd ~ && pwd"]

[job.where]
path = "/where"
dir = "`+work+`"
shell = ["/bin/bash", "-c"]
env = { HOME = "/nowhere" }
commands = ["pwd", "echo bash=$BASH_VERSION", "echo home=$HOME"]
`)
	s := startDir(t, dir)
	for _, id := range []string{"env", "defaults", "where"} {
		wantEnvelope(t, s.trigger(t, id, testSecret), http.StatusOK)
	}
	for _, id := range []string{"env", "defaults", "where"} {
		if st := s.waitRun(t, id, 1, 60*time.Second); st != "success" {
			t.Fatalf("%s #1: %q\n%s", id, st, s.logOf(t, id, 1).Content)
		}
	}

	t.Run("precedence", func(t *testing.T) {
		var got []string
		for _, l := range envLines(t, "env", s.logOf(t, "env", 1).Content) {
			r := []rune(l)
			slices.Reverse(r)
			got = append(got, string(r))
		}
		slices.Sort(got)
		want := []string{
			"BOTH=job", "BOTH_FILE=job-file", "GLOBAL=g", "GLOBAL_FILE=gfile",
			"HOME=" + s.workDir("env"), `JOB_FILE=j "q"`,
			"KARAJO_IT_INHERIT=" + inheritValue, "KARAJO_JOB_COUNTER=1", "KARAJO_JOB_ID=env", "KARAJO_JOB_NAME=env",
			"KARAJO_RUN_ATTEMPT=1", "KARAJO_RUN_TRIGGER=webhook",
			"OVER=file", "PATH=" + jobPATH, "PWD=" + s.workDir("env"),
		}
		got = slices.DeleteFunc(got, func(l string) bool {
			return strings.HasPrefix(l, "SHLVL=") || strings.HasPrefix(l, "_=") || strings.HasPrefix(l, "KARAJO_RUN_TOKEN=")
		})
		if !slices.Equal(got, want) {
			t.Errorf("env of job env =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
	t.Run("defaults", func(t *testing.T) {
		content := s.logOf(t, "defaults", 1).Content
		got := envLines(t, "defaults", content)
		// shellEnv's default environment plus the [karajo] variables, the
		// env_file values masked.
		want := append(shellEnv(t, s.workDir("defaults"), "defaults", 1),
			"BOTH=global", "BOTH_FILE=***", "GLOBAL=g", "GLOBAL_FILE=***", "OVER=global")
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("env of job defaults =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if lines := logLines(t, "defaults", content); !slices.Contains(lines, s.workDir("defaults")) {
			t.Errorf("cd ~ did not reach the work directory %s:\n%s", s.workDir("defaults"), content)
		}
	})
	t.Run("dir and shell", func(t *testing.T) {
		lines := logLines(t, "where", s.logOf(t, "where", 1).Content)
		if !slices.Contains(lines, work) || !slices.Contains(lines, "home=/nowhere") {
			t.Errorf("pwd or HOME wrong: want %s and home=/nowhere in\n%s", work, strings.Join(lines, "\n"))
		}
		if !slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, "bash=") && len(l) > len("bash=") }) {
			t.Errorf("not run by bash:\n%s", strings.Join(lines, "\n"))
		}
	})
}

// TestCommandEnvironmentRefused: bad environment keys stop the start with exit
// code 2 and name file, key and reason.
func TestCommandEnvironmentRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeEnvFile(t, dir, "bad.env", "OK=1\nTOKEN=s3cr3t-value\nnot a line\n")
	cfg := writeConfig(t, dir, configHeader(dir)+`
[job.a]
commands = ["true"]
env = { "BAD-NAME" = "x" }
env_file = "bad.env"
dir = "relative/dir"

[job.b]
commands = ["true"]
env_file = "missing.env"
`)
	code, out := runToExit(t, cfg)
	if code != 2 {
		t.Fatalf("exit code %d, want 2; output:\n%s", code, out)
	}
	for _, want := range []string{
		cfg + `: job."a".env: "BAD-NAME" is not a variable name`,
		cfg + `: job."a".env_file: ` + filepath.Join(dir, "etc", "karajo", "bad.env") + `:3: want NAME=value`,
		cfg + `: job."a".dir: "relative/dir" is not an absolute path`,
		cfg + `: job."b".env_file: ` + filepath.Join(dir, "etc", "karajo", "missing.env") + `: no such file`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "s3cr3t-value") {
		t.Errorf("output shows a value of the env file:\n%s", out)
	}
}
