package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/karajo/karajo/config"
)

// Exit codes of the client subcommands (docs/cli.md).
const (
	exitOK      = 0 // done
	exitServer  = 1 // the server failed (5xx, not an envelope) or is unreachable
	exitUsage   = 2 // bad flag, argument or configuration
	exitRefused = 3 // the server refused: 401, 403, 404, 412, 429 (and other 4xx)
)

// defaultURL is the server a client talks to when nothing else says.
const defaultURL = "http://127.0.0.1:31937"

// conn is where a client command sends its requests and how it signs them.
type conn struct {
	URL    string // base URL without a trailing slash, e.g. http://127.0.0.1:31937
	Secret string // the [karajo] secret; "" = unsigned
}

// connection resolves the server URL and secret: a flag wins, then
// KARAJO_URL / KARAJO_SECRET, then the server's configuration file
// cfgPath (its listen_address and secret), then defaultURL.
func connection(flagURL, flagSecret, cfgPath string) (conn, error) {
	c := conn{URL: flagURL, Secret: flagSecret}
	if c.URL == "" {
		c.URL = os.Getenv("KARAJO_URL")
	}
	if c.Secret == "" {
		c.Secret = os.Getenv("KARAJO_SECRET")
	}
	if cfgPath != "" && (c.URL == "" || c.Secret == "") {
		env, err := config.Load(cfgPath)
		if err != nil {
			return c, fmt.Errorf("-config %s: %s", cfgPath, strings.Join(configProblems(err), "; "))
		}
		if c.URL == "" {
			c.URL = "http://" + dialAddress(env.ListenAddress)
		}
		if c.Secret == "" {
			c.Secret = configSecret(env)
		}
	}
	if c.URL == "" {
		c.URL = defaultURL
	}
	c.URL = strings.TrimRight(c.URL, "/")
	if !strings.HasPrefix(c.URL, "http://") && !strings.HasPrefix(c.URL, "https://") {
		return c, errors.New("server URL " + fmt.Sprintf("%q", c.URL) + ": want http:// or https://")
	}
	return c, nil
}

// configSecret is the secret a server with env signs with: the
// configured one, or the one it generated and saved for its run
// (main.go's writeSecret), or "" when that file cannot be read.
func configSecret(env *config.Env) string {
	if !env.SecretGenerated {
		return env.Secret
	}
	b, err := os.ReadFile(filepath.Join(env.DirBase, "var", "run", "karajo", "secret"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// dialAddress turns a listen address into one a client can dial: an
// unspecified host (":31937", "0.0.0.0:…", "[::]:…") becomes loopback.
func dialAddress(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
