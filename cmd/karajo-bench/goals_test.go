package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestJudgeGoals(t *testing.T) {
	gs := []goal{
		{key: "at-least", text: "ratio ≥ 0.95", limit: "fork", target: 0.95, unit: "×"},
		{key: "at-most", text: "≤ 0.5 ms", atMost: true, target: 0.5, unit: "ms"},
		{key: "absent", text: "no row", atMost: true, target: 1},
		{key: "no-limit", text: "limit missing", limit: "missing", target: 1},
	}
	tests := []struct {
		name    string
		rows    []row
		limits  map[string]float64
		want    []string // verdict per goal
		wantVal []float64
	}{
		{
			name:    "both met",
			rows:    []row{{goal: "at-least", vals: []float64{960, 1000, 990}}, {goal: "at-most", vals: []float64{0.4, 0.5, 0.6}}},
			limits:  map[string]float64{"fork": 1000},
			want:    []string{"met", "met", "not measured in this run", "not measured in this run"},
			wantVal: []float64{0.99, 0.5, 0, 0},
		},
		{
			name:    "both missed",
			rows:    []row{{goal: "at-least", vals: []float64{400}}, {goal: "at-most", vals: []float64{1}}, {goal: "no-limit", vals: []float64{3}}},
			limits:  map[string]float64{"fork": 1000},
			want:    []string{"missed: 42 % of the target", "missed: 2.00× the target", "not measured in this run", "not measured in this run"},
			wantVal: []float64{0.4, 1, 0, 0},
		},
		{
			name:   "ratio without its limit is not judged",
			rows:   []row{{goal: "at-least", vals: []float64{400}}},
			limits: map[string]float64{},
			want:   []string{"not measured in this run", "not measured in this run", "not measured in this run", "not measured in this run"},
		},
		{
			name: "a row without values does not count",
			rows: []row{{goal: "at-most"}, {goal: "at-most", vals: []float64{0.2}}},
			want: []string{"not measured in this run", "met", "not measured in this run", "not measured in this run"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := judgeGoals(gs, tt.rows, tt.limits)
			for i, r := range got {
				if v := r.verdict(); v != tt.want[i] {
					t.Errorf("goal %s: verdict %q, want %q", r.key, v, tt.want[i])
				}
				if tt.wantVal != nil && r.measured && r.value != tt.wantVal[i] {
					t.Errorf("goal %s: value %v, want %v", r.key, r.value, tt.wantVal[i])
				}
			}
		})
	}
}

func TestGoalTable(t *testing.T) {
	var none bytes.Buffer
	goalTable(&none, judgeGoals(goals, nil, nil))
	if none.Len() != 0 {
		t.Errorf("a run that measured no goal wrote %q", none.String())
	}
	var buf bytes.Buffer
	goalTable(&buf, judgeGoals(goals, []row{{goal: "hammer-8-cpu", vals: []float64{1.1}}}, nil))
	out := buf.String()
	for _, want := range []string{"| 10 |", "≤ 0.5 ms", "1.10 ms", "missed: 2.20× the target"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "cron") {
		t.Errorf("table lists goals this run did not measure:\n%s", out)
	}
}

func TestGoalKeysUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, g := range goals {
		if seen[g.key] {
			t.Errorf("goal key %q twice", g.key)
		}
		seen[g.key] = true
	}
}
