package actors

import (
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/karajo/karajo/logstore"
)

// Blank logs (issue 13: lateness of due runs). Creating a run's log is
// most of the CPU between a schedule's due instant and the fork (about
// 125 µs of 200-300 µs when 100 jobs are due at the same instant: the
// file system allocates the inode). So shortly before its timer fires, a
// schedule job makes a blank log, an unnamed file in its log directory
// (logstore.BlankLog), and the run only names it when it starts. Nothing
// changes that anyone can see: a blank has no name, so nothing is left of
// it when the run does not start or karajo dies; the log, its counter and
// its slot are still taken at the due instant, in the same order.

// blankPolicy says when a job makes its blank log and how many may be
// open at once (each holds a file descriptor).
type blankPolicy struct {
	lead time.Duration // the blank is made this long before the timer fires
	max  int64         // blank logs open at once, over all jobs
}

// defaultBlanks is the engine's policy: half a second ahead, at most 512
// open (100,000 jobs due in the same minute keep at most 512 descriptors;
// the others create their logs when due, as before).
var defaultBlanks = blankPolicy{lead: 500 * time.Millisecond, max: 512}

// at returns when to make the blank for a timer firing at fire, seen at
// now; ok is false when the timer fires within lead (no time to make it
// ahead: the log is created when due).
func (p blankPolicy) at(fire, now time.Time) (time.Time, bool) {
	if fire.Sub(now) <= p.lead {
		return time.Time{}, false
	}
	return fire.Add(-p.lead), true
}

// take reserves one open blank from the budget count; false when all are
// taken or there is no budget (nil).
func (p blankPolicy) take(count *atomic.Int64) bool {
	if count == nil {
		return false
	}
	if count.Add(1) > p.max {
		count.Add(-1)
		return false
	}
	return true
}

// blankHook, when set, is told each blank log a job makes, names or
// drops ("made", "named", "dropped"): tests see what no reader can.
var blankHook atomic.Pointer[func(id, event string)]

func blankEvent(id, event string) {
	if h := blankHook.Load(); h != nil {
		(*h)(id, event)
	}
}

// blankDue asks the job to make its blank log; gen is the timer's arm.
type blankDue struct{ gen uint64 }

// armBlank arms the making of the blank log for the timer just armed at
// t (schedule jobs only; gen is that arm's). It is armed even while the
// job holds a blank: a tick re-arms the timer before its run takes the
// blank it has (the slot comes later), and makeBlank makes none while one
// is held.
func (j *job) armBlank(ctx actor.Context, t time.Time, gen uint64) {
	if j.sched == nil {
		return
	}
	at, ok := defaultBlanks.at(t, time.Now())
	if !ok {
		return
	}
	root, self := ctx.ActorSystem().Root, ctx.Self()
	j.blankTimer = time.AfterFunc(time.Until(at), func() { root.Send(self, &blankDue{gen: gen}) })
}

// makeBlank makes the blank log of the job's next run unless it has one,
// is paused or leaving, or the budget is spent. A failure only means the
// run creates its log when it starts, as without blanks.
func (j *job) makeBlank() {
	if j.blank != nil || j.paused || j.stopping || j.retiring || !defaultBlanks.take(j.rt.blanks) {
		return
	}
	if err := j.prepare(); err != nil {
		j.rt.blanks.Add(-1)
		return // the run will report it when it creates its log
	}
	b, err := j.store.Blank(j.kind, j.id)
	if err != nil {
		j.rt.blanks.Add(-1)
		j.log.Debug("blank run log not made", string(j.kind), j.id, "err", err)
		return
	}
	j.blank = b
	blankEvent(j.id, "made")
}

// takeBlank returns the log of run counter made from the job's blank log,
// or nil (and no error) when it has none. The blank is used up either way.
func (j *job) takeBlank(counter int64) (*logstore.RunLog, error) {
	b := j.blank
	if b == nil {
		return nil, nil
	}
	j.blank = nil
	defer j.rt.blanks.Add(-1)
	rl, err := b.Name(counter)
	if err != nil {
		b.Discard()
		blankEvent(j.id, "dropped")
	} else {
		blankEvent(j.id, "named")
	}
	return rl, err
}

// dropBlank discards the job's blank log, if any.
func (j *job) dropBlank() {
	if j.blank != nil {
		j.blank.Discard()
		j.blank = nil
		j.rt.blanks.Add(-1)
		blankEvent(j.id, "dropped")
	}
}

// stopBlankTimer stops the timer of the blank log still to be made.
func (j *job) stopBlankTimer() {
	if j.blankTimer != nil {
		j.blankTimer.Stop()
		j.blankTimer = nil
	}
}
