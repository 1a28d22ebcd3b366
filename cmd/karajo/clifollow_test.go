package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestReadLogStream(t *testing.T) {
	var out bytes.Buffer
	st, err := readLogStream(strings.NewReader(": keep-alive\n\nevent: log\ndata: \"a\\nb\"\n\nevent: log\r\ndata: \"c\\n\"\r\n\r\nevent: end\ndata: {\"status\":\"failed\"}\n\n"), &out)
	if err != nil || st != "failed" || out.String() != "a\nbc\n" {
		t.Errorf("= %q, %v, %q", st, err, out.String())
	}
	out.Reset()
	_, err = readLogStream(strings.NewReader("event: log\ndata: \"a\"\n\n"), &out)
	var ce *cliError
	if !errors.As(err, &ce) || ce.code != exitServer || !strings.Contains(ce.msg, "stopped before the run ended") {
		t.Errorf("cut stream: %v", err)
	}
	_, err = readLogStream(strings.NewReader("event: log\ndata: 12\n\n"), &out)
	if !errors.As(err, &ce) || ce.code != exitServer {
		t.Errorf("bad data: %v", err)
	}
}

func TestSummarize(t *testing.T) {
	log := "2026-11-28 16:40:10 UTC job: a: === BEGIN trigger=timer scheduled_at=2026-11-28T16:40:10Z\n" +
		"2026-11-28 16:40:10 UTC job: a: multi\nline without prefix\n" +
		"2026-11-28 16:41:15 UTC job: a: !!! job: a: exit status 1\n"
	r := summarize([]byte(log))
	if r.Started != time.Date(2026, 11, 28, 16, 40, 10, 0, time.UTC) || r.Seconds != 65 || r.Trigger != "timer" || r.LogBytes != len(log) {
		t.Errorf("summarize = %+v", r)
	}
	if r := summarize([]byte("garbage\n")); !r.Started.IsZero() || r.Seconds != 0 {
		t.Errorf("summarize garbage = %+v", r)
	}
}
