package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestSettingKey(t *testing.T) {
	for field, want := range map[string]string{
		"Name": "karajo.name", "ListenAddress": "karajo.listen_address", "DirBase": "karajo.dir_base",
		"HTTPTimeout": "karajo.http_timeout", "MaxJobRunning": "karajo.max_job_running",
		"MaxBodyBytesInFlight": "karajo.max_body_bytes_in_flight", "MetricsToken": "karajo.metrics_token",
		"IdleTimeout": "karajo.idle_timeout", "IsDevelopment": "karajo.is_development",
	} {
		if got := settingKey(field); got != want {
			t.Errorf("settingKey(%q) = %q, want %q", field, got, want)
		}
	}
}

// TestDiff loads two configurations and compares what Diff reports.
func TestDiff(t *testing.T) {
	const hash = "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"
	const hash2 = "$2y$12$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"
	notif := func(name, host string) string {
		return "[notif." + name + "]\nkind = \"email\"\nsmtp_server = \"smtp://" + host + "\"\n"
	}
	tests := []struct {
		name         string
		before, next string // main files; dir_base is added
		usersBefore  string
		usersNext    string
		want         Changes
	}{
		{name: "nothing", before: "[karajo]\nsecret = \"s\"\n", next: "[karajo]\nsecret = \"s\"\n"},
		{
			name:   "settings, secret named without its value",
			before: "[karajo]\nsecret = \"s\"\nmax_job_running = 1\n",
			next:   "[karajo]\nsecret = \"t\"\nmax_job_running = 2\nhttp_timeout = \"1m\"\nmax_streams = 9\nenv = { A = \"b\" }\n",
			want: Changes{Settings: []string{"karajo.env/env_file/inherit_env", "karajo.http_timeout", "karajo.max_job_running",
				"karajo.max_streams", "karajo.secret"}},
		},
		{
			name:   "restart keys",
			before: "[karajo]\nsecret = \"s\"\nlisten_address = \"127.0.0.1:1\"\n",
			next:   "[karajo]\nsecret = \"s\"\nlisten_address = \"127.0.0.1:2\"\nidle_timeout = \"5m\"\nname = \"x\"\n",
			want: Changes{Settings: []string{"karajo.idle_timeout", "karajo.listen_address", "karajo.name"},
				NeedRestart: []string{"karajo.idle_timeout", "karajo.listen_address"}},
		},
		{
			name:   "notifs",
			before: "[karajo]\nsecret = \"s\"\n" + notif("a", "h") + notif("b", "h") + notif("c", "h"),
			next:   "[karajo]\nsecret = \"s\"\n" + notif("b", "other") + notif("c", "h") + notif("d", "h"),
			want:   Changes{NotifsAdded: []string{"d"}, NotifsRemoved: []string{"a"}, NotifsChanged: []string{"b"}},
		},
		{
			name: "users", before: "[karajo]\nsecret = \"s\"\n", next: "[karajo]\nsecret = \"s\"\n",
			usersBefore: "[user.alice]\npassword = \"" + hash + "\"\n[user.bob]\npassword = \"" + hash + "\"\n",
			usersNext:   "[user.alice]\npassword = \"" + hash2 + "\"\n[user.carol]\npassword = \"" + hash + "\"\n",
			want:        Changes{UsersAdded: []string{"carol"}, UsersRemoved: []string{"bob"}, UsersChanged: []string{"alice"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			a := loadDiffEnv(t, dir, tt.before, tt.usersBefore)
			b := loadDiffEnv(t, dir, tt.next, tt.usersNext)
			got := a.Diff(b)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Diff = %+v, want %+v", got, tt.want)
			}
			if got.Empty() != reflect.DeepEqual(tt.want, Changes{}) {
				t.Errorf("Empty() = %v for %+v", got.Empty(), got)
			}
			if s := strings.Join(got.Settings, " "); strings.Contains(s, "\"t\"") {
				t.Errorf("Settings hold a value: %q", s)
			}
		})
	}
}

// loadDiffEnv writes and loads a main file in dir (also its dir_base) and
// user.toml (none when users is empty).
func loadDiffEnv(t *testing.T, dir, main, users string) *Env {
	t.Helper()
	etc := filepath.Join(dir, "etc", "karajo")
	if err := os.MkdirAll(etc, 0o700); err != nil {
		t.Fatal(err)
	}
	main = strings.Replace(main, "[karajo]\n", "[karajo]\ndir_base = \""+dir+"\"\n", 1)
	p := filepath.Join(dir, "karajo.toml")
	if err := os.WriteFile(p, []byte(main), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(etc, "user.toml"))
	if users != "" {
		if err := os.WriteFile(filepath.Join(etc, "user.toml"), []byte(users), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	return env
}
