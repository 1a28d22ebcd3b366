package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// loadString writes main (and files: name → content, mode 0600) into a
// temporary dir_base and loads it.
func loadString(t *testing.T, main string, files map[string]string) (*Env, error) {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(dir, "karajo.toml")
	main = strings.ReplaceAll(main, "@DIR@", dir)
	if err := os.WriteFile(p, []byte("[karajo]\nsecret = \"s\"\ndir_base = \""+dir+"\"\n"+main), 0o600); err != nil {
		t.Fatal(err)
	}
	return Load(p)
}

func TestEnvironPrecedence(t *testing.T) {
	t.Setenv("KARAJO_TEST_INHERIT", "from-daemon")
	t.Setenv("KARAJO_TEST_NOT_ASKED", "never")
	env, err := loadString(t, `
env = { G = "global", BOTH = "global", FILE_OVER = "global" }
env_file = "global.env"
secret_env = ["G"]

[job.a]
commands = ["env"]
env = { BOTH = "job", J = "job", FILE_OVER = "job", INH = "job" }
env_file = "job.env"
inherit_env = ["KARAJO_TEST_INHERIT", "KARAJO_TEST_UNSET"]
secret_env = ["J"]
`, map[string]string{
		"global.env": "GF=gfile\nFILE_OVER=gfile\n",
		"job.env":    "# comment\nexport JF='jfile'\nFILE_OVER=\"jfile\"\n",
	})
	if err != nil {
		t.Fatal(err)
	}
	got := env.Jobs[0].Environ
	want := []Var{
		{Name: "BOTH", Value: "job"},
		{Name: "FILE_OVER", Value: "jfile", Secret: true},
		{Name: "G", Value: "global", Secret: true},
		{Name: "GF", Value: "gfile", Secret: true},
		{Name: "INH", Value: "job"},
		{Name: "J", Value: "job", Secret: true},
		{Name: "JF", Value: "jfile", Secret: true},
		{Name: "KARAJO_TEST_INHERIT", Value: "from-daemon"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Environ = %+v\nwant %+v", got, want)
	}
	if s := Secrets(got); !reflect.DeepEqual(s, []string{"jfile", "global", "gfile", "job", "jfile"}) {
		t.Errorf("Secrets = %q", s)
	}
	if j := env.Jobs[0]; !reflect.DeepEqual(j.Shell, DefaultShell) || j.Dir != "" {
		t.Errorf("Shell, Dir = %q, %q; want the defaults", j.Shell, j.Dir)
	}
}

func TestEnvironInvalid(t *testing.T) {
	tests := []struct {
		name  string
		main  string
		files map[string]string
		want  []string
	}{
		{"env name", `env = { "BAD-NAME" = "x" }`, nil, []string{`karajo.env: "BAD-NAME" is not a variable name`}},
		{"env_file missing", "env_file = \"nope.env\"", nil, []string{"karajo.env_file: ", "nope.env: no such file"}},
		{"env_file dir", "env_file = \"@DIR@\"", nil, []string{"karajo.env_file: ", "is a directory"}},
		{"env_file syntax", "[job.a]\ncommands=[\"x\"]\nenv_file = \"a.env\"", map[string]string{"a.env": "A=1\n\nB 2\n"}, []string{`job."a".env_file: `, "a.env:3: want NAME=value"}},
		{"inherit name", "[job.a]\ncommands=[\"x\"]\ninherit_env = [\"OK\", \"1X\"]", nil, []string{`job."a".inherit_env[1]: "1X" is not a variable name`}},
		{"secret name", "[job.a]\ncommands=[\"x\"]\nsecret_env = [\"\"]", nil, []string{`job."a".secret_env[0]: "" is not a variable name`}},
		{"dir relative", "[job.a]\ncommands=[\"x\"]\ndir = \"srv\"", nil, []string{`job."a".dir: "srv" is not an absolute path`}},
		{"dir missing", "[job.a]\ncommands=[\"x\"]\ndir = \"@DIR@/none\"", nil, []string{`job."a".dir: `, "no such file or directory"}},
		{"dir file", "[job.a]\ncommands=[\"x\"]\ndir = \"@DIR@/karajo.toml\"", nil, []string{`job."a".dir: `, "is not a directory"}},
		{"shell relative", "[job.a]\ncommands=[\"x\"]\nshell = [\"sh\", \"-c\"]", nil, []string{`job."a".shell: "sh" is not an absolute path`}},
		{"shell empty", "[job.a]\ncommands=[\"x\"]\nshell = []", nil, []string{`job."a".shell: empty`}},
		{"shell not executable", "[job.a]\ncommands=[\"x\"]\nshell = [\"@DIR@/karajo.toml\"]", nil, []string{`job."a".shell: `, "is not an executable file"}},
		{"http_success range", "[job_http.h]\nhttp_url = \"/x\"\nhttp_success = [200, 99, 600]", nil, []string{`job_http."h".http_success[1]: 99 is not an HTTP status code`, `job_http."h".http_success[2]: 600`}},
		{"url undefined var", "[job_http.h]\nhttp_url = \"https://$HOST/x\"", nil, []string{`job_http."h".http_url: undefined variable HOST`}},
		{"header undefined var", "[job_http.h]\nhttp_url = \"/x\"\nhttp_headers = [\"A: b\", \"Authorization: Bearer ${TOKEN}\"]", nil, []string{`job_http."h".http_headers[1]: undefined variable TOKEN`}},
		{"expanded url bad", "env = { U = \"ftp://x\" }\n[job_http.h]\nhttp_url = \"$U/x\"", nil, []string{`job_http."h".http_url: after expansion: invalid http_url "ftp://x/x"`}},
		{"expanded header control", "[job_http.h]\nhttp_url = \"/x\"\nenv_file = \"h.env\"\nhttp_headers = [\"A: $V\"]", map[string]string{"h.env": "V=\"a\\nb\"\n"}, []string{`job_http."h".http_headers[0]: control character in the value after expansion`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadString(t, tt.main, tt.files)
			if err == nil {
				t.Fatalf("Load: no error, want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Load error = %v\nwant it to contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "a\nb") {
				t.Errorf("Load error shows a secret value: %v", err)
			}
		})
	}
}

func TestEnvFileMode(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "w.env")
	if err := os.WriteFile(p, []byte("A=1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o620); err != nil {
		t.Fatal(err)
	}
	_, err := loadString(t, "env_file = \""+p+"\"", nil)
	if err == nil || !strings.Contains(err.Error(), "karajo.env_file: "+p+": writable by group or others (mode 0620)") {
		t.Errorf("Load error = %v, want writable by group or others", err)
	}
}

func TestJobHTTPExpand(t *testing.T) {
	env, err := loadString(t, `
env = { HOST = "127.0.0.1:9" }
[job_http.h]
http_url = "http://$HOST/x?n=${KARAJO_JOB_COUNTER}"
env = { TOKEN = "t" }
http_headers = ["Authorization: Bearer $TOKEN"]
http_success = [200, 204]
http_epoch = false
`, nil)
	if err != nil {
		t.Fatal(err)
	}
	j := env.JobHTTPs[0]
	if u, err := j.Expand(j.HTTPURL, 7); err != nil || u != "http://127.0.0.1:9/x?n=7" {
		t.Errorf("Expand(url) = %q, %v", u, err)
	}
	if !reflect.DeepEqual(j.HTTPSuccess, []int{200, 204}) || !j.NoEpoch {
		t.Errorf("HTTPSuccess, NoEpoch = %v, %v", j.HTTPSuccess, j.NoEpoch)
	}
	if j.HTTPURL != "http://$HOST/x?n=${KARAJO_JOB_COUNTER}" || j.HTTPHeaders[0] != "Authorization: Bearer $TOKEN" {
		t.Errorf("configured text changed: %q %q", j.HTTPURL, j.HTTPHeaders)
	}
}

func TestPayloadKeys(t *testing.T) {
	env, err := loadString(t, `
[job.a]
commands = ["x"]
pass_payload = "FILE"
pass_headers = ["x-github-event", "X-Gitlab-Event"]
payload_env = { REPO = "repository.full_name", REF = "ref" }
`, nil)
	if err != nil {
		t.Fatal(err)
	}
	j := env.Jobs[0]
	if j.PassPayload != PayloadFile || !reflect.DeepEqual(j.PassHeaders, []string{"X-Github-Event", "X-Gitlab-Event"}) {
		t.Errorf("PassPayload, PassHeaders = %q, %q", j.PassPayload, j.PassHeaders)
	}
	want := []PayloadVar{{Name: "REF", Path: []string{"ref"}}, {Name: "REPO", Path: []string{"repository", "full_name"}}}
	if !reflect.DeepEqual(j.PayloadEnv, want) {
		t.Errorf("PayloadEnv = %+v, want %+v", j.PayloadEnv, want)
	}
	if got := HeaderVar("X-GitHub-Event"); got != "KARAJO_HEADER_X_GITHUB_EVENT" {
		t.Errorf("HeaderVar = %q", got)
	}
	_, err = loadString(t, `
[job.b]
commands = ["x"]
header_sign = "X-My-Sign"
pass_payload = "body"
pass_headers = ["Authorization", "cookie", "X-Hub-Signature-256", "x-my-sign", "Bad Header"]
payload_env = { "1X" = "a", KARAJO_REF = "ref", EMPTY = "", DOTS = "a..b" }
`, nil)
	for _, w := range []string{
		`job."b".pass_payload: unknown mode "body"`,
		`job."b".pass_headers[0]: Authorization carries a signature or credentials`,
		`job."b".pass_headers[1]: Cookie carries`,
		`job."b".pass_headers[2]: X-Hub-Signature-256 carries`,
		`job."b".pass_headers[3]: X-My-Sign carries`,
		`job."b".pass_headers[4]: "Bad Header" is not a valid HTTP header name`,
		`job."b".payload_env: "1X" is not a variable name`,
		`job."b".payload_env.KARAJO_REF: the KARAJO_ prefix is karajo's own`,
		`job."b".payload_env.EMPTY: "" is not a dotted JSON path`,
		`job."b".payload_env.DOTS: "a..b" is not a dotted JSON path`,
	} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("Load error = %v\nwant it to contain %q", err, w)
		}
	}
}
