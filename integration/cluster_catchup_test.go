package integration

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// catchUpJobs are two jobs with a point every 10 s that append one line
// per run to their file: catch_up = "latest" and catch_up = "none".
func catchUpJobs(latest, none string) string {
	line := `'echo "$KARAJO_NODE $KARAJO_JOB_COUNTER $KARAJO_SCHEDULED_AT $KARAJO_RUN_TRIGGER" >> %s'`
	return fmt.Sprintf(`
[job.latest]
cron = "*/10 * * * * *"
catch_up = "latest"
commands = [`+line+`]

[job.none]
cron = "*/10 * * * * *"
catch_up = "none"
commands = [`+line+`]
`, latest, none)
}

// pointRun is one line of a catch-up job's file.
type pointRun struct {
	node    string
	counter int
	point   time.Time
	trigger string
}

var pointLine = regexp.MustCompile(`^(n\d) (\d+) (\S+) (timer|catch-up)$`)

// readPointRuns parses a catch-up job's file and fails the test when a
// point ran twice or counters did not increase.
func readPointRuns(t *testing.T, path string) []pointRun {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var runs []pointRun
	seen := map[time.Time]bool{}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if l == "" {
			continue
		}
		m := pointLine.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("%s: line %q", filepath.Base(path), l)
		}
		p, err := time.Parse(time.RFC3339, m[3])
		if err != nil {
			t.Fatal(err)
		}
		r := pointRun{node: m[1], point: p, trigger: m[4]}
		fmt.Sscan(m[2], &r.counter)
		if seen[p] {
			t.Errorf("%s: point %s ran twice", filepath.Base(path), m[3])
		}
		seen[p] = true
		if n := len(runs); n > 0 && r.counter <= runs[n-1].counter {
			t.Errorf("%s: counter %d after %d", filepath.Base(path), r.counter, runs[n-1].counter)
		}
		runs = append(runs, r)
	}
	return runs
}

// waitFreshPoint waits for a point that both jobs ran, with at least
// before left until the next point, and returns it with its run.
func waitFreshPoint(t *testing.T, latest, none string, before time.Duration) pointRun {
	t.Helper()
	var got pointRun
	waitFor(t, 60*time.Second, "a point both jobs ran, early in its period", func() bool {
		l, n := readPointRuns(t, latest), readPointRuns(t, none)
		if len(l) == 0 || len(n) == 0 {
			return false
		}
		got = l[len(l)-1]
		return n[len(n)-1].point.Equal(got.point) && time.Now().Before(got.point.Add(10*time.Second-before))
	})
	return got
}

// checkCaughtUp checks the files after the points after p were missed
// while no node could start them: "latest" ran one of them as catch-up,
// and later points normally; "none" ran none of them.
func checkCaughtUp(t *testing.T, latest, none string, p time.Time, back time.Time) {
	t.Helper()
	var cu pointRun
	waitFor(t, 60*time.Second, "latest: a missed point caught up", func() bool {
		for _, r := range readPointRuns(t, latest) {
			if r.trigger == "catch-up" {
				cu = r
				return true
			}
		}
		return false
	})
	if !cu.point.After(p) || cu.point.After(back.Add(30*time.Second)) {
		t.Errorf("caught up point %s, want one after %s", cu.point.Format(time.RFC3339), p.Format(time.RFC3339))
	}
	t.Logf("latest: point %s caught up by %s as run #%d", cu.point.Format(time.RFC3339), cu.node, cu.counter)
	waitFor(t, 60*time.Second, "both jobs run a point on time after the catch-up", func() bool {
		l, n := readPointRuns(t, latest), readPointRuns(t, none)
		return l[len(l)-1].point.After(cu.point) && l[len(l)-1].trigger == "timer" && len(n) > 0 && n[len(n)-1].point.After(cu.point)
	})
	catchUps := 0
	for _, r := range readPointRuns(t, latest) {
		if r.trigger == "catch-up" {
			catchUps++
		}
	}
	if catchUps != 1 {
		t.Errorf("latest: %d catch-up runs, want 1", catchUps)
	}
	for _, r := range readPointRuns(t, none) {
		if r.trigger == "catch-up" || r.point.After(p) && !r.point.After(cu.point) {
			t.Errorf("none: ran %s (%s), a point missed with catch_up = none", r.point.Format(time.RFC3339), r.trigger)
		}
	}
}

// TestClusterCatchUpEtcdDown: etcd stopped across two due points and
// started again: the job with catch_up = "latest" runs the newest missed
// point once (KARAJO_RUN_TRIGGER=catch-up), the one with "all" both,
// oldest first, the one with "none" nothing; no point runs twice and all
// go on on time.
func TestClusterCatchUpEtcdDown(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	latest, none := filepath.Join(dir, "latest"), filepath.Join(dir, "none")
	all := filepath.Join(dir, "all")
	data := t.TempDir()
	etcd := startEtcdDev(t, data)
	startNodes(t, etcd.endpoint, 2, catchUpJobs(latest, none)+fmt.Sprintf(`
[job.all]
cron = "*/10 * * * * *"
catch_up = "all"
commands = ['echo "$KARAJO_NODE $KARAJO_JOB_COUNTER $KARAJO_SCHEDULED_AT $KARAJO_RUN_TRIGGER" >> %s']
`, all))
	p := waitFreshPoint(t, latest, none, 3*time.Second).point
	waitFor(t, 10*time.Second, "all: the same point", func() bool {
		a := readPointRuns(t, all)
		return len(a) > 0 && a[len(a)-1].point.Equal(p)
	})
	etcd.cmd.Process.Kill()
	<-etcd.done
	time.Sleep(time.Until(p.Add(21 * time.Second))) // the next two points pass with etcd down
	back := exec.Command(binPath, "etcd-dev", "-data", data, "-listen", etcd.endpoint)
	back.Stdout, back.Stderr = io.Discard, os.Stderr
	if err := back.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		back.Process.Signal(syscall.SIGTERM)
		back.Wait()
	})
	checkCaughtUp(t, latest, none, p, time.Now())
	// "all" ran each missed point, oldest first, then went on on time.
	var caught []time.Time
	for _, r := range readPointRuns(t, all) {
		if r.trigger == "catch-up" {
			caught = append(caught, r.point)
		}
	}
	if len(caught) < 2 || !caught[0].Equal(p.Add(10*time.Second)) || !caught[1].Equal(p.Add(20*time.Second)) {
		t.Errorf("all: caught up %v, want %s and %s first", caught, p.Add(10*time.Second).Format(time.RFC3339), p.Add(20*time.Second).Format(time.RFC3339))
	}
}

// TestClusterCatchUpShortOutage: etcd down across a point for less than
// the TTL (30 s): the nodes keep their sessions and the owner its
// leadership; its Begin for the point fails, and once etcd answers again
// the owner catches up as configured ("latest" once, "none" nothing).
func TestClusterCatchUpShortOutage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	latest, none := filepath.Join(dir, "latest"), filepath.Join(dir, "none")
	data := t.TempDir()
	etcd := startEtcdDev(t, data)
	nodes := startNodesWith(t, etcd.endpoint, 2, "30s", "", catchUpJobs(latest, none))
	r := waitFreshPoint(t, latest, none, 3*time.Second)
	etcd.cmd.Process.Kill()
	<-etcd.done
	// Begin for the next point gives up after 2 s (plus the tick's lateness):
	// etcd returns after that, long before the 30 s leases end.
	time.Sleep(time.Until(r.point.Add(14 * time.Second)))
	back := exec.Command(binPath, "etcd-dev", "-data", data, "-listen", etcd.endpoint)
	back.Stdout, back.Stderr = io.Discard, os.Stderr
	if err := back.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		back.Process.Signal(syscall.SIGTERM)
		back.Wait()
	})
	checkCaughtUp(t, latest, none, r.point, time.Now())
	for _, n := range nodes {
		if strings.Contains(n.stderr.String(), "session ended") {
			t.Errorf("%s lost its session in a short outage: not the case this test is for", n.base)
		}
		n.stop() // while etcd is up: a node leaving without etcd waits the TTL
	}
}

// TestClusterCatchUpFailover: the owner killed (kill -9) just before a
// point, so that the point falls while no node owns the job: the new
// owner, once elected, runs it once with catch_up = "latest" and not
// with "none".
func TestClusterCatchUpFailover(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	latest, none := filepath.Join(dir, "latest"), filepath.Join(dir, "none")
	etcd := startEtcdDev(t, t.TempDir())
	nodes := startNodes(t, etcd.endpoint, 2, catchUpJobs(latest, none))
	for try := 1; ; try++ {
		r := waitFreshPoint(t, latest, none, 2*time.Second)
		var own *server
		for i, n := range nodes {
			if fmt.Sprintf("n%d", i+1) == r.node {
				own = n
			}
		}
		// ttl 2s: killed 0.8 s before the point, the owner's lease ends
		// at least 1.3 s later, after the point.
		time.Sleep(time.Until(r.point.Add(9200 * time.Millisecond)))
		if time.Now().After(r.point.Add(9700*time.Millisecond)) && try < 3 {
			t.Logf("try %d: woke too late for the point, again", try)
			continue
		}
		own.kill9()
		killOrphans(own.dir)
		checkCaughtUp(t, latest, none, r.point, time.Now())
		return
	}
}

// TestClusterLostRunRetried: kill -9 of the owner in the middle of a run:
// the new owner records it failed and, for the job with retries = 1,
// runs it again once as attempt 2 (KARAJO_RUN_ATTEMPT=2); the job with
// retries = 0 is not run again.
func TestClusterLostRunRetried(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r1, r0 := filepath.Join(dir, "r1"), filepath.Join(dir, "r0")
	cmds := `commands = ['echo "$KARAJO_NODE $KARAJO_JOB_COUNTER $KARAJO_RUN_ATTEMPT $KARAJO_RUN_TRIGGER" >> %s', 'if [ "$KARAJO_RUN_ATTEMPT" = 1 ]; then sleep 60; fi']`
	etcd := startEtcdDev(t, t.TempDir())
	nodes := startNodes(t, etcd.endpoint, 2, fmt.Sprintf(`
[job.r1]
path = "/r1"
retries = 1
retry_delay = "1s"
retry_jitter = 0
`+cmds+`

[job.r0]
path = "/r0"
`+cmds+`
`, r1, r0))
	for _, path := range []string{"/r1", "/r0"} {
		triggerOnce(t, nodes[1], path)
	}
	lines := func(path string) [][]string {
		b, _ := os.ReadFile(path)
		var out [][]string
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if l != "" {
				out = append(out, strings.Fields(l))
			}
		}
		return out
	}
	waitFor(t, 30*time.Second, "both runs started", func() bool { return len(lines(r1)) == 1 && len(lines(r0)) == 1 })
	owner, lost1, lost0 := lines(r1)[0][0], lines(r1)[0][1], lines(r0)[0][1]
	var own, heir *server
	for i, n := range nodes {
		if fmt.Sprintf("n%d", i+1) == owner {
			own = n
		} else {
			heir = n
		}
	}
	own.kill9()
	killOrphans(own.dir)
	waitFor(t, 30*time.Second, "r1 run again on the new owner", func() bool { return len(lines(r1)) >= 2 })
	again := lines(r1)[1]
	var counter, n1, n0 int64
	fmt.Sscan(again[1], &counter)
	fmt.Sscan(lost1, &n1)
	fmt.Sscan(lost0, &n0)
	if again[0] == owner || again[2] != "2" || again[3] != "webhook" || counter <= n1 {
		t.Errorf("r1 run again as %v, want on another node than %s, attempt 2, trigger webhook, a counter after %s", again, owner, lost1)
	}
	if st := heir.waitRun(t, "r1", counter, 30*time.Second); st != "success" {
		t.Errorf("r1's re-run ended %s", st)
	}
	l := heir.logOf(t, "r1", counter)
	for _, want := range []string{"=== ATTEMPT 2/2", "re-run of run #" + lost1 + ", interrupted with node " + owner} {
		if !strings.Contains(string(l.Content), want) {
			t.Errorf("re-run's log lacks %q:\n%s", want, l.Content)
		}
	}
	for id, c := range map[string]int64{"r1": n1, "r0": n0} {
		waitFor(t, 20*time.Second, id+": the lost run recorded failed", func() bool {
			for _, lr := range heir.job(t, id).Logs {
				if lr.Counter == c && lr.Status == "failed" {
					return true
				}
			}
			return false
		})
		if lg := heir.logOf(t, id, c); !strings.Contains(string(lg.Content), fmt.Sprintf("!!! job: %s: interrupted, node %s lost", id, owner)) {
			t.Errorf("%s: lost run's log %q", id, lg.Content)
		}
	}
	time.Sleep(3 * time.Second) // r0 had the same time to be run again
	if n := len(lines(r0)); n != 1 {
		t.Errorf("r0 (retries = 0) ran %d times, want once: %v", n, lines(r0))
	}
	if n := len(lines(r1)); n != 2 {
		t.Errorf("r1 (retries = 1) ran %d times, want twice: %v", n, lines(r1))
	}
}

// startNodesWith is startNodes with another ttl and more [cluster] keys
// (extra: TOML lines).
func startNodesWith(t *testing.T, etcd string, n int, ttl, extra, jobs string) []*server {
	t.Helper()
	nodes := make([]*server, n)
	for i := range nodes {
		dir := t.TempDir()
		addr := freeAddr(t)
		cfg := strings.Replace(configHeader(dir), `listen_address = "127.0.0.1:0"`, fmt.Sprintf("listen_address = %q", addr), 1) +
			fmt.Sprintf("\n[cluster]\nname = \"it\"\netcd = [%q]\nnode = \"n%d\"\nadvertise = \"http://%s\"\nsecret = \"cluster-secret-0123456789\"\nttl = %q\n%s\n\n%s",
				etcd, i+1, addr, ttl, extra, jobs)
		writeConfig(t, dir, cfg)
		nodes[i] = startDir(t, dir)
	}
	return nodes
}

// TestClusterLostRunFinishPolicy: with partition_policy = "finish" a run
// lost with its node is recorded failed but not run again, whatever its
// retries (its node may only be cut from etcd, the run still going on).
func TestClusterLostRunFinishPolicy(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "r1")
	etcd := startEtcdDev(t, t.TempDir())
	nodes := startNodesWith(t, etcd.endpoint, 2, "2s", `partition_policy = "finish"`, fmt.Sprintf(`
[job.r1]
path = "/r1"
retries = 1
retry_delay = "1s"
retry_jitter = 0
commands = ['echo "$KARAJO_NODE $KARAJO_JOB_COUNTER $KARAJO_RUN_ATTEMPT" >> %s', 'if [ "$KARAJO_RUN_ATTEMPT" = 1 ]; then sleep 60; fi']
`, file))
	triggerOnce(t, nodes[0], "/r1")
	var fields []string
	waitFor(t, 30*time.Second, "the run started", func() bool {
		b, _ := os.ReadFile(file)
		fields = strings.Fields(string(b))
		return len(fields) == 3
	})
	owner, heir := nodes[0], nodes[1]
	if fields[0] == "n2" {
		owner, heir = nodes[1], nodes[0]
	}
	var counter int64
	fmt.Sscan(fields[1], &counter)
	owner.kill9()
	killOrphans(owner.dir)
	waitFor(t, 30*time.Second, "the lost run recorded failed", func() bool {
		for _, lr := range heir.job(t, "r1").Logs {
			if lr.Counter == counter && lr.Status == "failed" {
				return true
			}
		}
		return false
	})
	time.Sleep(3 * time.Second) // retry_delay 1s: a re-run would have started
	if b, _ := os.ReadFile(file); strings.Count(string(b), "\n") != 1 {
		t.Errorf("partition_policy = finish: the lost run was run again:\n%s", b)
	}
	if l := heir.logOf(t, "r1", counter); strings.Contains(string(l.Content), "follows as a new run") {
		t.Errorf("lost run's log announces a re-run:\n%s", l.Content)
	}
}

// triggerOnce sends a signed webhook until it is answered 200: while the
// nodes start, a node may answer 503 (no leader yet, or ownership moving),
// and a 503 runs nothing.
func triggerOnce(t *testing.T, n *server, path string) {
	t.Helper()
	var r response
	waitFor(t, 30*time.Second, "webhook "+path+" answered 200", func() bool {
		r = n.trigger(t, path, testSecret)
		if r.status == 503 {
			time.Sleep(200 * time.Millisecond)
			return false
		}
		if r.status != 200 {
			t.Fatalf("webhook %s: %s", path, r)
		}
		return true
	})
}
