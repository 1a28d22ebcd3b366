package actors

import (
	"syscall"

	"github.com/karajo/karajo/config"
)

// as returns f for commands that run as account a (user =): HOME is the
// user's home, USER and LOGNAME its name. A nil a changes nothing.
func (f runFacts) as(a *config.Account) runFacts {
	if a != nil {
		f.home, f.user = a.Home, a.User
	}
	return f
}

// credential returns the credentials of the commands of cfg: nil (karajo's
// own) unless karajo runs as root and the job names a user.
func credential(cfg *config.Job) *syscall.Credential {
	if cfg == nil || cfg.RunAs == nil || !cfg.RunAs.Switch {
		return nil
	}
	a := cfg.RunAs
	return &syscall.Credential{Uid: a.UID, Gid: a.GID, Groups: a.Groups}
}

// owner returns the uid and gid files for the commands of cfg are given
// (the payload file); -1, -1 when they run as karajo.
func owner(cfg *config.Job) (int, int) {
	if c := credential(cfg); c != nil {
		return int(c.Uid), int(c.Gid)
	}
	return -1, -1
}

// prepareUser readies the job's work directory for a run user before the
// first command (logstore.Store.ShareWorkDir). Logs stay karajo's.
func (r *execRun) prepareUser() error {
	uid, gid := owner(r.cfg)
	if uid < 0 {
		return nil
	}
	return r.store.ShareWorkDir(r.id, uid, gid)
}
