package main

import (
	"log/slog"
	"os"
	"runtime/debug"
	"time"
)

// startGCPercent is the garbage collector's target during start-up: the
// heap only grows then (configuration, one actor and one view per job),
// so each collection at the default 100 % finds little garbage and marks
// a live heap that doubles from one to the next. At 400 % there are fewer
// collections: 100,000 cron jobs started with 0.83x the CPU to the first
// answer (docs/PERFORMANCE.md), for a higher peak of the heap while
// starting. At 1000 %, 100,000 jobs with full history restart with less
// CPU again (see docs/PERFORMANCE.md, "the start index"), the peak RSS
// some 4 % higher.
const startGCPercent = 1000

// startFreeDelay is how long after the jobs have loaded the heap grown
// at startGCPercent is collected and given back to the system: after the
// first answers, which are made meanwhile.
const startFreeDelay = 5 * time.Second

// startupGC raises the collector's target for the start unless GOGC is
// set, and returns the function that puts the previous target back once
// the jobs are loaded. An idle server allocates too little to start the
// next collection soon, so one is forced startFreeDelay later, and the
// free memory returned to the system (debug.FreeOSMemory): 100,000 idle
// cron jobs hold their live heap, not the peak of the start. It logs
// "start-up heap returned" when that is done: the end of the start's
// work (karajo-bench measures idle CPU after it).
func startupGC() (restore func(log *slog.Logger)) {
	if os.Getenv("GOGC") != "" {
		return func(*slog.Logger) {}
	}
	old := debug.SetGCPercent(startGCPercent)
	return func(log *slog.Logger) {
		debug.SetGCPercent(old)
		time.AfterFunc(startFreeDelay, func() {
			t0 := time.Now()
			debug.FreeOSMemory()
			log.Info("start-up heap returned", "took", time.Since(t0).Round(time.Millisecond))
		})
	}
}
