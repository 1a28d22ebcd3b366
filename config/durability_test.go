package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMaxLogBytes checks [karajo] max_log_bytes and its per-job override:
// absent is no cap, a job inherits [karajo], 0 is no cap, and a negative or
// tiny value is refused with file, key and reason.
func TestMaxLogBytes(t *testing.T) {
	tests := []struct {
		name              string
		env, job, jobHTTP string // the max_log_bytes lines, or ""
		wantEnv, wantJob  int64
		wantHTTP          int64
		wantErr           []string
	}{
		{name: "absent", wantEnv: 0, wantJob: 0, wantHTTP: 0},
		{name: "inherited", env: "max_log_bytes = 1048576", wantEnv: 1 << 20, wantJob: 1 << 20, wantHTTP: 1 << 20},
		{name: "overridden", env: "max_log_bytes = 1048576", job: "max_log_bytes = 0", jobHTTP: "max_log_bytes = 2048",
			wantEnv: 1 << 20, wantJob: 0, wantHTTP: 2048},
		{name: "negative", env: "max_log_bytes = -1",
			wantErr: []string{`karajo.toml: karajo.max_log_bytes: must be 0 (no cap) or at least 1024 bytes, got -1`}},
		{name: "tiny in jobs", job: "max_log_bytes = 10", jobHTTP: "max_log_bytes = -5",
			wantErr: []string{`karajo.toml: job."a".max_log_bytes: must be 0 (no cap) or at least 1024 bytes, got 10`,
				`karajo.toml: job_http."h".max_log_bytes: must be 0 (no cap) or at least 1024 bytes, got -5`}},
		{name: "string", env: `max_log_bytes = "1MiB"`, wantErr: []string{`karajo.max_log_bytes: cannot decode TOML string into int64`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "karajo.toml")
			body := "[karajo]\nsecret = \"s\"\n" + tt.env + "\n" +
				"[job.\"a\"]\ncommands = [\"true\"]\n" + tt.job + "\n" +
				"[job_http.\"h\"]\nhttp_url = \"/x\"\n" + tt.jobHTTP + "\n"
			if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			env, err := Load(p)
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("Load = nil error, want %q", tt.wantErr)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("Load error = %v, want it to hold %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if env.MaxLogBytes != tt.wantEnv || env.Jobs[0].MaxLogBytes != tt.wantJob || env.JobHTTPs[0].MaxLogBytes != tt.wantHTTP {
				t.Errorf("max_log_bytes = %d, %d, %d; want %d, %d, %d", env.MaxLogBytes, env.Jobs[0].MaxLogBytes,
					env.JobHTTPs[0].MaxLogBytes, tt.wantEnv, tt.wantJob, tt.wantHTTP)
			}
		})
	}
}
