package config

import "time"

// DefaultReplayWindow is how long a job remembers the webhook delivery
// ids it accepted (issue 15).
const DefaultReplayWindow = 24 * time.Hour

// replayTOML is the [job] key of replay protection (issue 15).
type replayTOML struct {
	ReplayWindow duration `toml:"replay_window"`
}

// replayWindow checks replay_window: a Go duration, at least 1m; absent
// or 0 is DefaultReplayWindow.
func (c *checker) replayWindow(file, key string, t replayTOML) time.Duration {
	d := c.duration(file, key, t.ReplayWindow)
	switch {
	case d == 0:
		return DefaultReplayWindow
	case d < time.Minute:
		c.fail(file, key, "must be at least 1m, got %v", d)
	}
	return d
}
