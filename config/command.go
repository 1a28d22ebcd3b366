package config

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// dir checks a job's dir: empty (the job's work directory) or an absolute
// path to an existing directory.
func (c *checker) dir(file, key, dir string) string {
	if dir == "" {
		return ""
	}
	if !filepath.IsAbs(dir) {
		c.fail(file, key, "%q is not an absolute path", dir)
		return dir
	}
	fi, err := os.Stat(dir)
	switch {
	case err != nil:
		c.fail(file, key, "%q: %v", dir, unwrapPath(err))
	case !fi.IsDir():
		c.fail(file, key, "%q is not a directory", dir)
	}
	return filepath.Clean(dir)
}

// shell checks a job's shell and applies its default: the program (an
// absolute path) and its arguments, to which each command is appended.
func (c *checker) shell(file, key string, shell []string) []string {
	if shell == nil {
		return DefaultShell
	}
	if len(shell) == 0 || shell[0] == "" {
		c.fail(file, key, "empty: want a program and its arguments, such as [\"/bin/bash\", \"-c\"]")
		return shell
	}
	if !filepath.IsAbs(shell[0]) {
		c.fail(file, key, "%q is not an absolute path", shell[0])
		return shell
	}
	fi, err := os.Stat(shell[0])
	switch {
	case err != nil:
		c.fail(file, key, "%q: %v", shell[0], unwrapPath(err))
	case !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0:
		c.fail(file, key, "%q is not an executable file", shell[0])
	}
	return slices.Clone(shell)
}

// httpEnv checks the environment keys of a JobHttp, http_success and
// http_epoch, and that every variable its URL and headers refer to is
// defined; the URL and header values are checked again after expansion.
func (c *checker) httpEnv(j *JobHTTP, file, table string, t *jobHTTPTOML) {
	j.Environ = c.merge(file, table, c.global, c.layer(file, table, &t.envTOML))
	if strings.Contains(j.HTTPURL, "$") {
		u, err := j.Expand(j.HTTPURL, 1)
		switch {
		case err != nil:
			c.fail(file, table+".http_url", "%v: define it in env, env_file or inherit_env", err)
		case checkURL(u) != "":
			c.fail(file, table+".http_url", "after expansion: %s", checkURL(u))
		}
	}
	for i, h := range j.Headers {
		v, err := j.Expand(h[1], 1)
		switch {
		case err != nil:
			c.fail(file, fmt.Sprintf("%s.http_headers[%d]", table, i), "%v: define it in env, env_file or inherit_env", err)
		case strings.ContainsFunc(v, func(r rune) bool { return r != '\t' && (r < 0x20 || r == 0x7f) }):
			c.fail(file, fmt.Sprintf("%s.http_headers[%d]", table, i), "control character in the value after expansion")
		}
	}
	j.NoEpoch = t.HTTPEpoch != nil && !*t.HTTPEpoch
	j.HTTPSuccess = []int{200}
	if t.HTTPSuccess != nil {
		if len(t.HTTPSuccess) == 0 {
			c.fail(file, table+".http_success", "empty: want status codes such as [200, 204]")
		}
		for i, code := range t.HTTPSuccess {
			if code < 100 || code > 599 {
				c.fail(file, fmt.Sprintf("%s.http_success[%d]", table, i), "%d is not an HTTP status code (100..599)", code)
			}
		}
		j.HTTPSuccess = slices.Clone(t.HTTPSuccess)
	}
}

// Expand expands the references to variables in s (a JobHttp's URL or a
// header value) for run counter: the job's Environ and the built-ins
// KARAJO_JOB_ID, KARAJO_JOB_NAME and KARAJO_JOB_COUNTER (see Expand).
func (j *JobHTTP) Expand(s string, counter int64) (string, error) {
	return Expand(s, func(name string) (string, bool) {
		switch name {
		case VarJobID:
			return j.ID, true
		case VarJobName:
			return j.Name, true
		case VarJobCounter:
			return strconv.FormatInt(counter, 10), true
		}
		i, ok := slices.BinarySearchFunc(j.Environ, name, func(v Var, n string) int { return cmp.Compare(v.Name, n) })
		if !ok {
			return "", false
		}
		return j.Environ[i].Value, true
	})
}
