//go:build profile

package main

// Built only with `go build -tags profile ./cmd/karajo`: a CPU and an
// allocation profile of the real server, for docs/PERFORMANCE.md. With
// KARAJO_PROFILE=PREFIX in the environment the server profiles its CPU
// from the first instant for KARAJO_PROFILE_SECONDS (default 20) and then
// writes PREFIX.cpu and PREFIX.allocs, and with KARAJO_PROFILE_TRACE=1
// also PREFIX.trace (runtime/trace). KARAJO_PROFILE_DELAY=N starts the
// profiles N seconds after the start instead (an idle server's CPU).

import (
	"os"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"time"
)

func init() {
	prefix := os.Getenv("KARAJO_PROFILE")
	if prefix == "" {
		return
	}
	secs, err := strconv.Atoi(os.Getenv("KARAJO_PROFILE_SECONDS"))
	if err != nil || secs <= 0 {
		secs = 20
	}
	if delay, err := strconv.Atoi(os.Getenv("KARAJO_PROFILE_DELAY")); err == nil && delay > 0 {
		time.AfterFunc(time.Duration(delay)*time.Second, func() { startProfiles(prefix, secs) })
		return
	}
	startProfiles(prefix, secs)
}

// startProfiles profiles for secs seconds and writes the files of prefix.
func startProfiles(prefix string, secs int) {
	f, err := os.Create(prefix + ".cpu")
	if err != nil {
		return
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return
	}
	var tf *os.File
	if os.Getenv("KARAJO_PROFILE_TRACE") != "" {
		if tf, err = os.Create(prefix + ".trace"); err == nil && trace.Start(tf) != nil {
			tf.Close()
			tf = nil
		}
	}
	time.AfterFunc(time.Duration(secs)*time.Second, func() {
		pprof.StopCPUProfile()
		f.Close()
		if tf != nil {
			trace.Stop()
			tf.Close()
		}
		if a, err := os.Create(prefix + ".allocs"); err == nil {
			_ = pprof.Lookup("allocs").WriteTo(a, 0)
			a.Close()
		}
	})
}
