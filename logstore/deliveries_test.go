package logstore

import (
	"testing"
)

// TestDeliveriesAppend: appends land in the file at once, the background
// flushes end, a save replaces the file, and the delivery records file
// appends and loads the same way.
func TestDeliveriesAppend(t *testing.T) {
	s, err := New(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"1 1 a\n", "2 2 b\n"} {
		if err := s.AppendDeliveries(KindJob, "hook", []byte(l)); err != nil {
			t.Fatal(err)
		}
	}
	if b, err := s.LoadDeliveries(KindJob, "hook"); err != nil || string(b) != "1 1 a\n2 2 b\n" {
		t.Fatalf("after appends: %q %v", b, err)
	}
	s.WaitFlushed()
	if err := s.SaveDeliveries(KindJob, "hook", []byte("2 2 b\n")); err != nil {
		t.Fatal(err)
	}
	if b, _ := s.LoadDeliveries(KindJob, "hook"); string(b) != "2 2 b\n" {
		t.Fatalf("after save: %q", b)
	}
	if err := s.AppendDeliveries(KindJob, "../x", []byte("x\n")); err == nil {
		t.Error("a bad job ID was accepted")
	}
	if err := s.AppendDeliveryLog(KindJob, "hook", []byte("{}\n")); err != nil {
		t.Fatal(err)
	}
	if b, err := s.LoadDeliveryLog(KindJob, "hook"); err != nil || string(b) != "{}\n" {
		t.Fatalf("records: %q %v", b, err)
	}
	if b, err := s.LoadDeliveryLog(KindJob, "none"); err != nil || b != nil {
		t.Fatalf("no records: %q %v", b, err)
	}
}
