package config

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Var is one variable of a command's environment that comes from the
// configuration: [karajo] and job env, env_file and inherit_env.
type Var struct {
	Name   string
	Value  string
	Secret bool // from an env_file or named by secret_env: masked in run logs
}

// Built-in variables set for every run; they win over configured ones.
const (
	VarJobID      = "KARAJO_JOB_ID"
	VarJobName    = "KARAJO_JOB_NAME"
	VarJobCounter = "KARAJO_JOB_COUNTER"
)

// envTOML holds the environment keys shared by [karajo], [job.*] and
// [job_http.*].
type envTOML struct {
	Env        map[string]string `toml:"env"`
	EnvFile    string            `toml:"env_file"`
	InheritEnv []string          `toml:"inherit_env"`
	SecretEnv  []string          `toml:"secret_env"`
}

// envLayer is the resolved environment of one table, before the job's
// layer is put over the [karajo] one.
type envLayer struct {
	vars    map[string]Var
	secrets []string // secret_env names
}

// envFiles caches the env files read by one Load: many jobs may name the
// same file.
type envFiles map[string]envFileResult

type envFileResult struct {
	vars   []DotenvVar
	reason string // why the file is refused, "" when it is usable
}

// layer resolves the env keys of one table: env, then env_file (every
// value secret), then inherit_env, each winning over the one before.
// table is the key prefix ("karajo", `job."a"`); file the TOML file, whose
// directory a relative env_file is relative to.
func (c *checker) layer(file, table string, t *envTOML) envLayer {
	l := envLayer{vars: make(map[string]Var)}
	for _, name := range slices.Sorted(maps.Keys(t.Env)) {
		if !ValidEnvName(name) {
			c.fail(file, table+".env", "%q is not a variable name ([A-Za-z_][A-Za-z0-9_]*)", name)
			continue
		}
		if strings.IndexByte(t.Env[name], 0) >= 0 {
			c.fail(file, table+".env."+name, "the value holds a NUL byte")
			continue
		}
		l.vars[name] = Var{Name: name, Value: t.Env[name]}
	}
	if t.EnvFile != "" {
		path := t.EnvFile
		if !filepath.IsAbs(path) {
			path = filepath.Join(filepath.Dir(file), path)
		}
		res := c.readEnvFile(path)
		if res.reason != "" {
			c.fail(file, table+".env_file", "%s", res.reason)
		}
		for _, v := range res.vars {
			l.vars[v.Name] = Var{Name: v.Name, Value: v.Value, Secret: true}
		}
	}
	for i, name := range t.InheritEnv {
		if !ValidEnvName(name) {
			c.fail(file, fmt.Sprintf("%s.inherit_env[%d]", table, i), "%q is not a variable name ([A-Za-z_][A-Za-z0-9_]*)", name)
			continue
		}
		if v, ok := os.LookupEnv(name); ok {
			l.vars[name] = Var{Name: name, Value: v}
		}
	}
	for i, name := range t.SecretEnv {
		if !ValidEnvName(name) {
			c.fail(file, fmt.Sprintf("%s.secret_env[%d]", table, i), "%q is not a variable name ([A-Za-z_][A-Za-z0-9_]*)", name)
			continue
		}
		l.secrets = append(l.secrets, name)
	}
	return l
}

// readEnvFile reads and parses the env file at path once per Load. The
// file must be a regular file, readable, and writable by its owner only.
func (c *checker) readEnvFile(path string) envFileResult {
	if res, ok := c.envFiles[path]; ok {
		return res
	}
	res := loadEnvFile(path)
	if c.envFiles == nil {
		c.envFiles = make(envFiles)
	}
	c.envFiles[path] = res
	return res
}

// loadEnvFile reads and parses the env file at path.
func loadEnvFile(path string) envFileResult {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return envFileResult{reason: fmt.Sprintf("%s: no such file", path)}
	case err != nil:
		return envFileResult{reason: fmt.Sprintf("%s: %v", path, unwrapPath(err))}
	case fi.IsDir():
		return envFileResult{reason: fmt.Sprintf("%s: is a directory, want a file", path)}
	case !fi.Mode().IsRegular():
		return envFileResult{reason: fmt.Sprintf("%s: not a regular file", path)}
	case fi.Mode().Perm()&0o022 != 0:
		return envFileResult{reason: fmt.Sprintf("%s: writable by group or others (mode %04o): want at most 0644, better 0600", path, fi.Mode().Perm())}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return envFileResult{reason: fmt.Sprintf("%s: unreadable: %v", path, unwrapPath(err))}
	}
	vars, err := ParseDotenv(data)
	if err != nil {
		var de *DotenvError
		if errors.As(err, &de) {
			return envFileResult{reason: fmt.Sprintf("%s:%d: %s", path, de.Line, de.Reason)}
		}
		return envFileResult{reason: fmt.Sprintf("%s: %v", path, err)}
	}
	return envFileResult{vars: vars}
}

// unwrapPath returns the reason of a *fs.PathError without its path.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// merge puts the job's layer over the [karajo] layer and marks the
// variables named by either secret_env. It returns the variables sorted by
// name. A secret_env name that names no variable is a warning.
func (c *checker) merge(file, table string, global, job envLayer) []Var {
	all := make(map[string]Var, len(global.vars)+len(job.vars))
	maps.Copy(all, global.vars)
	maps.Copy(all, job.vars)
	for _, name := range slices.Concat(global.secrets, job.secrets) {
		v, ok := all[name]
		if !ok {
			continue
		}
		v.Secret = true
		all[name] = v
	}
	for _, name := range job.secrets {
		if _, ok := all[name]; !ok {
			c.warn(file, table+".secret_env", "%s names no variable of env, env_file or inherit_env", name)
		}
	}
	vars := slices.SortedFunc(maps.Values(all), func(a, b Var) int { return cmp.Compare(a.Name, b.Name) })
	for _, v := range vars {
		if v.Secret && len(v.Value) > 0 && len(v.Value) < minSecretLen {
			c.warn(file, table, "secret %s is shorter than %d bytes: masking it in run logs also masks unrelated output", v.Name, minSecretLen)
		}
	}
	return vars
}

// minSecretLen is the length below which a secret value earns a warning.
const minSecretLen = 4

// Secrets returns the values of the secret variables of vars, without
// empty ones: the texts a run log masks.
func Secrets(vars []Var) []string {
	var out []string
	for _, v := range vars {
		if v.Secret && v.Value != "" {
			out = append(out, v.Value)
		}
	}
	return out
}

// Expand replaces the references to variables in s: $NAME and ${NAME}
// (NAME as [A-Za-z_][A-Za-z0-9_]*) by lookup's value, and $$ by $. A '$'
// followed by anything else stays as it is. A name that lookup does not
// know is an error naming it.
func Expand(s string, lookup func(string) (string, bool)) (string, error) {
	if strings.IndexByte(s, '$') < 0 {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		name, n := refAt(s[i+1:])
		switch {
		case s[i+1] == '$':
			b.WriteByte('$')
			i++
		case name == "":
			b.WriteByte('$')
		default:
			v, ok := lookup(name)
			if !ok {
				return "", fmt.Errorf("undefined variable %s", name)
			}
			b.WriteString(v)
			i += n
		}
	}
	return b.String(), nil
}

// refAt returns the variable name referred to at the start of s (which
// follows a '$'): NAME or {NAME}, and how many bytes the reference takes;
// "" when s does not start with one.
func refAt(s string) (string, int) {
	if s != "" && s[0] == '{' {
		end := strings.IndexByte(s, '}')
		if end > 1 && ValidEnvName(s[1:end]) {
			return s[1:end], end + 1
		}
		return "", 0
	}
	n := 0
	for n < len(s) && (s[n] == '_' || 'a' <= s[n] && s[n] <= 'z' || 'A' <= s[n] && s[n] <= 'Z' || n > 0 && '0' <= s[n] && s[n] <= '9') {
		n++
	}
	return s[:n], n
}
