package logstore

import (
	"strconv"
	"strings"
	"time"
)

// LogRef names one finished (or in-progress) log of a job.
type LogRef struct {
	JobID   string // field 1 of the file name
	Counter int64
	Status  string // "" for an in-progress log
	Name    string // file name: "<id>.<counter>.<status>", or "<id>.<counter>" in progress
}

// ParseName parses the name of a finished log file with the v0.9.3 rules
// (SPEC 3.3): split on '.', at least three fields, the second a decimal
// counter (ASCII digits only, no sign, fitting int64) and the third a
// non-empty status; fields beyond the third are ignored, so
// "zzz.9.weird.extra" is counter 9, status "weird". The first field (the job
// ID) is not checked and may be empty. ok is false for any other name,
// including the in-progress "<id>.<counter>" and an empty status
// ("a.1.", which v0.9.3 would take as status "").
func ParseName(name string) (ref LogRef, ok bool) {
	id, rest, ok := strings.Cut(name, ".")
	if !ok {
		return LogRef{}, false
	}
	num, rest, ok := strings.Cut(rest, ".")
	if !ok {
		return LogRef{}, false
	}
	counter, ok := parseCounter(num)
	if !ok {
		return LogRef{}, false
	}
	status, _, _ := strings.Cut(rest, ".")
	if status == "" {
		return LogRef{}, false
	}
	return LogRef{JobID: id, Counter: counter, Status: status, Name: name}, true
}

// parseInProgress parses an in-progress name "<id>.<counter>": exactly two
// fields and a decimal counter.
func parseInProgress(name string) (id string, counter int64, ok bool) {
	id, num, ok := strings.Cut(name, ".")
	if !ok || strings.Contains(num, ".") {
		return "", 0, false
	}
	counter, ok = parseCounter(num)
	return id, counter, ok
}

// parseCounter accepts one or more ASCII digits fitting an int64.
func parseCounter(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// FormatName returns the log file name "<id>.<counter>.<status>", or the
// in-progress name "<id>.<counter>" when status is "".
func FormatName(id string, counter int64, status string) string {
	b := make([]byte, 0, len(id)+len(status)+22)
	b = append(b, id...)
	b = append(b, '.')
	b = strconv.AppendInt(b, counter, 10)
	if status != "" {
		b = append(b, '.')
		b = append(b, status...)
	}
	return string(b)
}

// Prefix returns the log line prefix "YYYY-MM-DD HH:MM:SS UTC <kind>: <id>: "
// for time t, truncated to the second, in UTC (SPEC 7.3 says rounded;
// issue 16: a rounded stamp can lie half a second in the future).
func Prefix(t time.Time, kind Kind, id string) string {
	return string(appendPrefix(make([]byte, 0, 32+len(kind)+len(id)), t, kind, id))
}

// appendPrefix appends Prefix(t, kind, id) to b.
func appendPrefix(b []byte, t time.Time, kind Kind, id string) []byte {
	b = t.Truncate(time.Second).UTC().AppendFormat(b, "2006-01-02 15:04:05")
	b = append(b, " UTC "...)
	b = append(b, kind...)
	b = append(b, ": "...)
	b = append(b, id...)
	return append(b, ": "...)
}
