package config

import "testing"

func TestNormalizeID(t *testing.T) {
	tests := []struct{ name, want string }{
		// SPEC 1.5.
		{"Test job success", "test_job_success"},
		{"Ping json", "ping_json"},
		{"1 Über-job.x", "_1___ber-job_x"},
		{"-x", "_-x"},
		{"", "_"},
		// More.
		{"_x", "_x"},
		{"x", "x"},
		{"ABC-def_09", "abc-def_09"},
		{"9", "_9"},
		{".", "_"},
		{"a.b", "a_b"},
		{"日本", "______"},
		{"\x00\xff", "__"},
		{"Z", "z"},
		{"@[`{", "____"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NormalizeID(tt.name); got != tt.want {
				t.Errorf("NormalizeID(%q) = %q, want %q", tt.name, got, tt.want)
			}
		})
	}
}
