package main

import (
	"cmp"
	"encoding/json"
	"maps"
	"slices"
	"time"
)

// Job kinds as the client names them.
const (
	kindExec = "job_exec"
	kindHTTP = "job_http"
)

// jobState is what the client reads of a job in the environment.
type jobState struct {
	Kind       string    `json:"-"`
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Status     string    `json:"status"`
	LastRun    time.Time `json:"last_run"`
	NextRun    time.Time `json:"next_run"`
	InProgress []int64   `json:"running"`
	Waiting    string    `json:"waiting"`
	Logs       []struct {
		Status  string `json:"status"`
		Counter int64  `json:"counter"`
	} `json:"logs"`
	raw json.RawMessage
}

// newest is the highest counter among the job's logs and runs in
// progress; 0 when it has none.
func (j *jobState) newest() int64 {
	var n int64
	for _, l := range j.Logs {
		n = max(n, l.Counter)
	}
	for _, c := range j.InProgress {
		n = max(n, c)
	}
	return n
}

// environment is the part of GET /karajo/api/environment the client uses.
type environment struct {
	Jobs     map[string]json.RawMessage `json:"jobs"`
	HTTPJobs map[string]json.RawMessage `json:"http_jobs"`
}

// jobs reads every job of the server, exec jobs and JobHttps, sorted by
// kind then ID.
func (c *client) jobs() ([]*jobState, error) {
	var env environment
	if err := c.read("/karajo/api/environment", nil, &env); err != nil {
		return nil, err
	}
	var out []*jobState
	for kind, m := range map[string]map[string]json.RawMessage{kindExec: env.Jobs, kindHTTP: env.HTTPJobs} {
		for _, name := range slices.Sorted(maps.Keys(m)) {
			j := &jobState{Kind: kind, raw: m[name]}
			if err := json.Unmarshal(m[name], j); err != nil {
				return nil, failf(exitServer, "%s answered a job this client does not understand: %v", c.URL, err)
			}
			out = append(out, j)
		}
	}
	slices.SortFunc(out, func(a, b *jobState) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// job finds the job with this ID (exact, as the control endpoints match
// it); nil when the server has none.
func (c *client) job(id string) (*jobState, error) {
	all, err := c.jobs()
	if err != nil {
		return nil, err
	}
	for _, j := range all {
		if j.ID == id {
			return j, nil
		}
	}
	return nil, nil
}
