package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// clientCommands are the subcommands that talk to a server (or, for
// sign, compute what a client sends), by name.
var clientCommands = map[string]func(name string, args []string, stdout, stderr io.Writer) int{
	"sign": signCmd,
}

// signature is the lowercase hex HMAC-SHA256 of body with secret: the
// X-Karajo-Sign of every signed request.
func signature(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// signCmd runs `karajo sign [-secret S | -config FILE] BODY`: it prints
// the X-Karajo-Sign value of BODY (taken byte for byte; "-" reads it from
// stdin), for curl users. The secret comes from -secret, KARAJO_SECRET or
// the [karajo] secret of -config FILE.
func signCmd(name string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("karajo "+name, flag.ContinueOnError)
	secret := fs.String("secret", "", "the [karajo] secret (default $KARAJO_SECRET)")
	cfgPath := fs.String("config", "", "take the secret from this server configuration")
	if ok, code := parseClient(fs, args, stderr, "sign [-secret S | -config FILE] BODY   (BODY - reads stdin)", 1, 1); !ok {
		return code
	}
	conn, err := connection("", *secret, *cfgPath)
	if err != nil {
		return usageErr(stderr, name, err.Error())
	}
	if conn.Secret == "" {
		return usageErr(stderr, name, "no secret: give -secret S, KARAJO_SECRET or -config FILE")
	}
	body := []byte(fs.Arg(0))
	if fs.Arg(0) == "-" {
		if body, err = io.ReadAll(os.Stdin); err != nil {
			fmt.Fprintf(stderr, "karajo %s: read stdin: %v\n", name, err)
			return exitServer
		}
	}
	fmt.Fprintln(stdout, signature(conn.Secret, body))
	return exitOK
}

// usageErr prints one usage error line and returns exitUsage.
func usageErr(stderr io.Writer, name, msg string) int {
	fmt.Fprintf(stderr, "karajo %s: %s\n", name, strings.TrimSpace(msg))
	return exitUsage
}
