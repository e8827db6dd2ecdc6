package notify_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/migration"
	"github.com/imapmigrate/imapmigrate/internal/notify"
	"github.com/imapmigrate/imapmigrate/internal/testenv"
)

// submissionBinary is Dovecot's submission service (Debian package
// dovecot-submissiond).
const submissionBinary = "/usr/lib/dovecot/submission"

// startSubmission starts a private Dovecot whose submission service
// (STARTTLS on one port, implicit TLS on another; SMTP AUTH against its
// users) relays what it accepts to the sink; user mailer logs in with
// smtpPassword.
func startSubmission(t *testing.T, sink *testenv.SMTPSink) (d *testenv.Dovecot, startTLS, implicitTLS int) {
	t.Helper()
	_, err := os.Stat(submissionBinary)
	testenv.RequireReal(t, "Dovecot's submission service (apt-get install dovecot-submissiond)", err == nil)
	startTLS, implicitTLS = testenv.FreePort(t), testenv.FreePort(t)
	d = testenv.StartDovecot(t, testenv.DovecotOptions{ExtraConfig: fmt.Sprintf(`
protocols = imap submission
hostname = submission.test
submission_relay_host = 127.0.0.1
submission_relay_port = %d
submission_relay_trusted = yes
service submission-login {
  inet_listener submission {
    address = 127.0.0.1
    port = %d
  }
  inet_listener submissions {
    address = 127.0.0.1
    port = %d
    ssl = yes
  }
}
`, sink.Port, startTLS, implicitTLS)})
	d.AddUser("mailer", smtpPassword)
	return d, startTLS, implicitTLS
}

// Through a real submission server, with STARTTLS and with implicit TLS,
// logging in (SMTP AUTH, the server's certificate checked against
// --smtp-ca-file): the mail is relayed to the sink once, with no password
// in it; a wrong password is refused, recorded and retried, and shown
// nowhere.
func TestSubmissionTLSAndAuth(t *testing.T) {
	sink := testenv.StartSMTPSink(t, 0)
	d, startTLS, implicitTLS := startSubmission(t, sink)
	ctx := context.Background()
	for i, tc := range []struct {
		name     string
		security notify.Security
		port     int
	}{{"starttls", notify.SecurityStartTLS, startTLS}, {"implicit TLS", notify.SecuritySSL, implicitTLS}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, sqliteDSN(t))
			cfg := notify.Config{Host: "127.0.0.1", Port: tc.port, Security: tc.security, User: "mailer", Password: smtpPassword,
				From: "imapmigrate@example.com", CAFile: d.CA.CAFile, ConnectTimeout: 5 * time.Second, SendTimeout: 20 * time.Second}
			e.clock.Set(e.t0.Add(20 * time.Minute))
			e.initialSync(t)

			// A wrong password first: refused, recorded, not shown.
			wrong := cfg
			wrong.Password = "Wrong-Smtp-Pw-9"
			e.round(t, e.notifier(t, "p1", e.st, wrong))
			list, _ := e.svc.Notifications(ctx, "B")
			if len(list) != 1 || list[0].Status != migration.NotificationRetrying || !strings.Contains(list[0].LastError, "535") ||
				strings.Contains(list[0].LastError, "Wrong-Smtp-Pw-9") {
				t.Fatalf("after a refused login: %+v", list)
			}

			// The right one, at the retry.
			e.clock.Set(e.clock.Now().Add(notify.DefaultRetryBase))
			e.round(t, e.notifier(t, "p1", e.st, cfg))
			mails := sink.Mails(t, i+1, 10*time.Second)
			if len(mails) != i+1 {
				t.Fatalf("%d mails, want %d", len(mails), i+1)
			}
			m := mails[i]
			noSecrets(t, m)
			if strings.Contains(m.Raw, "Wrong-Smtp-Pw-9") {
				t.Error("a mail holds the wrong password")
			}
			if !strings.Contains(m.Header.Get("Subject"), "finished its initial sync") || len(m.Attachments) != 2 ||
				!strings.Contains(m.Attachments["MigrationStatistics.csv"], "ann@new.example,Synced,10,0") {
				t.Errorf("relayed mail: %q, attachments %d", m.Header.Get("Subject"), len(m.Attachments))
			}
			// Relayed by the submission server, which received it over TLS.
			if !strings.Contains(m.Raw, "submission.test") {
				t.Errorf("not relayed by the submission server:\n%.600s", m.Raw)
			}
			list, _ = e.svc.Notifications(ctx, "B")
			if list[0].Status != migration.NotificationSent || list[0].Attempts != 2 || list[0].LastError != "" {
				t.Errorf("after sending: %+v", list[0])
			}
		})
	}

	// A server whose certificate is not trusted is refused.
	e := newEnv(t, sqliteDSN(t))
	e.clock.Set(e.t0.Add(20 * time.Minute))
	e.initialSync(t)
	e.round(t, e.notifier(t, "p1", e.st, notify.Config{Host: "127.0.0.1", Port: startTLS, Security: notify.SecurityStartTLS,
		User: "mailer", Password: smtpPassword, From: "imapmigrate@example.com", ConnectTimeout: 5 * time.Second}))
	list, _ := e.svc.Notifications(ctx, "B")
	if len(list) != 1 || !strings.Contains(list[0].LastError, "certificate") {
		t.Errorf("an untrusted certificate: %+v", list)
	}
}
