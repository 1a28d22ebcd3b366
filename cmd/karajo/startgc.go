package main

import (
	"os"
	"runtime/debug"
)

// startGCPercent is the garbage collector's target during start-up: the
// heap only grows then (configuration, one actor and one view per job),
// so each collection at the default 100 % finds little garbage and marks
// a live heap that doubles from one to the next. At 400 % there are fewer
// collections: 100,000 cron jobs started with 0.83x the CPU to the first
// answer (docs/PERFORMANCE.md), for a higher peak of the heap while
// starting.
const startGCPercent = 400

// startupGC raises the collector's target for the start unless GOGC is
// set, and returns the function that puts the previous target back once
// the server is up (the next collection then brings the heap back to it).
func startupGC() (restore func()) {
	if os.Getenv("GOGC") != "" {
		return func() {}
	}
	old := debug.SetGCPercent(startGCPercent)
	return func() { debug.SetGCPercent(old) }
}
