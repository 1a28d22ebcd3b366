package logstore

import "errors"

// ErrBadName is wrapped by every error about a kind, job ID, log file name or
// log status that cannot be used as a path element: empty, ".", "..", or
// containing '/' or NUL (IDs and statuses may not contain '.' either).
var ErrBadName = errors.New("bad name")

// ErrCorrupt is wrapped by LoadState when the state file exists but does not
// hold a valid state.
var ErrCorrupt = errors.New("corrupt state file")
