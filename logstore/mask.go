package logstore

import (
	"bytes"
	"slices"
)

// Masked is what a secret is replaced with in a run log.
const Masked = "***"

// masker replaces every occurrence of a secret in a stream by Masked, also
// when a secret is split across writes: it holds back the end of the
// stream that may be the start of a secret (at most the longest secret
// minus one byte) until the next write or the end shows whether it is.
// Overlapping or adjacent occurrences become one Masked. It is not safe
// for concurrent use.
type masker struct {
	secrets [][]byte
	maxLen  int
	pend    []byte            // held back: the start of a possible secret
	carry   int               // leading bytes of pend inside a secret already replaced
	work    []byte            // scratch: pend + the new bytes
	spans   [][2]int          // scratch: occurrences, then merged
	shift   *[shiftSize]uint8 // scan's shift table by hashed byte pair; nil: one bytes.Index pass per secret
	window  int               // scan's window: the length of the shortest secret, at most maxWindow
}

// newMasker returns a masker for the non-empty secrets, or nil when there
// are none.
func newMasker(secrets []string) *masker {
	m := &masker{}
	for _, s := range secrets {
		if s == "" || slices.ContainsFunc(m.secrets, func(b []byte) bool { return string(b) == s }) {
			continue
		}
		m.secrets = append(m.secrets, []byte(s))
		m.maxLen = max(m.maxLen, len(s))
	}
	if len(m.secrets) == 0 {
		return nil
	}
	m.buildShift()
	return m
}

// feed masks p, continuing the stream, and passes what is certain to emit
// (in one or more pieces). With final, nothing is held back: the stream
// ends, or a piece that cannot continue a secret follows. The first error
// of emit is returned.
func (m *masker) feed(p []byte, final bool, emit func([]byte) error) error {
	switch {
	case len(m.pend) == 0 && m.carry == 0:
		// The common case: scan p in place, no copy.
		return m.mask(p, final, emit)
	case len(p) < m.maxLen:
		m.work = append(append(m.work[:0], m.pend...), p...)
		return m.mask(m.work, final, emit)
	}
	// Settle the held-back bytes with the start of p, then scan p in place.
	if err := m.settle(p, emit); err != nil {
		return err
	}
	return m.mask(p, final, emit)
}

// settle emits the held-back bytes, masked, now that p (at least
// maxLen-1 bytes) follows them: every secret that starts in them ends
// within the first maxLen-1 bytes of p. A secret that runs on into p
// becomes the carry of p; occurrences that start in p are left to the
// scan of p.
func (m *masker) settle(p []byte, emit func([]byte) error) error {
	n := len(m.pend)
	head := append(append(m.work[:0], m.pend...), p[:m.maxLen-1]...)
	m.work = head
	carry, pos := 0, 0
	var err error
	put := func(b []byte) {
		if err == nil && len(b) > 0 {
			err = emit(b)
		}
	}
	for _, sp := range m.find(head) {
		if sp[0] >= n {
			break
		}
		put(head[pos:sp[0]])
		if sp[0] > 0 || m.carry == 0 { // else it continues a secret already replaced
			put([]byte(Masked))
		}
		pos = min(sp[1], n)
		carry = max(sp[1]-n, 0)
	}
	put(head[pos:n])
	m.pend, m.carry = m.pend[:0], carry
	return err
}

// mask masks buf (pend already at its start) and keeps its held-back tail.
func (m *masker) mask(buf []byte, final bool, emit func([]byte) error) error {
	spans := m.find(buf)
	hold := len(buf)
	if !final {
		hold = m.holdFrom(buf)
	}
	carry, pos := 0, 0
	var err error
	put := func(b []byte) {
		if err == nil && len(b) > 0 {
			err = emit(b)
		}
	}
	for _, sp := range spans {
		continued := sp[0] == 0 && m.carry > 0
		if sp[0] >= hold && !continued {
			break
		}
		put(buf[pos:min(sp[0], hold)])
		if !continued {
			put([]byte(Masked))
		}
		pos = min(sp[1], hold)
		if sp[1] > hold {
			carry = sp[1] - hold
		}
	}
	put(buf[min(pos, hold):hold])
	m.pend = append(m.pend[:0], buf[hold:]...)
	m.carry = min(carry, len(m.pend))
	return err
}

// find returns the merged spans of buf covered by secrets: every
// occurrence of each, and the carry at its start.
func (m *masker) find(buf []byte) [][2]int {
	sp := m.spans[:0]
	if m.carry > 0 {
		sp = append(sp, [2]int{0, m.carry})
	}
	if m.shift != nil {
		sp = m.scan(buf, sp)
	} else {
		for _, s := range m.secrets {
			for i := 0; i+len(s) <= len(buf); {
				k := bytes.Index(buf[i:], s)
				if k < 0 {
					break
				}
				sp = append(sp, [2]int{i + k, i + k + len(s)})
				i += k + 1
			}
		}
	}
	if len(sp) > 1 {
		slices.SortFunc(sp, func(a, b [2]int) int { return a[0] - b[0] })
		out := sp[:1]
		for _, s := range sp[1:] {
			last := &out[len(out)-1]
			if s[0] <= last[1] {
				last[1] = max(last[1], s[1])
				continue
			}
			out = append(out, s)
		}
		sp = out
	}
	m.spans = sp
	return sp
}

// minScanLen is the length of the shortest secret from which the masker
// searches all secrets in one pass (scan) instead of one bytes.Index pass
// per secret; maxWindow caps the window of that search.
const (
	minScanLen = 4
	maxWindow  = 64
)

// buildShift prepares scan (Wu-Manber with 2-byte blocks over the first
// m.window bytes of every secret): shift[pairHash(g)] is how far the
// window may move when its last two bytes are g. Text that holds few of the secrets'
// byte pairs is skipped window-1 bytes at a time, for all secrets at once.
func (m *masker) buildShift() {
	w := maxWindow
	for _, s := range m.secrets {
		w = min(w, len(s))
	}
	if w < minScanLen {
		return
	}
	m.window = w
	m.shift = new([shiftSize]uint8)
	for i := range m.shift {
		m.shift[i] = uint8(w - 1)
	}
	for _, s := range m.secrets {
		for j := 0; j+1 < w; j++ {
			g := pairHash(s[j], s[j+1])
			m.shift[g] = min(m.shift[g], uint8(w-2-j))
		}
	}
}

// shiftSize is the size of scan's shift table: byte pairs are hashed to
// it; pairs that share an entry share the smaller shift, which only costs
// a few more checks.
const shiftSize = 1 << 12

// pairHash maps a byte pair to an entry of the shift table.
func pairHash(a, b byte) int { return (int(a)*67 + int(b)) & (shiftSize - 1) }

// scan appends the occurrences of every secret in buf to sp (Wu-Manber).
func (m *masker) scan(buf []byte, sp [][2]int) [][2]int {
	w, shift := m.window, m.shift
	for pos := w - 2; pos+1 < len(buf); {
		pair := buf[pos : pos+2 : pos+2]
		if d := shift[pairHash(pair[0], pair[1])]; d > 0 {
			pos += int(d)
			continue
		}
		start := pos - (w - 2)
		for _, s := range m.secrets {
			if start+len(s) <= len(buf) && buf[start] == s[0] && bytes.Equal(buf[start:start+len(s)], s) {
				sp = append(sp, [2]int{start, start + len(s)})
			}
		}
		pos++
	}
	return sp
}

// holdFrom returns where the end of buf that may begin a secret starts:
// the smallest i such that buf[i:] is a proper prefix of a secret, or
// len(buf).
func (m *masker) holdFrom(buf []byte) int {
	for i := max(0, len(buf)-m.maxLen+1); i < len(buf); i++ {
		tail := buf[i:]
		for _, s := range m.secrets {
			if len(tail) < len(s) && s[0] == tail[0] && bytes.HasPrefix(s, tail) {
				return i
			}
		}
	}
	return len(buf)
}

// MaskString returns s with every occurrence of each non-empty secret
// replaced by Masked, as a run log masks it.
func MaskString(s string, secrets []string) string {
	m := newMasker(secrets)
	if m == nil {
		return s
	}
	var b []byte
	_ = m.feed([]byte(s), true, func(p []byte) error { b = append(b, p...); return nil })
	return string(b)
}
