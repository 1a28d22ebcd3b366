package config

// History retention (issue 17): how many run records the history keeps
// per job, far beyond log_retention.
const (
	// DefaultHistoryRetention is history_retention when none is configured.
	DefaultHistoryRetention = 1000
	// MinHistoryRetention and MaxHistoryRetention bound history_retention.
	MinHistoryRetention = 1
	MaxHistoryRetention = 1_000_000
)

// historyRetention checks a history_retention value: absent gives def;
// anything outside [MinHistoryRetention, MaxHistoryRetention] is refused.
func (c *checker) historyRetention(file, key string, t durabilityTOML, def int) int {
	v := t.HistoryRetention
	switch {
	case v == nil:
		return def
	case *v < MinHistoryRetention || *v > MaxHistoryRetention:
		c.fail(file, key, "must be between %d and %d, got %d", MinHistoryRetention, MaxHistoryRetention, *v)
		return def
	}
	return *v
}
