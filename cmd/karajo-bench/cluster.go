package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"time"
)

// clusterNodes is how many nodes the cluster scenario starts.
const clusterNodes = 3

// clusterJobCount is the job count of the cluster scenario (issue 18:
// 10,000 jobs on 3 nodes start in ≤ 5 s).
const clusterJobCount = 10000

// clusterBench measures the start of three cluster nodes on one `karajo
// etcd-dev` against three single hosts started at once on the same
// machine in the same round (the baseline: three processes sharing its
// cores): start → every node's first 200, fresh and again on the same
// directories (and etcd), and, for the cluster, start → every node shows
// every job with its owner's view.
func (b *bench) clusterBench() error {
	n := clusterJobCount
	if b.quick {
		n = 1000
	}
	jobs := scaleJobs(n)
	var single, singleAgain, fresh, again, views, viewsAgain []float64
	var cpuS, cpuSAgain, cpuC, cpuCAgain []float64
	for range b.rounds {
		s1, s2, sc, err := b.startMany(jobs)
		if err != nil {
			return fmt.Errorf("3 single hosts: %w", err)
		}
		c, err := b.clusterRound(jobs)
		if err != nil {
			return fmt.Errorf("3 cluster nodes: %w", err)
		}
		single, singleAgain = append(single, s1.Seconds()), append(singleAgain, s2.Seconds())
		fresh, again = append(fresh, c.first.Seconds()), append(again, c.again.Seconds())
		views, viewsAgain = append(views, c.views.Seconds()), append(viewsAgain, c.viewsAgain.Seconds())
		cpuS, cpuSAgain = append(cpuS, sc[0].Seconds()), append(cpuSAgain, sc[1].Seconds())
		cpuC, cpuCAgain = append(cpuC, c.cpu[0].Seconds()), append(cpuCAgain, c.cpu[1].Seconds())
	}
	what := fmt.Sprintf("%s jobs (half daily, half webhook), %d processes at once", num(float64(n)), clusterNodes)
	b.add(row{scenario: "cluster", figure: what + ": single hosts, start → every first 200 (fresh)", unit: "s", vals: single, isLimit: "3-singles"})
	b.add(row{scenario: "cluster", figure: what + ": single hosts, restart → every first 200", unit: "s", vals: singleAgain, isLimit: "3-singles-again"})
	goal := ""
	if n == clusterJobCount {
		goal = "cluster-start"
	}
	b.add(row{scenario: "cluster", figure: what + ": cluster nodes, start → every first 200 (fresh dirs and etcd)", unit: "s", vals: fresh, limit: "3-singles", goal: goal})
	b.add(row{scenario: "cluster", figure: what + ": cluster nodes, restart → every first 200", unit: "s", vals: again, limit: "3-singles-again"})
	b.add(row{scenario: "cluster", figure: what + ": single hosts, CPU to every first 200 (sum)", unit: "s", vals: cpuS, isLimit: "3-singles-cpu"})
	b.add(row{scenario: "cluster", figure: what + ": single hosts, CPU to every first 200 (sum), restart", unit: "s", vals: cpuSAgain, isLimit: "3-singles-cpu-again"})
	b.add(row{scenario: "cluster", figure: what + ": cluster nodes + etcd-dev, CPU to every first 200 (sum, fresh)", unit: "s", vals: cpuC, limit: "3-singles-cpu"})
	b.add(row{scenario: "cluster", figure: what + ": cluster nodes + etcd-dev, CPU to every first 200 (sum), restart", unit: "s", vals: cpuCAgain, limit: "3-singles-cpu-again"})
	b.add(row{scenario: "cluster", figure: what + ": cluster nodes, start → every node shows every job's owner view (fresh)", unit: "s", vals: views, limit: "3-singles"})
	b.add(row{scenario: "cluster", figure: what + ": cluster nodes, restart → every node shows every job's owner view", unit: "s", vals: viewsAgain, limit: "3-singles-again"})
	return nil
}

// clusterTimes are the figures of one cluster round.
type clusterTimes struct {
	first, again, views, viewsAgain time.Duration
	cpu                             [2]time.Duration // to every first 200, with etcd-dev's
}

// clusterRound starts etcd-dev and three nodes on fresh directories,
// then stops and starts the nodes again on the same directories.
func (b *bench) clusterRound(jobs []jobSpec) (clusterTimes, error) {
	var ct clusterTimes
	edir, err := b.newDir("etcd")
	if err != nil {
		return ct, err
	}
	defer b.removeDir(edir)
	etcd, endpoint, err := b.startEtcdDev(filepath.Join(edir, "data"))
	if err != nil {
		return ct, err
	}
	defer func() { _ = etcd.Process.Kill(); _ = etcd.Wait() }()
	addrs := make([]string, clusterNodes)
	for i := range addrs {
		if addrs[i], err = freeLoopback(); err != nil {
			return ct, err
		}
	}
	extra := func(i int) string {
		return fmt.Sprintf("\n[cluster]\nname = \"bench\"\netcd = [%q]\nnode = \"n%d\"\nadvertise = \"http://%s\"\nsecret = \"bench-cluster-secret-0123\"\n",
			endpoint, i+1, addrs[i])
	}
	var servers []*server
	stopAll := func() {
		for _, s := range servers {
			b.stopServer(s)
		}
		servers = nil
	}
	defer stopAll()
	dirs, err := b.newDirs("node")
	if err != nil {
		return ct, err
	}
	for pass := range 2 {
		t0 := time.Now()
		etcdCPU, _ := cpuTime(etcd.Process.Pid)
		for i, dir := range dirs {
			cfg := karajoConfig{jobs: jobs, listen: addrs[i], mainExtra: extra(i)}
			s, err := b.startServer(dir, cfg)
			if err != nil {
				return ct, err
			}
			servers = append(servers, s)
		}
		first, err := waitAllReady(servers)
		if err != nil {
			return ct, err
		}
		ct.cpu[pass] = cpuOf(servers, etcd.Process.Pid, etcdCPU)
		views, err := waitOwnerViews(servers, len(jobs), t0)
		if err != nil {
			return ct, err
		}
		if pass == 0 {
			ct.first, ct.views = first.Sub(t0), views
		} else {
			ct.again, ct.viewsAgain = first.Sub(t0), views
		}
		stopAll()
	}
	return ct, nil
}

// startMany starts three single hosts at once on fresh directories, and
// again on the same: the time until each has answered its first 200.
func (b *bench) startMany(jobs []jobSpec) (fresh, again time.Duration, cpu [2]time.Duration, err error) {
	dirs, err := b.newDirs("single")
	if err != nil {
		return 0, 0, cpu, err
	}
	for pass := range 2 {
		t0 := time.Now()
		var servers []*server
		for _, dir := range dirs {
			s, err := b.startServer(dir, karajoConfig{jobs: jobs})
			if err != nil {
				return 0, 0, cpu, err
			}
			servers = append(servers, s)
		}
		first, err := waitAllReady(servers)
		cpu[pass] = cpuOf(servers, 0, 0)
		for _, s := range servers {
			b.stopServer(s)
		}
		if err != nil {
			return 0, 0, cpu, err
		}
		if pass == 0 {
			fresh = first.Sub(t0)
		} else {
			again = first.Sub(t0)
		}
	}
	return fresh, again, cpu, nil
}

// cpuOf is the CPU time the servers used so far, plus that of process
// pid (0: none) beyond base.
func cpuOf(servers []*server, pid int, base time.Duration) time.Duration {
	var sum time.Duration
	for _, s := range servers {
		if c, err := cpuTime(s.pid); err == nil {
			sum += c
		}
	}
	if pid != 0 {
		if c, err := cpuTime(pid); err == nil {
			sum += c - base
		}
	}
	return sum
}

// newDirs makes a fresh dir_base per node; they are removed when the
// run ends (unless -keep).
func (b *bench) newDirs(name string) ([]string, error) {
	dirs := make([]string, clusterNodes)
	for i := range dirs {
		d, err := b.newDir(name)
		if err != nil {
			return nil, err
		}
		dirs[i] = d
	}
	return dirs, nil
}

// waitAllReady waits for every server's first 200 and returns when the
// last came.
func waitAllReady(servers []*server) (time.Time, error) {
	for _, s := range servers {
		if _, err := s.waitReady(2 * time.Minute); err != nil {
			return time.Time{}, err
		}
	}
	return time.Now(), nil
}

// waitOwnerViews polls every node's environment until one node is named
// as the owner of n jobs by all of them, and returns the time from t0.
func waitOwnerViews(servers []*server, n int, t0 time.Time) (time.Duration, error) {
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if ownerViewsShown(servers, n) {
			return time.Since(t0), nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return 0, fmt.Errorf("the nodes did not all show one owner's view of %d jobs within 2 minutes", n)
}

// ownerViewsShown says whether every server shows one node (the same) as
// the node of at least n job views.
func ownerViewsShown(servers []*server, n int) bool {
	for k := 1; k <= clusterNodes; k++ {
		mark := []byte(fmt.Sprintf(`"node":"n%d"`, k))
		all := true
		for _, s := range servers {
			resp, err := s.client.Get(s.base + envPath)
			if err != nil {
				return false
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || bytes.Count(body, mark) < n {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

// startEtcdDev runs `karajo etcd-dev` on a free loopback port and returns
// it with its client URL.
func (b *bench) startEtcdDev(data string) (*exec.Cmd, string, error) {
	cmd := exec.Command(b.bin, "etcd-dev", "-data", data, "-listen", "http://127.0.0.1:0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", fmt.Errorf("start etcd-dev: %w", err)
	}
	line := make(chan string, 1)
	go func() {
		r := bufio.NewReader(out)
		l, _ := r.ReadString('\n')
		line <- l
		_, _ = io.Copy(io.Discard, r)
	}()
	select {
	case l := <-line:
		if m := regexp.MustCompile(`serving (http://\S+)`).FindStringSubmatch(l); m != nil {
			return cmd, m[1], nil
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, "", fmt.Errorf("etcd-dev said %q", l)
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, "", fmt.Errorf("etcd-dev not serving within a minute")
	}
}

// freeLoopback returns a loopback address that was free a moment ago.
func freeLoopback() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
