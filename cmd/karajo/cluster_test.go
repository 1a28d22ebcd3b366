package main

import (
	"strings"
	"testing"

	"github.com/karajo/karajo/config"
)

func TestClusterJobsChanged(t *testing.T) {
	cl := &config.Cluster{Secret: "cluster-secret-0123456789"}
	a := &config.Env{Cluster: cl, Jobs: []*config.Job{{ID: "a", Commands: []string{"true"}, File: "/x/karajo.toml"}}}
	same := &config.Env{Cluster: cl, Jobs: []*config.Job{{ID: "a", Commands: []string{"true"}, File: "/other/karajo.toml"}}}
	changed := &config.Env{Cluster: cl, Jobs: []*config.Job{{ID: "a", Commands: []string{"false"}}}, JobHTTPs: []*config.JobHTTP{{ID: "h"}}}
	if d := clusterJobsChanged(a, same); d != "" {
		t.Errorf("same jobs in another file: %q", d)
	}
	d := clusterJobsChanged(a, changed)
	for _, want := range []string{"job/a differs", "job_http/h is not loaded"} {
		if !strings.Contains(d, want) {
			t.Errorf("%q lacks %q", d, want)
		}
	}
	if d := clusterJobsChanged(&config.Env{}, changed); d != "" {
		t.Errorf("single host: %q", d)
	}
	if strings.Contains(d, cl.Secret) {
		t.Error("secret in the difference")
	}
}
