package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/karajo/karajo/cmd/karajo/internal/earlysig"
)

// defaultConfig is the main configuration file when -config is not given.
const defaultConfig = "/etc/karajo/karajo.toml"

// usageText lists every subcommand (karajo help, karajo -h, --help).
const usageText = `usage: karajo [-config FILE]          run the server
       karajo SUBCOMMAND [flags] [args]

Server:
  serve -config FILE        run the server (same as karajo -config FILE)
  check -config FILE        validate a configuration without starting anything

Client (talks to a running server; see "Connection" below):
  status [ID...]            jobs with status, last and next run (-o json)
  run ID                    run a job now (-wait: wait and exit with its result)
  pause ID                  pause a job
  resume ID                 resume a paused job
  cancel ID                 cancel the run in progress of an exec job
  logs ID [COUNTER]         print a run's log (the newest without COUNTER; -f follows it)
  history ID                the runs the server keeps: status, start, duration, trigger
  sign [-secret S] BODY     print the X-Karajo-Sign signature of BODY

Tools:
  schedule EXPR             print the next runs of a cron expression or schedule
  hash-password             read a password, print its bcrypt hash for user.toml
  etcd-dev -data DIR [-listen URL]
                            run a single-member etcd for trying a cluster
                            (docs/cluster.md; not for production)
  version                   print the version
  help                      print this text

Connection (client subcommands): -url URL and -secret S, else the
environment variables KARAJO_URL and KARAJO_SECRET, else -config FILE (the
server's own listen_address and secret). Default URL http://127.0.0.1:31937.

Exit codes: 0 ok; 1 server error or server unreachable (the server: could
not start); 2 usage error or invalid configuration; 3 refused by the server
(401, 403, 404, 412, 429). "karajo SUBCOMMAND -h" shows its flags.
`

// subcommand runs a subcommand that is not the server. It reports whether
// args named one; the server (no subcommand, or "serve") is left to run.
func subcommand(args []string, stdout, stderr io.Writer) (int, bool) {
	if len(args) == 0 {
		return 0, false
	}
	rest := args[1:]
	var cmd func() int
	switch args[0] {
	case "help", "-h", "-help", "--help":
		cmd = func() int { fmt.Fprint(stdout, usageText); return 0 }
	case "version", "-version", "--version":
		cmd = func() int { fmt.Fprintf(stdout, "karajo version %s\n", version); return 0 }
	case "check":
		cmd = func() int { return checkCmd(rest, stdout, stderr) }
	case "schedule":
		cmd = func() int { return scheduleCmd(rest, stdout, stderr, time.Now()) }
	case "hash-password":
		cmd = func() int { return hashPassword(rest, os.Stdin, stdout, stderr) }
	case "etcd-dev":
		cmd = func() int { return etcdDevCmd(rest, stdout, stderr) }
	default:
		c, ok := clientCommands[args[0]]
		if !ok {
			return 0, false
		}
		cmd = func() int { return c(args[0], rest, stdout, stderr) }
	}
	earlysig.Release() // not the server: signals keep their default action
	return cmd(), true
}
