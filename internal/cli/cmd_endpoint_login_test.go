package cli

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/imapmigrate/imapmigrate/internal/secret"
	"github.com/imapmigrate/imapmigrate/internal/testenv"
)

// endpoint new for a master or authzid target logs in before it saves
// anything: as the admin alone, or, with --test-mailbox, into that mailbox
// as batches will. A wrong admin password is refused and nothing is saved.
func TestEndpointNewLogsInAsTheAdmin(t *testing.T) {
	const wrongSecret = "Wrong-Admin-Pw-3"
	// admin is a master user only (Dovecot's kind); boss is also an account.
	tgt := testenv.StartMemServer(t, testenv.MemServerOptions{Users: map[string]string{"terry@new.example": "y"}, MasterUser: "admin", MasterPassword: tgtSecret})
	own := testenv.StartMemServer(t, testenv.MemServerOptions{Users: map[string]string{"terry@new.example": "y", "boss": tgtSecret}, MasterUser: "boss", MasterPassword: tgtSecret})
	dir := t.TempDir()
	right, wrong := filepath.Join(dir, "right.pw"), filepath.Join(dir, "wrong.pw")
	os.WriteFile(right, []byte(tgtSecret+"\n"), 0o600)
	os.WriteFile(wrong, []byte(wrongSecret+"\n"), 0o600)
	data := []string{"--data-dir", filepath.Join(dir, "data")}
	env := map[string]string{secret.EnvKey: ""}
	on := func(srv *testenv.MemServer) []string {
		return []string{"--server", srv.Host, "--port", strconv.Itoa(srv.TLSPort), "--security", "ssl", "--ca-file", srv.CA.CAFile}
	}
	saved := func(name string) bool {
		code, out, _ := run(t, append(data, "endpoint", "get", name), env)
		return code == 0 && strings.Contains(out, name)
	}
	// A first endpoint creates the database.
	if code, out, errOut := run(t, append(append(data, "endpoint", "new", "src"), on(tgt)...), env); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	for _, tt := range []struct {
		name string
		srv  *testenv.MemServer
		args []string
		ok   bool
		want []string
	}{
		{"m1", tgt, []string{"--mailbox-access", "master", "--admin-user", "admin", "--admin-password-file", wrong, "--test-mailbox", "terry@new.example"}, false,
			[]string{"endpoint m1: connection test failed (nothing was saved", "login", `"terry@new.example*admin"`}},
		{"m2", tgt, []string{"--mailbox-access", "master", "--admin-user", "admin", "--admin-password-file", right}, false,
			[]string{"connection test failed", "the test logged in as admin alone", "--test-mailbox"}},
		{"m3", tgt, []string{"--mailbox-access", "master", "--admin-user", "admin", "--admin-password-file", right, "--test-mailbox", "nosuch@new.example"}, false,
			[]string{"connection test failed", "nosuch@new.example*admin"}},
		{"m4", tgt, []string{"--mailbox-access", "master", "--admin-user", "admin", "--admin-password-file", right, "--test-mailbox", "terry@new.example"}, true, nil},
		{"a1", tgt, []string{"--mailbox-access", "authzid", "--admin-user", "admin", "--admin-password-file", wrong, "--test-mailbox", "terry@new.example"}, false,
			[]string{"connection test failed", "login"}},
		{"a2", tgt, []string{"--mailbox-access", "authzid", "--admin-user", "admin", "--admin-password-file", right, "--test-mailbox", "terry@new.example"}, true, nil},
		// An admin that is an account of its own logs in alone.
		{"o1", own, []string{"--mailbox-access", "master", "--admin-user", "boss", "--admin-password-file", wrong}, false, []string{"connection test failed", `"boss"`}},
		{"o2", own, []string{"--mailbox-access", "master", "--admin-user", "boss", "--admin-password-file", right}, true, nil},
		{"o3", own, []string{"--mailbox-access", "authzid", "--admin-user", "boss", "--admin-password-file", right}, true, nil},
		// What --test-mailbox cannot go with.
		{"v1", tgt, []string{"--mailbox-access", "master", "--admin-user", "admin", "--admin-password-file", right, "--test-mailbox", "terry@new.example", "--skip-verify-connection"}, false,
			[]string{"--test-mailbox terry@new.example: nothing is tested when the connection test is skipped"}},
		{"v2", tgt, []string{"--test-mailbox", "terry@new.example"}, false, []string{"--test-mailbox terry@new.example: only a target endpoint opens mailboxes"}},
		{"v3", tgt, []string{"--mailbox-access", "per-user", "--test-mailbox", "terry@new.example"}, false, []string{"--test-mailbox terry@new.example: a per-user target"}},
		{"v4", tgt, []string{"--mailbox-access", "xoauth2", "--token-command", "true", "--test-mailbox", "a b"}, false, []string{`--test-mailbox "a b": must be one mailbox address`}},
	} {
		args := append(append(append(data, "endpoint", "new", tt.name), on(tt.srv)...), tt.args...)
		code, out, errOut := run(t, args, env)
		if ok := code == 0; ok != tt.ok || (!ok && code != ExitPartial) {
			t.Errorf("%s %v: exit %d, want ok=%v\n%s%s", tt.name, tt.args, code, tt.ok, out, errOut)
			continue
		}
		if saved(tt.name) != tt.ok {
			t.Errorf("%s: saved %v, want %v", tt.name, !tt.ok, tt.ok)
		}
		for _, w := range tt.want {
			if !strings.Contains(errOut, w) {
				t.Errorf("%s: stderr lacks %q:\n%s", tt.name, w, errOut)
			}
		}
		if strings.Contains(out+errOut, tgtSecret) || strings.Contains(out+errOut, wrongSecret) {
			t.Errorf("%s: a password in the output:\n%s%s", tt.name, out, errOut)
		}
	}
}

// The same against Dovecot, whose master user can log in only as another
// user.
func TestEndpointNewLogsInDovecot(t *testing.T) {
	ca := testenv.NewTestCA(t)
	d := testenv.StartDovecot(t, testenv.DovecotOptions{CA: ca})
	d.AddUser("terry@new.example", "y")
	dir := t.TempDir()
	right, wrong := filepath.Join(dir, "right.pw"), filepath.Join(dir, "wrong.pw")
	os.WriteFile(right, []byte(d.MasterPassword), 0o600)
	os.WriteFile(wrong, []byte("not-"+d.MasterPassword), 0o600)
	data := []string{"--data-dir", filepath.Join(dir, "data")}
	env := map[string]string{secret.EnvKey: ""}
	newEP := func(name, pw string, extra ...string) (int, string) {
		args := append(append([]string{}, data...), "endpoint", "new", name, "--server", d.Host, "--port", strconv.Itoa(d.Port), "--security", "tls",
			"--ca-file", ca.CAFile, "--mailbox-access", "master", "--admin-user", d.MasterUser, "--admin-password-file", pw)
		code, out, errOut := run(t, append(args, extra...), env)
		if strings.Contains(out+errOut, d.MasterPassword) {
			t.Errorf("%s: the admin password in the output", name)
		}
		return code, errOut
	}
	if code, errOut := newEP("wrong", wrong, "--test-mailbox", "terry@new.example"); code != ExitPartial || !strings.Contains(errOut, "connection test failed") {
		t.Errorf("wrong admin password: exit %d\n%s", code, errOut)
	}
	if code, errOut := newEP("alone", right); code != ExitPartial || !strings.Contains(errOut, "--test-mailbox") {
		t.Errorf("master user alone: exit %d\n%s", code, errOut)
	}
	if code, errOut := newEP("good", right, "--test-mailbox", "terry@new.example"); code != 0 {
		t.Errorf("right password: exit %d\n%s", code, errOut)
	}
	code, out, _ := run(t, append(data, "endpoint", "get"), env)
	if code != 0 || !strings.Contains(out, "good") || strings.Contains(out, "wrong") || strings.Contains(out, "alone") {
		t.Errorf("saved endpoints:\n%s", out)
	}
}
