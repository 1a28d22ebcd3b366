// Package actors is karajo's engine: one actor per job that owns the job's
// timer, status, counter, paused flag and log index, one child actor per run
// that executes the commands, and a supervisor that owns the global run slots
// (max_job_running) and the latest snapshot of every job.
//
// The actor tree:
//
//	ActorSystem
//	└── supervisor                 run slots (FIFO of waiting jobs), job snapshots
//	    ├── job/<id>     execJob   config, status, counter, last/next run, paused, logs, timer
//	    │   └── run/<n>  execRun   one execution: process groups, output streamed to logstore
//	    └── ...
//
// Requests (sent with Ask, one reply each):
//
//	to a job:        GetJob → *JobView          Trigger → *JobView | ErrJobPaused | ErrJobBusy
//	                 Pause  → *JobView          Resume  → *JobView
//	                 Cancel → *JobView          GetLog  → *LogFile | ErrLogNotFound
//	to supervisor:   GetJobs → *JobList
//
// Nothing outside an actor touches its state: callers get copies.
package actors
