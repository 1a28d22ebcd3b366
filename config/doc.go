// Package config turns karajo's TOML files into validated plain structs.
//
// Load reads the main file (the -config flag), then, under dir_base, the
// files etc/karajo/job.d/*.toml, etc/karajo/job_http.d/*.toml and
// etc/karajo/user.toml (SPEC 2.1). Decoding is strict: an unknown key or
// table is an error naming the file, line, column, table and key. Every
// value is checked and every default applied here (SPEC 2.3 to 2.8), so
// the rest of the program reads an Env and never a TOML file.
//
// Load does not stop at the first problem: it returns all of them at once,
// joined with errors.Join. Each one wraps ErrInvalid; a bad value is a
// *FieldError that names the file, the TOML key (for example
// job."Backup".interval) and the reason.
//
// Schedules are parsed and evaluated by the subpackage config/schedule
// (cron expressions, karajo's syntax, time zones, DST rules); this package
// checks the schedule keys (schedkeys.go) and owns ID normalisation
// (NormalizeID, SPEC 1.5).
// It starts no goroutines, keeps no global state and does no I/O besides
// reading the configuration files and env files (env_file, parsed by
// ParseDotenv), looking up the environment variables named by notif
// credentials and inherit_env, checking that dir and shell exist, looking
// up user and group (os/user) and, when [karajo] secret is empty, reading
// crypto/rand. A job's Environ holds its resolved variables; which of
// them are secret is decided here (Var.Secret, Secrets).
package config
