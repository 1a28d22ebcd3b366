package actors

import (
	"github.com/asynkron/protoactor-go/actor"
)

// Event is one item of a Subscription: the snapshot of all jobs (first,
// and again after events were lost because the reader was slow), or the
// new view of one job.
type Event struct {
	Snapshot *JobList
	Job      *JobView
	HTTPJob  *JobHTTPView
}

// Subscription streams job changes to one reader (for example a
// Server-Sent Events client). Close it when the reader goes.
type Subscription struct {
	// C delivers the events. It is closed after Close.
	C     <-chan Event
	root  *actor.RootContext
	pid   *actor.PID
	close func()
}

// Close stops the subscription's actor; C is closed once it has stopped.
func (s *Subscription) Close() { s.close() }

// Subscribe starts a subscriber actor that receives every job change from
// the supervisor and hands it to the returned Subscription's channel,
// buffered by buf events. A reader that falls behind loses events but then
// gets a fresh snapshot, so it never shows stale state for long.
func (e *Engine) Subscribe(buf int) *Subscription {
	ch := make(chan Event, max(buf, 2))
	sub := &subscriber{sup: e.sup, out: ch}
	pid := e.root.Spawn(actor.PropsFromProducer(func() actor.Actor { return sub }))
	s := &Subscription{C: ch, root: e.root, pid: pid}
	s.close = func() {
		_ = e.root.StopFuture(pid).Wait()
	}
	return s
}

// subscriber is the actor of one Subscription. It registers with the
// supervisor, forwards events without ever blocking (a full channel marks
// a loss, repaired by a new snapshot), and unregisters when stopped.
type subscriber struct {
	sup  *actor.PID
	out  chan Event
	lost bool
}

// subscribe registers a subscriber with the supervisor, which answers with
// a snapshot (*JobList) and then sends *jobChanged for every change.
type subscribe struct{ pid *actor.PID }

// unsubscribe removes a subscriber.
type unsubscribe struct{ pid *actor.PID }

// Receive implements actor.Actor.
func (s *subscriber) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		ctx.Request(s.sup, &subscribe{pid: ctx.Self()})
	case *JobList:
		s.lost = false
		s.push(Event{Snapshot: msg})
	case *jobChanged:
		if s.lost {
			ctx.Request(s.sup, &GetJobs{}) // its answer, a *JobList, resyncs
			return
		}
		switch {
		case msg.view != nil:
			v := *msg.view
			s.push(Event{Job: &v})
		case msg.httpView != nil:
			v := *msg.httpView
			s.push(Event{HTTPJob: &v})
		}
	case *actor.Stopping:
		ctx.Send(s.sup, &unsubscribe{pid: ctx.Self()})
	case *actor.Stopped:
		close(s.out)
	}
}

func (s *subscriber) push(ev Event) {
	select {
	case s.out <- ev:
	default:
		s.lost = true
	}
}
