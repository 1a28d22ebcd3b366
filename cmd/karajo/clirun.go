package main

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"time"
)

// exitRunFailed is the exit code of `karajo run -wait` when the run ended
// in anything but success.
const exitRunFailed = 4

// runCmd runs `karajo run [-wait] ID`: run the job now (run_now). With
// -wait it polls the run's log until the run ends, prints the log, and
// exits 0 on success or exitRunFailed otherwise.
func runCmd(name string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("karajo "+name, flag.ContinueOnError)
	cf := addClientFlags(fs)
	wait := fs.Bool("wait", false, "wait for the run to end, print its log and exit with its result (4: not success)")
	poll := fs.Duration("poll", 500*time.Millisecond, "with -wait: how often to look at the run")
	if ok, code := parseClient(fs, args, stderr, "run [flags] ID", 1, 1); !ok {
		return code
	}
	return exitWith(stderr, name, func() error {
		c, err := cf.connect(name)
		if err != nil {
			return err
		}
		id := fs.Arg(0)
		j, err := c.job(id)
		if err != nil {
			return err
		}
		path := "/karajo/api/job_exec/run_now"
		if j != nil && j.Kind == kindHTTP {
			path = "/karajo/api/job_http/run_now"
		}
		a, err := c.postForm(path, id)
		if err != nil {
			return err
		}
		if a.RunCounter < 1 { // a server older than run_counter
			fmt.Fprintf(stdout, "%s: run triggered\n", id)
			if *wait {
				return failf(exitServer, "%s did not say which run it started (no run_counter): cannot wait", c.URL)
			}
			return nil
		}
		fmt.Fprintf(stdout, "%s: run #%d triggered\n", id, a.RunCounter)
		if !*wait {
			return nil
		}
		st, err := c.waitRun(j, id, a.RunCounter, max(*poll, 50*time.Millisecond), stdout)
		if err != nil {
			return err
		}
		if st != "success" {
			return failf(exitRunFailed, "%s: run #%d ended %s", id, a.RunCounter, st)
		}
		fmt.Fprintf(stdout, "%s: run #%d ended success\n", id, a.RunCounter)
		return nil
	}())
}

// waitRun waits for run counter of job id to start (polling its log
// every so often: a run queued for a slot has none yet), then prints its
// log as the run goes (the log stream) and returns its final status. When
// the job is paused with the run neither started nor logged, the server
// dropped it, and waiting ends with a refusal.
func (c *client) waitRun(j *jobState, id string, counter int64, every time.Duration, stdout io.Writer) (string, error) {
	for {
		l, err := c.readLog(j, id, counter)
		if err == nil {
			if l.Status == "running" || l.Status == "" {
				return c.follow(j, id, counter, stdout)
			}
			_, err = stdout.Write(l.Content)
			return l.Status, err
		}
		if ce, ok := err.(*cliError); !ok || ce.code != exitRefused {
			return "", err
		}
		now, err := c.job(id)
		if err != nil {
			return "", err
		}
		if now == nil {
			return "", failf(exitRefused, "job not found: %s (removed while waiting)", id)
		}
		if now.Status == "paused" && !slices.Contains(now.InProgress, counter) && now.newest() < counter {
			return "", failf(exitRefused, "%s: run #%d was dropped: the job is paused", id, counter)
		}
		time.Sleep(every)
	}
}
