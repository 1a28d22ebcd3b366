package config

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
)

// DotenvVar is one KEY=value assignment of an env file, with the line it
// starts on.
type DotenvVar struct {
	Name  string
	Value string
	Line  int
}

// DotenvError is a line of an env file that does not parse. It never holds
// the line's text: an env file holds secrets.
type DotenvError struct {
	Line   int
	Reason string
}

// Error returns "line N: reason".
func (e *DotenvError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Reason) }

// ParseDotenv parses the content of an env file strictly, as dotenv does:
//
//   - blank lines and lines whose first non-space character is '#' are skipped;
//   - each other line is NAME=value, optionally after "export ", with
//     spaces around '=' ignored; NAME is [A-Za-z_][A-Za-z0-9_]*;
//   - an unquoted value is trimmed and ends at " #" (a comment);
//   - a value in single quotes is literal, up to the next single quote;
//   - a value in double quotes may span lines and knows the escapes \n,
//     \r, \t, \", \\ and \$ (any other backslash stays as it is);
//   - after a closing quote only spaces and a '#' comment may follow.
//
// Values are never expanded ($OTHER stays as it is). A later assignment of
// a name replaces an earlier one in the caller's hands; ParseDotenv keeps
// them all, in file order. The first line that does not parse stops it
// with a *DotenvError naming that line.
func ParseDotenv(data []byte) ([]DotenvVar, error) {
	var vars []DotenvVar
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(strings.TrimSuffix(sc.Text(), "\r"))
		if line == "" || line[0] == '#' {
			continue
		}
		start := n
		name, rest, err := dotenvName(line)
		if err != nil {
			return vars, &DotenvError{Line: n, Reason: err.Error()}
		}
		var value string
		switch {
		case rest != "" && rest[0] == '"':
			more := func() (string, bool) {
				if !sc.Scan() {
					return "", false
				}
				n++
				return strings.TrimSuffix(sc.Text(), "\r"), true
			}
			value, err = dotenvDouble(rest[1:], more)
		case rest != "" && rest[0] == '\'':
			value, err = dotenvSingle(rest[1:])
		default:
			value = dotenvUnquoted(rest)
		}
		if err != nil {
			return vars, &DotenvError{Line: start, Reason: fmt.Sprintf("%s: %v", name, err)}
		}
		vars = append(vars, DotenvVar{Name: name, Value: value, Line: start})
	}
	if err := sc.Err(); err != nil {
		return vars, &DotenvError{Line: n + 1, Reason: err.Error()}
	}
	return vars, nil
}

// dotenvName splits "[export ]NAME = rest" into NAME and the trimmed rest.
func dotenvName(line string) (string, string, error) {
	if after, ok := strings.CutPrefix(line, "export"); ok && after != "" && (after[0] == ' ' || after[0] == '\t') {
		line = strings.TrimSpace(after)
	}
	name, rest, ok := strings.Cut(line, "=")
	if !ok {
		return "", "", fmt.Errorf("want NAME=value")
	}
	name = strings.TrimSpace(name)
	if !ValidEnvName(name) {
		return "", "", fmt.Errorf("%q is not a variable name ([A-Za-z_][A-Za-z0-9_]*)", name)
	}
	return name, strings.TrimSpace(rest), nil
}

// dotenvUnquoted returns an unquoted value without its comment.
func dotenvUnquoted(s string) string {
	if s != "" && s[0] == '#' {
		return ""
	}
	for i := 1; i < len(s); i++ {
		if s[i] == '#' && (s[i-1] == ' ' || s[i-1] == '\t') {
			return strings.TrimSpace(s[:i])
		}
	}
	return s
}

// dotenvSingle returns the value of a single-quoted string whose opening
// quote is already consumed.
func dotenvSingle(s string) (string, error) {
	end := strings.IndexByte(s, '\'')
	if end < 0 {
		return "", fmt.Errorf("unterminated single-quoted value")
	}
	return s[:end], dotenvTail(s[end+1:])
}

// dotenvDouble returns the value of a double-quoted string whose opening
// quote is already consumed; more returns the next line of the file when
// the value goes on past the end of s.
func dotenvDouble(s string, more func() (string, bool)) (string, error) {
	var b strings.Builder
	for {
		for i := 0; i < len(s); i++ {
			c := s[i]
			switch {
			case c == '"':
				return b.String(), dotenvTail(s[i+1:])
			case c == '\\' && i+1 < len(s):
				i++
				switch s[i] {
				case 'n':
					b.WriteByte('\n')
				case 'r':
					b.WriteByte('\r')
				case 't':
					b.WriteByte('\t')
				case '"', '\\', '$':
					b.WriteByte(s[i])
				default:
					b.WriteByte('\\')
					b.WriteByte(s[i])
				}
			default:
				b.WriteByte(c)
			}
		}
		next, ok := more()
		if !ok {
			return "", fmt.Errorf("unterminated double-quoted value")
		}
		b.WriteByte('\n')
		s = next
	}
}

// dotenvTail checks what follows a closing quote: nothing, or a comment.
func dotenvTail(s string) error {
	s = strings.TrimSpace(s)
	if s == "" || s[0] == '#' {
		return nil
	}
	return fmt.Errorf("unexpected text after the closing quote")
}

// ValidEnvName reports whether s is a usable environment variable name:
// [A-Za-z_][A-Za-z0-9_]*.
func ValidEnvName(s string) bool {
	if s == "" || '0' <= s[0] && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}
