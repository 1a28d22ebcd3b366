// Package earlysig catches SIGTERM, SIGINT and SIGHUP from the first
// moment Go code runs in karajo: its init runs before those of the big
// dependencies (its import path sorts before them and it needs only
// os/signal), so a SIGHUP sent right after start (a systemctl reload or a
// logrotate hook after a restart) waits in C until start-up is done,
// instead of killing the process (issue 14).
package earlysig

import (
	"os"
	"os/signal"
	"syscall"
)

// C receives the signals; it holds up to 16 not yet taken.
var C = make(chan os.Signal, 16)

func init() {
	signal.Notify(C, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
}

// Release gives the signals back their default action (for the commands
// that are not the server: version, hash-password).
func Release() {
	signal.Stop(C)
}
