package actors

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
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

// notifyRun asks the notifier to tell each notif in names about a finished
// run (SPEC 10: e-mail of its log) or an alert (issue 16). It is sent with
// ctx.Send, never as a request: there is no reply, and the sender is never
// blocked ([IMP-6]). Failures are only written to the server log. It must
// not be changed after it is sent.
type notifyRun struct {
	kind    string   // "job" or "job_http": the subject's prefix
	jobID   string   // the job's ID
	counter int64    // the run's counter (for an alert: the job's last)
	status  string   // the run's final status: "success" or "failed"; "" for an alert
	logPath string   // the run's final log file; "" for an alert
	names   []string // notif names, from notif_on_success or notif_on_failed

	event   string        // eventRun ("" = eventRun), eventStreak, eventRecovered or eventNoSuccess
	title   string        // an alert's subject: "failed 3 times in a row", "recovered", …
	text    string        // an alert's one line: the job, what happened and since when
	jobName string        // the job's configured name
	trigger string        // what started the run: "timer", "webhook", …
	started time.Time     // start of the run
	dur     time.Duration // the run's duration
}

// notifierOptions tunes a notifier; a zero field takes its default.
type notifierOptions struct {
	Workers  int           // goroutines sending mail at once; default 2
	Queue    int           // mails waiting for a worker; default 1024
	Attempts int           // tries per mail; default 4
	Backoff  time.Duration // wait after the first failed try, doubled after each, at most 1m; default 2s

	PublicURL string   // [karajo] public_url: base of log links; "" = none
	Version   string   // karajo's version, in the User-Agent of HTTP notifications
	Metrics   *Metrics // counts notifications by result; may be nil
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

// mailTask is one notification waiting in the notifier's queue: a run or
// an alert for one notif.
type mailTask struct {
	notif *config.Notif
	*notifyRun
}

// subject is the mail's subject line (SPEC 10.4): "job: <ID>: #<counter>:
// <status>" for a run, "job: <ID>: <title>" for an alert.
func (m *mailTask) subject() string {
	if m.isAlert() {
		return fmt.Sprintf("%s: %s: %s", m.kind, m.jobID, m.title)
	}
	return fmt.Sprintf("%s: %s: #%d: %s", m.kind, m.jobID, m.counter, m.status)
}

// isAlert reports whether m carries an alert text rather than only a run.
func (m *mailTask) isAlert() bool { return m.text != "" }

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
	// client posts webhook and Slack notifications.
	client *http.Client

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
		client: newNotifClient(),
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
		m := &mailTask{notif: n, notifyRun: msg}
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
			nt.opts.Metrics.notification(n.Kind, "dropped")
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
	send, done, err := nt.prepare(m)
	if err != nil {
		nt.log.Error("notification failed", "notif", m.notif.Name, "job", m.jobID, "counter", m.counter, "err", err)
		nt.opts.Metrics.notification(m.notif.Kind, "failed")
		return
	}
	defer done()
	backoff := nt.opts.Backoff
	for attempt := 1; ; attempt++ {
		err = send(ctx)
		if err == nil {
			nt.log.Info("notification sent", "notif", m.notif.Name, "job", m.jobID,
				"counter", m.counter, "event", cmp.Or(m.event, eventRun), "attempt", attempt)
			nt.opts.Metrics.notification(m.notif.Kind, "sent")
			return
		}
		if ctx.Err() != nil {
			nt.notSent(m, "notification not sent: notifier stopped", err)
			return
		}
		if errors.Is(err, errBadAddress) || errors.Is(err, errPermanent) || attempt >= nt.opts.Attempts {
			nt.log.Error("notification failed", "notif", m.notif.Name, "job", m.jobID,
				"counter", m.counter, "attempts", attempt, "err", err)
			nt.opts.Metrics.notification(m.notif.Kind, "failed")
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

// prepare returns the attempt function of m by its notif's kind, and what
// to call when done with it: webhook and Slack bodies are built once, a
// mail's log is opened once and read again at each attempt.
func (nt *notifier) prepare(m *mailTask) (send func(context.Context) error, done func(), err error) {
	if m.notif.Kind == config.NotifWebhook || m.notif.Kind == config.NotifSlack {
		hn, err := nt.buildHTTPNotif(m) // notifhttp.go
		if err != nil {
			return nil, nil, err
		}
		return func(ctx context.Context) error { return nt.postHTTP(ctx, m, hn) }, func() {}, nil
	}
	var f *os.File
	if m.logPath != "" {
		if f, err = os.Open(m.logPath); err != nil {
			return nil, nil, fmt.Errorf("open log: %w", err)
		}
	}
	return func(ctx context.Context) error { return nt.attempt(ctx, m, f) }, func() {
		if f != nil {
			_ = f.Close()
		}
	}, nil
}

// attempt makes one try at mailing m with the log open in f (nil for an
// alert without a run), bounded by notifAttemptTimeout. An alert's mail
// starts with its line.
func (nt *notifier) attempt(ctx context.Context, m *mailTask, f *os.File) error {
	var body io.Reader = strings.NewReader("")
	if f != nil {
		b, err := logBody(f, notifBodyLimit)
		if err != nil {
			return err
		}
		body = b
	}
	if m.isAlert() {
		body = io.MultiReader(strings.NewReader(m.text+"\n\n"), body)
	}
	ctx, cancel := context.WithTimeout(ctx, notifAttemptTimeout)
	defer cancel()
	return nt.send(ctx, m.notif, m.subject(), body)
}

// notSent logs at Error that m will not be sent, and why, and counts it
// as dropped.
func (nt *notifier) notSent(m *mailTask, msg string, err error) {
	nt.log.Error(msg, "notif", m.notif.Name, "job", m.jobID, "counter", m.counter, "err", err)
	nt.opts.Metrics.notification(m.notif.Kind, "dropped")
}
