package config

import (
	"os/user"
	"reflect"
	"strings"
	"testing"
)

// fakeAccounts replaces the user and group lookups and the effective user
// for one test (not parallel).
func fakeAccounts(t *testing.T, euid int) {
	old1, old2, old3 := lookupUser, lookupGroup, geteuid
	t.Cleanup(func() { lookupUser, lookupGroup, geteuid = old1, old2, old3 })
	lookupUser = func(name string) (*user.User, error) {
		switch name {
		case "deploy":
			return &user.User{Username: "deploy", Uid: "2000", Gid: "2000", HomeDir: "/home/deploy"}, nil
		case "self":
			return &user.User{Username: "self", Uid: "1000", Gid: "1000", HomeDir: "/home/self"}, nil
		}
		return nil, user.UnknownUserError(name)
	}
	lookupGroup = func(name string) (*user.Group, error) {
		if name == "www" {
			return &user.Group{Name: "www", Gid: "33"}, nil
		}
		return nil, user.UnknownGroupError(name)
	}
	geteuid = func() int { return euid }
}

func TestAccountAsRoot(t *testing.T) {
	fakeAccounts(t, 0)
	env, err := loadString(t, "[job.a]\ncommands = [\"x\"]\nuser = \"deploy\"\ngroup = \"www\"\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := env.Jobs[0].RunAs
	want := &Account{User: "deploy", UID: 2000, GID: 33, Home: "/home/deploy", Switch: true}
	got.Groups = nil // from the real group database: not faked
	if !reflect.DeepEqual(got, want) {
		t.Errorf("RunAs = %+v, want %+v", got, want)
	}
	_, err = loadString(t, "[job.a]\ncommands = [\"x\"]\nuser = \"ghost\"\n[job.b]\ncommands = [\"x\"]\nuser = \"deploy\"\ngroup = \"nogrp\"\n[job.c]\ncommands = [\"x\"]\ngroup = \"www\"\n", nil)
	for _, w := range []string{`job."a".user: unknown user "ghost"`, `job."b".group: unknown group "nogrp"`, `job."c".group: group needs user`} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("Load error = %v, want %q", err, w)
		}
	}
}

func TestAccountWithoutRoot(t *testing.T) {
	fakeAccounts(t, 1000)
	_, err := loadString(t, "[job.a]\ncommands = [\"x\"]\nuser = \"deploy\"\n", nil)
	if err == nil || !strings.Contains(err.Error(), `job."a".user: "deploy" is not karajo's own user, and karajo does not run as root`) {
		t.Errorf("Load error = %v, want a refusal", err)
	}
	env, err := loadString(t, "[job.a]\ncommands = [\"x\"]\nuser = \"self\"\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	if a := env.Jobs[0].RunAs; a == nil || a.Switch || a.Home != "/home/self" {
		t.Errorf("RunAs = %+v, want karajo's own user, not switched", a)
	}
}
