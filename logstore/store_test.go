package logstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestNewAbsolute(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	s, err := New("base", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(dir, "base")
	if s.Base() != want {
		t.Errorf("Base() = %q, want %q", s.Base(), want)
	}
}

func TestPrepare(t *testing.T) {
	s := newStore(t, nil, KindJob, "a")
	if err := s.Prepare(KindJobHTTP, "a"); err != nil { // same ID, other kind
		t.Fatal(err)
	}
	if err := s.Prepare(KindJob, "a"); err != nil { // again: no error
		t.Fatal(err)
	}
	dirs := []string{
		"var/lib/karajo/job/a",
		"var/log/karajo/job/a",
		"var/lib/karajo/job_http/a",
		"var/log/karajo/job_http/a",
		"var/run/karajo/job_http",
	}
	for _, d := range dirs {
		info, err := os.Stat(filepath.Join(s.Base(), d))
		if err != nil {
			t.Errorf("Prepare: %v", err)
			continue
		}
		if !info.IsDir() || info.Mode().Perm() != 0o700 {
			t.Errorf("%s: mode %v, want a directory with mode 0700", d, info.Mode())
		}
	}
	if got, want := s.WorkDir(KindJob, "a"), filepath.Join(s.Base(), "var/lib/karajo/job/a"); got != want {
		t.Errorf("WorkDir = %q, want %q", got, want)
	}
	if got, want := s.LogDir(KindJobHTTP, "a"), filepath.Join(s.Base(), "var/log/karajo/job_http/a"); got != want {
		t.Errorf("LogDir = %q, want %q", got, want)
	}
	if got, want := s.StatePath(KindJob, "a"), filepath.Join(s.Base(), "var/lib/karajo/job/a.state"); got != want {
		t.Errorf("StatePath = %q, want %q", got, want)
	}
}

func TestStateRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		kind Kind
		st   State
	}{
		{"zero", KindJob, State{}},
		{"paused", KindJob, State{Counter: 5, Paused: true}},
		{"http job", KindJobHTTP, State{Counter: 1 << 62}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t, nil, tt.kind, "a")
			if _, ok, err := s.LoadState(tt.kind, "a"); ok || err != nil {
				t.Errorf("LoadState before SaveState = _, %v, %v, want false, nil", ok, err)
			}
			if err := s.SaveState(tt.kind, "a", State{Counter: 99, Paused: !tt.st.Paused}); err != nil {
				t.Fatal(err)
			}
			if err := s.SaveState(tt.kind, "a", tt.st); err != nil {
				t.Fatal(err)
			}
			got, ok, err := s.LoadState(tt.kind, "a")
			if got != tt.st || !ok || err != nil {
				t.Errorf("LoadState = %+v, %v, %v, want %+v, true, nil", got, ok, err, tt.st)
			}
			info, err := os.Stat(s.StatePath(tt.kind, "a"))
			if err != nil {
				t.Fatal(err)
			}
			if info.Mode().Perm() != 0o600 {
				t.Errorf("state file mode = %v, want 0600", info.Mode().Perm())
			}
			// Neither in the work directory nor in the log directory.
			for _, d := range []string{s.WorkDir(tt.kind, "a"), s.LogDir(tt.kind, "a")} {
				if entries, _ := os.ReadDir(d); len(entries) != 0 {
					t.Errorf("%s has %d entries, want none", d, len(entries))
				}
			}
		})
	}
}

func TestLoadStateErrors(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    State
		wantOK  bool
		wantErr error
	}{
		{"empty", "", State{}, false, ErrCorrupt},
		{"truncated", `{"counter":1`, State{}, false, ErrCorrupt},
		{"garbage", "\x00\x00\x00", State{}, false, ErrCorrupt},
		{"null", "null", State{}, false, ErrCorrupt},
		{"array", "[]", State{}, false, ErrCorrupt},
		{"wrong type", `{"counter":"7"}`, State{}, false, ErrCorrupt},
		{"negative counter", `{"counter":-1}`, State{}, false, ErrCorrupt},
		{"trailing data", `{"counter":1}{`, State{}, false, ErrCorrupt},
		{"unknown keys are kept for later versions", `{"counter":3,"paused":true,"next":1}`, State{Counter: 3, Paused: true}, true, nil},
		{"missing keys", `{}`, State{}, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t, nil, KindJob, "a")
			if err := os.WriteFile(s.StatePath(KindJob, "a"), []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			got, ok, err := s.LoadState(KindJob, "a")
			if got != tt.want || ok != tt.wantOK || !errors.Is(err, tt.wantErr) {
				t.Errorf("LoadState(%q) = %+v, %v, %v, want %+v, %v, %v", tt.content, got, ok, err, tt.want, tt.wantOK, tt.wantErr)
			}
		})
	}
	t.Run("unreadable", func(t *testing.T) {
		s := newStore(t, nil, KindJob, "a")
		if err := os.Mkdir(s.StatePath(KindJob, "a"), 0o700); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := s.LoadState(KindJob, "a"); ok || err == nil {
			t.Errorf("LoadState of a directory = _, %v, %v, want false, an error", ok, err)
		}
	})
}

func TestStateLeftoverTemp(t *testing.T) {
	s := newStore(t, nil, KindJob, "a")
	dir := filepath.Dir(s.StatePath(KindJob, "a"))
	// What a crash between CreateTemp and Rename leaves behind.
	leftover := filepath.Join(dir, ".a.state.123456.tmp")
	if err := os.WriteFile(leftover, []byte(`{"counter":7`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.LoadState(KindJob, "a"); ok || err != nil {
		t.Errorf("LoadState with only a temp file = _, %v, %v, want false, nil", ok, err)
	}
	want := State{Counter: 2, Paused: true}
	if err := s.SaveState(KindJob, "a", want); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := s.LoadState(KindJob, "a"); got != want || !ok || err != nil {
		t.Errorf("LoadState = %+v, %v, %v, want %+v, true, nil", got, ok, err, want)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if fmt.Sprint(names) != "[.a.state.123456.tmp a a.state]" {
		t.Errorf("%s holds %q, want the leftover, the work dir and the state file only", dir, names)
	}
	rec, err := s.Recover(KindJob, "a", 5)
	if err != nil {
		t.Fatal(err)
	}
	if !rec.Paused || rec.Counter != 2 || len(rec.Warnings) != 0 {
		t.Errorf("Recover = %+v, want paused, counter 2, no warnings", rec)
	}
}

// TestStateConcurrent saves the states of several jobs many times while
// others read them: every read must see a whole, valid state, and counters
// saved in increasing order never go back.
func TestStateConcurrent(t *testing.T) {
	const jobs, saves = 6, 150
	s, err := New(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for j := range jobs {
		if err := s.Prepare(KindJob, fmt.Sprint("j", j)); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4*jobs)
	for j := range jobs {
		id := fmt.Sprint("j", j)
		wg.Go(func() {
			for i := range saves {
				if err := s.SaveState(KindJob, id, State{Counter: int64(i + 1), Paused: i%2 == 0}); err != nil {
					errs <- err
					return
				}
			}
		})
		wg.Go(func() {
			var last int64
			for range 2 * saves {
				st, ok, err := s.LoadState(KindJob, id)
				if err != nil {
					errs <- err
					return
				}
				if ok && (st.Counter < last || st.Paused != ((st.Counter-1)%2 == 0)) {
					errs <- fmt.Errorf("%s: read %+v after counter %d", id, st, last)
					return
				}
				last = st.Counter
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for j := range jobs {
		id := fmt.Sprint("j", j)
		if st, ok, err := s.LoadState(KindJob, id); st.Counter != saves || !ok || err != nil {
			t.Errorf("LoadState(%s) = %+v, %v, %v, want counter %d", id, st, ok, err, saves)
		}
	}
	entries, err := os.ReadDir(filepath.Join(s.Base(), "var/lib/karajo/job"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2*jobs {
		t.Errorf("%d entries in var/lib/karajo/job, want %d (no temp files left)", len(entries), 2*jobs)
	}
}

func TestSaveStateError(t *testing.T) {
	s := newStore(t, nil, KindJob, "a")
	// A directory where the state file goes: the rename fails.
	if err := os.Mkdir(s.StatePath(KindJob, "a"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.StatePath(KindJob, "a"), "x"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	err := s.SaveState(KindJob, "a", State{Counter: 1})
	if err == nil {
		t.Fatal("SaveState over a non-empty directory: nil error")
	}
	entries, _ := os.ReadDir(filepath.Dir(s.StatePath(KindJob, "a")))
	if len(entries) != 2 {
		t.Errorf("entries after a failed SaveState: %d, want 2 (temp file removed)", len(entries))
	}
}

// TestPrepareRefusesNonDirectories: an entry in the way of a job's
// directory (a file, a dangling symlink) is an error, not a loop or a
// silent success.
func TestPrepareRefusesNonDirectories(t *testing.T) {
	s := newStore(t, nil, KindJob, "a")
	if err := s.PrepareBase(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.WorkDir(KindJob, "file"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(s.Base(), "nowhere"), s.LogDir(KindJob, "dangling")); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"file", "dangling"} {
		if err := s.Prepare(KindJob, id); err == nil {
			t.Errorf("Prepare(%q) = nil, want an error", id)
		}
	}
}
