package config

import (
	"maps"
	"reflect"
	"slices"
	"strings"
	"unicode"
)

// Changes is what a reload changes besides the jobs: the [karajo] keys,
// the notifs and the users, by name. It never holds a value, so it may be
// logged whatever the keys hold (secrets, password hashes).
type Changes struct {
	Settings      []string // [karajo] keys whose value changed, e.g. "karajo.max_job_running"; sorted
	NeedRestart   []string // those of Settings that take effect only at the next start
	NotifsAdded   []string // sorted names
	NotifsRemoved []string
	NotifsChanged []string
	UsersAdded    []string
	UsersRemoved  []string
	UsersChanged  []string // password changed
}

// RestartKeys are the [karajo] keys a reload cannot apply: the listener
// and the directory of every log and state file are opened once, at start.
var RestartKeys = []string{"cluster", "karajo.dir_base", "karajo.idle_timeout", "karajo.listen_address"}

// settingKeys maps the fields of Env (and of Env.Limits) to their TOML
// keys where the key is not the field's name in snake case.
var settingKeys = map[string]string{
	"HTTPTimeout": "karajo.http_timeout",
	"Environ":     "karajo.env/env_file/inherit_env",
	"Cluster":     "cluster",
}

// notSettings are the fields of Env that are not [karajo] keys or are
// compared on their own (Diff).
var notSettings = map[string]bool{
	"File": true, "SecretGenerated": true, "Notifs": true, "Jobs": true, "JobHTTPs": true,
	"Users": true, "Location": true, "Warnings": true, "Limits": true,
}

// Diff returns what changes from e to next, jobs aside (the engine
// reports those).
func (e *Env) Diff(next *Env) Changes {
	var ch Changes
	ch.Settings = diffFields(reflect.ValueOf(*e), reflect.ValueOf(*next))
	ch.Settings = append(ch.Settings, diffFields(reflect.ValueOf(e.Limits), reflect.ValueOf(next.Limits))...)
	slices.Sort(ch.Settings)
	for _, k := range ch.Settings {
		if slices.Contains(RestartKeys, k) {
			ch.NeedRestart = append(ch.NeedRestart, k)
		}
	}
	ch.NotifsAdded, ch.NotifsRemoved, ch.NotifsChanged = diffMaps(e.Notifs, next.Notifs)
	ch.UsersAdded, ch.UsersRemoved, ch.UsersChanged = diffMaps(e.Users, next.Users)
	return ch
}

// Empty reports whether nothing changed.
func (ch Changes) Empty() bool {
	return len(ch.Settings)+len(ch.NotifsAdded)+len(ch.NotifsRemoved)+len(ch.NotifsChanged)+
		len(ch.UsersAdded)+len(ch.UsersRemoved)+len(ch.UsersChanged) == 0
}

// diffFields returns the TOML keys of the fields of two structs of one
// type whose values differ, skipping notSettings.
func diffFields(a, b reflect.Value) []string {
	var keys []string
	for i := range a.NumField() {
		name := a.Type().Field(i).Name
		if notSettings[name] || reflect.DeepEqual(a.Field(i).Interface(), b.Field(i).Interface()) {
			continue
		}
		keys = append(keys, settingKey(name))
	}
	return keys
}

// settingKey returns the TOML key of a field of Env or Limits.
func settingKey(field string) string {
	if k, ok := settingKeys[field]; ok {
		return k
	}
	var b strings.Builder
	b.WriteString("karajo.")
	for i, r := range field {
		if unicode.IsUpper(r) {
			// a new word starts at an upper-case letter after a lower-case
			// one, or before a lower-case one (HTTPTimeout → http_timeout)
			prevLower := i > 0 && unicode.IsLower(rune(field[i-1]))
			nextLower := i+1 < len(field) && unicode.IsLower(rune(field[i+1]))
			if i > 0 && (prevLower || nextLower && unicode.IsUpper(rune(field[i-1]))) {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// diffMaps returns the keys only in b, only in a, and in both with
// different values, each sorted.
func diffMaps[V any](a, b map[string]V) (added, removed, changed []string) {
	for _, k := range slices.Sorted(maps.Keys(b)) {
		old, ok := a[k]
		switch {
		case !ok:
			added = append(added, k)
		case !reflect.DeepEqual(old, b[k]):
			changed = append(changed, k)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(a)) {
		if _, ok := b[k]; !ok {
			removed = append(removed, k)
		}
	}
	return added, removed, changed
}
