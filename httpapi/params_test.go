package httpapi

import (
	"errors"
	"math"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestParseStrictQuery(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want url.Values // nil: refused
		says string     // part of the error text when refused
	}{
		{"empty", "", url.Values{}, ""},
		{"exec control body", "_karajo_epoch=1700000000&id=test_success", url.Values{"_karajo_epoch": {"1700000000"}, "id": {"test_success"}}, ""},
		{"go client query", "id=ping_json", url.Values{"id": {"ping_json"}}, ""},
		{"escapes and plus", "a=%20x+y&b=%2F%3B", url.Values{"a": {" x y"}, "b": {"/;"}}, ""},
		{"repeated key", "a=1&a=2", url.Values{"a": {"1", "2"}}, ""},
		{"key only", "flag", url.Values{"flag": {""}}, ""},
		{"empty pairs", "&&a=1&", url.Values{"a": {"1"}}, ""},
		{"json body without % or ;", `{"_karajo_epoch":1677350854}`, url.Values{`{"_karajo_epoch":1677350854}`: {""}}, ""},
		{"bad escape %zz", "a=%zz", nil, `"%zz"`},
		{"bad escape in key", "%zz=1", nil, `"%zz"`},
		{"trailing %", "a=50%", nil, `"%"`},
		{"short escape", "a=%2", nil, `"%2"`},
		{"semicolon", "a=1;b=2", nil, "';'"},
		{"semicolon alone", ";", nil, "';'"},
		{"semicolon after bad escape", "a=%zz;b", nil, "';'"},
		{"too many parameters", strings.Repeat("a=1&", 10001), nil, "exceeded"},
		{"json body with %", `{"p":"50%"}`, nil, "bad percent escape"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStrictQuery(tt.raw)
			if tt.want != nil {
				if err != nil {
					t.Fatalf("parseStrictQuery(%q) error %v, want nil", tt.raw, err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("parseStrictQuery(%q) = %v, want %v", tt.raw, got, tt.want)
				}
				return
			}
			if !errors.Is(err, errBadRequest) {
				t.Fatalf("parseStrictQuery(%q) = %v, %v; want an error wrapping errBadRequest", tt.raw, got, err)
			}
			if got != nil {
				t.Errorf("parseStrictQuery(%q) values = %v, want nil", tt.raw, got)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "invalid request: ") || !strings.Contains(msg, tt.says) {
				t.Errorf("parseStrictQuery(%q) error %q, want it to start with %q and contain %s", tt.raw, msg, "invalid request: ", tt.says)
			}
		})
	}
}

func TestParseCounter(t *testing.T) {
	tests := []struct {
		raw  string
		want int64
		ok   bool
	}{
		{"1", 1, true},
		{"0", 0, true},
		{"42", 42, true},
		{"007", 7, true},
		{"+5", 5, true},
		{"-1", -1, true},
		{"9223372036854775807", math.MaxInt64, true},
		{"-9223372036854775808", math.MinInt64, true},
		{"9223372036854775808", 0, false},
		{"", 0, false},
		{"abc", 0, false},
		{"1.0", 0, false},
		{"1e3", 0, false},
		{"0x10", 0, false},
		{"1_000", 0, false},
		{" 1", 0, false},
		{"1 ", 0, false},
		{"١", 0, false}, // Arabic-Indic digit one
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			got, ok := parseCounter(tt.raw)
			if got != tt.want || ok != tt.ok {
				t.Errorf("parseCounter(%q) = %d, %v; want %d, %v", tt.raw, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// FuzzParseStrictQuery checks that parseStrictQuery never panics, agrees
// with url.ParseQuery on what it accepts, and refuses with errBadRequest
// and an "invalid request: " text whatever has a ';' or a bad escape.
func FuzzParseStrictQuery(f *testing.F) {
	for _, s := range []string{"", "a=1&b=2", "_karajo_epoch=1700000000&id=test_success", "a=%zz", "50%", "a=1;b=2", "%", "a=%2", "+%20+", `{"_karajo_epoch":1}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := parseStrictQuery(raw)
		want, werr := url.ParseQuery(raw)
		if err != nil {
			if !errors.Is(err, errBadRequest) || !strings.HasPrefix(err.Error(), "invalid request: ") {
				t.Fatalf("parseStrictQuery(%q) error %v, want an errBadRequest reading \"invalid request: …\"", raw, err)
			}
			if got != nil {
				t.Fatalf("parseStrictQuery(%q) values = %v with an error, want nil", raw, got)
			}
			if werr == nil && !strings.Contains(raw, ";") {
				t.Fatalf("parseStrictQuery(%q) = %v, but url.ParseQuery accepts it", raw, err)
			}
			return
		}
		if werr != nil || strings.Contains(raw, ";") {
			t.Fatalf("parseStrictQuery(%q) accepted, url.ParseQuery error %v", raw, werr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("parseStrictQuery(%q) = %v, want %v", raw, got, want)
		}
		// Re-encoding and parsing again gives the same values.
		again, err := parseStrictQuery(got.Encode())
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Fatalf("parseStrictQuery(Encode(%v)) = %v, %v", got, again, err)
		}
	})
}

// FuzzParseCounter checks parseCounter against strconv: it accepts exactly
// what ParseInt base 10 accepts, and the value round-trips.
func FuzzParseCounter(f *testing.F) {
	for _, s := range []string{"1", "-1", "+1", "", "x", "9223372036854775808"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		n, ok := parseCounter(raw)
		want, err := strconv.ParseInt(raw, 10, 64)
		if ok != (err == nil) || (ok && n != want) {
			t.Fatalf("parseCounter(%q) = %d, %v; want %d, %v", raw, n, ok, want, err == nil)
		}
	})
}
