package config

import "errors"

// ErrInvalid is wrapped by every error that Load returns: a bad or unknown
// value, a TOML syntax error, or a file that cannot be read.
var ErrInvalid = errors.New("invalid configuration")

// FieldError reports a bad config value: the file, the TOML key and why.
// It wraps ErrInvalid.
type FieldError struct {
	File   string // the file that holds the value, e.g. "etc/karajo/job.d/a.toml"
	Key    string // the full TOML key, e.g. `job."Backup".interval`
	Reason string // what is wrong, e.g. `invalid duration "5": time: missing unit in duration "5"`
}

// Error returns File + ": " + Key + ": " + Reason.
func (e *FieldError) Error() string { return e.File + ": " + e.Key + ": " + e.Reason }

// Unwrap returns ErrInvalid.
func (e *FieldError) Unwrap() error { return ErrInvalid }
