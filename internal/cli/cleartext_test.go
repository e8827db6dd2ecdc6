package cli

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/imapmigrate/imapmigrate/internal/secret"
	"github.com/imapmigrate/imapmigrate/internal/testenv"
)

const cleartext = "the connection is not encrypted (security none): the password crosses the network in clear"

// sync --…-security none warns once per side, naming the side, the server
// and the fix.
func TestSyncWarnsOfCleartext(t *testing.T) {
	e := newCLIEnv(t)
	env := map[string]string{"IMAPMIGRATE_TARGET_PASSWORD": tgtSecret}
	srcAddr, tgtAddr := e.src.Addr(), e.tgt.Addr()

	code, out, errOut := run(t, e.args("--dry-run", "--source-security", "none", "--source-port", strconv.Itoa(e.src.Port)), env)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	want := "source " + srcAddr + ": " + cleartext + "; use --source-security ssl (implicit TLS) or tls (STARTTLS)"
	if n := strings.Count(errOut, cleartext); n != 1 || !strings.Contains(errOut, want) || !strings.Contains(errOut, "level=WARN") {
		t.Errorf("%d warnings, want 1 with %q:\n%s", n, want, errOut)
	}

	code, out, errOut = run(t, e.args("--dry-run", "--source-security", "none", "--source-port", strconv.Itoa(e.src.Port),
		"--target-security", "none"), env)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"source " + srcAddr + ": " + cleartext, "target " + tgtAddr + ": " + cleartext + "; use --target-security ssl"} {
		if strings.Count(errOut, want) != 1 {
			t.Errorf("want %q once:\n%s", want, errOut)
		}
	}
	if strings.Count(errOut, cleartext) != 2 {
		t.Errorf("want two warnings:\n%s", errOut)
	}

	// With TLS on both sides: no warning.
	if code, _, errOut := run(t, e.args("--dry-run"), env); code != 0 || strings.Contains(errOut, "not encrypted") {
		t.Errorf("exit %d, warning without security none:\n%s", code, errOut)
	}
}

// Endpoints with security none: endpoint new warns, and batch run warns
// once per side.
func TestBatchRunWarnsOfCleartext(t *testing.T) {
	src := testenv.StartMemServer(t, testenv.MemServerOptions{Users: map[string]string{"terry": "x"}, MasterUser: "admin", MasterPassword: srcSecret})
	tgt := testenv.StartMemServer(t, testenv.MemServerOptions{Users: map[string]string{"terry@new.example": "y"}, MasterUser: "admin", MasterPassword: tgtSecret})
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "admin.pw"), []byte(tgtSecret), 0o600)
	os.WriteFile(filepath.Join(dir, "users.csv"), []byte("EmailAddress,UserName,Password\nterry@new.example,terry*admin,"+srcSecret+"\n"), 0o600)
	env := map[string]string{secret.EnvKey: ""}
	data := []string{"--data-dir", filepath.Join(dir, "data")}
	step := func(args ...string) string {
		t.Helper()
		code, out, errOut := run(t, append(data, args...), env)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s\n%s", args, code, out, errOut)
		}
		return errOut
	}
	errOut := step("endpoint", "new", "old", "--server", src.Host, "--port", strconv.Itoa(src.Port), "--security", "none")
	if want := "endpoint old " + src.Addr() + ": " + cleartext + "; use endpoint set old --security ssl (implicit TLS) or tls"; !strings.Contains(errOut, want) {
		t.Errorf("endpoint new: want %q:\n%s", want, errOut)
	}
	step("endpoint", "new", "new", "--server", tgt.Host, "--port", strconv.Itoa(tgt.Port), "--security", "none",
		"--mailbox-access", "master", "--admin-user", "admin", "--admin-password-file", filepath.Join(dir, "admin.pw"), "--test-mailbox", "terry@new.example")
	step("batch", "new", "b1", "--source", "old", "--target", "new", "--csv", filepath.Join(dir, "users.csv"))
	errOut = step("batch", "run", "b1")
	for _, want := range []string{
		"source endpoint old " + src.Addr() + ": " + cleartext + "; use endpoint set old --security ssl",
		"target endpoint new " + tgt.Addr() + ": " + cleartext + "; use endpoint set new --security ssl",
	} {
		if strings.Count(errOut, want) != 1 {
			t.Errorf("batch run: want %q once:\n%s", want, errOut)
		}
	}
	if strings.Count(errOut, cleartext) != 2 {
		t.Errorf("batch run: want two warnings:\n%s", errOut)
	}
	if strings.Contains(errOut, srcSecret) || strings.Contains(errOut, tgtSecret) {
		t.Error("a password in the output")
	}

	// serve and worker warn of every endpoint at start; the test stops the
	// service once it has warned.
	for _, cmd := range []string{"serve", "worker"} {
		ctx, cancel := context.WithCancel(context.Background())
		w := &cancelWriter{cancel: cancel, on: cleartext}
		code := Execute(ctx, append(data, cmd, "--listen", "127.0.0.1:0"), strings.NewReader(""), io.Discard, w)
		cancel()
		errOut := w.String()
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s", cmd, code, errOut)
		}
		for _, want := range []string{"endpoint old " + src.Addr() + ": " + cleartext, "endpoint new " + tgt.Addr() + ": " + cleartext} {
			if strings.Count(errOut, want) != 1 {
				t.Errorf("%s: want %q once:\n%s", cmd, want, errOut)
			}
		}
	}

	// Back to TLS: no warning.
	step("endpoint", "set", "old", "--security", "tls", "--ca-file", src.CA.CAFile)
	step("endpoint", "set", "new", "--security", "tls", "--ca-file", tgt.CA.CAFile)
	if errOut := step("batch", "run", "b1"); strings.Contains(errOut, "not encrypted") {
		t.Errorf("warning with TLS:\n%s", errOut)
	}
}

// cancelWriter collects what is written and cancels once a write holds on.
type cancelWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	on     string
	cancel func()
}

func (w *cancelWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if bytes.Contains(p, []byte(w.on)) {
		w.cancel()
	}
	return w.buf.Write(p)
}

func (w *cancelWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}
