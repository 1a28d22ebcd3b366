package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// tickLines reads the lines a job's command appended to file: each is
// "<trigger> <scheduled_at> <unix start, with fraction>".
type tickLine struct {
	trigger   string
	scheduled time.Time
	started   time.Time
}

func readTicks(t *testing.T, file string) []tickLine {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []tickLine
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.Fields(l)
		if len(f) != 3 {
			continue
		}
		sched, err := time.Parse(time.RFC3339, f[1])
		if err != nil {
			t.Fatalf("KARAJO_SCHEDULED_AT %q: %v", f[1], err)
		}
		secs, err := strconv.ParseFloat(f[2], 64)
		if err != nil {
			t.Fatalf("start %q: %v", f[2], err)
		}
		out = append(out, tickLine{f[0], sched, time.Unix(0, int64(secs*1e9))})
	}
	return out
}

// tickCommand appends a tickLine to file.
func tickCommand(file string) string {
	return fmt.Sprintf(`echo "${KARAJO_RUN_TRIGGER:-none} ${KARAJO_SCHEDULED_AT:-none} $(date +%%s.%%N)" >> %s`, file)
}

// TestScheduleEvenSeconds: a six-field cron job runs on even seconds, told
// so by KARAJO_RUN_TRIGGER, KARAJO_SCHEDULED_AT and its log's first line.
func TestScheduleEvenSeconds(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ticks := filepath.Join(dir, "ticks")
	writeConfig(t, dir, configHeader(dir)+fmt.Sprintf(`
[job."Even"]
cron = "*/2 * * * * *"
commands = [%q]
`, tickCommand(ticks)))
	s := startDir(t, dir)
	waitFor(t, 60*time.Second, "three runs", func() bool { return len(readTicks(t, ticks)) >= 3 })
	for _, l := range readTicks(t, ticks) {
		if l.trigger != "timer" || l.scheduled.Second()%2 != 0 || l.started.Before(l.scheduled) {
			t.Errorf("run %+v: want trigger timer, an even second, started at or after it", l)
		}
	}
	first := s.logOf(t, "even", 1)
	line, _, _ := strings.Cut(string(first.Content), "\n")
	if !strings.Contains(line, "=== BEGIN trigger=timer scheduled_at=") {
		t.Errorf("first log line = %q", line)
	}
	j := s.job(t, "Even")
	if j.Schedule != "" || j.Interval != 0 {
		t.Errorf("environment: schedule %q, interval %d; want none", j.Schedule, j.Interval)
	}
}

// scheduleView is the data of the preview endpoints.
type scheduleView struct {
	ID         string `json:"id"`
	Expression string `json:"expression"`
	Timezone   string `json:"timezone"`
	Jitter     int64  `json:"jitter"`
	Runs       []struct {
		At        string `json:"at"`
		UTC       string `json:"utc"`
		Scheduled string `json:"scheduled"`
	} `json:"runs"`
}

func (s *server) schedule(t *testing.T, target string) scheduleView {
	t.Helper()
	env := wantEnvelope(t, s.get(t, target), http.StatusOK)
	var v scheduleView
	if err := json.Unmarshal(env.Data, &v); err != nil {
		t.Fatalf("%s: %v", target, err)
	}
	return v
}

// TestScheduleZone: a job in Asia/Kolkata shows the right next_run in the
// environment and in the preview; the expression preview follows the DST
// vectors; bad parameters are 400 envelopes.
func TestScheduleZone(t *testing.T) {
	t.Parallel()
	s := start(t, `
[job."Kolkata"]
cron = "0 3 * * *"
timezone = "Asia/Kolkata"
commands = ["true"]
`)
	// 03:00 in Kolkata (+05:30, no DST) is 21:30 UTC the day before.
	now := time.Now().UTC()
	want := time.Date(now.Year(), now.Month(), now.Day(), 21, 30, 0, 0, time.UTC)
	if !want.After(now) {
		want = want.AddDate(0, 0, 1)
	}
	var raw struct {
		Data struct {
			Jobs map[string]struct {
				NextRun  string   `json:"next_run"`
				Cron     []string `json:"cron"`
				Timezone string   `json:"timezone"`
			} `json:"jobs"`
		} `json:"data"`
	}
	if err := json.Unmarshal(s.get(t, "/karajo/api/environment").body, &raw); err != nil {
		t.Fatal(err)
	}
	j := raw.Data.Jobs["Kolkata"]
	if j.NextRun != want.Format(time.RFC3339) || j.Timezone != "Asia/Kolkata" || len(j.Cron) != 1 || j.Cron[0] != "0 3 * * *" {
		t.Errorf("environment job = %+v; want next_run %s", j, want.Format(time.RFC3339))
	}
	v := s.schedule(t, "/karajo/api/job_exec/schedule?id=kolkata&n=3")
	if len(v.Runs) != 3 || v.Runs[0].UTC != want.Format(time.RFC3339) ||
		v.Runs[0].At != want.In(time.FixedZone("", 5*3600+1800)).Format(time.RFC3339) || v.Timezone != "Asia/Kolkata" {
		t.Errorf("job preview = %+v", v)
	}
	v = s.schedule(t, "/karajo/api/schedule?cron="+urlQuery("0 2 * * *")+"&timezone=Europe/Berlin&n=3&after="+urlQuery("2025-10-25T12:00:00+02:00"))
	got := []string{}
	for _, r := range v.Runs {
		got = append(got, r.At)
	}
	if strings.Join(got, " ") != "2025-10-26T02:00:00+02:00 2025-10-27T02:00:00+01:00 2025-10-28T02:00:00+01:00" {
		t.Errorf("preview of V6 = %v", got)
	}
	for _, q := range []string{"cron=" + urlQuery("0 9 * * mon-fry"), "cron=" + urlQuery("0 9 * * *") + "&timezone=Mars/Base",
		"cron=" + urlQuery("0 0 30 2 *"), "cron=daily&n=0", "cron=daily&after=now", ""} {
		wantEnvelope(t, s.get(t, "/karajo/api/schedule?"+q), http.StatusBadRequest)
	}
	wantEnvelope(t, s.get(t, "/karajo/api/job_exec/schedule?id=nobody"), http.StatusBadRequest)
	wantEnvelope(t, s.get(t, "/karajo/api/job_http/schedule?id=kolkata"), http.StatusBadRequest)
}

// urlQuery escapes a query value.
func urlQuery(s string) string {
	return strings.NewReplacer("%", "%25", " ", "%20", "+", "%2B", "*", "%2A", "/", "%2F", ":", "%3A", "&", "%26").Replace(s)
}

// TestScheduleJitter: a run with jitter starts when the preview said, not
// at its nominal time.
func TestScheduleJitter(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ticks := filepath.Join(dir, "ticks")
	writeConfig(t, dir, configHeader(dir)+fmt.Sprintf(`
[job."Jittery"]
cron = "*/10 * * * * *"
jitter = "8s"
commands = [%q]
`, tickCommand(ticks)))
	s := startDir(t, dir)
	v := s.schedule(t, "/karajo/api/job_exec/schedule?id=jittery&n=4")
	fire := map[string]time.Time{}
	moved := false
	for _, r := range v.Runs {
		at, _ := time.Parse(time.RFC3339, r.UTC)
		sched, _ := time.Parse(time.RFC3339, r.Scheduled)
		fire[sched.UTC().Format(time.RFC3339)] = at
		moved = moved || !at.Equal(sched)
	}
	if len(v.Runs) != 4 || v.Jitter != int64(8*time.Second) {
		t.Fatalf("preview = %+v", v)
	}
	waitFor(t, 90*time.Second, "a previewed run", func() bool {
		for _, l := range readTicks(t, ticks) {
			if _, ok := fire[l.scheduled.UTC().Format(time.RFC3339)]; ok {
				return true
			}
		}
		return false
	})
	for _, l := range readTicks(t, ticks) {
		at, ok := fire[l.scheduled.UTC().Format(time.RFC3339)]
		if ok && (l.started.Before(at) || l.started.After(at.Add(5*time.Second))) {
			t.Errorf("run of %v started at %v; the preview said %v", l.scheduled, l.started, at)
		}
	}
	if !moved {
		t.Logf("every previewed jitter was 0 (possible, unlikely): %+v", v.Runs)
	}
}

// TestScheduleCatchUpAfterKill: a job killed with SIGKILL across its due
// times runs once after the restart with catch_up = "latest", and not
// without catch_up.
func TestScheduleCatchUpAfterKill(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	with, without := filepath.Join(dir, "with"), filepath.Join(dir, "without")
	writeConfig(t, dir, configHeader(dir)+fmt.Sprintf(`
[job."With"]
cron = "*/3 * * * * *"
catch_up = "latest"
catch_up_window = "1h"
commands = [%q]

[job."Without"]
cron = "*/3 * * * * *"
commands = [%q]
`, tickCommand(with), tickCommand(without)))
	s := startDir(t, dir)
	waitFor(t, 60*time.Second, "both jobs ran", func() bool {
		return len(readTicks(t, with)) > 0 && len(readTicks(t, without)) > 0
	})
	s.kill9()
	killed := time.Now()
	last := readTicks(t, with)
	lastBefore := last[len(last)-1].scheduled
	time.Sleep(7 * time.Second) // at least two due points pass
	s2 := startDir(t, dir)
	restarted := time.Now()
	catchUps := func(file string) []tickLine {
		var out []tickLine
		for _, l := range readTicks(t, file) {
			if l.trigger == "catch-up" {
				out = append(out, l)
			}
		}
		return out
	}
	waitFor(t, 60*time.Second, "the catch-up run", func() bool { return len(catchUps(with)) > 0 })
	// Let the jobs run a few regular points after it.
	waitFor(t, 60*time.Second, "regular runs after the restart", func() bool {
		n := 0
		for _, l := range readTicks(t, without) {
			if l.trigger == "timer" && l.scheduled.After(restarted) {
				n++
			}
		}
		return n >= 2
	})
	c := catchUps(with)
	if len(c) != 1 || !c[0].scheduled.After(lastBefore) || !c[0].scheduled.After(killed.Add(-time.Second)) || c[0].scheduled.After(restarted) {
		t.Errorf("catch-up runs of With = %+v; want one, for a point between the kill (%v) and the restart (%v)", c, killed, restarted)
	}
	if c := catchUps(without); len(c) != 0 {
		t.Errorf("catch-up runs of Without = %+v; want none", c)
	}
	s2.stop()
}

// TestScheduleBadConfig: every refused schedule setting exits 2 naming
// the file, the key and the part at fault.
func TestScheduleBadConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, karajo, job string
		wants             []string
	}{
		{"unknown weekday", "", `cron = ["0 12 * * sat", "0 9 * * mon-fry"]`,
			[]string{`job."A".cron[2]`, `"0 9 * * mon-fry": field 5 (day of week): unknown name "fry"`}},
		{"unknown zone", "", "cron = \"0 9 * * *\"\ntimezone = \"Mars/Base\"", []string{`job."A".timezone`, `unknown time zone "Mars/Base"`}},
		{"unknown [karajo] zone", "timezone = \"Europe/Berlinn\"\n", `schedule = "daily@02:00"`, []string{"karajo.timezone", `"Europe/Berlinn"`}},
		{"cron with schedule", "", "cron = \"0 9 * * *\"\nschedule = \"daily@09:00\"", []string{`job."A".cron`, "mutually exclusive"}},
		{"cron with interval", "", "cron = \"0 9 * * *\"\ninterval = \"5m\"", []string{`job."A".cron`, "mutually exclusive"}},
		{"every under 1s", "", `cron = "@every 500ms"`, []string{`job."A".cron`, "under the 1s minimum"}},
		{"jitter too long", "", "cron = \"*/10 * * * * *\"\njitter = \"10s\"", []string{`job."A".jitter`, "shortest gap"}},
		{"never fires", "", `cron = "0 0 30 2 *"`, []string{`job."A".cron`, "never fires"}},
		{"strict karajo time", "", `schedule = "daily@2:30pm"`, []string{`job."A".schedule`, `time "2:30pm"`}},
		{"strict karajo hour", "", `schedule = "daily@25:99"`, []string{`job."A".schedule`, "hour 25 out of range"}},
		{"strict karajo minute", "", `schedule = "hourly@75"`, []string{`job."A".schedule`, `minute "75" out of range`}},
		{"bad catch_up", "", "cron = \"0 9 * * *\"\ncatch_up = \"sometimes\"", []string{`job."A".catch_up`, `"sometimes"`}},
		{"catch_up on interval", "", "interval = \"5m\"\ncatch_up = \"latest\"", []string{`job."A".catch_up`, "cron and schedule jobs only"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			header := strings.Replace(configHeader(dir), "[karajo]\n", "[karajo]\n"+tt.karajo, 1)
			cfg := writeConfig(t, dir, header+"\n[job.\"A\"]\ncommands = [\"true\"]\n"+tt.job+"\n")
			code, stderr := runToExit(t, cfg)
			if code != 2 {
				t.Errorf("exit code %d, want 2; stderr:\n%s", code, stderr)
			}
			for _, w := range append([]string{"karajo.toml"}, tt.wants...) {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not mention %q:\n%s", w, stderr)
				}
			}
		})
	}
}

// TestScheduleCommand runs `karajo schedule` as a user would: one run per
// line starting with the instant in RFC 3339 with the zone's offset, exit
// 0; a refused expression or zone prints the reason and exits 2.
func TestScheduleCommand(t *testing.T) {
	t.Parallel()
	run := func(args ...string) (int, string, string) {
		cmd := exec.Command(binPath, append([]string{"schedule"}, args...)...)
		var out, errs strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errs
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, out.String(), errs.String()
	}
	code, out, _ := run("-timezone", "Europe/Berlin", "-after", "2025-10-25T12:00:00+02:00", "-n", "3", "0 2 * * *")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	want := []string{"2025-10-26T02:00:00+02:00", "2025-10-27T02:00:00+01:00", "2025-10-28T02:00:00+01:00"}
	if code != 0 || len(lines) != 3 {
		t.Fatalf("exit %d, output %q", code, out)
	}
	for i, l := range lines {
		if !strings.HasPrefix(l, want[i]+" ") {
			t.Errorf("line %d = %q, want it to start with %s", i+1, l, want[i])
		}
	}
	code, out, _ = run("-n", "2", "weekly@mon-fri@09:00")
	if code != 0 || len(strings.Split(strings.TrimSpace(out), "\n")) != 2 {
		t.Errorf("karajo schedule weekly@mon-fri@09:00: exit %d, %q", code, out)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"0 9 * * mon-fry"}, `unknown name "fry"`},
		{[]string{"-timezone", "Nowhere/City", "0 9 * * *"}, `unknown time zone "Nowhere/City"`},
		{[]string{"daily@25:99"}, "hour 25 out of range"},
		{[]string{"0 0 30 2 *"}, "never fires"},
	} {
		code, out, errs := run(tt.args...)
		if code != 2 || out != "" || !strings.Contains(errs, tt.want) {
			t.Errorf("karajo schedule %q: exit %d, stdout %q, stderr %q; want 2 and %q", tt.args, code, out, errs, tt.want)
		}
	}
}
