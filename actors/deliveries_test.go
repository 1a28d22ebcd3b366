package actors

import (
	"fmt"
	"testing"
)

// TestDeliveryRing: the ring keeps the last keep records, newest first,
// asks for a rewrite once the file holds over twice as many, and a file
// with a cut or foreign line loads what it can.
func TestDeliveryRing(t *testing.T) {
	r := &deliveryRing{}
	compactAt := 0
	for i := 1; i <= 9; i++ {
		if r.add(Delivery{Verdict: VerdictAccepted, RunCounter: int64(i)}, 3) && compactAt == 0 {
			compactAt = i
		}
	}
	if compactAt != 7 {
		t.Errorf("compaction asked at record %d, want 7 (over 2 × 3 lines)", compactAt)
	}
	got := r.newest()
	if len(got) != 3 || got[0].RunCounter != 9 || got[2].RunCounter != 7 {
		t.Fatalf("newest: %+v", got)
	}
	data := append(r.encode(), []byte("{\"verdict\":\"acc\n{}\nnot json\n")...)
	back, bad := decodeDeliveries(data, 2)
	if bad != 3 {
		t.Errorf("bad lines %d, want 3", bad)
	}
	if n := back.newest(); len(n) != 2 || n[0].RunCounter != 9 || n[1].RunCounter != 8 {
		t.Errorf("decoded: %+v", n)
	}
	if back.lines != 3 {
		t.Errorf("lines %d, want 3 (the good lines read)", back.lines)
	}
	empty, bad := decodeDeliveries(nil, 5)
	if bad != 0 || len(empty.newest()) != 0 {
		t.Errorf("empty file: %d bad, %v", bad, empty.newest())
	}
	for _, v := range Verdicts {
		if v == "" {
			t.Error(fmt.Sprint("empty verdict in ", Verdicts))
		}
	}
}
