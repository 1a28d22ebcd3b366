package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// row is one figure of the table: its value in each round.
type row struct {
	scenario string
	figure   string
	unit     string
	vals     []float64
	limit    string // key of b.limits the ratio is taken against; "" = none
	isLimit  string // when set, the median is stored as this limit key
	goal     string // key of the goal (goals.go) this row measures; "" = none
}

// add records a figure measured over rounds and, when it is a limit,
// stores its median under that key.
func (b *bench) add(r row) {
	if len(r.vals) == 0 {
		return
	}
	if r.isLimit != "" {
		b.limits[r.isLimit] = median(r.vals)
	}
	b.rows = append(b.rows, r)
	b.logf("   %-10s %-52s %s %s (min %s, max %s, n=%d)", r.scenario, r.figure, num(median(r.vals)), r.unit,
		num(slices.Min(r.vals)), num(slices.Max(r.vals)), len(r.vals))
}

// table writes the rows as a markdown table.
func (b *bench) table(w io.Writer) {
	fmt.Fprintln(w, "| scenario | figure | median | min | max | unit | n | ratio to limit |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---|---:|---|")
	for _, r := range b.rows {
		ratio := ""
		if r.limit != "" {
			if l, ok := b.limits[r.limit]; ok && l != 0 {
				ratio = fmt.Sprintf("%.2f × %s", median(r.vals)/l, r.limit)
			} else {
				ratio = "(no " + r.limit + ")"
			}
		}
		if r.isLimit != "" {
			ratio = "= " + r.isLimit
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %d | %s |\n", r.scenario, r.figure,
			num(median(r.vals)), num(slices.Min(r.vals)), num(slices.Max(r.vals)), r.unit, len(r.vals), ratio)
	}
}

// num formats a figure with about three significant digits.
func num(v float64) string {
	a := math.Abs(v)
	switch {
	case v == math.Trunc(v) && a < 1000:
		return fmt.Sprintf("%.0f", v)
	case a >= 1000:
		s := fmt.Sprintf("%.0f", v)
		// thousands separators
		neg := strings.HasPrefix(s, "-")
		s = strings.TrimPrefix(s, "-")
		var out []byte
		for i := range len(s) {
			if i > 0 && (len(s)-i)%3 == 0 {
				out = append(out, ',')
			}
			out = append(out, s[i])
		}
		if neg {
			return "-" + string(out)
		}
		return string(out)
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}

// median of vals (not changed).
func median(vals []float64) float64 {
	if len(vals) == 0 {
		return math.NaN()
	}
	s := slices.Clone(vals)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// pct returns the p-th percentile (0-100, nearest rank) of sorted durations.
func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
func mb(n int64) float64         { return float64(n) / (1 << 20) }
