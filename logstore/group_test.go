package logstore

import (
	"os"
	"reflect"
	"testing"
)

// TestGroupTable records groups, frees one, reuses its slot, and reads
// the live ones back as the next start would after a crash; the table is
// empty after a start.
func TestGroupTable(t *testing.T) {
	s := newStore(t, nil, KindJob, "j")
	tab, left, err := s.OpenGroups()
	if err != nil || len(left) != 0 {
		t.Fatalf("OpenGroups on a fresh dir_base = %v, %v", left, err)
	}
	a, err := tab.Add(Group{PGID: 100, Start: 5, StartMax: 7})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := tab.Add(Group{PGID: 200, Start: 9})
	if err := tab.Remove(a); err != nil {
		t.Fatal(err)
	}
	c, _ := tab.Add(Group{PGID: 300, Start: 11, StartMax: 12})
	if c != a || b == a {
		t.Errorf("slots a=%d b=%d c=%d: a freed slot is reused", a, b, c)
	}
	if fi, err := os.Stat(s.GroupsPath()); err != nil || fi.Size() != 2*groupSlot {
		t.Errorf("table file: %v, %v; want %d bytes", fi, err, 2*groupSlot)
	}
	// A torn or foreign slot is skipped.
	if _, err := tab.f.WriteAt([]byte("garbage\n"), 2*groupSlot); err != nil {
		t.Fatal(err)
	}
	tab.Close()

	tab2, left, err := s.OpenGroups()
	if err != nil {
		t.Fatal(err)
	}
	defer tab2.Close()
	want := []Group{{PGID: 300, Start: 11, StartMax: 12}, {PGID: 200, Start: 9, StartMax: 9}}
	if !reflect.DeepEqual(left, want) {
		t.Errorf("left = %+v, want %+v", left, want)
	}
	tab3, left, err := s.OpenGroups()
	if err != nil {
		t.Fatal(err)
	}
	tab3.Close()
	if len(left) != 0 {
		t.Errorf("after a start the table still holds %+v", left)
	}
}
