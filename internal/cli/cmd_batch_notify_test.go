package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/imapmigrate/imapmigrate/internal/secret"
)

// batch new --notify/--report-interval, batch set, batch get: the report
// e-mails' settings, validated and named by their flags.
func TestBatchNotifyFlags(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "users.csv")
	os.WriteFile(csv, []byte("EmailAddress,UserName,Password\nterry@new.example,terry,Pw-Notify-1\n"), 0o600)
	other := filepath.Join(dir, "other.csv")
	os.WriteFile(other, []byte("EmailAddress,UserName,Password\nkim@new.example,kim,Pw-Notify-2\n"), 0o600)
	env := map[string]string{secret.EnvKey: ""}
	data := []string{"--data-dir", filepath.Join(dir, "data")}
	step := func(args ...string) string {
		t.Helper()
		code, out, errOut := run(t, append(data, args...), env)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s\n%s", args, code, out, errOut)
		}
		return out
	}
	step("endpoint", "new", "src", "--server", "imap.old.example", "--skip-verify-connection")
	step("endpoint", "new", "tgt", "--server", "imap.new.example", "--skip-verify-connection", "--mailbox-access", "xoauth2", "--token-command", "true")

	// Every problem at once, named by its flag; nothing created.
	code, out, errOut := run(t, append(data, "batch", "new", "B", "--source", "src", "--target", "tgt", "--csv", csv,
		"--notify", "admin@example.com,not an address", "--notify", "Boss <boss@example.com>", "--report-interval", "30m"), env)
	if code != ExitPartial {
		t.Fatalf("bad --notify: exit %d, want %d\n%s\n%s", code, ExitPartial, out, errOut)
	}
	for _, want := range []string{"3 problems", `--notify "not an address": not a mailbox address`, `--notify "Boss <boss@example.com>"`,
		"--report-interval 30m0s: must be at least 1h"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}

	step("batch", "new", "B", "--source", "src", "--target", "tgt", "--csv", csv, "--notify", "admin@example.com,helpdesk@example.com",
		"--notify", "ADMIN@example.com", "--report-interval", "12h")
	step("batch", "new", "Started", "--source", "src", "--target", "tgt", "--csv", other, "--autostart")
	var got []struct {
		Identity           string
		NotificationEmails []string
		ReportInterval     string
	}
	if err := json.Unmarshal([]byte(step("batch", "get", "--output", "json")), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !slices.Equal(got[0].NotificationEmails, []string{"admin@example.com", "helpdesk@example.com"}) || got[0].ReportInterval != "12:00:00" ||
		got[1].NotificationEmails != nil || got[1].ReportInterval != "1.00:00:00" {
		t.Errorf("batch get: %+v", got)
	}
	if out := step("batch", "get", "B"); !strings.Contains(out, "admin@example.com,helpdesk@example.com every 12:00:00") {
		t.Errorf("batch get B lacks the addresses:\n%s", out)
	}

	// A started batch keeps its sync settings, not its report settings.
	if out := step("batch", "set", "Started", "--notify", "ops@example.com", "--report-interval", "2h"); !strings.Contains(out, "ops@example.com every 02:00:00") {
		t.Errorf("batch set Started --notify:\n%s", out)
	}
	code, _, errOut = run(t, append(data, "batch", "set", "Started", "--notify", "ops@example.com", "--incremental-interval", "1h"), env)
	if code != ExitPartial || !strings.Contains(errOut, "its settings can be changed only before it is started") {
		t.Errorf("batch set Started --incremental-interval: exit %d\n%s", code, errOut)
	}
	code, _, errOut = run(t, append(data, "batch", "set", "B", "--report-interval", "1m"), env)
	if code != ExitPartial || !strings.Contains(errOut, "--report-interval 1m0s: must be at least 1h") {
		t.Errorf("batch set --report-interval 1m: exit %d\n%s", code, errOut)
	}
	if out := step("batch", "set", "B", "--notify", ""); strings.Contains(out, "@example.com") {
		t.Errorf("batch set --notify '' kept addresses:\n%s", out)
	}
}
