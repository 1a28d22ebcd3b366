package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"
)

func init() {
	for _, n := range []string{"pause", "resume", "cancel"} {
		clientCommands[n] = controlCmd
	}
	clientCommands["run"] = runCmd
	clientCommands["logs"] = logsCmd
	clientCommands["status"] = statusCmd
}

// parseClient parses the flags of a client subcommand and checks that it
// got between minArgs and maxArgs (-1: any) arguments. A bad flag or
// argument count is one line on stderr (exitUsage); -h prints the usage
// and the flags on stdout (exitOK).
func parseClient(fs *flag.FlagSet, args []string, stderr io.Writer, usage string, minArgs, maxArgs int) (bool, int) {
	name := strings.TrimPrefix(fs.Name(), "karajo ")
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(stderr)
		fmt.Fprintln(stderr, "usage: karajo "+usage)
		fs.PrintDefaults()
		return false, exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "karajo %s: %v (karajo %s -h lists the flags)\n", name, err, name)
		return false, exitUsage
	}
	if fs.NArg() < minArgs || (maxArgs >= 0 && fs.NArg() > maxArgs) {
		fmt.Fprintf(stderr, "karajo %s: wrong number of arguments; usage: karajo %s\n", name, usage)
		return false, exitUsage
	}
	return true, exitOK
}

// parseInterspersed parses flags before, between and after the
// arguments (karajo run ID -wait); "--" ends the flags. fs.Args() are
// then the arguments in order.
func parseInterspersed(fs *flag.FlagSet, args []string) error {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			pos = append(pos, rest...) // after "--": all arguments
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	return fs.Parse(append([]string{"--"}, pos...))
}

// controlCmd runs `karajo pause|resume|cancel ID`: one signed control
// request, then the job's new status on stdout.
func controlCmd(name string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("karajo "+name, flag.ContinueOnError)
	cf := addClientFlags(fs)
	if ok, code := parseClient(fs, args, stderr, name+" [flags] ID", 1, 1); !ok {
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
		var a *answer
		switch {
		case j != nil && j.Kind == kindHTTP && name == "cancel":
			return failf(exitUsage, "%s is a job_http: only exec jobs have runs to cancel", id)
		case j != nil && j.Kind == kindHTTP:
			a, err = c.postQuery("/karajo/api/job_http/"+name, id)
		default: // an unknown ID too: the server says it is not found
			a, err = c.postForm("/karajo/api/job_exec/"+name, id)
		}
		if err != nil {
			return err
		}
		var after jobState
		if err := c.decode(a, &after); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: %s (status %s)\n", id, pastTense[name], after.Status)
		return nil
	}())
}

// pastTense is what a control subcommand did.
var pastTense = map[string]string{"pause": "paused", "resume": "resumed", "cancel": "cancel requested"}

// logsCmd runs `karajo logs [-f] ID [COUNTER]`: the log text of run
// COUNTER, or of the newest run, on stdout as it is stored. With -f it
// follows a run in progress through the log stream until the run ends,
// and exits like run -wait: 0 on success, exitRunFailed otherwise.
func logsCmd(name string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("karajo "+name, flag.ContinueOnError)
	cf := addClientFlags(fs)
	follow := fs.Bool("f", false, "follow the run in progress until it ends (exit 4 when it does not succeed)")
	if ok, code := parseClient(fs, args, stderr, "logs [flags] ID [COUNTER]", 1, 2); !ok {
		return code
	}
	return exitWith(stderr, name, func() error {
		var counter int64
		if fs.NArg() == 2 {
			n, err := strconv.ParseInt(fs.Arg(1), 10, 64)
			if err != nil || n < 1 {
				return failf(exitUsage, "COUNTER %q: want a run number (1, 2, …)", fs.Arg(1))
			}
			counter = n
		}
		c, err := cf.connect(name)
		if err != nil {
			return err
		}
		id := fs.Arg(0)
		j, counter, err := c.resolve(id, counter)
		if err != nil {
			return err
		}
		if *follow {
			st, err := c.follow(j, id, counter, stdout)
			if err == nil && st != "success" {
				err = failf(exitRunFailed, "%s: run #%d ended %s", id, counter, st)
			}
			return err
		}
		l, err := c.readLog(j, id, counter)
		if err != nil {
			return err
		}
		_, err = stdout.Write(l.Content)
		return err
	}())
}

// runLog is a log as the log endpoints answer it.
type runLog struct {
	Status  string `json:"status"`
	Counter int64  `json:"counter"`
	Content []byte `json:"content"`
}

// resolve finds job id (nil when the server has none: the log endpoints
// then say so) and, for counter 0, its newest run.
func (c *client) resolve(id string, counter int64) (*jobState, int64, error) {
	j, err := c.job(id)
	if err != nil {
		return nil, 0, err
	}
	if counter == 0 && j != nil {
		if counter = j.newest(); counter == 0 {
			return nil, 0, failf(exitRefused, "%s has no runs yet", id)
		}
	}
	if counter == 0 { // unknown job: the server says so
		counter = 1
	}
	return j, counter, nil
}

// readLog reads run counter of job j (nil: unknown to the client, asked
// as an exec job).
func (c *client) readLog(j *jobState, id string, counter int64) (*runLog, error) {
	path := "/karajo/api/job_exec/log"
	if j != nil && j.Kind == kindHTTP {
		path = "/karajo/api/job_http/log"
	}
	var l runLog
	err := c.read(path, url.Values{"id": {id}, "counter": {strconv.FormatInt(counter, 10)}}, &l)
	return &l, err
}

// statusCmd runs `karajo status [-o table|json] [ID…]`.
func statusCmd(name string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("karajo "+name, flag.ContinueOnError)
	cf := addClientFlags(fs)
	format := fs.String("o", "table", "output: table or json (an array of the jobs as the API shows them, with \"kind\")")
	if ok, code := parseClient(fs, args, stderr, "status [flags] [ID...]", 0, -1); !ok {
		return code
	}
	if *format != "table" && *format != "json" {
		return usageErr(stderr, name, fmt.Sprintf("-o %q: want table or json", *format))
	}
	return exitWith(stderr, name, func() error {
		c, err := cf.connect(name)
		if err != nil {
			return err
		}
		all, err := c.jobs()
		if err != nil {
			return err
		}
		jobs, err := pick(all, fs.Args())
		if err != nil {
			return err
		}
		if *format == "json" {
			return writeJobsJSON(stdout, jobs)
		}
		writeTable(stdout, jobs, time.Now(), useColor(stdout))
		return nil
	}())
}

// pick keeps the jobs with the given IDs, in that order; none given: all.
func pick(all []*jobState, ids []string) ([]*jobState, error) {
	if len(ids) == 0 {
		return all, nil
	}
	out := make([]*jobState, 0, len(ids))
	for _, id := range ids {
		var found *jobState
		for _, j := range all {
			if j.ID == id {
				found = j
				break
			}
		}
		if found == nil {
			return nil, failf(exitRefused, "job not found: %s", id)
		}
		out = append(out, found)
	}
	return out, nil
}

// writeJobsJSON prints the jobs as a JSON array: each the API's object
// with "kind" ("job_exec" or "job_http") added.
func writeJobsJSON(w io.Writer, jobs []*jobState) error {
	arr := make([]map[string]json.RawMessage, 0, len(jobs))
	for _, j := range jobs {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(j.raw, &m); err != nil {
			return fmt.Errorf("job %s: %w", j.ID, err)
		}
		m["kind"], _ = json.Marshal(j.Kind)
		arr = append(arr, m)
	}
	b, err := json.MarshalIndent(arr, "", "  ")
	if err != nil {
		return fmt.Errorf("encode jobs: %w", err)
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}
