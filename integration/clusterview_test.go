package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// clusterJob is what a node shows of a job in a cluster: the fields the
// owner's view sets, and the node whose view it is.
type clusterJob struct {
	Status   string `json:"status"`
	LastRun  string `json:"last_run"`
	NextRun  string `json:"next_run"`
	Node     string `json:"node"`
	NodeLost bool   `json:"node_lost"`
	Logs     []struct {
		Name    string `json:"name"`
		Status  string `json:"status"`
		Counter int64  `json:"counter"`
		Node    string `json:"node"`
	} `json:"logs"`
}

// clusterEnvJob returns the exec job name as s's environment shows it.
func clusterEnvJob(t *testing.T, s *server, name string) clusterJob {
	t.Helper()
	env := wantEnvelope(t, s.get(t, "/karajo/api/environment"), http.StatusOK)
	var data struct {
		Jobs map[string]clusterJob `json:"jobs"`
	}
	if err := json.Unmarshal(env.Data, &data); err != nil {
		t.Fatalf("environment of %s: %v", s.base, err)
	}
	j, ok := data.Jobs[name]
	if !ok {
		t.Fatalf("job %q not in the environment of %s", name, s.base)
	}
	return j
}

// clusterHTTPJob returns JobHttp id as s's job_http answer shows it.
func clusterHTTPJob(t *testing.T, s *server, id string) clusterJob {
	t.Helper()
	env := wantEnvelope(t, s.get(t, "/karajo/api/job_http?id="+id), http.StatusOK)
	var j clusterJob
	if err := json.Unmarshal(env.Data, &j); err != nil {
		t.Fatalf("job_http of %s: %v", s.base, err)
	}
	return j
}

// answeredBy names the node that answered a trigger: X-Karajo-Node when
// it was forwarded, else the node the job's view names.
func answeredBy(t *testing.T, r response) string {
	t.Helper()
	if n := r.header.Get("X-Karajo-Node"); n != "" {
		return n
	}
	var env struct {
		Data clusterJob `json:"data"`
	}
	if err := json.Unmarshal(r.body, &env); err != nil {
		t.Fatalf("trigger answer: %v: %s", err, r)
	}
	return env.Data.Node
}

func (j clusterJob) String() string {
	var logs []string
	for _, l := range j.Logs {
		logs = append(logs, fmt.Sprintf("#%d %s on %s", l.Counter, l.Status, l.Node))
	}
	return fmt.Sprintf("status %q last_run %s node %q lost %v logs [%s]", j.Status, j.LastRun, j.Node, j.NodeLost, strings.Join(logs, ", "))
}

// TestClusterViews: three real nodes on `karajo etcd-dev`. A run on the
// owner is shown by every other node's environment
// (status, last run, its log named by counter and node, the owner named;
// a JobHttp's answer too);
// the owner killed with -9, the view moves to the new owner, which keeps
// the old owner's logs in its list.
func TestClusterViews(t *testing.T) {
	t.Parallel()
	etcd := startEtcdDev(t, t.TempDir())
	nodes := startNodes(t, etcd.endpoint, 3, `
[job.hook]
path = "/hook"
commands = ["echo hook on $KARAJO_NODE"]

[job.daily]
schedule = "daily@03:00"
commands = ["true"]

[job_http.ping]
schedule = "daily@03:00"
http_url = "http://127.0.0.1:9/never"
`)
	var r response
	waitFor(t, 30*time.Second, "a node owning the jobs", func() bool {
		r = nodes[0].trigger(t, "/hook", testSecret)
		return r.status == http.StatusOK
	})
	owner := answeredBy(t, r)
	var o int
	if _, err := fmt.Sscanf(owner, "n%d", &o); err != nil {
		t.Fatalf("webhook answered by node %q: %s", owner, r)
	}
	own := nodes[o-1]
	var ov clusterJob
	waitFor(t, 20*time.Second, "the run ended on the owner", func() bool {
		ov = clusterEnvJob(t, own, "hook")
		return ov.Status == "success" && len(ov.Logs) == 1
	})
	if ov.Node != owner || ov.Logs[0].Node != owner {
		t.Errorf("owner %s shows %v", owner, ov)
	}
	counter := ov.Logs[0].Counter

	// Every other node shows the owner's view, in the environment and in
	// job_exec.
	for _, n := range nodes {
		if n == own {
			continue
		}
		var v clusterJob
		waitFor(t, 10*time.Second, "the owner's view on "+n.base, func() bool {
			v = clusterEnvJob(t, n, "hook")
			return v.Status == "success" && v.LastRun == ov.LastRun && v.Node == owner && len(v.Logs) == 1
		})
		if l := v.Logs[0]; l.Counter != counter || l.Node != owner || l.Status != "success" {
			t.Errorf("%s shows the log %+v, want #%d success on %s", n.base, l, counter, owner)
		}
		if x := clusterHTTPJob(t, n, "ping"); x.Node != owner || x.NextRun != clusterHTTPJob(t, own, "ping").NextRun {
			t.Errorf("job_http on %s: %v", n.base, x)
		}
		if d := clusterEnvJob(t, n, "daily"); d.NextRun != clusterEnvJob(t, own, "daily").NextRun || d.Node != owner {
			t.Errorf("daily on %s: %v", n.base, d)
		}
		// The log it names is read through this node from the owner.
		if l := n.logOf(t, "hook", counter); !strings.Contains(string(l.Content), "hook on "+owner) {
			t.Errorf("log #%d through %s: %q", counter, n.base, l.Content)
		}
	}

	// The owner killed: the view moves to the next owner, which keeps the
	// old owner's log in its list.
	own.kill9()
	rest := make([]*server, 0, 2)
	for _, n := range nodes {
		if n != own {
			rest = append(rest, n)
		}
	}
	var heir string
	waitFor(t, 30*time.Second, "a new owner", func() bool {
		r = rest[0].trigger(t, "/hook", testSecret)
		if r.status != http.StatusOK {
			return false
		}
		heir = answeredBy(t, r)
		return heir != owner
	})
	for _, n := range rest {
		var v clusterJob
		waitFor(t, 20*time.Second, "the new owner's view on "+n.base, func() bool {
			v = clusterEnvJob(t, n, "hook")
			return v.Node == heir && !v.NodeLost && v.Status == "success" && len(v.Logs) == 2
		})
		if v.Logs[0].Counter != counter || v.Logs[0].Node != owner || v.Logs[1].Node != heir || v.Logs[1].Counter <= counter {
			t.Errorf("%s after the failover: %v", n.base, v)
		}
	}
}
