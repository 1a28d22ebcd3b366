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
		fmt.Fprintf(stdout, "%s: run #%d triggered\n", id, a.RunCounter)
		if !*wait {
			return nil
		}
		l, err := c.waitRun(id, a.RunCounter, max(*poll, 50*time.Millisecond))
		if err != nil {
			return err
		}
		if _, err := stdout.Write(l.Content); err != nil {
			return err
		}
		if l.Status != "success" {
			return failf(exitRunFailed, "%s: run #%d ended %s", id, l.Counter, l.Status)
		}
		fmt.Fprintf(stdout, "%s: run #%d ended success\n", id, l.Counter)
		return nil
	}())
}

// waitRun polls run counter of job id until its log has a final status.
// A run not yet started (queued for a slot) has no log; when its job is
// paused with the run neither in progress nor logged, the server dropped
// it, and waiting ends with a refusal.
func (c *client) waitRun(id string, counter int64, every time.Duration) (*runLog, error) {
	for {
		l, err := c.log(id, counter)
		if err == nil && l.Status != "running" && l.Status != "" {
			return l, nil
		}
		if err != nil {
			if ce, ok := err.(*cliError); !ok || ce.code != exitRefused {
				return nil, err
			}
			j, err := c.job(id)
			if err != nil {
				return nil, err
			}
			if j == nil {
				return nil, failf(exitRefused, "job not found: %s (removed while waiting)", id)
			}
			if j.Status == "paused" && !slices.Contains(j.InProgress, counter) && j.newest() < counter {
				return nil, failf(exitRefused, "%s: run #%d was dropped: the job is paused", id, counter)
			}
		}
		time.Sleep(every)
	}
}
