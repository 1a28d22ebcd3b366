package integration

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestLogContent reads run logs through GET /karajo/api/job_exec/log and
// checks the text format of SPEC 7.3 (prefix on every line, IMP-27), the
// command environment (7.2), the working directory (7.1), stop at the first
// failure, the running log and the error answers of 4.4.5 (IMP-19).
func TestLogContent(t *testing.T) {
	t.Parallel()
	s := start(t, `
[job.out]
path = "/out"
commands = [
	"echo hello",
	'printf "l1\nl2\nl3\n"',
	"env",
	"pwd",
	"echo to-stderr >&2",
]

[job.fail]
path = "/fail"
commands = ["echo one", "false", "echo never"]

[job.partial]
path = "/partial"
commands = ["echo partial-output", "sleep 30"]
`)
	wantEnvelope(t, s.trigger(t, "out", testSecret), http.StatusOK)
	wantEnvelope(t, s.trigger(t, "fail", testSecret), http.StatusOK)
	wantEnvelope(t, s.trigger(t, "partial", testSecret), http.StatusOK)

	t.Run("success", func(t *testing.T) {
		if st := s.waitRun(t, "out", 1, 60*time.Second); st != "success" {
			t.Fatalf("out #1: %q, want success", st)
		}
		if j := s.job(t, "out"); j.Status != "success" || j.LastRun == "0001-01-01T00:00:00Z" {
			t.Errorf("job out: status %q last_run %q, want success and a time", j.Status, j.LastRun)
		}
		l := s.logOf(t, "out", 1)
		if l.JobID != "out" || l.Name != "out.1.success" || l.Status != "success" || l.Counter != 1 {
			t.Errorf("log fields: %+v", jobLog{JobID: l.JobID, Name: l.Name, Status: l.Status, Counter: l.Counter})
		}
		lines := logLines(t, "out", l.Content)
		work := s.workDir("out")
		envWant := shellEnv(t, work, "out", 1)
		want := []string{"=== BEGIN",
			"", "--- Execute  0: echo hello", "hello",
			"", `--- Execute  1: printf "l1\nl2\nl3\n"`, "l1", "l2", "l3",
			"", "--- Execute  2: env"}
		want = append(want, envWant...)
		want = append(want,
			"", "--- Execute  3: pwd", work,
			"", "--- Execute  4: echo to-stderr >&2", "to-stderr",
			"=== DONE", "=== job: out: finished.")
		// env prints in an unspecified order: sort that block before comparing.
		// The run token is random: checked on its own, then left out.
		var got []string
		for _, l := range lines {
			if tok, ok := strings.CutPrefix(l, "KARAJO_RUN_TOKEN="); ok {
				if !regexp.MustCompile(`^k[0-9a-f]{12}\.out\.1\.[0-9a-f]{12}\.1$`).MatchString(tok) {
					t.Errorf("KARAJO_RUN_TOKEN = %q, want k<instance>.out.1.<random>.1 (attempt 1)", tok)
				}
				continue
			}
			got = append(got, l)
		}
		if len(got) == len(want) {
			i := 11
			sort.Strings(got[i : i+len(envWant)])
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("log lines (prefix removed) =\n%s\nwant\n%s\nraw:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), l.Content)
		}
		disk, err := os.ReadFile(filepath.Join(s.logDir("out"), "out.1.success"))
		if err != nil {
			t.Fatalf("log file: %v (files %v)", err, s.logFiles(t, "out"))
		}
		if !bytes.Equal(disk, l.Content) {
			t.Errorf("file differs from API content")
		}
		if fi, _ := os.Stat(filepath.Join(s.logDir("out"), "out.1.success")); fi.Mode().Perm() != 0o600 {
			t.Errorf("log file mode %v, want 0600", fi.Mode().Perm())
		}
		for _, d := range []string{work, s.logDir("out")} {
			if fi, err := os.Stat(d); err != nil || fi.Mode().Perm() != 0o700 {
				t.Errorf("directory %s: %v, want mode 0700 (SPEC 3.1)", d, err)
			}
		}
		// id is lower-cased before look-up; explicit gzip works too.
		r := s.raw(t, http.MethodGet, "/karajo/api/job_exec/log?id=OUT&counter=1", map[string]string{"Accept-Encoding": "gzip"}, nil)
		if r.status != http.StatusOK || r.header.Get("Content-Encoding") != "gzip" {
			t.Errorf("log?id=OUT with gzip: Content-Encoding %q: %s", r.header.Get("Content-Encoding"), r)
		}
		if !bytes.HasPrefix(r.body, []byte(`{"code":200,"data":{`)) {
			t.Errorf("log answer does not start with {\"code\":200,\"data\":{ : %s", r)
		}
	})

	t.Run("failure", func(t *testing.T) {
		if st := s.waitRun(t, "fail", 1, 60*time.Second); st != "failed" {
			t.Fatalf("fail #1: %q, want failed", st)
		}
		if j := s.job(t, "fail"); j.Status != "failed" {
			t.Errorf("job status %q, want failed", j.Status)
		}
		l := s.logOf(t, "fail", 1)
		if l.Name != "fail.1.failed" || l.Status != "failed" {
			t.Errorf("log name %q status %q, want fail.1.failed failed", l.Name, l.Status)
		}
		got := logLines(t, "fail", l.Content)
		want := []string{"=== BEGIN", "", "--- Execute  0: echo one", "one", "", "--- Execute  1: false", "!!! job: fail: exit status 1"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("log lines =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if _, err := os.Stat(filepath.Join(s.logDir("fail"), "fail.1.failed")); err != nil {
			t.Errorf("log file: %v (files %v)", err, s.logFiles(t, "fail"))
		}
	})

	t.Run("running", func(t *testing.T) {
		l := s.waitRunning(t, "partial", 1, "partial-output")
		if l.Name != "partial.1" || l.Counter != 1 || l.JobID != "partial" {
			t.Errorf("running log: name %q counter %d job_id %q, want partial.1 1 partial", l.Name, l.Counter, l.JobID)
		}
		lines := logLines(t, "partial", l.Content)
		if len(lines) < 4 || lines[0] != "=== BEGIN" || lines[3] != "partial-output" {
			t.Errorf("running log lines: %q", lines)
		}
		j := s.job(t, "partial")
		if j.Status != "running" || len(j.Logs) != 1 || j.Logs[0].Name != "partial.1" || j.Logs[0].Status != "running" {
			t.Errorf("job during run: status %q logs %+v, want running [partial.1 running]", j.Status, j.Logs)
		}
		s.act(t, "cancel", "partial")
		if st := s.waitRun(t, "partial", 1, 30*time.Second); st != "canceled" {
			t.Errorf("partial #1 after cancel: %q", st)
		}
	})

	t.Run("errors", func(t *testing.T) {
		for _, tt := range []struct {
			target, message string
		}{
			{"/karajo/api/job_exec/log?id=nojob&counter=1", "job ID nojob not found"},
			{"/karajo/api/job_exec/log?id=NoJob&counter=1", "job ID nojob not found"},
			{"/karajo/api/job_exec/log?counter=1", "job ID  not found"},
			{"/karajo/api/job_exec/log?id=out&counter=abc", "log #abc not found"},
			{"/karajo/api/job_exec/log?id=out", "log # not found"},
			{"/karajo/api/job_exec/log?id=out&counter=99", "log #99 not found"},
			{"/karajo/api/job_exec/log?id=out&counter=0", "log #0 not found"},
			{"/karajo/api/job_exec/log?id=out&counter=99999999999999999999", "log #99999999999999999999 not found"},
		} {
			t.Run(tt.target, func(t *testing.T) {
				wantError(t, s.get(t, tt.target), http.StatusNotFound, tt.message, "")
			})
		}
	})
}

// shellEnv is what `env` prints under /bin/sh with exactly the default
// environment of a job named id (SPEC 7.2 and issue 12: PATH, HOME, the
// built-ins) in its work directory dir (the shell adds PWD, and maybe
// more), sorted.
func shellEnv(t *testing.T, dir, id string, counter int) []string {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", "env")
	cmd.Dir = dir
	cmd.Env = []string{fmt.Sprintf("KARAJO_JOB_COUNTER=%d", counter), "KARAJO_JOB_ID=" + id, "KARAJO_JOB_NAME=" + id, "HOME=" + dir, "PATH=" + jobPATH,
		"KARAJO_RUN_TRIGGER=webhook", "KARAJO_RUN_ATTEMPT=1"}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("reference env: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	sort.Strings(lines)
	return lines
}

// TestRetention runs a job with log_retention = 2 four times: only #3 and
// #4 remain, on disk and in the API (SPEC 1.10).
func TestRetention(t *testing.T) {
	t.Parallel()
	s := start(t, `
[job.ret]
path = "/ret"
log_retention = 2
commands = ["echo c=$KARAJO_JOB_COUNTER"]
`)
	for n := int64(1); n <= 4; n++ {
		wantEnvelope(t, s.trigger(t, "ret", testSecret), http.StatusOK)
		if st := s.waitRun(t, "ret", n, 60*time.Second); st != "success" {
			t.Fatalf("ret #%d: %q", n, st)
		}
	}
	j := s.job(t, "ret")
	var names []string
	for _, l := range j.Logs {
		names = append(names, l.Name)
	}
	if want := []string{"ret.3.success", "ret.4.success"}; !reflect.DeepEqual(names, want) {
		t.Errorf("API logs %v, want %v", names, want)
	}
	if files, want := s.logFiles(t, "ret"), []string{"ret.3.success", "ret.4.success"}; !reflect.DeepEqual(files, want) {
		t.Errorf("files %v, want %v", files, want)
	}
	for _, n := range []int{1, 2} {
		wantError(t, s.get(t, fmt.Sprintf("/karajo/api/job_exec/log?id=ret&counter=%d", n)), http.StatusNotFound, fmt.Sprintf("log #%d not found", n), "")
	}
	l := s.logOf(t, "ret", 4)
	if lines := logLines(t, "ret", l.Content); !contains(lines, "c=4") {
		t.Errorf("log #4 lacks KARAJO_JOB_COUNTER=4 output: %q", lines)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
