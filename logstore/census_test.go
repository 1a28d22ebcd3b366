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
	c := s.TakeCensus(KindJob)
	other := s.TakeCensus(KindJobHTTP)
	var nothing *Census
	tests := []struct {
		name      string
		c         *Census
		id        string
		wantState bool
		wantGroup bool
	}{
		{"state file", c, "a", true, false},
		{"group record", c, "b", false, true},
		{"temporary file only", c, "c", false, false},
		{"unknown job", c, "zzz", false, false},
		{"other kind", other, "a", false, false},
		{"nil census knows nothing", nothing, "zzz", true, true},
		{"zero census knows nothing", &Census{}, "zzz", true, true},
	}
	for _, tt := range tests {
		if got := tt.c.HasState(tt.id); got != tt.wantState {
			t.Errorf("%s: HasState(%q) = %v, want %v", tt.name, tt.id, got, tt.wantState)
		}
		if got := tt.c.HasGroup(tt.id); got != tt.wantGroup {
			t.Errorf("%s: HasGroup(%q) = %v, want %v", tt.name, tt.id, got, tt.wantGroup)
		}
	}

	rec, err := s.RecoverIn(c, KindJob, "a", 5)
	if err != nil || rec.Counter != 7 || !rec.Paused || len(rec.Warnings) != 0 {
		t.Errorf("RecoverIn(a) = %+v, %v; want counter 7, paused, no warnings", rec, err)
	}
	// A job without logs and, as the census knows, without a state file:
	// no warning about a missing log directory or state file.
	rec, err = s.RecoverIn(c, KindJob, "zzz", 5)
	if err != nil || rec.Counter != 0 || rec.Paused || len(rec.Warnings) != 0 {
		t.Errorf("RecoverIn(zzz) = %+v, %v; want a fresh job", rec, err)
	}
}
