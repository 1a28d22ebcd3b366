package httpapi

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// errBodyBudget refuses a request body that would take the bytes of
// bodies in flight across all requests past max_body_bytes_in_flight:
// 503, try again later.
var errBodyBudget = errors.New("too many request body bytes in flight")

// errSpool is a failure to keep a webhook body on disk: 500.
var errSpool = errors.New("spool webhook body")

// spoolAbove is how much of a kept webhook body stays in memory; the rest
// goes to a temporary file.
const spoolAbove = 64 << 10

// bodyChunk is the size of the buffer a webhook body streams through.
const bodyChunk = 32 << 10

// bodyBufs holds the buffers bodies stream through: a trigger should not
// cost the allocation of one.
var bodyBufs = sync.Pool{New: func() any {
	b := make([]byte, bodyChunk)
	return &b
}}

// bodyBudget counts the request body bytes received and not yet let go
// of, across all requests (issue 14: max_body_bytes_in_flight).
type bodyBudget struct {
	used atomic.Int64
}

// take charges n bytes if they fit under limit.
func (b *bodyBudget) take(n, limit int64) bool {
	if b.used.Add(n) > limit {
		b.used.Add(-n)
		return false
	}
	return true
}

// room returns the bytes still free under limit.
func (b *bodyBudget) room(limit int64) int64 { return limit - b.used.Load() }

// budgetBody is a request body as the handlers read it (frontBody): its
// bytes are charged to the budget as they arrive, and release gives them
// back when the request is done with; at its end the read deadline of
// the connection (rc, when set) is lifted.
type budgetBody struct {
	io.ReadCloser
	budget *bodyBudget
	limit  int64
	taken  int64
	rc     *http.ResponseController // nil: no deadline to lift
	eof    bool                     // read to its end
}

// Read reads from the body and charges what it got; past the budget it
// fails with errBodyBudget.
func (b *budgetBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		if !b.budget.take(int64(n), b.limit) {
			return 0, fmt.Errorf("%w: max_body_bytes_in_flight is %d", errBodyBudget, b.limit)
		}
		b.taken += int64(n)
	}
	if err == io.EOF && !b.eof {
		b.eof = true
		if b.rc != nil {
			_ = b.rc.SetReadDeadline(time.Time{})
		}
	}
	return n, err
}

// release gives the bytes taken back to the budget.
func (b *budgetBody) release() {
	b.budget.used.Add(-b.taken)
	b.taken = 0
}

// verifiedBody is a webhook body whose signature has been checked: up to
// spoolAbove bytes in memory, the whole of it in an unlinked temporary
// file beyond (so that nothing is left behind, whatever happens to the
// process). Close lets go of the file.
type verifiedBody struct {
	mem  []byte
	file *os.File
	size int64
	sum  [32]byte // SHA-256 of the body, set by signedBody
}

// Size returns the length of the body in bytes.
func (b *verifiedBody) Size() int64 { return b.size }

// Open returns a reader of the whole body from its start; readers are
// independent of one another.
func (b *verifiedBody) Open() io.Reader {
	if b.file != nil {
		return io.NewSectionReader(b.file, 0, b.size)
	}
	return bytes.NewReader(b.mem)
}

// Close removes the spooled copy, if any.
func (b *verifiedBody) Close() error {
	if b.file == nil {
		return nil
	}
	err := b.file.Close()
	b.file = nil
	return err
}

// spool is where a kept body goes while it arrives.
type spool struct {
	body *verifiedBody
	dir  string // for the temporary file; "" = os.TempDir()
}

// Write keeps p: in memory while the body is small, then in the file.
func (s *spool) Write(p []byte) (int, error) {
	b := s.body
	if b.file == nil && len(b.mem)+len(p) <= spoolAbove {
		b.mem = append(b.mem, p...)
		b.size += int64(len(p))
		return len(p), nil
	}
	if b.file == nil {
		f, err := os.CreateTemp(s.dir, "karajo-body-*")
		if err != nil {
			return 0, fmt.Errorf("%w: %w", errSpool, err)
		}
		if err := os.Remove(f.Name()); err != nil { // unlinked: gone with the last descriptor
			f.Close()
			return 0, fmt.Errorf("%w: %w", errSpool, err)
		}
		b.file = f
		if _, err := f.Write(b.mem); err != nil {
			return 0, fmt.Errorf("%w: %w", errSpool, err)
		}
		b.mem = nil
	}
	n, err := b.file.Write(p)
	b.size += int64(n)
	if err != nil {
		return n, fmt.Errorf("%w: %w", errSpool, err)
	}
	return n, nil
}

// readSigned streams body (at most limit bytes) through check, holding
// one small buffer, and verifies the signature at its end. With keep the
// bytes are kept too (spool) and returned as a verifiedBody the caller
// must Close; without, they are dropped as they are hashed, and the
// verifiedBody only tells the size. Errors: *http.MaxBytesError past
// limit (413), errBodyBudget (503), a read deadline (408), another read
// error (400), or the check's error wrapping errForbidden (403).
func readSigned(w http.ResponseWriter, body io.Reader, limit int64, check *webhookCheck, keep bool, dir string) (*verifiedBody, error) {
	vb := &verifiedBody{}
	var sink io.Writer = check
	if keep {
		sink = io.MultiWriter(check, &spool{body: vb, dir: dir})
	}
	buf := bodyBufs.Get().(*[]byte)
	n, err := io.CopyBuffer(sink, http.MaxBytesReader(w, io.NopCloser(body), limit), *buf)
	bodyBufs.Put(buf)
	if !keep {
		vb.size = n
	}
	if err != nil {
		vb.Close()
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) || errors.Is(err, errBodyBudget) || errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, errSpool) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: read body: %w", errBadRequest, err)
	}
	if err := check.verify(); err != nil {
		vb.Close()
		return nil, err
	}
	return vb, nil
}
