package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// BuildImapmigrate builds the imapmigrate binary into the test's temp dir,
// for tests that must run it as a real process (to kill it, say). It uses
// the go command on PATH, as `make test` does.
func BuildImapmigrate(t testing.TB) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("testenv: the go command is needed to build imapmigrate: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "imapmigrate")
	cmd := exec.Command(gobin, "build", "-o", bin, "github.com/imapmigrate/imapmigrate/cmd/imapmigrate")
	cmd.Env = os.Environ()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("testenv: build imapmigrate: %v\n%s", err, out)
	}
	return bin
}
