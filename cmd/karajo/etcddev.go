package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/karajo/karajo/actors/cluster/devetcd"
)

// etcdDevCmd runs a single-member etcd in this process until SIGTERM or
// SIGINT: for trying a cluster of karajo nodes without installing etcd.
// Not for production: one member keeps no copy of the data elsewhere.
func etcdDevCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("etcd-dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("data", "", "directory of the member's data (created if missing)")
	listen := fs.String("listen", "http://127.0.0.1:2379", "client URL to serve, http://HOST:PORT")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *dir == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: karajo etcd-dev -data DIR [-listen http://127.0.0.1:PORT]")
		return 2
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		fmt.Fprintf(stderr, "karajo etcd-dev: %v\n", err)
		return 1
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	s, err := devetcd.Start(*dir, *listen)
	if err != nil {
		fmt.Fprintf(stderr, "karajo etcd-dev: %v\n", err)
		return 1
	}
	defer s.Close()
	fmt.Fprintf(stdout, "etcd-dev: serving %s (data in %s; a single member, not for production)\n", s.Endpoint, *dir)
	select {
	case <-sigs:
		return 0
	case err := <-s.Err():
		fmt.Fprintf(stderr, "karajo etcd-dev: %v\n", err)
		return 1
	}
}
