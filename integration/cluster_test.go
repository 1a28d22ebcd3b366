package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// etcdDev is a `karajo etcd-dev` process.
type etcdDev struct {
	cmd      *exec.Cmd
	endpoint string
	done     chan struct{}
}

// startEtcdDev runs `karajo etcd-dev` on a free loopback port.
func startEtcdDev(t *testing.T, dir string) *etcdDev {
	t.Helper()
	cmd := exec.Command(binPath, "etcd-dev", "-data", dir, "-listen", "http://127.0.0.1:0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	e := &etcdDev{cmd: cmd, done: make(chan struct{})}
	line := make(chan string, 1)
	go func() {
		r := bufio.NewReader(out)
		l, _ := r.ReadString('\n')
		line <- l
		io.Copy(io.Discard, r)
	}()
	go func() { cmd.Wait(); close(e.done) }()
	t.Cleanup(e.stop)
	select {
	case l := <-line:
		m := regexp.MustCompile(`serving (http://\S+)`).FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("etcd-dev said %q", l)
		}
		e.endpoint = m[1]
	case <-time.After(60 * time.Second):
		t.Fatal("etcd-dev not serving within 60s")
	}
	return e
}

func (e *etcdDev) stop() {
	select {
	case <-e.done:
		return
	default:
	}
	e.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.done:
	case <-time.After(10 * time.Second):
		e.cmd.Process.Kill()
		<-e.done
	}
}

// freeAddr returns a loopback address free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startNodes starts n karajo nodes of one cluster on etcd, each with its
// own dir_base and the same jobs.
func startNodes(t *testing.T, etcd string, n int, jobs string) []*server {
	t.Helper()
	nodes := make([]*server, n)
	for i := range nodes {
		dir := t.TempDir()
		addr := freeAddr(t)
		cfg := strings.Replace(configHeader(dir), `listen_address = "127.0.0.1:0"`, fmt.Sprintf("listen_address = %q", addr), 1) +
			fmt.Sprintf("\n[cluster]\nname = \"it\"\netcd = [%q]\nnode = \"n%d\"\nadvertise = \"http://%s\"\nsecret = \"cluster-secret-0123456789\"\nttl = \"2s\"\n\n%s",
				etcd, i+1, addr, jobs)
		writeConfig(t, dir, cfg)
		nodes[i] = startDir(t, dir)
	}
	return nodes
}

// clusterTickLine matches a line the tick job appends: node, counter, point.
var clusterTickLine = regexp.MustCompile(`^(n\d) (\d+) (\S+)$`)

// readClusterTicks parses the shared file of the tick job: every point must
// appear once and counters must strictly increase.
func readClusterTicks(t *testing.T, path string) (byNode map[string]int, last string, lines int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	byNode = map[string]int{}
	points := map[string]string{}
	var prev int
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if l == "" {
			continue
		}
		m := clusterTickLine.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("tick line %q", l)
		}
		var c int
		fmt.Sscan(m[2], &c)
		if c <= prev {
			t.Errorf("counter %d after %d (%s)", c, prev, l)
		}
		prev = c
		if other, dup := points[m[3]]; dup {
			t.Errorf("point %s ran twice: %q and %q", m[3], other, l)
		}
		points[m[3]] = l
		byNode[m[1]]++
		last = m[1]
		lines++
	}
	return byNode, last, lines
}

// TestClusterNodes: three real nodes on `karajo etcd-dev`: an every-second
// job runs each point once, on one node, with KARAJO_NODE set and the
// node in its log's first line; a pause sent to a non-owner is honoured
// by the owner; a webhook sent to a non-owner runs once on the owner
// (forwarded); kill -9 of the owner in the middle of that run: the run is
// recorded failed on the next owner, which runs the job within TTL + 2 s.
func TestClusterNodes(t *testing.T) {
	t.Parallel()
	shared := t.TempDir()
	ticks := filepath.Join(shared, "ticks")
	etcd := startEtcdDev(t, t.TempDir())
	nodes := startNodes(t, etcd.endpoint, 3, fmt.Sprintf(`
[job.tick]
cron = "* * * * * *"
commands = ['echo "$KARAJO_NODE $KARAJO_JOB_COUNTER $KARAJO_SCHEDULED_AT" >> %s']

[job.long]
path = "/long"
commands = ["echo long on $KARAJO_NODE", "sleep 60"]
`, ticks))
	var byNode map[string]int
	var owner string
	waitFor(t, 30*time.Second, "3 ticks", func() bool {
		var n int
		byNode, owner, n = readClusterTicks(t, ticks)
		return n >= 3
	})
	time.Sleep(2 * time.Second)
	byNode, owner, _ = readClusterTicks(t, ticks)
	if len(byNode) != 1 {
		t.Fatalf("ticks ran on several nodes with one shard: %v", byNode)
	}
	var o int
	fmt.Sscanf(owner, "n%d", &o)
	own, other := nodes[o-1], nodes[o%3]

	// The owner's log names the node on its first line.
	j := own.job(t, "tick")
	l := own.logOf(t, "tick", j.Logs[len(j.Logs)-1].Counter)
	if first, _, _ := strings.Cut(string(l.Content), "\n"); !strings.Contains(first, "node="+owner) {
		t.Errorf("first log line %q does not name node %s", first, owner)
	}

	// A log written on the owner is read through another node; every
	// node's environment lists every job.
	rl := other.get(t, fmt.Sprintf("/karajo/api/job_exec/log?id=tick&counter=%d", j.Logs[len(j.Logs)-1].Counter))
	if rl.status != http.StatusOK || rl.header.Get("X-Karajo-Node") != owner || !strings.Contains(string(rl.body), `"job_id":"tick"`) {
		t.Errorf("log of the owner read through another node: %s (X-Karajo-Node %q)", rl, rl.header.Get("X-Karajo-Node"))
	}
	if r := other.get(t, "/karajo/api/job_exec/log?id=tick&counter=999999"); r.status != http.StatusNotFound {
		t.Errorf("a log no node has: %s", r)
	}
	for _, n := range nodes {
		if env := n.environment(t); len(env.Jobs) != 2 {
			t.Errorf("environment of %s lists %d jobs, want 2", n.base, len(env.Jobs))
		}
	}

	// A webhook with a bad signature sent to a non-owner is refused (by
	// the owner, which verifies it).
	r := other.trigger(t, "/long", "wrong")
	if r.status != http.StatusForbidden && r.status != http.StatusUnauthorized {
		t.Errorf("badly signed webhook through a non-owner: %s", r)
	}

	// Pause through a non-owner: the owner starts nothing more.
	other.act(t, "pause", "tick")
	time.Sleep(1500 * time.Millisecond) // a run started before the pause may still append
	_, _, before := readClusterTicks(t, ticks)
	time.Sleep(2500 * time.Millisecond)
	if _, _, after := readClusterTicks(t, ticks); after != before {
		t.Errorf("paused through %s, the owner ran %d more points", "another node", after-before)
	}
	waitFor(t, 10*time.Second, "owner shows the pause", func() bool { return own.job(t, "tick").Status == "paused" })
	other.act(t, "resume", "tick")
	waitFor(t, 10*time.Second, "ticks again after resume", func() bool {
		_, _, n := readClusterTicks(t, ticks)
		return n > before
	})

	// A webhook sent to a non-owner runs once, on the owner; then kill -9
	// the owner in the middle of that run.
	r = other.trigger(t, "/long", testSecret)
	if r.status != http.StatusOK || r.header.Get("X-Karajo-Node") != owner {
		t.Fatalf("webhook through a non-owner: %s (X-Karajo-Node %q, want %s)", r, r.header.Get("X-Karajo-Node"), owner)
	}
	var longRun jobView
	waitFor(t, 20*time.Second, "long running", func() bool {
		longRun = own.job(t, "long")
		return longRun.Status == "running"
	})
	counter := longRun.Logs[len(longRun.Logs)-1].Counter
	if len(longRun.Logs) != 1 {
		t.Errorf("one webhook, %d runs: %+v", len(longRun.Logs), longRun.Logs)
	}
	if l := own.logOf(t, "long", counter); !strings.Contains(string(l.Content), "long on "+owner) {
		t.Errorf("the forwarded run's log %q: not run on %s", l.Content, owner)
	}
	// A cancel sent to a non-owner reaches the run on the owner.
	other.act(t, "cancel", "long")
	if st := own.waitRun(t, "long", counter, 20*time.Second); st != "canceled" {
		t.Errorf("run canceled through a non-owner ended %s", st)
	}
	r = other.trigger(t, "/long", testSecret)
	if r.status != http.StatusOK {
		t.Fatalf("webhook through a non-owner: %s", r)
	}
	waitFor(t, 20*time.Second, "long running again", func() bool {
		longRun = own.job(t, "long")
		return longRun.Status == "running" && longRun.Logs[len(longRun.Logs)-1].Counter > counter
	})
	counter = longRun.Logs[len(longRun.Logs)-1].Counter
	_, _, n0 := readClusterTicks(t, ticks)
	own.kill9()
	killed := time.Now()
	killOrphans(own.dir)
	var next string
	waitFor(t, 30*time.Second, "a tick on another node", func() bool {
		b, _, n := readClusterTicks(t, ticks)
		for node, c := range b {
			if node != owner && c > 0 && n > n0 {
				next = node
				return true
			}
		}
		return false
	})
	took := time.Since(killed)
	t.Logf("failover: owner %s killed, next tick on %s after %v (ttl 2s)", owner, next, took.Round(time.Millisecond))
	if took > 2*time.Second+2*time.Second+3*time.Second { // TTL + 2 s, plus slack for -race on a shared machine
		t.Errorf("failover took %v, want within TTL + 2 s", took)
	}
	var nn int
	fmt.Sscanf(next, "n%d", &nn)
	heir := nodes[nn-1]
	waitFor(t, 20*time.Second, "the lost run recorded on the new owner", func() bool {
		for _, lr := range heir.job(t, "long").Logs {
			if lr.Counter == counter && lr.Status == "failed" {
				return true
			}
		}
		return false
	})
	lost := heir.logOf(t, "long", counter)
	if want := fmt.Sprintf("!!! job: long: interrupted, node %s lost", owner); !strings.Contains(string(lost.Content), want) {
		t.Errorf("lost run's log %q lacks %q", lost.Content, want)
	}
	readClusterTicks(t, ticks) // once more: no point twice, counters increasing
}

// TestClusterEtcdDown: with etcd stopped no node starts anything and a
// webhook is answered 503 ERR_CLUSTER_UNAVAILABLE; with etcd back on the
// same data, the job runs again and no point runs twice.
func TestClusterEtcdDown(t *testing.T) {
	t.Parallel()
	ticks := filepath.Join(t.TempDir(), "ticks")
	data := t.TempDir()
	etcd := startEtcdDev(t, data)
	nodes := startNodes(t, etcd.endpoint, 2, fmt.Sprintf(`
[job.tick]
path = "/tick"
cron = "* * * * * *"
commands = ['echo "$KARAJO_NODE $KARAJO_JOB_COUNTER $KARAJO_SCHEDULED_AT" >> %s']
`, ticks))
	waitFor(t, 30*time.Second, "2 ticks", func() bool {
		_, _, n := readClusterTicks(t, ticks)
		return n >= 2
	})
	etcd.cmd.Process.Kill() // a crash: a graceful stop keeps serving open streams for a while
	<-etcd.done
	time.Sleep(4 * time.Second) // ttl 2s: every session is gone
	_, _, before := readClusterTicks(t, ticks)
	for _, n := range nodes {
		r := n.trigger(t, "/tick", testSecret)
		wantError(t, r, http.StatusServiceUnavailable, "cluster coordination (etcd) unavailable, try again", "ERR_CLUSTER_UNAVAILABLE")
	}
	time.Sleep(3 * time.Second)
	if _, _, after := readClusterTicks(t, ticks); after != before {
		t.Errorf("etcd down: %d runs started", after-before)
	}
	back := exec.Command(binPath, "etcd-dev", "-data", data, "-listen", etcd.endpoint)
	back.Stdout, back.Stderr = io.Discard, os.Stderr
	if err := back.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		back.Process.Signal(syscall.SIGTERM)
		back.Wait()
	})
	waitFor(t, 40*time.Second, "ticks again with etcd back", func() bool {
		_, _, n := readClusterTicks(t, ticks)
		return n >= before+2
	})
	readClusterTicks(t, ticks) // no point twice, counters increasing
}
