package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// follow prints run counter of job j (kind known; nil: an unknown job,
// which the server then refuses) as the log stream endpoint sends it,
// until the run ends, and returns the run's final status.
func (c *client) follow(j *jobState, id string, counter int64, stdout io.Writer) (string, error) {
	path := "/karajo/api/job_exec/log/stream"
	if j != nil && j.Kind == kindHTTP {
		path = "/karajo/api/job_http/log/stream"
	}
	target, hdr := c.signedTarget(path, url.Values{"id": {id}, "counter": {strconv.FormatInt(counter, 10)}})
	hdr.Set("Accept", "text/event-stream")
	// No overall timeout: a stream lasts as long as the run.
	hc := &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, ResponseHeaderTimeout: c.timeout}}
	res, err := c.send(hc, http.MethodGet, target, hdr, nil)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		if _, err := c.envelope(res); err != nil {
			return "", err
		}
		return "", failf(exitServer, "%s answered the log stream with HTTP %d and no stream", c.URL, res.StatusCode)
	}
	return readLogStream(res.Body, stdout)
}

// readLogStream reads the Server-Sent Events of a log stream: each "log"
// event's data (a JSON string) is written to w; the "end" event
// ({"status":…}) ends it with that status. A stream that stops before
// "end" is an error (exit 1).
func readLogStream(r io.Reader, w io.Writer) (string, error) {
	br := bufio.NewReader(r)
	var event, data string
	for {
		line, err := br.ReadString('\n')
		line = strings.TrimRight(line, "\r\n")
		switch {
		case err != nil && line == "":
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return "", failf(exitServer, "the log stream stopped before the run ended: %v", err)
		case strings.HasPrefix(line, "event:"):
			event = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case strings.HasPrefix(line, "data:"):
			data += strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " ")
		case line == "":
			st, done, err := logEvent(event, data, w)
			if err != nil || done {
				return st, err
			}
			event, data = "", ""
		}
	}
}

// logEvent handles one complete event of a log stream.
func logEvent(event, data string, w io.Writer) (status string, done bool, err error) {
	switch event {
	case "log":
		var text string
		if err := json.Unmarshal([]byte(data), &text); err != nil {
			return "", true, failf(exitServer, "log stream: a log event that is not a JSON string: %v", err)
		}
		_, err := io.WriteString(w, text)
		return "", false, err
	case "end":
		var end struct {
			Status string `json:"status"`
		}
		if err := json.Unmarshal([]byte(data), &end); err != nil {
			return "", true, failf(exitServer, "log stream: an end event that is not {\"status\":…}: %v", err)
		}
		return end.Status, true, nil
	}
	return "", false, nil // comments (keep-alive) and unknown events
}
