package config

// NormalizeID derives a job ID from its configured name (SPEC 1.5). It
// works on the bytes of name: A-Z become a-z; a-z, 0-9, '-' and '_' are
// kept; every other byte becomes '_'. An empty result is "_", and a result
// that starts with a digit or '-' gets a leading '_'. The ID never holds a
// '.'.
func NormalizeID(name string) string {
	id := make([]byte, 0, len(name)+1)
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'A' <= c && c <= 'Z':
			id = append(id, c+('a'-'A'))
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
			id = append(id, c)
		default:
			id = append(id, '_')
		}
	}
	if len(id) == 0 {
		return "_"
	}
	if c := id[0]; !('a' <= c && c <= 'z') && c != '_' {
		id = append([]byte{'_'}, id...)
	}
	return string(id)
}
