package config

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// invalidCases maps each entry of testdata/invalid to the errors Load must
// return for it, in order: one text fragment per joined error. An entry that is a directory is a
// dir_base layout whose main file is etc/karajo/karajo.toml.
var invalidCases = map[string][]string{
	// SPEC 2.8: syntax and types.
	"syntax.toml":              {"syntax.toml:1:8: invalid configuration: expected ']' to close table name"},
	"duplicate_table.toml":     {`duplicate_table.toml:3:2: invalid configuration: job."a": table a already exists`},
	"wrong_type.toml":          {"wrong_type.toml:2:19: invalid configuration: karajo.max_job_running: cannot decode TOML string into int"},
	"wrong_type_commands.toml": {`wrong_type_commands.toml:2:12: invalid configuration: job."a".commands: cannot decode TOML string into []string`},
	// Durations.
	"bad_interval.toml":         {`bad_interval.toml: job."Backup".interval: invalid duration "5" (want a Go duration such as "90s" or "5m"): time: missing unit`},
	"bad_interval_int.toml":     {`bad_interval_int.toml: job."Backup".interval: invalid duration "5"`},
	"bad_env_http_timeout.toml": {`bad_env_http_timeout.toml: karajo.http_timeout: invalid duration "soon"`},
	"bad_job_http_timeout.toml": {`job_http."ping".http_timeout: invalid duration "10 s"`},
	// Schedules and commands.
	"unknown_schedule.toml": {`unknown_schedule.toml: job_http."ping".schedule: unknown schedule kind "yearly"`},
	"no_commands.toml":      {`no_commands.toml: job."Nothing".commands: missing`},
	"empty_commands.toml":   {`job."Nothing".commands: missing`},
	// JobHTTP.
	"bad_http_method.toml":     {`job_http."ping".http_method: invalid HTTP method "PATCH"`},
	"bad_request_type.toml":    {`job_http."ping".http_request_type: invalid HTTP request type "xml"`},
	"header_no_colon.toml":     {`job_http."ping".http_headers: invalid header "nocolon"`},
	"header_bad_name.toml":     {`job_http."ping".http_headers: invalid header "Bad Name: b": "Bad Name" is not a valid header name`},
	"header_bad_value.toml":    {`job_http."ping".http_headers: invalid header "X-A: b\r\nX-Injected: c": control character in the value`},
	"empty_http_url.toml":      {`empty_http_url.toml: job_http."ping".http_url: missing`},
	"unparsable_http_url.toml": {`job_http."ping".http_url: invalid http_url "http://[::1"`},
	"http_url_scheme.toml":     {`job_http."ping".http_url: invalid http_url "ftp://example.com/x"`},
	"http_url_relative.toml":   {`job_http."ping".http_url: invalid http_url "karajo/api"`},
	"http_url_no_host.toml":    {`job_http."ping".http_url: invalid http_url "https:///x": no host`},
	"http_url_bad_path.toml":   {`job_http."ping".http_url: invalid http_url "/a%zz"`},
	// Secret lists (issue 15): file, job, key (with the position) and reason.
	"secret_list_empty_entry.toml":  {`secret_list_empty_entry.toml: job."deploy".secret[1]: empty secret in the list`},
	"secret_list_empty.toml":        {`secret_list_empty.toml: job."deploy".secret: empty list`},
	"secret_wrong_type.toml":        {`secret_wrong_type.toml: job_http."ping".secret: is an integer, want a string or a list of strings`},
	"secret_list_wrong_type.toml":   {`secret_list_wrong_type.toml: job."deploy".secret[1]: is an integer, want a string`},
	"unknown_auth_kind.toml":        {`unknown_auth_kind.toml: job."deploy".auth_kind: unknown kind "bitbucket": want one of hmac-sha256, github, sourcehut, gitlab, gitea, hmac-sha1, hmac-sha512`},
	"replay_window_short.toml":      {`replay_window_short.toml: job."deploy".replay_window: must be at least 1m, got 10s`},
	"allow_from_bad.toml":           {`allow_from_bad.toml: job."deploy".allow_from[0]: "10.0.0.0/33": want an IP address or a CIDR prefix`},
	"events_no_header.toml":         {`events_no_header.toml: job."deploy".events: auth_kind "hmac-sha256" sends no event header`},
	"refs_bad.toml":                 {`refs_bad.toml: job."deploy".refs[0]: "refs/heads/[" is not a valid pattern`},
	"require_epoch_github.toml":     {`require_epoch_github.toml: job."deploy".require_epoch: auth_kind "github": only hmac-sha256, hmac-sha1 and hmac-sha512 bodies carry _karajo_epoch`},
	"require_delivery_id_hmac.toml": {`require_delivery_id_hmac.toml: job."deploy".require_delivery_id: auth_kind "hmac-sha256" sends no delivery id`},
	"delivery_retention_bad.toml":   {`delivery_retention_bad.toml: job."deploy".delivery_retention: must be 1 to 10000, got -1`},
	// Notifs.
	"notif_kind.toml":      {`notif_kind.toml: notif."chat".kind: unknown kind "matrix": want one of email, webhook, slack`},
	"notif_kind_case.toml": {`notif."mail".kind: unknown kind "Email"`},
	"notif_scheme.toml":    {`notif."mail".smtp_server: unknown scheme "imap"`},
	"notif_no_server.toml": {`notif."mail".smtp_server: missing`},
	"notif_no_host.toml":   {`notif."mail".smtp_server: no host`},
	"notif_bad_port.toml":  {`notif."mail".smtp_server: port "70000"`},
	// [karajo].
	"listen_no_port.toml":  {`listen_no_port.toml: karajo.listen_address: "localhost": want host:port`},
	"listen_bad_port.toml": {`karajo.listen_address: "127.0.0.1:http": port "http" is not a number`},
	// Unknown keys and tables ([IMP-39]): file, line, column, table, key.
	"unknown_key.toml":      {`unknown_key.toml:6:1: invalid configuration: unknown key intervall in table job."Backup"`},
	"unknown_key_top.toml":  {`unknown_key_top.toml:1:1: invalid configuration: unknown key secret at top level`},
	"unknown_table.toml":    {`unknown_table.toml:1:2: invalid configuration: unknown table jobs.Backup`},
	"unknown_subtable.toml": {`unknown_subtable.toml:3:2: invalid configuration: unknown table job."Backup".envs`},
	// Collisions ([IMP-1]) and paths.
	"colliding_ids.toml":      {`colliding_ids.toml: job."backup_job": ID "backup_job" is also the ID of job "Backup job" in testdata/invalid/colliding_ids.toml`},
	"colliding_http_ids.toml": {`job_http."ping?": ID "ping_" is also the ID of job_http "Ping!" in testdata/invalid/colliding_http_ids.toml`},
	"colliding_paths.toml":    {`job."b".path: path "hook" collides with path "/Hook/" of job "a" in testdata/invalid/colliding_paths.toml`},
	"path_slashes.toml":       {`job."a".path: "///" has nothing but '/'`},
	"path_query.toml":         {`job."a".path: "/hook?x=1" must not contain '?' or '#'`},
	"path_space.toml":         {`job."a".path: "/my hook" must not contain white space`},
	"path_nul.toml":           {`job."a".path: "/a\x00b" must not contain white space or control characters`},
	"path_dotdot.toml":        {`job."a".path: "/../environment" must not contain . or .. segments`},
	// References, secrets, headers.
	"unknown_notif.toml":            {`job."a".notif_on_failed: unknown notif "pager"`},
	"unknown_notif_http.toml":       {`job_http."ping".notif_on_success: unknown notif "mail"`},
	"webhook_no_secret.toml":        {`webhook_no_secret.toml: job."Deploy".secret: webhook needs a secret: set secret here or in [karajo]`},
	"webhook_no_secret_github.toml": {`job."Deploy".secret: webhook needs a secret`},
	"bad_header_sign.toml":          {`job."a".header_sign: "X Sign" is not a valid HTTP header name`},
	// Silent corrections of v0.9.3, refused since issue 16.
	"log_retention_zero.toml":     {`log_retention_zero.toml: job."a".log_retention: must be at least 1, got 0 (leave the key out for the default 5)`},
	"log_retention_negative.toml": {`log_retention_negative.toml: job_http."ping".log_retention: must be at least 1, got -1`},
	"max_job_running_zero.toml":   {`max_job_running_zero.toml: karajo.max_job_running: must be at least 1, got 0 (leave the key out for the default 1)`},
	// dir_base layouts.
	"misplaced": {
		`misplaced/etc/karajo/job.d/a.toml:1:2: invalid configuration: table karajo is not read here: [karajo] is read from the main file testdata/invalid/misplaced/etc/karajo/karajo.toml only; move it there`,
		`misplaced/etc/karajo/job.d/a.toml:4:2: invalid configuration: table notif."ops" is not read here: [notif] is read from the main file testdata/invalid/misplaced/etc/karajo/karajo.toml only; move it there`,
		`misplaced/etc/karajo/job.d/a.toml:12:2: invalid configuration: table job_http."Ping" is not read here: [job_http] tables live in the main file or in job_http.d/; move it there`,
		`misplaced/etc/karajo/job.d/a.toml:15:2: invalid configuration: table user."bob" is not read here: [user] tables live in user.toml; move it there`,
		`misplaced/etc/karajo/job.d/a.toml:18:2: invalid configuration: table cluster is not read here: [cluster] is read from the main file testdata/invalid/misplaced/etc/karajo/karajo.toml only; move it there`,
		`misplaced/etc/karajo/job_http.d/b.toml:1:2: invalid configuration: table job."Not here" is not read here: [job] tables live in the main file or in job.d/; move it there`,
		`misplaced/etc/karajo/job_http.d/b.toml:8:2: invalid configuration: unknown table jobs.typo`,
		`misplaced/etc/karajo/karajo.toml: job."Backup".notif_on_failed: unknown notif "ops"`,
	},
	"baduser": {
		`baduser/etc/karajo/user.toml:6:1: invalid configuration: unknown key pasword in table user."bob"`,
		`baduser/etc/karajo/user.toml:8:2: invalid configuration: unknown table admin`,
		`baduser/etc/karajo/user.toml: user."alice".password: not a bcrypt hash`,
	},
	"badjobd": {
		`badjobd/etc/karajo/job.d/a.toml:3:1: invalid configuration: unknown key shedule in table job."Clean"`,
		`badjobd/etc/karajo/job.d/c.toml:2:17: invalid configuration: job."Typed".log_retention: cannot decode TOML string into int`,
		`badjobd/etc/karajo/job_http.d/x.toml:1:14: invalid configuration: expected ']'`,
		`badjobd/etc/karajo/karajo.toml: job."Backup": ID "backup" is also the ID of job "BACKUP" in testdata/invalid/badjobd/etc/karajo/job.d/b.toml`,
	},
}

// positioned matches the start of a decoding error: file:line:col.
var positioned = regexp.MustCompile(`^[^:]+\.toml:\d+:\d+: invalid configuration: `)

func TestLoadInvalid(t *testing.T) {
	entries, err := os.ReadDir(filepath.Join("testdata", "invalid"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		if _, ok := invalidCases[e.Name()]; !ok {
			t.Errorf("testdata/invalid/%s has no entry in invalidCases", e.Name())
		}
	}
	for name, want := range invalidCases {
		t.Run(name, func(t *testing.T) {
			if !slices.Contains(names, name) {
				t.Fatalf("no testdata/invalid/%s", name)
			}
			path := filepath.Join("testdata", "invalid", name)
			if !strings.HasSuffix(name, ".toml") {
				path = filepath.Join(path, "etc", "karajo", "karajo.toml")
			}
			env, err := Load(path)
			if env != nil || err == nil {
				t.Fatalf("Load(%q) = %+v, %v; want an error", path, env, err)
			}
			checkJoined(t, err, want)
		})
	}
}

// checkJoined checks that err joins one error per fragment of want, the
// i-th containing want[i], each wrapping ErrInvalid and being a *FieldError
// or a decoding error starting with file:line:col.
func checkJoined(t *testing.T, err error, want []string) {
	t.Helper()
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("%T is not an errors.Join error", err)
	}
	errs := j.Unwrap()
	if len(errs) != len(want) {
		t.Errorf("got %d errors, want %d:\n%v", len(errs), len(want), err)
	}
	for i, e := range errs {
		if i < len(want) && !strings.Contains(e.Error(), want[i]) {
			t.Errorf("error %d = %v\nwant it to contain %q", i, e, want[i])
		}
		var fe *FieldError
		if !errors.Is(e, ErrInvalid) {
			t.Errorf("%v does not wrap ErrInvalid", e)
		}
		if !errors.As(e, &fe) && !positioned.MatchString(e.Error()) {
			t.Errorf("%q is neither a *FieldError nor file:line:col", e)
		}
	}
}

// TestLoadManyErrors: every problem of a config is reported at once.
func TestLoadManyErrors(t *testing.T) {
	const content = `
[karajo]
listen_address = "nowhere"
http_timeout = "1 minute"
typo = 1

[notif.chat]
kind = "matrix"
smtp_server = "xmpp://chat"

[job."A"]
interval = "fast"
schedule = "yearly"
path = "/hook"
notif_on_failed = ["pager"]

[job."a"]
path = "HOOK/"
commands = ["true"]

[job_http."P"]
http_method = "PATCH"
http_request_type = "xml"
http_headers = ["nocolon"]
http_timeout = "x"
`
	want := []string{
		"karajo.toml:5:1: invalid configuration: unknown key typo in table karajo",
		`karajo.http_timeout: invalid duration "1 minute"`,
		`karajo.listen_address: "nowhere"`,
		`notif."chat".kind: unknown kind "matrix"`,
		`notif."chat".smtp_server: unknown scheme "xmpp"`,
		`job."A".interval: invalid duration "fast"`,
		`job."A".schedule: unknown schedule kind "yearly"`,
		`job."A".secret: webhook needs a secret`,
		`job."A".commands: missing`,
		`job."A".notif_on_failed: unknown notif "pager"`,
		`job."a".secret: webhook needs a secret`,
		`job_http."P".http_method: invalid HTTP method "PATCH"`,
		`job_http."P".http_url: missing`,
		`job_http."P".http_request_type: invalid HTTP request type "xml"`,
		`job_http."P".http_headers: invalid header "nocolon"`,
		`job_http."P".http_timeout: invalid duration "x"`,
		`job."a": ID "a" is also the ID of job "A"`,
		`job."a".path: path "HOOK/" collides with path "/hook" of job "A"`,
	}
	_, err := load(t, content)
	if err == nil {
		t.Fatal("Load: no error")
	}
	checkJoined(t, err, want)
}
