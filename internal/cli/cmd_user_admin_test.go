package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imapmigrate/imapmigrate/internal/migration"
	"github.com/imapmigrate/imapmigrate/internal/secret"
)

// user set, user remove and batch add, through the command line.
func TestUserSetRemoveAndBatchAdd(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	csv := write("users.csv", "EmailAddress,UserName,Password\nterry@new.example,terry,"+csvSecret+"\n")
	more := write("more.csv", "EmailAddress,UserName,Password\nann@new.example,ann,"+csvSecret+"\nbob@new.example,bob,"+csvSecret+"\n")
	mixed := write("mixed.csv", "EmailAddress,UserName,Password\ncarl@new.example,carl,"+csvSecret+"\nterry@new.example,terry,"+csvSecret+"\nbad@,x,"+csvSecret+"\n")
	other := write("other.csv", "EmailAddress,UserName,Password\nzoe@new.example,zoe,"+csvSecret+"\n")
	newPw := write("new.pw", "New-Secret-Pw-7\n")
	data := []string{"--data-dir", filepath.Join(dir, "data")}
	env := map[string]string{secret.EnvKey: "", envUserPassword: "", envUserTargetPassword: ""}
	step := func(args ...string) (string, string) {
		t.Helper()
		code, out, errOut := run(t, append(data, args...), env)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s\n%s", args, code, out, errOut)
		}
		return out, errOut
	}
	noSecret := func(what, s string) {
		t.Helper()
		if strings.Contains(s, csvSecret) || strings.Contains(s, "New-Secret-Pw-7") {
			t.Errorf("%s shows a password:\n%s", what, s)
		}
	}
	step("endpoint", "new", "src", "--server", "h", "--skip-verify-connection")
	step("endpoint", "new", "tgt", "--server", "h", "--skip-verify-connection", "--mailbox-access", "xoauth2", "--token-command", "true")
	step("batch", "new", "B", "--source", "src", "--target", "tgt", "--csv", csv)
	step("batch", "new", "Other", "--source", "src", "--target", "tgt", "--csv", other)

	// batch add: the users join the batch.
	out, _ := step("batch", "add", "B", "--csv", more)
	if !strings.Contains(out, "2 users added to batch B (now 3). Status: Created.") {
		t.Errorf("batch add: %s", out)
	}
	// Every problem at once, nothing added.
	code, out, errOut := run(t, append(data, "batch", "add", "B", "--csv", mixed), env)
	if code != ExitPartial || !strings.Contains(errOut, "--csv: invalid migration file") || !strings.Contains(errOut, "row 4, column EmailAddress") {
		t.Errorf("batch add with a bad row: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = run(t, append(data, "batch", "add", "B", "--csv", write("conflict.csv",
		"EmailAddress,UserName,Password\ncarl@new.example,carl,"+csvSecret+"\nzoe@new.example,zoe,"+csvSecret+"\nterry@new.example,t,"+csvSecret+"\n"), "-o", "json"), env)
	var problems []problemJSON
	if code != ExitPartial || json.Unmarshal([]byte(out), &problems) != nil || len(problems) != 2 ||
		problems[0].Row != 3 || !strings.Contains(problems[0].Message, "zoe@new.example is already in batch Other") || problems[0].Flag != "--csv" ||
		problems[1].Row != 4 || !strings.Contains(problems[1].Message, "already in batch B") {
		t.Errorf("batch add conflicts -o json: exit %d\n%s", code, out)
	}
	if out, _ := step("user", "get", "--batch", "B"); strings.Contains(out, "carl@") {
		t.Errorf("a refused file added users:\n%s", out)
	}
	if code, _, errOut := run(t, append(data, "batch", "add", "nosuch", "--csv", more), env); code != ExitPartial || !strings.Contains(errOut, "batch nosuch does not exist") {
		t.Errorf("batch add nosuch: exit %d %s", code, errOut)
	}
	// Added to a syncing batch: due at once.
	step("batch", "start", "B")
	out, _ = step("batch", "add", "B", "--csv", write("dan.csv", "EmailAddress,UserName,Password\ndan@new.example,dan,"+csvSecret+"\n"), "-o", "json")
	var added map[string]any
	if json.Unmarshal([]byte(out), &added) != nil || added["Added"] != 1.0 || !strings.Contains(out, `"`+string(migration.BatchSyncing)+`"`) {
		t.Errorf("batch add -o json: %s", out)
	}
	out, _ = step("user", "get", "--batch", "B", "-o", "json")
	var users []migration.User
	if err := json.Unmarshal([]byte(out), &users); err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if u.EmailAddress == "dan@new.example" && (u.Status != migration.UserQueued || u.NextSync.IsZero()) {
			t.Errorf("dan: %s, next %v: want due", u.Status, u.NextSync)
		}
	}

	// user set: from a file, or the environment; never the command line.
	out, errOut = step("user", "set", "terry@new.example", "--password-file", newPw)
	if !strings.Contains(out, "Migration user terry@new.example: passwords changed.") || !strings.Contains(out, "Queued") {
		t.Errorf("user set: %s", out)
	}
	noSecret("user set", out+errOut)
	code, out, errOut = run(t, append(data, "user", "set", "terry@new.example", "-o", "json"), map[string]string{envUserPassword: "New-Secret-Pw-7"})
	var u migration.User
	if code != 0 || json.Unmarshal([]byte(out), &u) != nil || u.EmailAddress != "terry@new.example" || u.Batch != "B" {
		t.Errorf("user set -o json: exit %d\n%s%s", code, out, errOut)
	}
	noSecret("user set -o json", out+errOut)
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"user", "set", "terry@new.example"}, ExitPartial, "--password-file: give the new password"},
		{[]string{"user", "set", "terry@new.example", "--target-password-file", newPw}, ExitPartial, "--target-password-file: target endpoint tgt opens mailboxes with mailbox access xoauth2"},
		{[]string{"user", "set", "nosuch@new.example", "--password-file", newPw}, ExitPartial, "migration user nosuch@new.example does not exist"},
		{[]string{"user", "set", "terry@new.example", "--password-file", filepath.Join(dir, "nosuch")}, ExitUsage, "--password-file: open"},
		{[]string{"user", "set", "terry@new.example", "--password-file", write("empty.pw", "\n")}, ExitUsage, "the file is empty"},
		{[]string{"user", "remove", "nosuch@new.example"}, ExitPartial, "migration user nosuch@new.example does not exist"},
	} {
		code, out, errOut := run(t, append(data, tt.args...), env)
		if code != tt.code || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d, want %d and %q\n%s%s", tt.args, code, tt.code, tt.want, out, errOut)
		}
	}

	// user remove.
	out, _ = step("user", "remove", "ann@new.example", "-o", "json")
	var removed struct{ EmailAddress, Batch, Result string }
	if json.Unmarshal([]byte(out), &removed) != nil || removed != (struct{ EmailAddress, Batch, Result string }{"ann@new.example", "B", "removed"}) {
		t.Errorf("user remove -o json: %s", out)
	}
	out, _ = step("user", "remove", "bob@new.example")
	if !strings.Contains(out, "Migration user bob@new.example removed from batch B") {
		t.Errorf("user remove: %s", out)
	}
	if out, _ := step("user", "get"); strings.Contains(out, "ann@") || strings.Contains(out, "bob@") || !strings.Contains(out, "terry@") {
		t.Errorf("after remove:\n%s", out)
	}
	if code, _, errOut := run(t, append(data, "user", "stats", "ann@new.example"), env); code == 0 {
		t.Errorf("stats of a removed user: exit 0 %s", errOut)
	}
	// The address is free again, for this batch or another.
	step("batch", "add", "Other", "--csv", write("ann.csv", "EmailAddress,UserName,Password\nann@new.example,ann,"+csvSecret+"\n"))
}
