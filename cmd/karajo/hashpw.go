package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/term"
)

// passwordCost is the bcrypt cost of karajo hash-password: about a quarter
// of a second per login on a current machine, slow enough against offline
// guessing and still quick for a person.
const passwordCost = 12

// maxPasswordLine bounds the line read from stdin.
const maxPasswordLine = 4096

// hashPassword runs `karajo hash-password [name]`: it reads one line from
// stdin, trims it as login does (SPEC 4.4.1), and prints its bcrypt hash,
// then, given a name, a ready-to-paste user.toml entry on stdout. When
// stdin is a terminal it prompts on stderr and reads without echo. It
// returns the exit code: 0, or 1 with a message on stderr.
func hashPassword(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return hashPasswordCost(args, stdin, stdout, stderr, passwordCost)
}

// hashPasswordCost is hashPassword with the bcrypt cost given (tests use
// bcrypt.MinCost).
func hashPasswordCost(args []string, stdin io.Reader, stdout, stderr io.Writer, cost int) int {
	fail := func(err error) int {
		fmt.Fprintf(stderr, "karajo hash-password: %v\n", err)
		return 1
	}
	if len(args) > 1 {
		return fail(fmt.Errorf("usage: karajo hash-password [name] < password; got %d arguments", len(args)))
	}
	var name string
	if len(args) == 1 {
		name = args[0]
		if err := checkUserName(name); err != nil {
			return fail(err)
		}
	}
	in := stdin
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "Password: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return fail(fmt.Errorf("read password: %w", err))
		}
		in = strings.NewReader(string(b))
	}
	password, err := readPassword(in)
	if err != nil {
		return fail(err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return fail(fmt.Errorf("hash: %w", err))
	}
	if name == "" {
		fmt.Fprintf(stdout, "%s\n", hash)
		return 0
	}
	fmt.Fprintf(stdout, "%s\n\n# in $dir_base/etc/karajo/user.toml:\n[user.%s]\npassword = %q\n", hash, tomlQuote(name), hash)
	return 0
}

// readPassword reads the first line of r, without its line ending and
// trimmed of surrounding white space, as login trims what it gets. Empty
// or longer than bcrypt's 72 bytes is an error.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReaderSize(io.LimitReader(r, maxPasswordLine), 512).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	p := strings.TrimSpace(line)
	switch {
	case p == "":
		return "", errors.New("empty password: give one line on stdin")
	case len(p) > 72:
		return "", fmt.Errorf("password of %d bytes: bcrypt takes at most 72", len(p))
	}
	return p, nil
}

// checkUserName refuses a user name that cannot be a user.toml key as
// tomlQuote writes it.
func checkUserName(name string) error {
	if name == "" {
		return errors.New("empty user name")
	}
	for _, c := range name {
		if c < 0x20 || c == 0x7f {
			return fmt.Errorf("user name %q holds a control character", name)
		}
	}
	return nil
}

// tomlQuote returns name as a TOML basic string: in quotes, with '"' and
// '\' escaped (checkUserName has refused control characters).
func tomlQuote(name string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(name) + `"`
}
