package actors

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestReplayWindow(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	w := newReplayWindow()
	const win = time.Hour
	if _, ok := w.seen("a", t0, win); ok {
		t.Fatal("empty window saw a")
	}
	w.add("a", 41, t0, win)
	w.add("b", 42, t0.Add(30*time.Minute), win)
	for _, tt := range []struct {
		id   string
		at   time.Duration
		want int64
		ok   bool
	}{
		{"a", time.Minute, 41, true},
		{"b", time.Minute, 42, true},
		{"c", time.Minute, 0, false},
		{"a", win, 41, true},               // the bound is inside
		{"a", win + time.Second, 0, false}, // forgotten
		{"b", win + time.Second, 42, true}, // still within its own window
		{"b", 2*win + time.Second, 0, false},
	} {
		c, ok := w.seen(tt.id, t0.Add(tt.at), win)
		if ok != tt.ok || c != tt.want {
			t.Errorf("seen(%s, +%v) = %d %v, want %d %v", tt.id, tt.at, c, ok, tt.want, tt.ok)
		}
	}
}

// TestReplayWindowBound: past MaxReplayIDs the oldest ids go first, so a
// job's memory is bounded whatever the rate of deliveries.
func TestReplayWindowBound(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	w := newReplayWindow()
	for i := range MaxReplayIDs + 10 {
		w.add(fmt.Sprintf("id-%d", i), int64(i+1), t0, 24*time.Hour)
	}
	if len(w.entries) != MaxReplayIDs || len(w.index) != MaxReplayIDs {
		t.Fatalf("%d entries, %d indexed, want %d", len(w.entries), len(w.index), MaxReplayIDs)
	}
	if _, ok := w.seen("id-0", t0, 24*time.Hour); ok {
		t.Error("the oldest id is still remembered past the bound")
	}
	if c, ok := w.seen(fmt.Sprintf("id-%d", MaxReplayIDs+9), t0, 24*time.Hour); !ok || c != MaxReplayIDs+10 {
		t.Errorf("the newest id: %d %v", c, ok)
	}
}

func TestReplayEncodeDecode(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 123)
	w := newReplayWindow()
	w.add("72d3162e-cc78-11e3-81ab-4c9367dc0958", 7, t0, time.Hour)
	w.add("nonce-1", 8, t0.Add(time.Second), time.Hour)
	data := append(w.encode(), []byte("garbage line\n1 x y\n1 2 has space\n")...)
	got, bad := decodeReplay(data)
	if bad != 3 { // too few fields; a counter that is no number; an id with a space
		t.Errorf("%d bad lines, want 3", bad)
	}
	for id, want := range map[string]int64{"72d3162e-cc78-11e3-81ab-4c9367dc0958": 7, "nonce-1": 8} {
		if c, ok := got.seen(id, t0.Add(time.Minute), time.Hour); !ok || c != want {
			t.Errorf("after decode, %s: %d %v, want %d", id, c, ok, want)
		}
	}
}

func TestReplayedError(t *testing.T) {
	var err error = fmt.Errorf("wrapped: %w", &ReplayedError{Job: "deploy", DeliveryID: "d1", Counter: 41})
	if !errors.Is(err, ErrReplayed) {
		t.Error("not ErrReplayed")
	}
	var re *ReplayedError
	if !errors.As(err, &re) || re.Counter != 41 {
		t.Errorf("As: %v", re)
	}
	if want := "already accepted as run #41"; !strings.Contains(err.Error(), want) {
		t.Errorf("%q lacks %q", err, want)
	}
}

// BenchmarkReplayCheck measures the check and record of one delivery id
// against a full window (MaxReplayIDs ids), as a ratio ("x-map") to one
// lookup in a map of the same size, measured in the same run.
func BenchmarkReplayCheck(b *testing.B) {
	t0 := time.Unix(1_700_000_000, 0)
	w := newReplayWindow()
	ref := map[string]int64{}
	for i := range MaxReplayIDs {
		id := fmt.Sprintf("72d3162e-cc78-11e3-81ab-%012d", i)
		w.add(id, int64(i), t0, 24*time.Hour)
		ref[id] = int64(i)
	}
	ids := make([]string, 1024)
	for i := range ids {
		ids[i] = fmt.Sprintf("new-delivery-%d", i)
	}
	b.ReportAllocs()
	start := time.Now()
	for i := range b.N {
		id := ids[i%len(ids)]
		if _, ok := w.seen(id, t0, 24*time.Hour); !ok {
			w.add(id, int64(i), t0, 24*time.Hour)
		}
	}
	took := time.Since(start)
	b.StopTimer()
	start = time.Now()
	n := 0
	for i := range b.N {
		if _, ok := ref[ids[i%len(ids)]]; ok {
			n++
		}
	}
	b.ReportMetric(float64(took)/float64(time.Since(start)+1), "x-map")
	_ = n
}

// TestReplayWindowAppended: a file that grew by appends — an id accepted
// again after its window, lines of forgotten entries — loads right: the
// later acceptance holds when the older line is pruned, and the file is
// marked for a rewrite once it holds far more lines than kept entries.
func TestReplayWindowAppended(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	old := replayEntry{id: "d-1", at: t0, counter: 1}
	again := replayEntry{id: "d-1", at: t0.Add(2 * time.Hour), counter: 7}
	w, bad := decodeReplay([]byte(old.line() + again.line()))
	if bad != 0 || w.lines != 2 {
		t.Fatalf("bad %d lines %d", bad, w.lines)
	}
	c, ok := w.seen("d-1", t0.Add(2*time.Hour+time.Minute), time.Hour) // prunes the old line
	if !ok || c != 7 {
		t.Fatalf("seen d-1 = %d %v, want run 7", c, ok)
	}
	if w.needsRewrite() {
		t.Error("2 lines for 1 entry: no rewrite yet")
	}
	for i := range 200 {
		w.add(fmt.Sprintf("x-%d", i), int64(i), t0.Add(3*time.Hour+time.Duration(i)*time.Second), time.Minute)
		w.lines++
	}
	if !w.needsRewrite() {
		t.Errorf("%d lines for %d entries: want a rewrite", w.lines, len(w.entries))
	}
	back, _ := decodeReplay(w.encode())
	if len(back.entries) != len(w.entries) {
		t.Errorf("rewritten: %d entries, want %d", len(back.entries), len(w.entries))
	}
}
