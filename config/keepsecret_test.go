package config

import "testing"

// TestKeepSecret: a reload keeps the generated secret for the [karajo]
// table and for the jobs that inherited it (only jobs without a webhook
// path can: a webhook needs a configured secret), and leaves a job's own
// secret and a configured [karajo] secret alone.
func TestKeepSecret(t *testing.T) {
	const jobs = `
[job.inherits]
commands = ["true"]

[job.own]
path = "/b"
secret = "own-secret"
commands = ["true"]
`
	cases := []struct {
		name, header          string
		wantEnv, wantInherits string
	}{
		{name: "generated", header: "", wantEnv: "kept", wantInherits: "kept"},
		{name: "configured", header: "[karajo]\nsecret = \"conf\"\n", wantEnv: "conf", wantInherits: "conf"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env, err := load(t, tc.header+jobs)
			if err != nil {
				t.Fatal(err)
			}
			env.KeepSecret("kept")
			byID := map[string]*Job{}
			for _, j := range env.Jobs {
				byID[j.ID] = j
			}
			if env.Secret != tc.wantEnv {
				t.Errorf("env secret %q, want %q", env.Secret, tc.wantEnv)
			}
			if j := byID["inherits"]; j.Secret != tc.wantInherits || len(j.Secrets) != 1 || j.Secrets[0] != tc.wantInherits {
				t.Errorf("inheriting job: secret %q secrets %q, want %q", j.Secret, j.Secrets, tc.wantInherits)
			}
			if j := byID["own"]; j.Secret != "own-secret" {
				t.Errorf("job with its own secret: %q", j.Secret)
			}
		})
	}
}
