package logstore

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestPrefix(t *testing.T) {
	paris := time.FixedZone("CET", 3600)
	tests := []struct {
		name string
		t    time.Time
		kind Kind
		id   string
		want string
	}{
		{"exec job", time.Date(2026, 11, 28, 16, 40, 10, 0, time.UTC), KindJob, "test_fail",
			"2026-11-28 16:40:10 UTC job: test_fail: "},
		{"http job", time.Date(2026, 11, 28, 16, 40, 0, 0, time.UTC), KindJobHTTP, "ping_json",
			"2026-11-28 16:40:00 UTC job_http: ping_json: "},
		{"truncates below half a second", time.Date(2026, 1, 2, 3, 4, 5, 499_999_999, time.UTC), KindJob, "a",
			"2026-01-02 03:04:05 UTC job: a: "},
		{"truncates from half a second: never a stamp in the future", time.Date(2026, 12, 31, 23, 59, 59, 999_999_999, time.UTC), KindJob, "a",
			"2026-12-31 23:59:59 UTC job: a: "},
		{"converts to UTC", time.Date(2026, 11, 28, 17, 40, 10, 0, paris), KindJob, "a",
			"2026-11-28 16:40:10 UTC job: a: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Prefix(tt.t, tt.kind, tt.id); got != tt.want {
				t.Errorf("Prefix(%v, %q, %q) = %q, want %q", tt.t, tt.kind, tt.id, got, tt.want)
			}
		})
	}
}

func TestParseName(t *testing.T) {
	tests := []struct {
		name   string
		want   LogRef
		wantOK bool
	}{
		{"test_fail.1.failed", LogRef{JobID: "test_fail", Counter: 1, Status: "failed"}, true},
		{"long.12.canceled", LogRef{JobID: "long", Counter: 12, Status: "canceled"}, true},
		{"zzz.9.weird.extra", LogRef{JobID: "zzz", Counter: 9, Status: "weird"}, true},
		{"a.007.success", LogRef{JobID: "a", Counter: 7, Status: "success"}, true},
		{".3.success", LogRef{JobID: "", Counter: 3, Status: "success"}, true},
		{"a.9223372036854775807.x", LogRef{JobID: "a", Counter: 1<<63 - 1, Status: "x"}, true},
		{"README", LogRef{}, false},
		{"other.x.success", LogRef{}, false},
		{"other.8", LogRef{}, false},
		{"a.1.", LogRef{}, false},
		{"a..success", LogRef{}, false},
		{"a.-1.success", LogRef{}, false},
		{"a.+1.success", LogRef{}, false},
		{"a. 1.success", LogRef{}, false},
		{"a.9223372036854775808.x", LogRef{}, false},
		{"", LogRef{}, false},
		{"..", LogRef{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseName(tt.name)
			if tt.wantOK {
				tt.want.Name = tt.name
			}
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("ParseName(%q) = %+v, %v, want %+v, %v", tt.name, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestFormatName(t *testing.T) {
	tests := []struct {
		id      string
		counter int64
		status  string
		want    string
	}{
		{"long", 1, "", "long.1"},
		{"test_fail", 1, "failed", "test_fail.1.failed"},
		{"sched", 20, "paused", "sched.20.paused"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := FormatName(tt.id, tt.counter, tt.status); got != tt.want {
				t.Errorf("FormatName(%q, %d, %q) = %q, want %q", tt.id, tt.counter, tt.status, got, tt.want)
			}
		})
	}
}

// parseNameRef is a deliberately naive reading of SPEC 3.3 that
// FuzzParseName compares ParseName with.
func parseNameRef(name string) (LogRef, bool) {
	f := strings.Split(name, ".")
	if len(f) < 3 || f[1] == "" || f[2] == "" || strings.Trim(f[1], "0123456789") != "" {
		return LogRef{}, false
	}
	n, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return LogRef{}, false
	}
	return LogRef{JobID: f[0], Counter: n, Status: f[2], Name: name}, true
}

func FuzzParseName(f *testing.F) {
	for _, s := range []string{
		"a.1.success", "zzz.9.weird.extra", "README", "other.x.success", "other.8",
		"a.1.", "..", "a.-1.x", "a.99999999999999999999.x", ".1.x", "a.1.b.c.d",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got, ok := ParseName(name)
		want, wantOK := parseNameRef(name)
		if got != want || ok != wantOK {
			t.Fatalf("ParseName(%q) = %+v, %v, want %+v, %v", name, got, ok, want, wantOK)
		}
		if !ok {
			return
		}
		if got.Counter < 0 || got.Status == "" || strings.Contains(got.Status, ".") || strings.Contains(got.JobID, ".") {
			t.Fatalf("ParseName(%q) = %+v: bad fields", name, got)
		}
		again := FormatName(got.JobID, got.Counter, got.Status)
		back, ok := ParseName(again)
		back.Name = got.Name
		if !ok || back != got {
			t.Fatalf("ParseName(FormatName(%+v)) = %+v, %v, want the same", got, back, ok)
		}
	})
}

func BenchmarkPrefix(b *testing.B) {
	now := time.Date(2026, 11, 28, 16, 40, 10, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		_ = Prefix(now, KindJob, "test_job_success")
	}
}
