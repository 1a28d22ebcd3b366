package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/karajo/karajo/config"
)

// checkCmd runs `karajo check -config FILE`: it loads and validates the
// configuration the way the server does at start (the main file, job.d,
// job_http.d and user.toml under dir_base) without binding a port,
// starting a job or writing a file. Every problem is printed on stderr,
// one per line with file, key and reason, and the result is 2; a valid
// configuration prints its warnings on stderr, a one-line summary on
// stdout, and returns 0.
func checkCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("karajo check", flag.ContinueOnError)
	cfgPath := fs.String("config", defaultConfig, "path of the main configuration file")
	if ok, code := parseClient(fs, args, stderr, "check [-config FILE]", 0, 0); !ok {
		return code
	}
	env, err := config.Load(*cfgPath)
	if err != nil {
		probs := configProblems(err)
		for _, p := range probs {
			fmt.Fprintln(stderr, p)
		}
		fmt.Fprintf(stderr, "karajo check: %s: invalid configuration (%s)\n", *cfgPath, plural(len(probs), "problem"))
		return 2
	}
	for _, w := range env.Warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	fmt.Fprintf(stdout, "%s: ok: %s, %s, %s, %s, listening on %s, dir_base %s%s\n", *cfgPath,
		plural(len(env.Jobs), "job"), plural(len(env.JobHTTPs), "http job"),
		plural(len(env.Notifs), "notif"), plural(len(env.Users), "user"),
		env.ListenAddress, env.DirBase, warnNote(len(env.Warnings)))
	return 0
}

// configProblems splits the error of config.Load into its problems, one
// line each (a joined error holds one per line, a TOML error may span
// several lines: those stay together).
func configProblems(err error) []string {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	out := make([]string, 0, len(errs))
	for _, e := range errs {
		s := e.Error()
		var fe *config.FieldError
		if !errors.As(e, &fe) {
			s = strings.TrimPrefix(s, config.ErrInvalid.Error()+": ")
		}
		out = append(out, s)
	}
	return out
}

// plural returns "1 job" or "3 jobs".
func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// warnNote is ", N warnings" when there are any.
func warnNote(n int) string {
	if n == 0 {
		return ""
	}
	return ", " + plural(n, "warning")
}
