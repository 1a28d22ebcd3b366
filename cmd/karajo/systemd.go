package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"

	"github.com/karajo/karajo/config"
)

// systemd speaks the sd_notify protocol with the service manager when karajo
// runs as a Type=notify unit: NOTIFY_SOCKET names a datagram socket (a path,
// or an abstract name starting with '@'), and each state change is one
// datagram of "KEY=VALUE" lines. go-systemd's daemon package does the
// sending and reads WATCHDOG_USEC / WATCHDOG_PID. Without NOTIFY_SOCKET
// every method does nothing.
type systemd struct {
	log     *slog.Logger
	enabled bool          // NOTIFY_SOCKET is set
	every   time.Duration // watchdog ping interval (WatchdogSec/2); 0 = no watchdog
	addr    string        // the bound listen address, for STATUS=
}

// newSystemd reads the service manager's environment once. NOTIFY_SOCKET
// and the watchdog variables are kept in karajo's own environment (every
// message dials the socket again); commands never see them, since a job's
// environment holds only what its configuration names.
func newSystemd(log *slog.Logger, addr string) *systemd {
	sd := &systemd{log: log, enabled: os.Getenv("NOTIFY_SOCKET") != "", addr: addr}
	if !sd.enabled {
		return sd
	}
	wd, err := daemon.SdWatchdogEnabled(false)
	switch {
	case err != nil:
		log.Warn("systemd watchdog settings ignored", "err", err)
	case wd > 0:
		sd.every = wd / 2
	}
	return sd
}

// notify sends one state datagram; a failure is logged, never fatal: the
// service manager then decides (a unit waiting for READY=1 times out).
func (sd *systemd) notify(state string) {
	if !sd.enabled {
		return
	}
	if _, err := daemon.SdNotify(false, state); err != nil {
		sd.log.Warn("systemd notify failed", "state", firstLine(state), "err", err)
	}
}

// ready tells the service manager that karajo is up (the listener is bound
// and every job of env has loaded), at start and after a reload.
func (sd *systemd) ready(env *config.Env) {
	sd.notify(fmt.Sprintf("%s\nSTATUS=listening on %s, %d jobs, %d http jobs",
		daemon.SdNotifyReady, sd.addr, len(env.Jobs), len(env.JobHTTPs)))
}

// reloading announces a reload; systemd requires MONOTONIC_USEC with
// RELOADING=1. ready must follow when the reload is over, applied or not.
func (sd *systemd) reloading() {
	sd.notify(daemon.SdNotifyReloading + "\n" + strings.TrimSuffix(daemon.SdNotifyMonotonicUsec(), "\n") +
		"\nSTATUS=reloading configuration")
}

// stopping announces the shutdown.
func (sd *systemd) stopping() {
	sd.notify(daemon.SdNotifyStopping + "\nSTATUS=stopping")
}

// watchdog pings WATCHDOG=1 every sd.every for as long as ctx lasts, but
// only after probe answered within that time: an engine whose supervisor
// stops answering stops the pings, and systemd restarts the unit after
// WatchdogSec. It returns at once when no watchdog is configured.
func (sd *systemd) watchdog(ctx context.Context, probe func(timeout time.Duration) error) {
	if !sd.enabled || sd.every <= 0 {
		return
	}
	sd.log.Info("systemd watchdog on", "ping_every", sd.every)
	runWatchdog(ctx, sd.every, probe, func() { sd.notify(daemon.SdNotifyWatchdog) }, sd.log)
}

// runWatchdog is the loop of watchdog: each period it asks probe (bounded
// by the period) and pings only when probe succeeded. A stuck probe delays
// the loop; no ping is sent meanwhile. Misses are logged once per outage.
func runWatchdog(ctx context.Context, period time.Duration, probe func(time.Duration) error, ping func(), log *slog.Logger) {
	t := time.NewTicker(period)
	defer t.Stop()
	missing := false
	for {
		err := probe(period)
		if ctx.Err() != nil {
			return
		}
		switch {
		case err == nil:
			ping()
			if missing {
				log.Info("engine answers again: systemd watchdog pings resumed")
				missing = false
			}
		case !missing:
			log.Error("engine does not answer: systemd watchdog pings withheld", "err", err)
			missing = true
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// firstLine is s up to its first newline.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// newLogger returns karajo's log written to w, which writes to file (w
// may be file itself): slog's text format, without a time of its own when
// file is the journal's stream (systemd sets JOURNAL_STREAM to
// "device:inode" of the stderr it connected), since journald stamps every
// line itself.
func newLogger(file, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{}
	if toJournal(file, os.Getenv("JOURNAL_STREAM")) {
		opts.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// toJournal reports whether w is the file that JOURNAL_STREAM ("dev:ino",
// decimal) names. A redirected stderr keeps the variable but not the file,
// so the numbers are compared, as systemd recommends.
func toJournal(w io.Writer, stream string) bool {
	f, ok := w.(*os.File)
	if !ok || stream == "" {
		return false
	}
	devS, inoS, ok := strings.Cut(stream, ":")
	dev, err1 := strconv.ParseUint(devS, 10, 64)
	ino, err2 := strconv.ParseUint(inoS, 10, 64)
	if !ok || errors.Join(err1, err2) != nil {
		return false
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return false
	}
	return uint64(st.Dev) == dev && st.Ino == ino
}
