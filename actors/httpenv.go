package actors

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/karajo/karajo/config"
	"github.com/karajo/karajo/logstore"
)

// httpTarget returns the URL a JobHttp calls on run counter: http_url with
// its variables expanded (config.JobHTTP.Expand), on this server (self)
// when it is a path. Load has checked that every variable is defined.
func httpTarget(c *config.JobHTTP, self string, counter int64) (string, error) {
	target, err := c.Expand(c.HTTPURL, counter)
	if err != nil {
		return "", fmt.Errorf("http_url: %w", err)
	}
	if strings.HasPrefix(target, "/") {
		target = self + target
	}
	return target, nil
}

// httpHeaders returns the configured headers of a JobHttp with their
// values expanded for run counter.
func httpHeaders(c *config.JobHTTP, counter int64) ([][2]string, error) {
	out := make([][2]string, 0, len(c.Headers))
	for _, h := range c.Headers {
		v, err := c.Expand(h[1], counter)
		if err != nil {
			return nil, fmt.Errorf("header %s: %w", h[0], err)
		}
		out = append(out, [2]string{h[0], v})
	}
	return out, nil
}

// httpSucceeded reports whether status makes a JobHttp run successful:
// one of http_success (default 200 alone, as v0.9.3).
func httpSucceeded(c *config.JobHTTP, status int) bool {
	if len(c.HTTPSuccess) == 0 {
		return status == 200
	}
	return slices.Contains(c.HTTPSuccess, status)
}

// maskErr returns err with the secrets in its text masked, for the run's
// last log line and karajo's own log; nil stays nil.
func maskErr(err error, secrets []string) error {
	if err == nil || len(secrets) == 0 {
		return err
	}
	if s := logstore.MaskString(err.Error(), secrets); s != err.Error() {
		return errors.New(s)
	}
	return err
}
