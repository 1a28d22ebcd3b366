package actors

import (
	"cmp"
	"slices"
)

// mergeRunViews is the run view a node publishes for a job it owns: its
// own (own), with what the job's former owner published (remote) where
// that is newer. The logs are both lists by counter (this node's entry
// kept when both name one run: the run lost with its node, recorded here
// too), the latest max(keep, len(own.Logs)) of them. The status, last
// run and last error are remote's when remote's last run is later and
// this node neither runs the job nor holds it paused; the rest (next
// run, runs in progress, waits) is always this node's own.
func mergeRunViews(own, remote runView, keep int) runView {
	out := own
	if remote.LastRun.After(own.LastRun) && !own.Busy && !own.Waiting && own.WaitingFor == "" &&
		own.Status != StatusPaused && finished(remote.Status) {
		out.Status, out.LastRun, out.LastError = remote.Status, remote.LastRun, remote.LastError
	}
	if len(remote.Logs) == 0 {
		return out
	}
	logs := make([]LogRefView, 0, len(own.Logs)+len(remote.Logs))
	logs = append(logs, own.Logs...)
	for _, l := range remote.Logs {
		if !slices.ContainsFunc(own.Logs, func(o LogRefView) bool { return o.Counter == l.Counter }) {
			logs = append(logs, l)
		}
	}
	slices.SortStableFunc(logs, func(a, b LogRefView) int { return cmp.Compare(a.Counter, b.Counter) })
	out.Logs = logs[max(0, len(logs)-max(keep, len(own.Logs))):]
	return out
}

// finished says whether status is the status of an ended run.
func finished(status string) bool {
	return status == StatusSuccess || status == StatusFailed || status == StatusCanceled
}
