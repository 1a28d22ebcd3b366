package actors

import (
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Ask sends msg to pid and waits up to timeout for the reply. A reply of
// type R is returned; a reply that is an error is returned as the error. A
// timeout is reported as ErrTimeout, so callers need not import protoactor.
func Ask[R any](root *actor.RootContext, pid *actor.PID, msg any, timeout time.Duration) (R, error) {
	var zero R
	res, err := root.RequestFuture(pid, msg, timeout).Result()
	if errors.Is(err, actor.ErrTimeout) || errors.Is(err, actor.ErrDeadLetter) {
		err = ErrTimeout
	}
	if err != nil {
		return zero, fmt.Errorf("%T to %s: %w", msg, pid.Id, err)
	}
	switch r := res.(type) {
	case R:
		return r, nil
	case error:
		return zero, r
	}
	return zero, fmt.Errorf("%T to %s: reply %T: %w", msg, pid.Id, res, ErrBadReply)
}

// respond sends err as the reply when it is not nil, else v.
func respond(ctx actor.Context, v any, err error) {
	if err != nil {
		ctx.Respond(err)
		return
	}
	ctx.Respond(v)
}
