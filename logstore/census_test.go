package logstore

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCensus(t *testing.T) {
	s := newStore(t, nil, KindJob, "a")
	if err := s.PrepareBase(); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveState(KindJob, "a", State{Counter: 7, Paused: true}); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveGroup(KindJob, "b", Group{PGID: 1234, Start: 1}); err != nil {
		t.Fatal(err)
	}
	// A leftover temporary state file names no job.
	if err := os.WriteFile(filepath.Join(filepath.Dir(s.StatePath(KindJob, "c")), ".c.state.1.tmp"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// A finished log of a: its directory is in the census.
	if err := os.WriteFile(filepath.Join(s.LogDir(KindJob, "a"), "a.7.success"), []byte("ok\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := s.TakeCensus(KindJob)
	other := s.TakeCensus(KindJobHTTP)
	var nothing *Census
	tests := []struct {
		name      string
		c         *Census
		id        string
		wantState bool
		wantGroup bool
		wantLogs  bool
	}{
		{"state file and logs", c, "a", true, false, true},
		{"group record", c, "b", false, true, false},
		{"temporary file only", c, "c", false, false, false},
		{"unknown job", c, "zzz", false, false, false},
		{"other kind", other, "a", false, false, false},
		{"nil census knows nothing", nothing, "zzz", true, true, true},
		{"zero census knows nothing", &Census{}, "zzz", true, true, true},
	}
	for _, tt := range tests {
		if got := tt.c.HasState(tt.id); got != tt.wantState {
			t.Errorf("%s: HasState(%q) = %v, want %v", tt.name, tt.id, got, tt.wantState)
		}
		if got := tt.c.HasGroup(tt.id); got != tt.wantGroup {
			t.Errorf("%s: HasGroup(%q) = %v, want %v", tt.name, tt.id, got, tt.wantGroup)
		}
		if got := tt.c.HasLogs(tt.id); got != tt.wantLogs {
			t.Errorf("%s: HasLogs(%q) = %v, want %v", tt.name, tt.id, got, tt.wantLogs)
		}
	}

	rec, err := s.RecoverIn(c, KindJob, "a", 5)
	if err != nil || rec.Counter != 7 || !rec.Paused || len(rec.Warnings) != 0 || len(rec.Logs) != 1 {
		t.Errorf("RecoverIn(a) = %+v, %v; want counter 7, paused, its one log, no warnings", rec, err)
	}
	// A job without logs and, as the census knows, without a state file:
	// no warning about a missing log directory or state file.
	rec, err = s.RecoverIn(c, KindJob, "zzz", 5)
	if err != nil || rec.Counter != 0 || rec.Paused || len(rec.Warnings) != 0 {
		t.Errorf("RecoverIn(zzz) = %+v, %v; want a fresh job", rec, err)
	}
}
