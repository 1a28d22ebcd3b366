package config

import (
	"cmp"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Load reads the main configuration file at path, then the files under
// dir_base (SPEC 2.1): etc/karajo/job.d/*.toml, etc/karajo/job_http.d/*.toml
// and etc/karajo/user.toml. dir_base is relative to the process's working
// directory, not to path. In the .d directories only regular files whose
// names end in ".toml" and do not start with '.' are read, in lexical
// order; symlinks, sub-directories and missing directories are skipped. A
// job.d file holds only [job.*] tables and a job_http.d file only
// [job_http.*] tables: any other table there is refused with a reason
// that says where it belongs. A job defined again later replaces the
// earlier definition of the same name completely.
//
// Load checks every value and applies every default. It returns all the
// problems it finds at once, joined with errors.Join; each wraps
// ErrInvalid and is a *FieldError, a decoding error that starts with
// "file:line:col:", or (for a file or directory that cannot be read) also
// wraps the *fs.PathError. On error the Env is nil. Load never panics.
func Load(path string) (*Env, error) {
	c := &checker{}
	var main fileTOML
	ok, errs := decodeFile(path, &main, nil)
	c.errs = append(c.errs, errs...)
	if !ok {
		return nil, errors.Join(c.errs...)
	}

	env := c.env(path, &main.Karajo)
	env.Cluster = c.cluster(path, env, main.Cluster)
	env.Notifs = make(map[string]*Notif, len(main.Notif))
	for _, name := range slices.Sorted(maps.Keys(main.Notif)) {
		env.Notifs[name] = c.notif(path, name, main.Notif[name])
	}

	etc := filepath.Join(env.DirBase, "etc", "karajo")
	jobs := make(map[string]def[jobTOML])
	addDefs(jobs, path, main.Job)
	for _, file := range c.dotD(filepath.Join(etc, "job.d")) {
		var f jobDFile
		ok, errs := decodeFile(file, &f, placement("job", path))
		c.errs = append(c.errs, errs...)
		if ok {
			addDefs(jobs, file, f.Job)
		}
	}
	httpJobs := make(map[string]def[jobHTTPTOML])
	addDefs(httpJobs, path, main.JobHTTP)
	for _, file := range c.dotD(filepath.Join(etc, "job_http.d")) {
		var f jobHTTPDFile
		ok, errs := decodeFile(file, &f, placement("job_http", path))
		c.errs = append(c.errs, errs...)
		if ok {
			addDefs(httpJobs, file, f.JobHTTP)
		}
	}

	for _, name := range slices.Sorted(maps.Keys(jobs)) {
		d := jobs[name]
		env.Jobs = append(env.Jobs, c.job(env, main.Karajo.Secret, d.file, name, d.t))
	}
	for _, name := range slices.Sorted(maps.Keys(httpJobs)) {
		d := httpJobs[name]
		env.JobHTTPs = append(env.JobHTTPs, c.jobHTTP(env, d.file, name, d.t))
	}
	slices.SortStableFunc(env.Jobs, func(a, b *Job) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortStableFunc(env.JobHTTPs, func(a, b *JobHTTP) int { return cmp.Compare(a.ID, b.ID) })
	c.collisions(env)

	env.Users = c.users(filepath.Join(etc, "user.toml"))
	c.metricsAccess(path, env)

	if len(c.errs) > 0 {
		return nil, errors.Join(c.errs...)
	}
	env.Warnings = c.warns
	return env, nil
}

// def is one job definition and the file that holds it.
type def[T any] struct {
	file string
	t    *T
}

// addDefs adds the tables of one file to defs, replacing earlier
// definitions of the same name. An empty table decodes as nil and is
// treated as a table without keys.
func addDefs[T any](defs map[string]def[T], file string, tables map[string]*T) {
	for name, t := range tables {
		if t == nil {
			t = new(T)
		}
		defs[name] = def[T]{file: file, t: t}
	}
}

// dotD returns the paths of the files to read in a .d directory, in
// lexical order: regular files named *.toml that do not start with '.'.
// A missing directory has none.
func (c *checker) dotD(dir string) []string {
	entries, err := os.ReadDir(dir) // sorted by file name
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		c.errs = append(c.errs, fmt.Errorf("%w: %w", ErrInvalid, err))
	}
	var files []string
	for _, e := range entries {
		name := e.Name()
		if e.Type().IsRegular() && strings.HasSuffix(name, ".toml") && !strings.HasPrefix(name, ".") {
			files = append(files, filepath.Join(dir, name))
		}
	}
	return files
}

// users reads user.toml at path; a missing file means no users.
func (c *checker) users(path string) map[string]*User {
	users := make(map[string]*User)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return users
	}
	var f userFile
	ok, errs := decodeFile(path, &f, nil)
	c.errs = append(c.errs, errs...)
	if !ok {
		return users
	}
	for _, name := range slices.Sorted(maps.Keys(f.User)) {
		u := f.User[name]
		if u == nil {
			u = &userTOML{}
		}
		if reason := checkBcrypt(u.Password); reason != "" {
			c.fail(path, formatKey([]string{"user", name, "password"}), "%s", reason)
			continue
		}
		users[name] = &User{Name: name, PasswordHash: u.Password}
	}
	return users
}

// checkBcrypt returns why hash does not look like a bcrypt hash
// ($2a$, $2b$ or $2y$, a two-digit cost 04-31, '$' and 53 characters of
// bcrypt's base64), or "" when it does.
func checkBcrypt(hash string) string {
	if hash == "" {
		return "missing: want a bcrypt hash ($2a$, $2b$ or $2y$)"
	}
	if len(hash) < 4 || hash[0] != '$' || hash[1] != '2' || !strings.ContainsRune("aby", rune(hash[2])) || hash[3] != '$' {
		return "not a bcrypt hash: want the prefix $2a$, $2b$ or $2y$"
	}
	if len(hash) != 60 {
		return fmt.Sprintf("not a bcrypt hash: %d characters, want 60", len(hash))
	}
	cost, err := strconv.Atoi(hash[4:6])
	if err != nil || cost < 4 || cost > 31 || hash[6] != '$' {
		return "not a bcrypt hash: want a cost 04-31 after the prefix, then '$'"
	}
	for i := 7; i < len(hash); i++ {
		c := hash[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '/') {
			return "not a bcrypt hash: bad character after the cost"
		}
	}
	return ""
}

// secretChars are the characters of a generated secret.
const secretChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// generateSecret returns 32 random characters of [A-Za-z0-9] from
// crypto/rand, without modulo bias.
func generateSecret() string {
	const n = 32
	out := make([]byte, 0, n)
	buf := make([]byte, 2*n)
	for len(out) < n {
		_, _ = rand.Read(buf) // never fails (crypto/rand since Go 1.24)
		for _, b := range buf {
			if int(b) < 4*len(secretChars) && len(out) < n { // 248: a multiple of 62
				out = append(out, secretChars[int(b)%len(secretChars)])
			}
		}
	}
	return string(out)
}

// KeepSecret makes kept the [karajo] secret of an Env whose secret Load
// generated, also for every job that inherited the generated one: a
// reload keeps the running server's generated secret, so that a webhook
// signed with it yesterday still verifies after a SIGHUP. An Env with a
// configured secret is left as it is.
func (e *Env) KeepSecret(kept string) {
	if !e.SecretGenerated || kept == "" {
		return
	}
	generated := e.Secret
	e.Secret = kept
	for _, j := range e.Jobs {
		for i, s := range j.Secrets {
			if s == generated {
				j.Secrets[i] = kept
			}
		}
		if len(j.Secrets) > 0 {
			j.Secret = j.Secrets[0]
		}
	}
}
