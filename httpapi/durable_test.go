package httpapi

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"testing"

	"github.com/karajo/karajo/actors"
)

func TestDurabilityError(t *testing.T) {
	enospc := &os.PathError{Op: "write", Path: "/srv/karajo/var/lib/karajo/job/.a.state.1.tmp", Err: syscall.ENOSPC}
	tests := []struct {
		name string
		err  error
		code int
		msg  string
	}{
		{"pause on a full disk", fmt.Errorf("job a: %w: %w", actors.ErrNotDurable, enospc), 503,
			"not saved to disk, nothing changed: no space left on device"},
		{"no errno", fmt.Errorf("job a: %w: %w", actors.ErrNotDurable, errors.New("odd")), 503,
			"not saved to disk, nothing changed: the disk refused the write"},
		{"run log not created", fmt.Errorf("job a: %w: %w", actors.ErrLogCreate, &os.PathError{Op: "open", Path: "/x", Err: syscall.EMFILE}), 500,
			"run not started: its log could not be created: too many open files"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ae := toAPIError(tt.err)
			if ae.Code != tt.code || ae.Message != tt.msg {
				t.Errorf("toAPIError = %d %q, want %d %q", ae.Code, ae.Message, tt.code, tt.msg)
			}
		})
	}
}
