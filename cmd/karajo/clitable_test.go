package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestWriteTable(t *testing.T) {
	now := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
	jobs := []*jobState{
		{Kind: kindExec, ID: "backup", Status: "failed", LastRun: now.Add(-90 * time.Minute), NextRun: now.Add(30 * time.Second)},
		{Kind: kindExec, ID: "long_job_name", Status: "running", LastRun: now.Add(-3 * 24 * time.Hour), InProgress: []int64{7}, Waiting: "retry"},
		{Kind: kindHTTP, ID: "ping", Status: ""},
	}
	var plain, colored bytes.Buffer
	writeTable(&plain, jobs, now, false)
	writeTable(&colored, jobs, now, true)
	want := `JOB            KIND  STATUS   LAST RUN                          NEXT RUN                       RUNNING
backup         exec  failed   2026-12-03 06:30:00Z (1h30m ago)  2026-12-03 08:00:30Z (in 30s)  -
long_job_name  exec  running  2026-11-30 08:00:00Z (3d0h ago)   -                              #7, waiting for retry
ping           http  -        -                                 -                              -
`
	if plain.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", plain.String(), want)
	}
	if !strings.Contains(colored.String(), "\x1b[31mfailed\x1b[0m") {
		t.Errorf("no red failed in %q", colored.String())
	}
	if got := regexp.MustCompile("\x1b\\[[0-9]*m").ReplaceAllString(colored.String(), ""); got != want {
		t.Errorf("coloured table misaligned:\n%s", got)
	}
}
