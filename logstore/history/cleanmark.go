package history

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// A clean close leaves a mark beside the history file, "<path>.clean", so
// that the next Open can skip reading every job bucket's root page (its
// check for a corrupt file): at 100,000 jobs that read touches 100,000
// pages of a 400 MB file, about a second of a restart. The mark holds the
// file's device, inode, size and modification time after the close, and
// the close first sets that modification time 2 s into the past: any
// later write to the file sets it to the time of that write, so it can
// never match again (not even within one tick of the kernel's coarse
// clock, nor on a file system that keeps times to 2 s). Open removes the
// mark whether it matches or not: it stands for one clean close only, so
// after a crash, or with the file changed, moved or replaced, the pages
// are read as before.

// cleanMarkSuffix names the mark beside the history file.
const cleanMarkSuffix = ".clean"

// fileMark identifies one version of the closed file.
type fileMark struct {
	dev, ino uint64
	size     int64
	mtime    int64 // nanoseconds
}

// markOf stats path (not following a symbolic link).
func markOf(path string) (fileMark, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return fileMark{}, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileMark{}, errors.New("no stat")
	}
	return fileMark{dev: uint64(st.Dev), ino: st.Ino, size: st.Size, mtime: fi.ModTime().UnixNano()}, nil
}

// writeCleanMark marks the closed file at path as closed cleanly. A mark
// that cannot be written is no mark: the next Open checks the file.
func writeCleanMark(path string, now time.Time) error {
	at := now.Truncate(time.Second).Add(-2 * time.Second)
	if err := os.Chtimes(path, at, at); err != nil {
		return err
	}
	m, err := markOf(path)
	if err != nil {
		return err
	}
	return os.WriteFile(path+cleanMarkSuffix, fmt.Appendf(nil, "%d %d %d %d\n", m.dev, m.ino, m.size, m.mtime), 0o600)
}

// takeCleanMark reports whether the file at path is as a clean close left
// it, and removes the mark.
func takeCleanMark(path string) bool {
	data, err := os.ReadFile(path + cleanMarkSuffix)
	if err != nil {
		return false
	}
	if err := os.Remove(path + cleanMarkSuffix); err != nil {
		return false
	}
	var want fileMark
	if _, err := fmt.Sscanf(string(data), "%d %d %d %d\n", &want.dev, &want.ino, &want.size, &want.mtime); err != nil {
		return false
	}
	got, err := markOf(path)
	return err == nil && got == want
}
