package actors

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/karajo/karajo/config"
)

// Defaults of notifierOptions, and the cap of the doubling backoff.
const (
	defaultNotifWorkers  = 2
	defaultNotifQueue    = 1024
	defaultNotifAttempts = 4
	defaultNotifBackoff  = 2 * time.Second
	maxNotifBackoff      = time.Minute
	// notifAttemptTimeout bounds one delivery attempt, whatever it waits on.
	notifAttemptTimeout = 5 * time.Minute
)

// notifyRun asks the notifier to mail the log of a finished run to each
// notif in names (SPEC 10). It is sent with ctx.Send, never as a request:
// there is no reply, and the sender is never blocked ([IMP-6]). Failures
// are only written to the server log. names must not be changed after the
// message is sent.
type notifyRun struct {
	kind    string   // "job" or "job_http": the subject's prefix
	jobID   string   // the job's ID
	counter int64    // the run's counter
	status  string   // the run's final status: "success" or "failed"
	logPath string   // the run's final log file
	names   []string // notif names, from notif_on_success or notif_on_failed
}

// notifierOptions tunes a notifier; a zero field takes its default.
type notifierOptions struct {
	Workers  int           // goroutines sending mail at once; default 2
	Queue    int           // mails waiting for a worker; default 1024
	Attempts int           // tries per mail; default 4
	Backoff  time.Duration // wait after the first failed try, doubled after each, at most 1m; default 2s
}

// withDefaults returns o with every zero field set to its default.
func (o notifierOptions) withDefaults() notifierOptions {
	if o.Workers <= 0 {
		o.Workers = defaultNotifWorkers
	}
	if o.Queue <= 0 {
		o.Queue = defaultNotifQueue
	}
	if o.Attempts <= 0 {
		o.Attempts = defaultNotifAttempts
	}
	if o.Backoff <= 0 {
		o.Backoff = defaultNotifBackoff
	}
	return o
}

// mailTask is one mail waiting in the notifier's queue: a run's log for
// one notif.
type mailTask struct {
	notif   *config.Notif
	kind    string
	jobID   string
	counter int64
	status  string
	logPath string
}

// subject is the mail's subject line (SPEC 10.4): "job: <ID>: #<counter>: <status>".
func (m *mailTask) subject() string {
	return fmt.Sprintf("%s: %s: #%d: %s", m.kind, m.jobID, m.counter, m.status)
}

// notifier is the actor that mails run logs (SPEC 10). Receive only
// enqueues: each *notifyRun becomes one mailTask per notif name in a bounded
// queue, drained by a fixed pool of worker goroutines that send with
// retries. A mail that cannot be queued, that fails every attempt or that
// is still queued when the actor stops is logged at Error with its notif,
// job and counter: none is dropped silently ([IMP-32]). An SMTP server that
// is down or slow never blocks the actor or its senders ([IMP-6]).
//
// The notifier owns its queue and its workers; the notif table is read
// only. A restart builds a fresh instance from the producer, whose Started
// starts new workers; Stopping and Restarting stop this instance's.
type notifier struct {
	notifs map[string]*config.Notif
	log    *slog.Logger
	opts   notifierOptions

	// send delivers one attempt; sendMail except in tests.
	send func(ctx context.Context, n *config.Notif, subject string, body io.Reader) error

	queue   chan *mailTask
	cancel  context.CancelFunc // stops the workers; nil until Started
	stopped bool               // Stopping or Restarting was received
}

// newNotifier returns a notifier over the configured notifs (by name, as
// config.Env.Notifs). Its workers start with the actor.
func newNotifier(notifs map[string]*config.Notif, log *slog.Logger, opts notifierOptions) *notifier {
	if log == nil {
		log = slog.Default()
	}
	opts = opts.withDefaults()
	return &notifier{
		notifs: notifs,
		log:    log,
		opts:   opts,
		send:   sendMail,
		queue:  make(chan *mailTask, opts.Queue),
	}
}

// Receive implements actor.Actor.
func (nt *notifier) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		nt.start()
	case *actor.Stopping, *actor.Restarting:
		nt.stop()
	case *notifyRun:
		nt.enqueue(msg)
	case actor.AutoReceiveMessage, actor.SystemMessage, actor.AutoRespond:
		// lifecycle messages and Touch: nothing to do
	default:
		nt.log.Warn("unexpected message", "actor", "notifier", "type", fmt.Sprintf("%T", msg))
	}
}

// start starts the worker pool.
func (nt *notifier) start() {
	if nt.cancel != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	nt.cancel = cancel
	for range nt.opts.Workers {
		go nt.work(ctx)
	}
}

// stop stops the workers without waiting for them: a send in progress is
// aborted (its connection closed). Mails still queued are logged as not
// sent, here or by a worker that took one just before.
func (nt *notifier) stop() {
	if nt.stopped {
		return
	}
	nt.stopped = true
	if nt.cancel != nil {
		nt.cancel()
	}
	for {
		select {
		case m := <-nt.queue:
			nt.notSent(m, "notification not sent: notifier stopped", context.Canceled)
		default:
			return
		}
	}
}

// enqueue queues one mailTask per name of msg, without ever blocking.
func (nt *notifier) enqueue(msg *notifyRun) {
	for _, name := range msg.names {
		n, ok := nt.notifs[name]
		if !ok {
			nt.log.Error("notification dropped: unknown notif",
				"notif", name, "job", msg.jobID, "counter", msg.counter)
			continue
		}
		m := &mailTask{notif: n, kind: msg.kind, jobID: msg.jobID,
			counter: msg.counter, status: msg.status, logPath: msg.logPath}
		if nt.stopped {
			nt.notSent(m, "notification not sent: notifier stopped", context.Canceled)
			continue
		}
		select {
		case nt.queue <- m:
			nt.log.Debug("notification queued", "notif", name, "job", m.jobID, "counter", m.counter)
		default:
			nt.log.Error("notification dropped: queue full",
				"notif", name, "job", m.jobID, "counter", m.counter, "queue", cap(nt.queue))
		}
	}
}

// work is one worker: it sends queued mails until ctx is canceled.
func (nt *notifier) work(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-nt.queue:
			if ctx.Err() != nil {
				nt.notSent(m, "notification not sent: notifier stopped", context.Canceled)
				return
			}
			nt.deliver(ctx, m)
		}
	}
}

// deliver sends m, retrying with a doubling backoff, and logs the outcome:
// Warn per failed attempt, Info on success, Error when it gives up.
func (nt *notifier) deliver(ctx context.Context, m *mailTask) {
	f, err := os.Open(m.logPath)
	if err != nil {
		nt.notSent(m, "notification failed", fmt.Errorf("open log: %w", err))
		return
	}
	defer f.Close()

	backoff := nt.opts.Backoff
	for attempt := 1; ; attempt++ {
		err = nt.attempt(ctx, m, f)
		if err == nil {
			nt.log.Info("notification sent", "notif", m.notif.Name, "job", m.jobID,
				"counter", m.counter, "attempt", attempt)
			return
		}
		if ctx.Err() != nil {
			nt.notSent(m, "notification not sent: notifier stopped", err)
			return
		}
		if errors.Is(err, errBadAddress) || attempt >= nt.opts.Attempts {
			nt.log.Error("notification failed", "notif", m.notif.Name, "job", m.jobID,
				"counter", m.counter, "attempts", attempt, "err", err)
			return
		}
		nt.log.Warn("notification attempt failed", "notif", m.notif.Name, "job", m.jobID,
			"counter", m.counter, "attempt", attempt, "retry_in", backoff, "err", err)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			nt.notSent(m, "notification not sent: notifier stopped", err)
			return
		case <-t.C:
		}
		backoff = min(2*backoff, maxNotifBackoff)
	}
}

// attempt makes one try at sending m with the log open in f, bounded by
// notifAttemptTimeout.
func (nt *notifier) attempt(ctx context.Context, m *mailTask, f *os.File) error {
	body, err := logBody(f, notifBodyLimit)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, notifAttemptTimeout)
	defer cancel()
	return nt.send(ctx, m.notif, m.subject(), body)
}

// notSent logs at Error that m will not be sent, and why.
func (nt *notifier) notSent(m *mailTask, msg string, err error) {
	nt.log.Error(msg, "notif", m.notif.Name, "job", m.jobID, "counter", m.counter, "err", err)
}
