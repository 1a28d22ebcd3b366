package actors

import (
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/karajo/karajo/config"
)

// commandPath is v0.9.3's PATH for commands (SPEC 7.2); defaultPath keeps
// its entries first and adds the standard directories it lacks.
const (
	commandPath = "/usr/local/sbin:/usr/local/bin:/usr/bin:/usr/bin/site_perl:/usr/bin/vendor_perl:/usr/bin/core_perl"
	defaultPath = commandPath + ":/usr/sbin:/sbin:/bin"
)

// runFacts are what one run of an exec job adds to its commands'
// environment beyond the job's configuration. A feature that gives
// commands a new variable adds its fact here and one line to builtins.
type runFacts struct {
	counter int64
	home    string // HOME unless configured: the job's work directory, or the run user's home
	user    string // the run user's name for USER and LOGNAME; "" = karajo's own user, not set
	extra   []config.Var
}

// environ returns the environment of the commands of one run of cfg, as
// "NAME=value" strings sorted by name. Later layers win:
//
//  1. defaults: PATH (defaultPath) and HOME (f.home);
//  2. the job's configured Environ ([karajo] then job env, env_file,
//     inherit_env; see config.Var);
//  3. USER and LOGNAME when the run has its own user;
//  4. built-ins: KARAJO_JOB_ID, KARAJO_JOB_NAME, KARAJO_JOB_COUNTER and
//     those of other features (f.extra).
//
// Nothing of karajo's own environment is passed unless inherit_env names it.
// This is the one place where a command's environment is built.
func environ(cfg *config.Job, f runFacts) []string {
	m := make(map[string]string, len(cfg.Environ)+8)
	m["PATH"] = defaultPath
	if f.home != "" {
		m["HOME"] = f.home
	}
	for _, v := range cfg.Environ {
		m[v.Name] = v.Value
	}
	if f.user != "" {
		m["USER"], m["LOGNAME"] = f.user, f.user
	}
	for _, v := range builtins(cfg, f) {
		m[v.Name] = v.Value
	}
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}

// overlay returns env ("NAME=value", sorted) with vars set over it,
// sorted: the payload variables of a webhook run (payload.go), which the
// run learns only once it reads its payload. Their names never collide
// with the built-ins (config refuses KARAJO_ names in payload_env).
func overlay(env []string, vars []config.Var) []string {
	if len(vars) == 0 {
		return env
	}
	out := make([]string, 0, len(env)+len(vars))
	set := make(map[string]bool, len(vars))
	for _, v := range vars {
		set[v.Name] = true
		out = append(out, v.Name+"="+v.Value)
	}
	for _, kv := range env {
		if name, _, _ := strings.Cut(kv, "="); !set[name] {
			out = append(out, kv)
		}
	}
	slices.Sort(out)
	return out
}

// builtins returns the variables karajo sets on every run, which no
// configuration overrides.
func builtins(cfg *config.Job, f runFacts) []config.Var {
	vars := []config.Var{
		{Name: config.VarJobID, Value: cfg.ID},
		{Name: config.VarJobName, Value: cfg.Name},
		{Name: config.VarJobCounter, Value: strconv.FormatInt(f.counter, 10)},
	}
	return append(vars, f.extra...)
}

// home returns the job's work directory work as an absolute path, the
// default HOME of its commands; it is computed once (filepath.Abs stats
// the working directory).
func (j *job) home(work string) string {
	if j.homeDir == "" {
		j.homeDir = absDir(work)
	}
	return j.homeDir
}

// absDir returns dir as an absolute path; on failure (no working
// directory) it returns dir cleaned.
func absDir(dir string) string {
	if a, err := filepath.Abs(dir); err == nil {
		return a
	}
	return filepath.Clean(dir)
}

// shellOf returns the shell of cfg: config.DefaultShell unless configured.
func shellOf(cfg *config.Job) []string {
	if len(cfg.Shell) == 0 {
		return config.DefaultShell
	}
	return cfg.Shell
}

// secrets returns the values the job's run logs mask: those of its secret
// variables (config.Secrets).
func (j *job) secrets() []string {
	if j.exec != nil {
		return config.Secrets(j.exec.Environ)
	}
	return config.Secrets(j.http.Environ)
}
