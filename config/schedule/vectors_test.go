package schedule

import (
	"bufio"
	"os"
	"strings"
	"testing"
	"time"
)

// vector is one row of a vectors table in testdata.
type vector struct {
	id, zone, expr, after string
	want                  []string
}

// readVectors reads the markdown table rows of a testdata file.
func readVectors(t *testing.T, file string) []vector {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []vector
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "|")
		if len(cols) < 7 || !strings.Contains(cols[3], "`") {
			continue
		}
		v := vector{id: strings.TrimSpace(cols[1]), zone: strings.TrimSpace(cols[2]),
			expr: strings.Trim(strings.TrimSpace(cols[3]), "`"), after: strings.TrimSpace(cols[4])}
		for w := range strings.SplitSeq(cols[5], ",") {
			v.want = append(v.want, strings.TrimSpace(w))
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		t.Fatalf("%s: no vectors", file)
	}
	return out
}

func TestVectors(t *testing.T) {
	for _, file := range []string{"testdata/schedule-vectors.md", "testdata/extra-vectors.md"} {
		for _, v := range readVectors(t, file) {
			t.Run(v.id, func(t *testing.T) {
				zone, err := LoadZone(v.zone)
				if err != nil {
					t.Fatal(err)
				}
				s, err := Parse(v.expr, zone)
				if err != nil {
					t.Fatalf("Parse(%q): %v", v.expr, err)
				}
				after, err := time.Parse(time.RFC3339, v.after)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, n := range Upcoming(s, after, len(v.want)) {
					got = append(got, n.Format(time.RFC3339))
				}
				if strings.Join(got, ", ") != strings.Join(v.want, ", ") {
					t.Errorf("%s %q in %s after %s:\n got  %v\n want %v", v.id, v.expr, v.zone, v.after, got, v.want)
				}
			})
		}
	}
}
