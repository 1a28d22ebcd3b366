package actors

import (
	"reflect"
	"testing"

	"github.com/karajo/karajo/config"
)

func TestEnviron(t *testing.T) {
	tests := []struct {
		name string
		cfg  config.Job
		f    runFacts
		want []string
	}{
		{
			name: "defaults",
			cfg:  config.Job{ID: "a_b", Name: "A b"},
			f:    runFacts{counter: 3, home: "/base/var/lib/karajo/job/a_b"},
			want: []string{"HOME=/base/var/lib/karajo/job/a_b", "KARAJO_JOB_COUNTER=3", "KARAJO_JOB_ID=a_b", "KARAJO_JOB_NAME=A b", "PATH=" + defaultPath},
		},
		{
			name: "configured wins over defaults, built-ins over configured",
			cfg: config.Job{ID: "x", Name: "x", Environ: []config.Var{
				{Name: "HOME", Value: "/home/me"}, {Name: "KARAJO_JOB_ID", Value: "fake"}, {Name: "PATH", Value: "/opt/bin"}, {Name: "TOKEN", Value: "t", Secret: true},
			}},
			f:    runFacts{counter: 1, home: "/w"},
			want: []string{"HOME=/home/me", "KARAJO_JOB_COUNTER=1", "KARAJO_JOB_ID=x", "KARAJO_JOB_NAME=x", "PATH=/opt/bin", "TOKEN=t"},
		},
		{
			name: "run user and extra built-ins",
			cfg:  config.Job{ID: "x", Name: "x", Environ: []config.Var{{Name: "USER", Value: "configured"}}},
			f:    runFacts{counter: 2, home: "/home/deploy", user: "deploy", extra: []config.Var{{Name: "KARAJO_X", Value: "y"}}},
			want: []string{"HOME=/home/deploy", "KARAJO_JOB_COUNTER=2", "KARAJO_JOB_ID=x", "KARAJO_JOB_NAME=x", "KARAJO_X=y", "LOGNAME=deploy", "PATH=" + defaultPath, "USER=deploy"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := environ(&tt.cfg, tt.f); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("environ() = %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestDefaultPath(t *testing.T) {
	want := "/usr/local/sbin:/usr/local/bin:/usr/bin:/usr/bin/site_perl:/usr/bin/vendor_perl:/usr/bin/core_perl:/usr/sbin:/sbin:/bin"
	if defaultPath != want {
		t.Errorf("defaultPath = %q, want %q", defaultPath, want)
	}
}
