package httpapi

import (
	"net/url"
	"testing"
	"time"

	"github.com/karajo/karajo/logstore/history"
)

// TestRunsParams: limit 1..500 (default 50), before >= 1, cursor of a
// record (not with before), skipped true|false (default true); anything
// else is refused.
func TestRunsParams(t *testing.T) {
	tests := []struct {
		query string
		want  runsParams
		bad   bool
	}{
		{query: "", want: runsParams{limit: 50, skipped: true}},
		{query: "limit=1&before=7&skipped=false", want: runsParams{limit: 1, before: 7}},
		{query: "limit=500", want: runsParams{limit: 500, skipped: true}},
		{query: "limit=0", bad: true},
		{query: "limit=501", bad: true},
		{query: "limit=x", bad: true},
		{query: "limit=", bad: true},
		{query: "before=0", bad: true},
		{query: "before=-3", bad: true},
		{query: "before=99999999999999999999", bad: true},
		{query: "skipped=yes", bad: true},
		{query: "cursor=12-0", want: runsParams{limit: 50, skipped: true, cursor: history.Key{Counter: 12}}},
		{query: "cursor=0-1733212345000000000&skipped=false", want: runsParams{limit: 50, cursor: history.Key{Seq: 1733212345000000000}}},
		{query: "attempts=true&skipped=false", want: runsParams{limit: 50, attempts: true}},
		{query: "attempts=false", want: runsParams{limit: 50, skipped: true}},
		{query: "attempts=1", bad: true},
		{query: "cursor=12", bad: true},
		{query: "cursor=0-0", bad: true},
		{query: "cursor=", bad: true},
		{query: "cursor=12-0&before=3", bad: true},
		{query: "before=3&cursor=12-0", bad: true},
	}
	for _, tt := range tests {
		q, _ := url.ParseQuery(tt.query)
		got, err := parseRunsParams(q)
		if tt.bad {
			if err == nil {
				t.Errorf("%q: accepted as %+v", tt.query, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%q = %+v, %v; want %+v", tt.query, got, err, tt.want)
		}
	}
}

// TestWindow: a Go duration or days, 1h..366d, default 7d.
func TestWindow(t *testing.T) {
	for raw, want := range map[string]time.Duration{"": 7 * 24 * time.Hour, "24h": 24 * time.Hour, "1h": time.Hour,
		"7d": 7 * 24 * time.Hour, "366d": 366 * 24 * time.Hour, "90m": 90 * time.Minute} {
		if _, got, err := parseWindow(raw); err != nil || got != want {
			t.Errorf("%q = %v, %v; want %v", raw, got, err, want)
		}
	}
	for _, raw := range []string{"59m", "0d", "367d", "-1h", "1w", "d", "7.5d", "1e9h"} {
		if _, got, err := parseWindow(raw); err == nil {
			t.Errorf("%q accepted as %v", raw, got)
		}
	}
}
