// Command karajo runs jobs the way cron does, driven and watched over HTTP.
//
//	karajo -config FILE   run the server (default /etc/karajo/karajo.toml)
//	karajo serve -config FILE  the same
//	karajo check -config FILE  validate a configuration (cli.go lists the
//	                      client subcommands: status, run, logs, …)
//	karajo version        print the version and exit
//	karajo schedule [-timezone TZ] [-after RFC3339] [-n N] EXPR
//	                      print the next runs of a cron expression or schedule
//
// Exit codes: 0 after a clean shutdown (SIGTERM, SIGINT, SIGHUP), 1 when the
// server cannot start or fails, 2 for an invalid configuration.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/karajo/karajo/actors"
	"github.com/karajo/karajo/cmd/karajo/internal/earlysig"
	"github.com/karajo/karajo/config"
	"github.com/karajo/karajo/httpapi"
	"github.com/karajo/karajo/logstore"
)

// version is set at build time with -ldflags '-X main.version=…'.
var version = "0.1.0-dev"

// httpGrace is the most a graceful stop waits for open requests; the rest
// of [karajo] shutdown_timeout is for canceling and recording runs.
const httpGrace = 3 * time.Second

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if code, ok := subcommand(args, stdout, stderr); ok { // cli.go
		return code
	}
	if len(args) > 0 && args[0] == "serve" {
		args = args[1:]
	}
	fs := flag.NewFlagSet("karajo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", defaultConfig, "path of the main configuration file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "karajo: unknown subcommand or argument %q (karajo help lists the subcommands)\n", fs.Arg(0))
		return 2
	}

	// Signals from the first instant (issue 14): earlysig caught them
	// before any configuration was read; a SIGHUP (a reload, a logrotate
	// hook) or a SIGTERM during start-up waits in sigs until start-up is
	// done, instead of killing the process.
	sigs := earlysig.C
	defer earlysig.Release()

	endStartGC := startupGC() // startgc.go
	env, err := config.Load(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, "karajo: invalid configuration:")
		for _, p := range configProblems(err) { // check.go
			fmt.Fprintln(stderr, p)
		}
		return 2
	}
	out := newLogWriter(stderr) // logwriter.go: job actors never wait for stderr
	defer out.Close()
	exitLog = out
	log := newLogger(stderr, out) // systemd.go: no time of its own under journald
	for _, w := range env.Warnings {
		log.Warn("config", "note", w)
	}
	if env.SecretGenerated {
		p, err := writeSecret(env)
		if err != nil {
			log.Error("no [karajo] secret configured, and the generated one cannot be saved", "err", err)
			return 1
		}
		log.Warn("no [karajo] secret configured: generated one for this run only", "file", p)
	}
	if err := serve(env, log, sigs, endStartGC); err != nil {
		log.Error("karajo stopped", "err", err)
		return 1
	}
	return 0
}

// serve binds the listener first (IMP-5: a taken port fails before any
// job runs), then starts the engine and the API, and stops all of it on
// SIGTERM or SIGINT from sigs; a SIGHUP reloads. endStartGC ends the
// start-up target of the garbage collector once the jobs are loaded.
func serve(env *config.Env, log *slog.Logger, sigs chan os.Signal, endStartGC func(*slog.Logger)) error {
	ln, err := net.Listen("tcp", env.ListenAddress)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", env.ListenAddress, err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	log.Info("listening", "addr", addr)

	store, err := logstore.New(env.DirBase, nil)
	if err != nil {
		return fmt.Errorf("open dir_base: %w", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := actors.NewMetrics(reg)
	opts := actors.Options{ListenAddress: addr, Version: version, Metrics: metrics}
	coord, err := joinCluster(env, log) // cluster.go; nil without [cluster]; joins while the jobs load
	if err != nil {
		return err
	}
	started := false
	if coord != nil {
		defer func() { leaveCluster(coord, started, log) }()
		opts.Coordinator, opts.PartitionPolicy = coord, env.Cluster.PartitionPolicy
	}
	engine, err := actors.Start(env, store, log, opts)
	endStartGC(log)
	if err != nil {
		return fmt.Errorf("start jobs: %w", err)
	}
	started = true
	if coord != nil {
		if err := joined(env, coord, log); err != nil {
			stopEngine(engine, env, log)
			return err
		}
	}
	api := httpapi.New(httpapi.Options{Env: env, Engine: engine, Log: log, Version: version, ListenAddress: addr,
		Registry: reg, Metrics: metrics})
	srv := newHTTPServer(env, api, log)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(api.LimitListener(ln)) }()
	log.Info("karajo started", "name", env.Name, "version", version, "jobs", len(env.Jobs), "dir_base", store.Base())
	sd := newSystemd(log, addr) // systemd.go
	sd.ready(env)
	wctx, stopWatchdog := context.WithCancel(context.Background())
	go sd.watchdog(wctx, func(timeout time.Duration) error {
		_, err := actors.Ask[*actors.Pong](engine.Root(), engine.Supervisor(), &actors.Ping{}, timeout)
		return err
	})

	env, failed := awaitStop(env, engine, api, log, sigs, serveErr, sd)
	sd.stopping()
	stopWatchdog()
	defer killOnSecondSignal(engine, log, sigs)()

	start := time.Now()
	budget := env.ShutdownTimeout
	api.Close()
	hctx, cancel := context.WithTimeout(context.Background(), min(httpGrace, budget/4))
	if err := srv.Shutdown(hctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		log.Warn("stop HTTP server", "err", err)
	}
	cancel()
	_ = srv.Close()
	ectx, cancel := context.WithTimeout(context.Background(), budget-time.Since(start)-100*time.Millisecond)
	defer cancel()
	if err := engine.Shutdown(ectx); err != nil {
		log.Error("stop jobs", "err", err)
		if n := engine.Kill(); n > 0 {
			log.Error("killed the process groups of runs that did not stop in time", "groups", n)
		}
	}
	log.Info("stopped", "dur", time.Since(start).Round(time.Millisecond))
	return failed
}

// newHTTPServer returns the HTTP server of api: headers within 10 s, no
// ReadTimeout (the API gives each request body body_timeout, and streams
// have no body), idle connections closed after idle_timeout.
func newHTTPServer(env *config.Env, api *httpapi.Server, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           api,
		ReadHeaderTimeout: 10 * time.Second,
		WriteTimeout:      10 * time.Minute,
		IdleTimeout:       env.Limits.IdleTimeout,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// awaitStop reloads on SIGHUP (told to systemd as RELOADING=1, then
// READY=1 whether or not the new configuration was applied) until a stop signal or a failure of the
// HTTP server; it returns the configuration then in force and the
// failure, if any.
func awaitStop(env *config.Env, engine *actors.Engine, api *httpapi.Server, log *slog.Logger, sigs chan os.Signal, serveErr chan error, sd *systemd) (*config.Env, error) {
	for {
		select {
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				if sig = drainHUPs(sigs); sig == syscall.SIGHUP {
					sd.reloading()
					env = reload(env, engine, api, log)
					sd.ready(env)
					continue
				}
			}
			log.Info("stopping", "signal", sig.String(), "timeout", env.ShutdownTimeout)
			return env, nil
		case err := <-serveErr:
			return env, fmt.Errorf("serve HTTP: %w", err)
		}
	}
}

// killOnSecondSignal watches for a second SIGTERM or SIGINT while
// stopping: it kills every command's process group and exits at once
// (the next start finalises the runs). The returned function ends the
// watch.
func killOnSecondSignal(engine *actors.Engine, log *slog.Logger, sigs chan os.Signal) (done func()) {
	stopped := make(chan struct{})
	go func() {
		for {
			select {
			case sig := <-sigs:
				if sig == syscall.SIGHUP {
					continue
				}
				n := engine.Kill()
				log.Warn("second signal: exiting at once", "signal", sig.String(), "killed_groups", n)
				if exitLog != nil {
					_ = exitLog.Close() // the lines logged so far, this one included
				}
				os.Exit(1)
			case <-stopped:
				return
			}
		}
	}()
	return func() { close(stopped) }
}

// drainHUPs takes the signals already waiting in sigs after a SIGHUP:
// several SIGHUPs (during start-up, say) make one reload. It returns
// SIGHUP, or the first stop signal found, which wins.
func drainHUPs(sigs chan os.Signal) os.Signal {
	for {
		select {
		case sig := <-sigs:
			if sig != syscall.SIGHUP {
				return sig
			}
		default:
			return syscall.SIGHUP
		}
	}
}

// writeSecret saves the secret generated for this run in
// <dir_base>/var/run/karajo/secret (mode 0600), for the operator to sign
// requests with: a secret is never written to the log. It returns the
// file's path.
func writeSecret(env *config.Env) (string, error) {
	dir := filepath.Join(env.DirBase, "var", "run", "karajo")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("save generated secret: %w", err)
	}
	p := filepath.Join(dir, "secret")
	_ = os.Remove(p + ".tmp") // WriteFile keeps the mode of a file left behind
	if err := os.WriteFile(p+".tmp", []byte(env.Secret+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("save generated secret: %w", err)
	}
	if err := os.Rename(p+".tmp", p); err != nil {
		return "", fmt.Errorf("save generated secret: %w", err)
	}
	return p, nil
}

// reload re-reads the configuration (SIGHUP). All of it is validated
// first and applied only when valid: added jobs start, removed jobs stop
// after their run, changed jobs keep their counters and logs, settings,
// notifs and users follow. The keys that need a restart
// (config.RestartKeys: dir_base, listen_address, idle_timeout) keep their
// running values, with a warning naming them. It returns the
// configuration in force afterwards.
func reload(cur *config.Env, engine *actors.Engine, api *httpapi.Server, log *slog.Logger) *config.Env {
	log.Info("reloading configuration", "file", cur.File)
	next, err := config.Load(cur.File)
	if err != nil {
		log.Error("reload refused: invalid configuration; the old one keeps running", "err", err)
		return cur
	}
	if cur.SecretGenerated {
		next.KeepSecret(cur.Secret) // and in the jobs that inherit it
	}
	diff := cur.Diff(next)
	if len(diff.NeedRestart) > 0 {
		log.Warn("reload: these settings change only with a restart; until then the running values stay",
			"keys", diff.NeedRestart, "dir_base", cur.DirBase, "listen_address", cur.ListenAddress,
			"idle_timeout", cur.Limits.IdleTimeout)
		next.DirBase, next.ListenAddress, next.Limits.IdleTimeout = cur.DirBase, cur.ListenAddress, cur.Limits.IdleTimeout
		next.Cluster = cur.Cluster
	}
	if d := clusterJobsChanged(cur, next); d != "" { // cluster.go
		log.Error("reload refused: in a cluster every node must run the same jobs, so they change only when every node restarts; the old configuration keeps running",
			"difference", d)
		return cur
	}
	for _, w := range next.Warnings {
		log.Warn("config", "note", w)
	}
	ch, err := engine.Reload(next)
	if err != nil {
		log.Error("reload failed; the old configuration keeps running", "err", err)
		return cur
	}
	api.Reload(next)
	log.Info("configuration reloaded", reloadAttrs(ch, diff)...)
	return next
}

// reloadAttrs are the attributes of the "configuration reloaded" line:
// every list of changes that is not empty (jobs, [karajo] keys, notifs,
// users; names only, never a value), or changed=none.
func reloadAttrs(ch actors.Changes, diff config.Changes) []any {
	var attrs []any
	for _, kv := range []struct {
		key  string
		list []string
	}{
		{"added", ch.Added}, {"removed", ch.Removed}, {"changed", ch.Changed},
		{"settings", diff.Settings}, {"restart_needed", diff.NeedRestart},
		{"notifs_added", diff.NotifsAdded}, {"notifs_removed", diff.NotifsRemoved}, {"notifs_changed", diff.NotifsChanged},
		{"users_added", diff.UsersAdded}, {"users_removed", diff.UsersRemoved}, {"users_changed", diff.UsersChanged},
	} {
		if len(kv.list) > 0 {
			attrs = append(attrs, kv.key, kv.list)
		}
	}
	if len(attrs) == 0 {
		attrs = []any{"changed", "none"}
	}
	return attrs
}
