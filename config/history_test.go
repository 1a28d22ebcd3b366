package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHistoryRetention checks [karajo] history_retention and its per-job
// override: default 1000, inherited, and < 1 or > 1,000,000 refused with
// file, key and reason.
func TestHistoryRetention(t *testing.T) {
	tests := []struct {
		name              string
		env, job, jobHTTP string // the history_retention lines, or ""
		want              [3]int // env, job, job_http
		wantErr           []string
	}{
		{name: "absent", want: [3]int{1000, 1000, 1000}},
		{name: "inherited", env: "history_retention = 50", want: [3]int{50, 50, 50}},
		{name: "overridden", env: "history_retention = 50", job: "history_retention = 1", jobHTTP: "history_retention = 1000000",
			want: [3]int{50, 1, 1000000}},
		{name: "zero", env: "history_retention = 0",
			wantErr: []string{`karajo.toml: karajo.history_retention: must be between 1 and 1000000, got 0`}},
		{name: "out of range in jobs", job: "history_retention = -3", jobHTTP: "history_retention = 1000001",
			wantErr: []string{`karajo.toml: job."a".history_retention: must be between 1 and 1000000, got -3`,
				`karajo.toml: job_http."h".history_retention: must be between 1 and 1000000, got 1000001`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "karajo.toml")
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
			got := [3]int{env.HistoryRetention, env.Jobs[0].HistoryRetention, env.JobHTTPs[0].HistoryRetention}
			if got != tt.want {
				t.Errorf("history_retention = %v, want %v", got, tt.want)
			}
		})
	}
}
