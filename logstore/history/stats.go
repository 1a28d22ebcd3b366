package history

import (
	"math"
	"slices"
	"time"
)

// Stats sums up a job's records over a window (GET .../stats).
type Stats struct {
	Job       string         `json:"job"`
	Window    string         `json:"window"`
	Runs      int            `json:"runs"`
	Successes int            `json:"successes"`
	Failures  int            `json:"failures"`
	Skipped   map[string]int `json:"skipped"`
	Duration  Durations      `json:"duration"`
	Days      []Day          `json:"days"`
}

// Durations are percentiles of the finished runs' durations, in seconds.
type Durations struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	Max float64 `json:"max"`
}

// Day is one UTC day of Stats.
type Day struct {
	Day       string `json:"day"` // YYYY-MM-DD
	Runs      int    `json:"runs"`
	Successes int    `json:"successes"`
	Failures  int    `json:"failures"`
	Skipped   int    `json:"skipped"`
}

// Summarise computes the Stats of records (any order) that fall in
// [now-window, now]. Runs counts runs that happened (any status but
// skipped); Failures counts failed and timed-out runs; skipped records
// count by reason with their Count. Days has one entry per UTC day of
// the window, oldest first.
func Summarise(job, window string, recs []Record, since, now time.Time) Stats {
	st := Stats{Job: job, Window: window, Skipped: map[string]int{}}
	days := map[string]*Day{}
	for d := since.UTC().Truncate(24 * time.Hour); !d.After(now); d = d.Add(24 * time.Hour) {
		day := Day{Day: d.Format(time.DateOnly)}
		st.Days = append(st.Days, day)
	}
	for i := range st.Days {
		days[st.Days[i].Day] = &st.Days[i]
	}
	var durs []float64
	for i := range recs {
		r := &recs[i]
		t := r.Time()
		if r.IsAttempt() || t.Before(since) || t.After(now) {
			continue
		}
		d := days[t.UTC().Format(time.DateOnly)]
		if d == nil {
			d = &Day{}
		}
		switch r.Status {
		case StatusSkipped:
			n := max(r.Count, 1)
			st.Skipped[r.Reason] += n
			d.Skipped += n
			continue
		case "success":
			st.Successes++
			d.Successes++
		case "failed", "timeout":
			st.Failures++
			d.Failures++
		}
		st.Runs++
		d.Runs++
		if r.Finished() && !r.StartedAt.IsZero() {
			durs = append(durs, r.Duration)
		}
	}
	st.Duration = percentiles(durs)
	return st
}

// percentiles returns p50, p95 (nearest rank) and max of ds.
func percentiles(ds []float64) Durations {
	if len(ds) == 0 {
		return Durations{}
	}
	slices.Sort(ds)
	rank := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(ds)))) - 1
		return ds[min(max(i, 0), len(ds)-1)]
	}
	return Durations{P50: rank(0.50), P95: rank(0.95), Max: ds[len(ds)-1]}
}
