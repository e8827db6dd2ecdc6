package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imapmigrate/imapmigrate/internal/auth"
	"github.com/imapmigrate/imapmigrate/internal/secret"
	"github.com/imapmigrate/imapmigrate/internal/server"
)

// admin add|remove|list and token new|list|revoke through the command
// line, on a new data directory.
func TestAdminAndTokenCommands(t *testing.T) {
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	data := []string{"--data-dir", dataDir}
	env := map[string]string{secret.EnvKey: ""}
	const password = "Horse-Battery-Staple-9"
	pwFile := filepath.Join(dir, "alice.pw")
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	shortFile := filepath.Join(dir, "short.pw")
	os.WriteFile(shortFile, []byte("short\n"), 0o600)
	runIn := func(stdin string, args ...string) (int, string, string) {
		t.Helper()
		for k, v := range env {
			t.Setenv(k, v)
		}
		var out, errb bytes.Buffer
		code := Execute(context.Background(), append(data, args...), strings.NewReader(stdin), &out, &errb)
		return code, out.String(), errb.String()
	}
	step := func(args ...string) (string, string) {
		t.Helper()
		code, out, errOut := runIn("", args...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s\n%s", args, code, out, errOut)
		}
		return out, errOut
	}
	noPassword := func(what, s string) {
		t.Helper()
		if strings.Contains(s, password) || strings.Contains(s, "$argon2id$") {
			t.Errorf("%s shows the password or its hash:\n%s", what, s)
		}
	}

	// Bad input: a clear message naming the flag, and nothing created (not
	// even the database).
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"admin", "add", "alice"}, ExitUsage, "use --password-file F or --password-stdin"},
		{[]string{"admin", "add", "alice", "--password-file", pwFile, "--password-stdin"}, ExitUsage, "give one of them"},
		{[]string{"admin", "add", "alice", "--password-file", filepath.Join(dir, "none.pw")}, ExitUsage, "--password-file:"},
		{[]string{"admin", "add", "alice", "--password-file", shortFile}, ExitPartial, "--password-file: has 5 characters: use at least 12"},
		{[]string{"admin", "add", "al ice", "--password-file", pwFile}, ExitPartial, `NAME "al ice": contains ' '`},
		{[]string{"admin", "add", "alice", "--password-stdin"}, ExitUsage, "--password-stdin: standard input is empty"},
		{[]string{"admin", "add", "alice", "--password-file", pwFile, "-o", "yaml"}, ExitUsage, "--output"},
	} {
		code, out, errOut := runIn("", tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, want %d with %q\n%s%s", tc.args, code, tc.code, tc.want, out, errOut)
		}
		if _, err := os.Stat(dataDir); err == nil {
			t.Fatalf("%v: bad input created the data directory", tc.args)
		}
	}
	if code, _, errOut := runIn("", "token", "list"); code != ExitUsage || !strings.Contains(errOut, "no database") {
		t.Errorf("token list without a database: exit %d %s", code, errOut)
	}

	out, errOut := step("admin", "add", "Alice", "--password-file", pwFile)
	if !strings.Contains(out, "Account alice created") {
		t.Errorf("admin add: %s", out)
	}
	noPassword("admin add", out+errOut)
	// From standard input, --output json.
	out, _ = func() (string, string) {
		code, out, errOut := runIn("Another-Long-Pass\n", "admin", "add", "bob", "--password-stdin", "-o", "json")
		if code != 0 {
			t.Fatalf("admin add --password-stdin: exit %d\n%s%s", code, out, errOut)
		}
		return out, errOut
	}()
	var bob auth.Admin
	if err := json.Unmarshal([]byte(out), &bob); err != nil || bob.Name != "bob" || bob.CreatedAt.IsZero() {
		t.Errorf("admin add -o json: %s (%v)", out, err)
	}
	if code, _, errOut := runIn("", "admin", "add", "ALICE", "--password-file", pwFile); code != ExitPartial || !strings.Contains(errOut, "an account of that name exists") {
		t.Errorf("admin add twice: exit %d %s", code, errOut)
	}
	if code, _, errOut := runIn("one\ntwo\n", "admin", "add", "carl", "--password-stdin"); code != ExitUsage || !strings.Contains(errOut, "more than one line") {
		t.Errorf("two lines on stdin: exit %d %s", code, errOut)
	}

	out, _ = step("admin", "list")
	if !strings.Contains(out, "NAME") || !strings.Contains(out, "alice") || !strings.Contains(out, "bob") || strings.Contains(out, "carl") {
		t.Errorf("admin list:\n%s", out)
	}
	out, _ = step("admin", "list", "-o", "json")
	var admins []map[string]any
	if err := json.Unmarshal([]byte(out), &admins); err != nil || len(admins) != 2 || admins[0]["Name"] != "alice" || admins[0]["CreatedAt"] == nil {
		t.Errorf("admin list -o json: %s", out)
	}
	noPassword("admin list", out)

	// token new: the secret alone on stdout, the warning on stderr.
	if code, _, errOut := runIn("", "token", "new", "ci"); code != ExitUsage || !strings.Contains(errOut, "--admin is required") {
		t.Errorf("token new without --admin: exit %d %s", code, errOut)
	}
	if code, _, errOut := runIn("", "token", "new", "ci", "--admin", "nobody"); code != ExitPartial || !strings.Contains(errOut, "--admin nobody: no such account") {
		t.Errorf("token new --admin nobody: exit %d %s", code, errOut)
	}
	if code, _, errOut := runIn("", "token", "new", "c/i", "--admin", "alice"); code != ExitPartial || !strings.Contains(errOut, `NAME c/i: contains '/'`) {
		t.Errorf("token new with a bad name: exit %d %s", code, errOut)
	}
	out, errOut = step("token", "new", "CI", "--admin", "alice")
	tok := strings.TrimSpace(out)
	if !strings.HasPrefix(tok, auth.TokenPrefix) || strings.Count(out, "\n") != 1 || !strings.Contains(errOut, "will not be shown again") {
		t.Fatalf("token new: stdout %q stderr %q", out, errOut)
	}
	out, _ = step("token", "new", "backup", "--admin", "bob", "-o", "json")
	var created struct {
		Name, Admin, Secret string
	}
	if err := json.Unmarshal([]byte(out), &created); err != nil || created.Name != "backup" || created.Admin != "bob" ||
		!strings.HasPrefix(created.Secret, auth.TokenPrefix) || created.Secret == tok {
		t.Errorf("token new -o json: %s", out)
	}
	if code, _, errOut := runIn("", "token", "new", "ci", "--admin", "bob"); code != ExitPartial || !strings.Contains(errOut, "a token of that name exists") {
		t.Errorf("token new twice: exit %d %s", code, errOut)
	}

	// The token works against the service until revoked.
	check := func(want bool) {
		t.Helper()
		srv, err := server.Open(context.Background(), server.Config{DataDir: dataDir, MustExist: true})
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		p, err := srv.Auth.Authenticate(context.Background(), tok)
		if got := err == nil; got != want {
			t.Fatalf("token valid %v (%v), want %v", got, err, want)
		}
		if want && p.String() != "alice (token ci)" {
			t.Errorf("token's principal %q", p)
		}
	}
	check(true)

	out, _ = step("token", "list")
	if !strings.Contains(out, "LAST USED") || !strings.Contains(out, "ci") || !strings.Contains(out, "backup") || strings.Contains(out, tok) {
		t.Errorf("token list:\n%s", out)
	}
	out, _ = step("token", "list", "-o", "json")
	var tokens []map[string]any
	if err := json.Unmarshal([]byte(out), &tokens); err != nil || len(tokens) != 2 || tokens[0]["Name"] != "backup" ||
		tokens[1]["Admin"] != "alice" || tokens[1]["LastUsedTime"] == nil || strings.Contains(out, auth.TokenPrefix) {
		t.Errorf("token list -o json: %s", out)
	}

	out, _ = step("token", "revoke", "ci")
	if !strings.Contains(out, "API token ci revoked") {
		t.Errorf("token revoke: %s", out)
	}
	check(false)
	if code, _, errOut := runIn("", "token", "revoke", "ci"); code != ExitPartial || !strings.Contains(errOut, "NAME ci: no such token") {
		t.Errorf("token revoke twice: exit %d %s", code, errOut)
	}

	// admin remove takes the account's tokens with it.
	out, _ = step("admin", "remove", "bob", "-o", "json")
	var removed struct {
		Name, Result  string
		TokensRevoked int
	}
	if err := json.Unmarshal([]byte(out), &removed); err != nil || removed.Name != "bob" || removed.Result != "removed" || removed.TokensRevoked != 1 {
		t.Errorf("admin remove -o json: %s", out)
	}
	if out, _ := step("token", "list", "-o", "json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("bob's token after admin remove: %s", out)
	}
	if code, _, errOut := runIn("", "admin", "remove", "bob"); code != ExitPartial || !strings.Contains(errOut, "NAME bob: no such account") {
		t.Errorf("admin remove twice: exit %d %s", code, errOut)
	}
	_, errOut = step("admin", "remove", "alice")
	if !strings.Contains(errOut, "No account is left") {
		t.Errorf("removing the last account: %q", errOut)
	}
	if out, _ := step("admin", "list"); !strings.Contains(out, "No accounts: create one") {
		t.Errorf("admin list of none: %s", out)
	}

	// Every change is in the audit log, by the command line.
	srv, err := server.Open(context.Background(), server.Config{DataDir: dataDir, MustExist: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	log, err := srv.Auth.AuditLog(context.Background(), 100, 0)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for i := len(log) - 1; i >= 0; i-- {
		actions = append(actions, log[i].Action+" "+log[i].Object)
		if !strings.HasPrefix(log[i].Actor, "command line") {
			t.Errorf("audit entry %+v: actor is not the command line", log[i])
		}
	}
	want := "admin add alice,admin add bob,token new ci,token new backup,token revoke ci,admin remove bob,admin remove alice"
	if got := strings.Join(actions, ","); got != want {
		t.Errorf("audit log:\n%s\nwant\n%s", got, want)
	}
}
