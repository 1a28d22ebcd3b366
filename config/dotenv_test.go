package config

import (
	"errors"
	"reflect"
	"testing"
)

func TestParseDotenv(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []DotenvVar
	}{
		{"plain", "A=1\nB=two words\n", []DotenvVar{{"A", "1", 1}, {"B", "two words", 2}}},
		{"comments and blanks", "# c\n\n  # indented\nA=1 # trailing\nB=a#b\n", []DotenvVar{{"A", "1", 4}, {"B", "a#b", 5}}},
		{"export and spaces", "export A = x\nexport\tB=y\nexported=z\n", []DotenvVar{{"A", "x", 1}, {"B", "y", 2}, {"exported", "z", 3}}},
		{"empty", "A=\nB=''\nC=\"\"\nD= # c\n", []DotenvVar{{"A", "", 1}, {"B", "", 2}, {"C", "", 3}, {"D", "", 4}}},
		{"single quotes literal", `A='$B \n "x" # no' # c`, []DotenvVar{{"A", `$B \n "x" # no`, 1}}},
		{"double quote escapes", `A="l1\nl2\t\"q\" \\ \$HOME \x"`, []DotenvVar{{"A", "l1\nl2\t\"q\" \\ $HOME \\x", 1}}},
		{"double quotes span lines", "A=\"one\ntwo\"\nB=3\n", []DotenvVar{{"A", "one\ntwo", 1}, {"B", "3", 3}}},
		{"unquoted keeps dollar", "A=$B\n", []DotenvVar{{"A", "$B", 1}}},
		{"crlf", "A=1\r\nB='2'\r\n", []DotenvVar{{"A", "1", 1}, {"B", "2", 2}}},
		{"equals in value", "URL=http://h/?a=b\n", []DotenvVar{{"URL", "http://h/?a=b", 1}}},
		{"repeated name kept in order", "A=1\nA=2\n", []DotenvVar{{"A", "1", 1}, {"A", "2", 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDotenv([]byte(tt.in))
			if err != nil {
				t.Fatalf("ParseDotenv(%q): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseDotenv(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseDotenvErrors(t *testing.T) {
	tests := []struct {
		name, in string
		line     int
		reason   string
	}{
		{"no equals", "A=1\nJUSTAWORD\n", 2, "want NAME=value"},
		{"bad name", "1A=x\n", 1, `"1A" is not a variable name`},
		{"dash in name", "\n\nMY-VAR=x\n", 3, `"MY-VAR" is not a variable name`},
		{"unterminated single", "A='abc\n", 1, "A: unterminated single-quoted value"},
		{"unterminated double", "X=1\nA=\"abc\nmore\n", 2, "A: unterminated double-quoted value"},
		{"text after quote", "A='x' y\n", 1, "A: unexpected text after the closing quote"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseDotenv([]byte(tt.in))
			var de *DotenvError
			if !errors.As(err, &de) {
				t.Fatalf("ParseDotenv(%q) error = %v, want a *DotenvError", tt.in, err)
			}
			if de.Line != tt.line || len(de.Reason) < len(tt.reason) || de.Reason[:len(tt.reason)] != tt.reason {
				t.Errorf("ParseDotenv(%q) = line %d %q, want line %d %q", tt.in, de.Line, de.Reason, tt.line, tt.reason)
			}
		})
	}
}

func TestExpand(t *testing.T) {
	vars := map[string]string{"A": "1", "TOKEN": "t0k", "A_B": "ab"}
	lookup := func(n string) (string, bool) { v, ok := vars[n]; return v, ok }
	tests := []struct{ in, want, err string }{
		{"no refs", "no refs", ""},
		{"$A-${A}", "1-1", ""},
		{"Bearer $TOKEN", "Bearer t0k", ""},
		{"$A_B$A", "ab1", ""},
		{"cost $$5 and $ alone and $", "cost $5 and $ alone and $", ""},
		{"${A", "${A", ""},
		{"$1", "$1", ""},
		{"$MISSING", "", "undefined variable MISSING"},
		{"${NOPE}", "", "undefined variable NOPE"},
	}
	for _, tt := range tests {
		got, err := Expand(tt.in, lookup)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("Expand(%q) error = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Expand(%q) = %q, %v, want %q", tt.in, got, err, tt.want)
		}
	}
}
