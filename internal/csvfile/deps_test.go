package csvfile_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The migration file reader holds passwords as sensitive.String: it must
// not need the network package for that.
func TestNoNetworkDependency(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH: cannot list dependencies")
	}
	out, err := exec.Command(goBin, "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasSuffix(dep, "/internal/imapconn") {
			t.Errorf("csvfile depends on %s", dep)
		}
	}
}
