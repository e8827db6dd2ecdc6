package cli

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/imapmigrate/imapmigrate/internal/testenv"
)

// An admin's whole flow with report e-mails, through the real binary: a
// batch with --notify between two real Dovecots, serve with an SMTP
// server (Postfix's smtp-sink); the initial sync's mail arrives, then,
// after batch complete, the completion's; each once, with both CSVs,
// and no password in either.
func TestServeSendsReportMails(t *testing.T) {
	sink := testenv.StartSMTPSink(t, 0)
	src := testenv.StartDovecot(t, testenv.DovecotOptions{})
	tgt := testenv.StartDovecot(t, testenv.DovecotOptions{})
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(9, 9))
	csv := "EmailAddress,UserName,Password\n"
	for _, u := range []string{"ann", "bob"} {
		src.AddUser(u, "Src-Pw-"+u)
		tgt.AddUser(u+"@new.example", "Tgt-Pw-"+u)
		c := src.Client(t, u, "Src-Pw-"+u)
		var msgs []testenv.Message
		for j := range 5 {
			msgs = append(msgs, testenv.Message{Body: testenv.GenMessage(rng, 2000), Flags: []imap.Flag{imap.FlagSeen},
				InternalDate: time.Date(2024, 1, 1, 0, 0, j, 0, time.UTC)})
		}
		testenv.Seed(t, c, "INBOX", msgs...)
		c.Close()
		csv += u + "@new.example," + u + ",Src-Pw-" + u + "\n"
	}
	csvPath := filepath.Join(dir, "users.csv")
	os.WriteFile(csvPath, []byte(csv), 0o600)
	adminPw := filepath.Join(dir, "admin.pw")
	os.WriteFile(adminPw, []byte(tgt.MasterPassword), 0o600)
	key := strings.Repeat("cd", 32)
	env := map[string]string{"IMAPMIGRATE_SECRET_KEY": key}
	for _, e := range smtpEnv {
		env[e] = ""
	}
	data := []string{"--data-dir", filepath.Join(dir, "data")}
	step := func(args ...string) string {
		t.Helper()
		code, out, errOut := run(t, append(data, args...), env)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s\n%s", args, code, out, errOut)
		}
		return out
	}
	step("endpoint", "new", "old", "--server", src.Host, "--port", strconv.Itoa(src.Port), "--security", "none")
	step("endpoint", "new", "new", "--server", tgt.Host, "--port", strconv.Itoa(tgt.Port), "--security", "none",
		"--mailbox-access", "master", "--admin-user", tgt.MasterUser, "--admin-password-file", adminPw, "--skip-verify-connection")
	step("batch", "new", "Mail", "--source", "old", "--target", "new", "--csv", csvPath, "--autostart",
		"--notify", "admin@example.com,helpdesk@example.com")

	bin := testenv.BuildImapmigrate(t)
	cmd := exec.Command(bin, append(data, "serve", "--listen", "", "--poll", "100ms", "--log-level", "warn",
		"--smtp-host", "127.0.0.1", "--smtp-port", strconv.Itoa(sink.Port), "--smtp-security", "none",
		"--smtp-from", "Migration <imapmigrate@example.com>", "--notify-interval", "200ms")...)
	cmd.Env = append(os.Environ(), "IMAPMIGRATE_SECRET_KEY="+key)
	var serveErr strings.Builder
	cmd.Stderr = &serveErr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		<-exited
	}()

	secrets := []string{"Src-Pw-ann", "Src-Pw-bob", "Tgt-Pw-ann", tgt.MasterPassword, key}
	check := func(m testenv.SunkMail, subject string) {
		t.Helper()
		if got := m.Header.Get("Subject"); !strings.HasPrefix(got, subject) {
			t.Errorf("Subject %q, want %q…", got, subject)
		}
		if !slices.Equal(m.Rcpts, []string{"admin@example.com", "helpdesk@example.com"}) {
			t.Errorf("recipients %q", m.Rcpts)
		}
		stats := m.Attachments["MigrationStatistics.csv"]
		for _, want := range []string{"EmailAddress,Status,ItemsMigrated,ItemsSkipped\r\n", "ann@new.example,", ",5,0\r\n", "bob@new.example,"} {
			if !strings.Contains(stats, want) {
				t.Errorf("MigrationStatistics.csv lacks %q:\n%s", want, stats)
			}
		}
		if errs, ok := m.Attachments["MigrationErrors.csv"]; !ok || errs != "EmailAddress,Error\r\n" {
			t.Errorf("MigrationErrors.csv: %q", errs)
		}
		for _, s := range secrets {
			if strings.Contains(m.Raw, s) || strings.Contains(m.Body, s) {
				t.Errorf("a mail holds the secret %q", s)
			}
		}
	}
	mails := sink.Mails(t, 1, 2*time.Minute)
	check(mails[0], "Migration batch Mail finished its initial sync: 2 of 2 synced, 0 failed")

	step("batch", "complete", "Mail")
	mails = sink.Mails(t, 2, 2*time.Minute)
	if len(mails) != 2 {
		t.Fatalf("%d mails, want 2", len(mails))
	}
	// The same second's mails may come in either order.
	i := slices.IndexFunc(mails, func(m testenv.SunkMail) bool { return strings.Contains(m.Header.Get("Subject"), "is completed") })
	if i < 0 {
		t.Fatalf("no completion mail: %q, %q", mails[0].Header.Get("Subject"), mails[1].Header.Get("Subject"))
	}
	check(mails[i], "Migration batch Mail is completed: 2 of 2 finalized, 0 failed")
	check(mails[1-i], "Migration batch Mail finished its initial sync: 2 of 2 synced, 0 failed")
	select {
	case err := <-exited:
		exited <- err
		t.Fatalf("serve exited: %v\n%s", err, serveErr.String())
	default:
	}
	// Rounds go on: nothing more is sent.
	if got := sink.Mails(t, 2, time.Second); len(got) != 2 {
		t.Errorf("%d mails, want 2", len(got))
	}
	// The outbox, as an admin sees it.
	var list []struct {
		Kind, Status string
		Attempts     int
		Recipients   []string
	}
	if err := json.Unmarshal([]byte(step("batch", "notifications", "Mail", "-o", "json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Kind != "Completed" || list[1].Kind != "InitialSyncCompleted" {
		t.Fatalf("batch notifications: %+v", list)
	}
	for _, n := range list {
		if n.Status != "Sent" || n.Attempts != 1 || len(n.Recipients) != 2 {
			t.Errorf("outbox row %+v", n)
		}
	}
	if out := step("batch", "notifications"); !strings.Contains(out, "Mail   Completed") || !strings.Contains(out, "Sent") {
		t.Errorf("batch notifications:\n%s", out)
	}
}
