package integration

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportDirections guards the package map of STYLE.md section 1.
func TestImportDirections(t *testing.T) {
	t.Parallel()
	deny := map[string]string{"config": "logstore actors actors/cluster httpapi", "logstore": "config actors actors/cluster httpapi", "actors": "httpapi", "actors/cluster": "actors httpapi"}
	mod, _ := exec.Command("go", "list", "-m").Output()
	for pkg, bad := range deny {
		out, err := exec.Command("go", "list", "-deps", "../"+pkg).Output()
		for _, b := range strings.Fields(bad) {
			if err != nil || strings.Contains(string(out), strings.TrimSpace(string(mod))+"/"+b+"\n") {
				t.Errorf("%s imports %s (go list: %v)", pkg, b, err)
			}
		}
	}
}
