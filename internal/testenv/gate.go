package testenv

import (
	"errors"
	"os"
	"os/exec"
	"testing"
)

// RequireRealEnv is the environment variable that turns a missing real server
// from a skipped test into a failed one. CI (.ci/run) sets it to 1.
const RequireRealEnv = "IMAPMIGRATE_REQUIRE_REAL"

// RequireReal gates a test on a real server being available. When ok is
// false the test is skipped with a reason naming what is missing, or fails
// when IMAPMIGRATE_REQUIRE_REAL=1, so that CI cannot pass by skipping.
//
// what says what is missing and how to get it, e.g. "dovecot (apt-get install
// dovecot-imapd)".
func RequireReal(t testing.TB, what string, ok bool) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv(RequireRealEnv) == "1" {
		t.Fatalf("testenv: %s is not available and %s=1", what, RequireRealEnv)
		return
	}
	t.Skipf("testenv: skipping: %s is not available (set %s=1 to make this a failure)", what, RequireRealEnv)
}

// dovecotSearchPath lists where Debian installs the dovecot master binary,
// for users whose PATH lacks the sbin directories.
var dovecotSearchPath = []string{"/usr/sbin/dovecot", "/usr/local/sbin/dovecot"}

// DovecotBinary returns the path of the dovecot master binary: the one on
// PATH, else the Debian location.
func DovecotBinary() (string, error) {
	if p, err := exec.LookPath("dovecot"); err == nil {
		return p, nil
	}
	for _, p := range dovecotSearchPath {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", errors.New("dovecot binary not found on PATH or in /usr/sbin (apt-get install dovecot-imapd)")
}

// RequireDovecot skips (or fails, see RequireReal) the test when Dovecot is
// not installed, and returns the path of its binary.
func RequireDovecot(t testing.TB) string {
	t.Helper()
	p, err := DovecotBinary()
	RequireReal(t, "dovecot (apt-get install dovecot-imapd)", err == nil)
	return p
}
