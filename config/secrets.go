package config

import (
	"fmt"
	"strings"
)

// secretList checks the secret key of a job table (key names it): a
// string, or a list of strings for rotation (issue 15), where any listed
// secret verifies a webhook and the first signs what karajo sends. It
// returns the secrets in order, nil when the key is absent or an empty
// string (the v0.9.3 meaning: not configured). trim trims each value of
// spaces, as a job's secret is; a JobHTTP's is kept as configured. An
// empty list, or an empty value in a list, is refused: a list is an
// explicit set of secrets, and an empty one would verify nothing (or,
// read as "not configured", silently fall back to [karajo] secret).
// The reasons never quote a secret.
func (c *checker) secretList(file, key string, v any, trim bool) []string {
	clean := func(s string) string {
		if trim {
			return strings.TrimSpace(s)
		}
		return s
	}
	switch v := v.(type) {
	case nil:
		return nil
	case string:
		if clean(v) == "" {
			return nil
		}
		return []string{clean(v)}
	case []any:
		if len(v) == 0 {
			c.fail(file, key, "empty list: list at least one secret, or remove the key")
			return nil
		}
		out := make([]string, 0, len(v))
		for i, e := range v {
			s, ok := e.(string)
			switch {
			case !ok:
				c.fail(file, fmt.Sprintf("%s[%d]", key, i), "is %s, want a string", tomlKind(e))
			case strings.TrimSpace(s) == "":
				c.fail(file, fmt.Sprintf("%s[%d]", key, i), "empty secret in the list: it would verify nothing")
			default:
				out = append(out, clean(s))
			}
		}
		return out
	default:
		c.fail(file, key, "is %s, want a string or a list of strings", tomlKind(v))
		return nil
	}
}

// tomlKind names the TOML type of a decoded value, for a reason that
// must not quote the value itself.
func tomlKind(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int64, int, uint64:
		return "an integer"
	case float64:
		return "a float"
	case []any:
		return "a list"
	case map[string]any:
		return "a table"
	default:
		return fmt.Sprintf("a %T", v)
	}
}
