package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
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
