// Package logstore owns everything karajo keeps on disk under dir_base: the
// job state files, the run logs and their retention. It imports nothing of
// karajo's own packages.
//
// # Layout
//
// All directories are created with mode 0700 (SPEC 3.1); <kind> is "job"
// for exec jobs and "job_http" for HTTP jobs:
//
//	$dir_base/var/lib/karajo/<kind>/<ID>/        work directory (cwd of an exec job's commands; unused for job_http)
//	$dir_base/var/lib/karajo/<kind>/<ID>.state   job state file (IMP-8), JSON {"counter":N,"paused":B}
//	$dir_base/var/log/karajo/<kind>/<ID>/        log files of the job
//	$dir_base/var/run/karajo/job/.groups         process groups of the commands running now (GroupTable)
//	$dir_base/var/run/karajo/job_http/           created, unused (as v0.9.3)
//
// An ID never contains '.', so "<ID>.state" never collides with a work
// directory, and the state file lives neither in the work directory (which
// commands may wipe) nor in the log directory (which v0.9.3 scans).
//
// # State files
//
// SaveState writes a temporary file ".<ID>.state.*.tmp" in the same
// directory, fsyncs it, renames it over "<ID>.state" and fsyncs the
// directory: a crash leaves either the old or the new content, never a
// partial file. A leftover temporary file is never read. A missing state file
// is not an error; an unreadable one is reported so the caller can warn and
// fall back to the v0.9.3 rules (Recover does both).
//
// # Log files
//
// A run's log is streamed to "<ID>.<counter>" (mode 0600, created with
// O_EXCL) while the run goes (IMP-9): every Write reaches the file before it
// returns and memory does not grow with the output. Every line starts with
// the prefix "YYYY-MM-DD HH:MM:SS UTC <kind>: <ID>: " (IMP-27). When the run
// ends, Finish makes the file durable and renames it to
// "<ID>.<counter>.<status>".
//
// # Durability
//
// Everything written is safe from a crash or kill of the process at once
// (the kernel holds it); the flushes are for a crash of the machine, and none
// of them stands between a trigger and its command. The state file is
// written when the paused flag changes and at a clean stop, not per run: the
// in-progress log's name carries the run's counter, and Recover takes the
// larger of the two. The caller fsyncs the log directory (RunLog.SyncDir)
// once a run has gone on for a moment.
//
// Finish is a group commit (commit.go): the logs that finish while a flush
// is in progress wait for the next one and share it (one syncfs of the log
// file system; fdatasync of the file when it is alone), then are renamed to
// their final names; Finish returns only then, so a run is reported after
// its log's content is durable. The renames are made durable by the next
// flush, which follows at once. A log's content reaches the disk before its
// final name does, so a final log is never missing content; a rename lost
// to a power cut between the two flushes leaves the in-progress name,
// finalised as interrupted at the next start.
//
// # Recovery at start
//
// Recover rebuilds a job from its log directory with the v0.9.3 rules
// (SPEC 3.3), merged with the state file:
//
//   - A name is split on '.'. Three or more fields with a decimal second
//     field and a non-empty third field is a log: job ID (not checked),
//     counter, status; further fields are ignored.
//   - Any other entry is invalid: it is ignored with a warning and never
//     deleted (IMP-10). Sub-directories are always ignored.
//   - Exception (SPEC 3.2): a regular file named exactly "<ID>.<counter>",
//     where <ID> is this job's ID, is the log of a run interrupted by a crash.
//     It is finalised: the line "<P>!!! <kind>: <ID>: interrupted, server
//     stopped" is appended (after a newline if the file did not end with one)
//     and the file is renamed to "<ID>.<counter>.failed". Its modification
//     time is kept, so last_run stays the time of the run's last output. A
//     two-field name with another job's ID (SPEC 3.3's "other.8") is not ours
//     to finalise and is ignored as invalid.
//   - The counter is the maximum of the state file's counter and the highest
//     log counter; the status is that of the highest-counter log; the paused
//     flag comes from the state file, or, without a readable state file, is
//     true iff the highest-counter log has status "paused".
//   - Logs are sorted by counter and pruned to the retention; pruned files
//     are deleted.
package logstore
