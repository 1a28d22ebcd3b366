package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// clusterTrigger measures issue 18's trigger → command start on the
// owning node against a single host, in the same rounds: a single host
// and a one-node cluster on `karajo etcd-dev` (etcd on loopback) each
// run job t0 (`date +%s%N`), and every round sends the same sequential
// triggers to both, in alternating order. The row "cluster minus single
// host" is the cost of the node's etcd round trips (the fenced start and
// the end) on this path.
func (b *bench) clusterTrigger() error {
	single, err := b.triggerTarget("trigger-single", "")
	if err != nil {
		return fmt.Errorf("single host: %w", err)
	}
	defer single.close()
	edir, err := b.newDir("trigger-etcd")
	if err != nil {
		return err
	}
	defer b.removeDir(edir)
	etcd, endpoint, err := b.startEtcdDev(filepath.Join(edir, "data"))
	if err != nil {
		return err
	}
	defer func() { _ = etcd.Process.Kill(); _ = etcd.Wait() }()
	addr, err := freeLoopback()
	if err != nil {
		return err
	}
	node, err := b.triggerTarget("trigger-node", fmt.Sprintf("\n[cluster]\nname = \"bench\"\netcd = [%q]\nnode = \"n1\"\nadvertise = \"http://%s\"\nsecret = \"bench-cluster-secret-0123\"\n", endpoint, addr), addr)
	if err != nil {
		return fmt.Errorf("cluster node: %w", err)
	}
	defer node.close()
	if err := node.warm(); err != nil {
		return err
	}
	if err := single.warm(); err != nil {
		return err
	}
	n := b.idleTriggerCount()
	var sp50, cp50, over []float64
	for round := range b.rounds {
		order := []*triggerTarget{single, node}
		if round%2 == 1 {
			order = []*triggerTarget{node, single}
		}
		p50 := map[*triggerTarget]float64{}
		for _, tt := range order {
			lat, err := tt.tc.idleTriggers(tt.out, n)
			if err != nil {
				return err
			}
			p50[tt] = ms(pct(lat, 50))
		}
		sp50, cp50 = append(sp50, p50[single]), append(cp50, p50[node])
		over = append(over, p50[node]-p50[single])
	}
	what := fmt.Sprintf("trigger → command start, idle job (%d sequential triggers per round)", n)
	b.add(row{scenario: "cluster-trigger", figure: what + ": single host, p50", unit: "ms", vals: sp50, isLimit: "single-trigger-p50"})
	b.add(row{scenario: "cluster-trigger", figure: what + ": owning node of a cluster (etcd-dev on loopback), p50", unit: "ms", vals: cp50, limit: "single-trigger-p50"})
	b.add(row{scenario: "cluster-trigger", figure: what + ": node p50 minus single-host p50 of the same round", unit: "ms", vals: over, goal: "cluster-trigger-over"})
	return nil
}

// triggerTarget is one server of the cluster-trigger scenario with its
// job t0.
type triggerTarget struct {
	b   *bench
	dir string
	out string
	tc  *triggerClient
}

// triggerTarget starts a server with job t0 and max_job_running 1;
// mainExtra and listen configure a cluster node ("" for a single host).
func (b *bench) triggerTarget(name, mainExtra string, listen ...string) (*triggerTarget, error) {
	dir, err := b.newDir(name)
	if err != nil {
		return nil, err
	}
	out := filepath.Join(dir, "times")
	if err := os.MkdirAll(out, 0o700); err != nil {
		b.removeDir(dir)
		return nil, err
	}
	cfg := karajoConfig{maxJobRunning: 1, mainExtra: mainExtra,
		jobs: []jobSpec{{name: "t0", path: "/t0", commands: []string{fmt.Sprintf("date +%%s%%N >> %s/t0.times", out)}}}}
	if len(listen) > 0 {
		cfg.listen = listen[0]
	}
	s, err := b.startReady(dir, cfg, time.Minute)
	if err != nil {
		b.removeDir(dir)
		return nil, err
	}
	return &triggerTarget{b: b, dir: dir, out: out, tc: &triggerClient{s: s, sig: sign(triggerBody)}}, nil
}

// warm sends one trigger, again while the answer is 503 (a node not yet
// leading its shard), and waits for its run to be recorded.
func (tt *triggerTarget) warm() error {
	c := &http.Client{Timeout: requestTimeout}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		code, err := tt.tc.send(c, "t0")
		if err != nil {
			return err
		}
		if code == http.StatusOK {
			break
		}
		if code != http.StatusServiceUnavailable || time.Now().After(deadline) {
			return fmt.Errorf("warm-up trigger of t0: status %d", code)
		}
	}
	done := filepath.Join(tt.dir, "var", "log", "karajo", "job", "t0", "t0.1.success")
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat(done); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("warm-up run of t0 not recorded within 30 s")
		}
	}
}

func (tt *triggerTarget) close() {
	tt.b.stopServer(tt.tc.s)
	tt.b.removeDir(tt.dir)
}
