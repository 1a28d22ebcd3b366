package actors

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// workerDispatcher runs the message batches of the busy actors (the
// supervisor, the jobs and their run children) on goroutines that stay
// for a while, instead of protoactor's default of a new goroutine per
// batch. A new goroutine starts with a small stack and grows it on the
// way into a job's Receive (stack copies were 8 % of the server's CPU with
// 8 jobs hammered); a worker keeps its grown stack. Schedule never blocks:
// a batch goes to an idle worker, or to a new one; a worker with nothing
// to do for workerLinger ends, so an idle server keeps none.
type workerDispatcher struct {
	idle chan func() // unbuffered: a send succeeds only when a worker waits
}

// workerLinger is how long a worker waits for the next batch before it
// ends.
const workerLinger = time.Second

// hotDispatcher is the dispatcher of the supervisor, the jobs and the run
// children.
var hotDispatcher = &workerDispatcher{idle: make(chan func())}

// hot is the spawn option that gives an actor the hotDispatcher.
var hot = actor.WithDispatcher(hotDispatcher)

// Schedule implements actor.Dispatcher.
func (d *workerDispatcher) Schedule(fn func()) {
	select {
	case d.idle <- fn:
	default:
		go d.work(fn)
	}
}

// Throughput implements actor.Dispatcher: messages per batch, as
// protoactor's default.
func (d *workerDispatcher) Throughput() int { return 300 }

// work runs fn, then the batches it is given until it has waited
// workerLinger for one.
func (d *workerDispatcher) work(fn func()) {
	fn()
	t := time.NewTimer(workerLinger)
	defer t.Stop()
	for {
		select {
		case fn := <-d.idle:
			fn()
			t.Reset(workerLinger)
		case <-t.C:
			return
		}
	}
}
