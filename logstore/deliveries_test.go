package logstore

import (
	"fmt"
	"os"
	"strings"
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

// TestMergeRecords: a batch of queued record writes becomes one write per
// file; a rewrite drops what was queued for its file before it.
func TestMergeRecords(t *testing.T) {
	op := func(p, d string, replace bool) recordOp { return recordOp{path: p, data: []byte(d), replace: replace} }
	tests := []struct {
		name  string
		batch []recordOp
		want  []recordOp
	}{
		{"appends", []recordOp{op("a", "1\n", false), op("b", "x\n", false), op("a", "2\n", false)},
			[]recordOp{op("a", "1\n2\n", false), op("b", "x\n", false)}},
		{"rewrite drops before", []recordOp{op("a", "1\n", false), op("a", "R\n", true), op("a", "3\n", false)},
			[]recordOp{op("a", "R\n3\n", true)}},
		{"two rewrites", []recordOp{op("a", "R1\n", true), op("a", "4\n", false), op("a", "R2\n", true)},
			[]recordOp{op("a", "R2\n", true)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mergeRecords(tt.batch)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d writes, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if got[i].path != tt.want[i].path || string(got[i].data) != string(tt.want[i].data) || got[i].replace != tt.want[i].replace {
					t.Errorf("write %d = %s %q replace=%v, want %s %q replace=%v", i, got[i].path, got[i].data, got[i].replace,
						tt.want[i].path, tt.want[i].data, tt.want[i].replace)
				}
			}
		})
	}
}

// TestQueuedDeliveryLog: queued records reach the file in order, with
// rewrites, by the time WaitRecords returns; a failed write is told to
// onErr.
func TestQueuedDeliveryLog(t *testing.T) {
	s, err := New(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	for i := range 500 {
		line := fmt.Sprintf("record %d\n", i)
		if i%100 == 99 { // a rewrite keeping the last 10
			want.Reset()
			for k := i - 9; k <= i; k++ {
				fmt.Fprintf(&want, "record %d\n", k)
			}
			if err := s.QueueDeliveryLogRewrite(KindJob, "j", []byte(want.String()), nil); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want.WriteString(line)
		if err := s.QueueDeliveryLog(KindJob, "j", []byte(line), nil); err != nil {
			t.Fatal(err)
		}
	}
	s.WaitRecords()
	got, err := s.LoadDeliveryLog(KindJob, "j")
	if err != nil || string(got) != want.String() {
		t.Fatalf("file = %d bytes, %v; want %d bytes in order", len(got), err, want.Len())
	}
	// A file that cannot be written: its directory is a file.
	p := s.DeliveryLogPath(KindJob, "k")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	bad := s.DeliveryLogPath(KindJob, "k") + "/x"
	failed := make(chan error, 1)
	s.records.add(recordOp{path: bad, data: []byte("x\n"), onErr: func(err error) { failed <- err }})
	s.WaitRecords()
	select {
	case err := <-failed:
		if err == nil {
			t.Error("onErr(nil)")
		}
	default:
		t.Error("a failed write was not told to onErr")
	}
}
