package config

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
)

// Account is the user (and group) a job's commands run as (user, group),
// looked up at Load.
type Account struct {
	User   string   // the user name, for USER and LOGNAME
	UID    uint32   // the user's ID
	GID    uint32   // group's ID, else the user's primary group
	Groups []uint32 // the user's supplementary groups (with GID)
	Home   string   // the user's home directory, for HOME
	Switch bool     // karajo runs as root: the commands get these credentials (else they are karajo's own)
}

// lookupUser and lookupGroup are os/user's, replaced by tests.
var (
	lookupUser  = user.Lookup
	lookupGroup = user.LookupGroup
	geteuid     = os.Geteuid
)

// account checks a job's user and group. Only a server running as root
// may switch users; without root, user must name karajo's own user and
// group its own group, and nothing is switched (Switch false).
func (c *checker) account(file, table, userName, groupName string) *Account {
	if userName == "" && groupName == "" {
		return nil
	}
	if userName == "" {
		c.fail(file, table+".group", "group needs user: set the user the commands run as")
		return nil
	}
	u, err := lookupUser(userName)
	if err != nil {
		c.fail(file, table+".user", "unknown user %q: %v", userName, err)
		return nil
	}
	a := &Account{User: u.Username, Home: u.HomeDir}
	if a.UID, err = parseID(u.Uid); err == nil {
		a.GID, err = parseID(u.Gid)
	}
	if err != nil {
		c.fail(file, table+".user", "user %q: %v", userName, err)
		return nil
	}
	if groupName != "" {
		g, err := lookupGroup(groupName)
		if err != nil {
			c.fail(file, table+".group", "unknown group %q: %v", groupName, err)
			return nil
		}
		if a.GID, err = parseID(g.Gid); err != nil {
			c.fail(file, table+".group", "group %q: %v", groupName, err)
			return nil
		}
	}
	if ids, err := u.GroupIds(); err == nil {
		for _, s := range ids {
			if id, err := parseID(s); err == nil {
				a.Groups = append(a.Groups, id)
			}
		}
	}
	if a.Switch = geteuid() == 0; !a.Switch {
		if int(a.UID) != geteuid() {
			c.fail(file, table+".user", "%q is not karajo's own user, and karajo does not run as root: it cannot switch users", userName)
		} else if groupName != "" && int(a.GID) != os.Getegid() {
			c.fail(file, table+".group", "%q is not karajo's own group, and karajo does not run as root", groupName)
		}
	}
	return a
}

// parseID parses a numeric user or group ID.
func parseID(s string) (uint32, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("ID %q is not a number", s)
	}
	return uint32(n), nil
}
