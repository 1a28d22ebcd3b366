package logstore

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// The start index of a kind, var/lib/karajo/<kind>.start-index, is a cache
// of what Recover found for each job: written when karajo stops cleanly,
// read at the next start. The log files and state files stay the source of
// truth (SPEC 3): an entry is used only when one stat of the job's log
// directory and one of its state file show that neither changed since the
// entry was made (device, inode, mode, size, modification and change
// times), so a job whose files changed — a new, renamed or pruned log, a
// rewritten state file, a run left in progress by a crash — is recovered
// from its files as without an index. A missing, unreadable, corrupt or
// other-version index is ignored.
//
// A directory's times come from the kernel's coarse clock: two changes in
// the same tick may leave the same times. An entry is therefore made only
// from stats whose times are older than a margin when they are taken
// (startIndexMargin, several ticks; startIndexCoarseMargin on a file
// system that keeps whole seconds), so that any later change gets later
// times; a job changed just before the stop is re-read once its margin
// has passed, or left out.
//
// What the index cannot see is a finished log file's modification time
// changed in place (touch) without any change to its directory: karajo
// never does that (a log gets its final name once it is complete).

// startIndexHeader is the first line of a start index; another version is
// ignored.
const startIndexHeader = "karajo-start-index 1"

// startIndexMargin is how much older than the moment of its stat a
// directory's or state file's times must be for an entry to be made from
// it: several ticks of the kernel's coarse clock (1–10 ms). It is short so
// that a stop right after runs (every job that ran writes its state file
// as it stops) waits that little to index them.
var startIndexMargin = 50 * time.Millisecond

// startIndexCoarseMargin is the margin for a stamp whose times both fall on
// a whole second: it comes from a file system that keeps whole seconds, or
// FAT's 2 s (a kernel time with nanoseconds lands on a whole second about
// once in a billion).
var startIndexCoarseMargin = 2 * time.Second

// fileStamp identifies one version of a directory or file: any change to
// it changes its change time. The zero stamp stands for "absent".
type fileStamp struct {
	dev, ino     uint64
	mode         uint32
	size         int64
	mtime, ctime int64 // nanoseconds since the epoch
}

// absent reports whether the stamp stands for a missing file.
func (f fileStamp) absent() bool { return f == fileStamp{} }

// margin is how old the stamp's times must be when taken to be trusted.
func (f fileStamp) margin() time.Duration {
	if f.mtime%int64(time.Second) == 0 && f.ctime%int64(time.Second) == 0 {
		return startIndexCoarseMargin
	}
	return startIndexMargin
}

// oldBy reports whether the stamp's times are at least its margin older
// than at (an absent file has none).
func (f fileStamp) oldBy(at time.Time) bool {
	limit := at.Add(-f.margin()).UnixNano()
	return f.absent() || f.mtime < limit && f.ctime < limit
}

// trustedFrom is when a stat of the file as it is becomes old enough to
// be trusted: the later of its two times plus its margin.
func (f fileStamp) trustedFrom() time.Time {
	return time.Unix(0, max(f.mtime, f.ctime)).Add(f.margin())
}

// indexEntry is one job in a start index: the stamps of its log directory
// and state file, and what Recover found from them.
type indexEntry struct {
	id         string
	logs       fileStamp // the log directory
	state      fileStamp // the state file
	rec        Recovered // never holds Warnings
	stampedAt  time.Time // when the stamps were taken (not stored)
	fromBefore bool      // reused from the previous index (not stored)
}

// trusted reports whether the entry may be written: both stamps old enough
// when they were taken.
func (e *indexEntry) trusted() bool { return e.logs.oldBy(e.stampedAt) && e.state.oldBy(e.stampedAt) }

// StartIndexPath returns $dir_base/var/lib/karajo/<kind>.start-index.
func (s *Store) StartIndexPath(kind Kind) string {
	return filepath.Join(s.base, "var", "lib", "karajo", string(kind)+".start-index")
}

// stampAt stats name in the directory d, following a symbolic link (as the
// open of a log directory and the read of a state file do). A missing file
// is the zero stamp.
func stampAt(d *os.File, name string) (fileStamp, error) {
	var st unix.Stat_t
	err := fdCall(d, "fstatat", func(fd int) error { return unix.Fstatat(fd, name, &st, 0) })
	if errors.Is(err, fs.ErrNotExist) {
		return fileStamp{}, nil
	}
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{dev: uint64(st.Dev), ino: st.Ino, mode: st.Mode, size: st.Size,
		mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano()}, nil
}

// kindDirs opens the directories of a kind's log directories and state
// files.
func (s *Store) kindDirs(kind Kind) (logDir, libDir *os.File, err error) {
	logDir, err = os.Open(filepath.Join(s.base, "var", "log", "karajo", string(kind)))
	if err != nil {
		return nil, nil, err
	}
	libDir, err = os.Open(filepath.Join(s.base, "var", "lib", "karajo", string(kind)))
	if err != nil {
		return nil, nil, errors.Join(err, logDir.Close())
	}
	return logDir, libDir, nil
}

// stamps stats the job's log directory and state file.
func stamps(logDir, libDir *os.File, id string) (logs, state fileStamp, err error) {
	if logs, err = stampAt(logDir, id); err != nil {
		return logs, state, err
	}
	state, err = stampAt(libDir, id+".state")
	return logs, state, err
}

// startIndex is a start index read at start, with the directories its
// entries are checked in. It is read-only once loaded: the jobs of a kind
// consult it concurrently.
type startIndex struct {
	entries        map[string]*indexEntry
	logDir, libDir *os.File
}

// loadStartIndex reads the kind's start index; nil when there is none or
// it cannot be used.
func (s *Store) loadStartIndex(kind Kind) *startIndex {
	data, err := os.ReadFile(s.StartIndexPath(kind))
	if err != nil {
		return nil
	}
	_, entries, err := parseStartIndex(data, kind)
	if err != nil || len(entries) == 0 {
		return nil
	}
	logDir, libDir, err := s.kindDirs(kind)
	if err != nil {
		return nil
	}
	m := make(map[string]*indexEntry, len(entries))
	for i := range entries {
		m[entries[i].id] = &entries[i]
	}
	return &startIndex{entries: m, logDir: logDir, libDir: libDir}
}

// recovered returns the job's recovered state from the index when its log
// directory and state file are as the entry says and it keeps no more logs
// than retention (else Recover prunes them).
func (x *startIndex) recovered(id string, retention int) (Recovered, bool) {
	if x == nil {
		return Recovered{}, false
	}
	e, ok := x.entries[id]
	if !ok || len(e.rec.Logs) > retention {
		return Recovered{}, false
	}
	logs, state, err := stamps(x.logDir, x.libDir, id)
	if err != nil || logs != e.logs || state != e.state {
		return Recovered{}, false
	}
	return e.rec, true
}

// close closes the directories of the index.
func (x *startIndex) close() {
	if x != nil {
		_ = x.logDir.Close()
		_ = x.libDir.Close()
	}
}

// encodeStartIndex writes the index of kind made at written: a header, one
// line per entry, and a trailer with the count and a CRC-32 of all before.
func encodeStartIndex(kind Kind, written time.Time, entries []indexEntry) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\nkind %s\nwritten %d\n", startIndexHeader, kind, written.UnixNano())
	var line []byte
	for i := range entries {
		line = appendEntry(line[:0], &entries[i])
		b.Write(line)
	}
	fmt.Fprintf(&b, "end %d %08x\n", len(entries), crc32.ChecksumIEEE(b.Bytes()))
	return b.Bytes()
}

// appendEntry appends one entry line: tab-separated ID, the two stamps,
// counter, state counter, paused, last run, last success (Unix seconds,
// "" for none), cursor (RFC 3339, "" for none) and the log names joined by
// '/'.
func appendEntry(b []byte, e *indexEntry) []byte {
	b = append(b, e.id...)
	b = appendStamp(append(b, '\t'), e.logs)
	b = appendStamp(append(b, '\t'), e.state)
	b = strconv.AppendInt(append(b, '\t'), e.rec.Counter, 10)
	b = strconv.AppendInt(append(b, '\t'), e.rec.StateCounter, 10)
	b = strconv.AppendBool(append(b, '\t'), e.rec.Paused)
	b = appendUnix(append(b, '\t'), e.rec.LastRun)
	b = appendUnix(append(b, '\t'), e.rec.LastSuccess)
	b = append(b, '\t')
	if !e.rec.Cursor.IsZero() {
		b = e.rec.Cursor.AppendFormat(b, time.RFC3339Nano)
	}
	b = append(b, '\t')
	for i, l := range e.rec.Logs {
		if i > 0 {
			b = append(b, '/')
		}
		b = append(b, l.Name...)
	}
	return append(b, '\n')
}

func appendStamp(b []byte, f fileStamp) []byte {
	for i, v := range []int64{int64(f.dev), int64(f.ino), int64(f.mode), f.size, f.mtime, f.ctime} {
		if i > 0 {
			b = append(b, ':')
		}
		b = strconv.AppendInt(b, v, 10)
	}
	return b
}

func appendUnix(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return b
	}
	return strconv.AppendInt(b, t.Unix(), 10)
}

// errIndex is the error of a start index that cannot be used.
var errIndex = errors.New("start index unusable")

// parseStartIndex parses what encodeStartIndex wrote for kind.
func parseStartIndex(data []byte, kind Kind) (time.Time, []indexEntry, error) {
	body, trailer, ok := cutTrailer(data)
	if !ok {
		return time.Time{}, nil, fmt.Errorf("%w: no trailer", errIndex)
	}
	var n int
	var sum uint32
	if _, err := fmt.Sscanf(trailer, "end %d %08x", &n, &sum); err != nil || sum != crc32.ChecksumIEEE(body) {
		return time.Time{}, nil, fmt.Errorf("%w: bad trailer or checksum", errIndex)
	}
	text := string(body)
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 3 || lines[0] != startIndexHeader || lines[1] != "kind "+string(kind) || len(lines)-3 != n {
		return time.Time{}, nil, fmt.Errorf("%w: header", errIndex)
	}
	ns, err := strconv.ParseInt(strings.TrimPrefix(lines[2], "written "), 10, 64)
	if err != nil {
		return time.Time{}, nil, fmt.Errorf("%w: written: %w", errIndex, err)
	}
	entries := make([]indexEntry, 0, n)
	for _, l := range lines[3:] {
		e, err := parseEntry(l)
		if err != nil {
			return time.Time{}, nil, err
		}
		entries = append(entries, e)
	}
	return time.Unix(0, ns), entries, nil
}

// cutTrailer splits data before its last line.
func cutTrailer(data []byte) ([]byte, string, bool) {
	if len(data) == 0 || data[len(data)-1] != '\n' {
		return nil, "", false
	}
	i := bytes.LastIndexByte(data[:len(data)-1], '\n')
	if i < 0 {
		return nil, "", false
	}
	return data[:i+1], string(data[i+1 : len(data)-1]), true
}

// parseEntry parses one line of appendEntry.
func parseEntry(line string) (indexEntry, error) {
	var e indexEntry
	f := strings.Split(line, "\t")
	if len(f) != 10 || f[0] == "" {
		return e, fmt.Errorf("%w: entry %q", errIndex, line)
	}
	var errs [8]error
	e.id = f[0]
	e.logs, errs[0] = parseStamp(f[1])
	e.state, errs[1] = parseStamp(f[2])
	e.rec.Counter, errs[2] = strconv.ParseInt(f[3], 10, 64)
	e.rec.StateCounter, errs[3] = strconv.ParseInt(f[4], 10, 64)
	e.rec.Paused, errs[4] = strconv.ParseBool(f[5])
	e.rec.LastRun, errs[5] = parseUnix(f[6])
	e.rec.LastSuccess, errs[6] = parseUnix(f[7])
	if f[8] != "" {
		e.rec.Cursor, errs[7] = time.Parse(time.RFC3339Nano, f[8])
	}
	if err := errors.Join(errs[:]...); err != nil {
		return e, fmt.Errorf("%w: entry of %s: %w", errIndex, e.id, err)
	}
	e.rec.Logs = []LogRef{} // as Recover gives it
	if f[9] != "" {
		names := strings.Split(f[9], "/")
		e.rec.Logs = make([]LogRef, len(names))
		for i, name := range names {
			ref, ok := ParseName(name)
			if !ok {
				return e, fmt.Errorf("%w: entry of %s: log name %q", errIndex, e.id, name)
			}
			e.rec.Logs[i] = ref
		}
		e.rec.Status = e.rec.Logs[len(names)-1].Status
	}
	return e, nil
}

func parseStamp(s string) (fileStamp, error) {
	var v [6]int64
	for i := range v {
		var field string
		field, s, _ = strings.Cut(s, ":")
		n, err := strconv.ParseInt(field, 10, 64)
		if err != nil {
			return fileStamp{}, err
		}
		v[i] = n
	}
	if s != "" {
		return fileStamp{}, fmt.Errorf("stamp: extra fields %q", s)
	}
	return fileStamp{dev: uint64(v[0]), ino: uint64(v[1]), mode: uint32(v[2]), size: v[3], mtime: v[4], ctime: v[5]}, nil
}

func parseUnix(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(n, 0).UTC(), nil
}

// indexable reports whether the ID and log names can be written in an
// entry line.
func indexable(e *indexEntry) bool {
	if e.id == "" || strings.ContainsAny(e.id, "\t\n") {
		return false
	}
	return !slices.ContainsFunc(e.rec.Logs, func(l LogRef) bool { return strings.ContainsAny(l.Name, "\t\n/") })
}
