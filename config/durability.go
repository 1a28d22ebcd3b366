package config

// durabilityTOML is the key of [karajo] and of each job table that caps a
// run's log (issue 14); karajoTOML, jobTOML and jobHTTPTOML embed it.
type durabilityTOML struct {
	MaxLogBytes      *int64 `toml:"max_log_bytes"`
	HistoryRetention *int   `toml:"history_retention"` // issue 17 (history.go)
}

// MinMaxLogBytes is the smallest max_log_bytes other than 0 (no cap): the
// marker line and the run's status lines must fit beside some output.
const MinMaxLogBytes = 1024

// maxLogBytes checks a max_log_bytes value: absent gives def, 0 means no
// cap, and anything else must be at least MinMaxLogBytes.
func (c *checker) maxLogBytes(file, key string, t durabilityTOML, def int64) int64 {
	v := t.MaxLogBytes
	switch {
	case v == nil:
		return def
	case *v == 0:
		return 0
	case *v < MinMaxLogBytes:
		c.fail(file, key, "must be 0 (no cap) or at least %d bytes, got %d", MinMaxLogBytes, *v)
		return def
	}
	return *v
}
