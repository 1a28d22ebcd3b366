package httpapi

import (
	"errors"
	"net/http"
	"syscall"

	"github.com/karajo/karajo/actors"
)

// durabilityError is the answer to a request whose effect could not be
// made durable (issue 14): a pause or resume whose state file could not be
// written is a 503 (nothing changed; retry when the disk has room), a
// trigger whose run log could not be created a 500 (the run did not
// start). The message names the reason as the system gave it ("no space
// left on device"), never a path.
func durabilityError(err error) *apiError {
	reason := "the disk refused the write"
	var errno syscall.Errno
	if errors.As(err, &errno) {
		reason = errno.Error()
	}
	if errors.Is(err, actors.ErrLogCreate) {
		return &apiError{Code: http.StatusInternalServerError, Name: nameInternal,
			Message: "run not started: its log could not be created: " + reason, Err: err}
	}
	return &apiError{Code: http.StatusServiceUnavailable,
		Message: "not saved to disk, nothing changed: " + reason, Err: err}
}
