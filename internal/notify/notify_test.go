package notify_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/migration"
	"github.com/imapmigrate/imapmigrate/internal/notify"
	"github.com/imapmigrate/imapmigrate/internal/secret"
	"github.com/imapmigrate/imapmigrate/internal/store"
	"github.com/imapmigrate/imapmigrate/internal/syncer"
	"github.com/imapmigrate/imapmigrate/internal/testenv"
)

// Secrets that must never reach a mail.
const (
	smtpPassword  = "Smtp-Secret-Pw-1"
	adminPassword = "Admin-Secret-Pw-2"
	userPassword  = "User-Secret-Pw-3"
)

var recipients = []string{"admin@example.com", "helpdesk@example.com"}

// clock is the tests' time, moved by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// env is a real store and service with batch B of three users, its
// report e-mails to recipients every hour, started at t0.
type env struct {
	dsn   string
	st    store.Store
	svc   *migration.Service
	clock *clock
	t0    time.Time
}

func sqliteDSN(t *testing.T) string { return filepath.Join(t.TempDir(), "imapmigrate.db") }

func newEnv(t *testing.T, dsn string) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{dsn: dsn, st: openStore(t, dsn), clock: &clock{}}
	e.t0 = time.Now().UTC().Truncate(time.Second)
	e.clock.Set(e.t0)
	key := make([]byte, secret.KeySize)
	key[0] = 9
	box, err := secret.New(key)
	if err != nil {
		t.Fatal(err)
	}
	e.svc = &migration.Service{Store: e.st, Box: box, Now: e.clock.Now}
	for _, p := range []migration.EndpointParams{
		{Endpoint: migration.Endpoint{Name: "old", Server: "imap.old.example"}},
		{Endpoint: migration.Endpoint{Name: "new", Server: "imap.new.example", MailboxAccess: migration.AccessMaster, AdminUser: "mailadmin"},
			AdminPassword: adminPassword},
	} {
		p.SkipVerify = true
		if _, err := e.svc.NewEndpoint(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	csv := "EmailAddress,UserName,Password\r\n" +
		"ann@new.example,ann," + userPassword + "\r\n" +
		"bob@new.example,bob," + userPassword + "\r\n" +
		"=cat@new.example,cat," + userPassword + "\r\n"
	if _, _, err := e.svc.NewBatch(ctx, migration.BatchParams{Name: "B", Source: "old", Target: "new", CSV: strings.NewReader(csv),
		NotificationEmails: recipients, ReportInterval: time.Hour, AutoStart: true}); err != nil {
		t.Fatal(err)
	}
	return e
}

func openStore(t *testing.T, dsn string) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// initialSync runs every user's initial pass at the clock's time: ann
// synced 10 messages, bob 5 with one too large to copy (itemised), cat
// failed.
func (e *env) initialSync(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	now := e.clock.Now()
	for range 3 {
		c, err := e.st.Claim(ctx, "w", "B", now, time.Minute)
		if err != nil || c == nil {
			t.Fatalf("claim: %v %v", c, err)
		}
		o := migration.Outcome{Status: migration.UserSynced, At: now, FirstSync: true, NextDue: now.Add(24 * time.Hour)}
		switch c.User.EmailAddress {
		case "ann@new.example":
			o.Copied = 10
		case "bob@new.example":
			o.Copied, o.Skipped = 5, map[string]int{"too_large": 1}
			state, err := e.st.UserState(ctx, c.User.ID)
			if err != nil {
				t.Fatal(err)
			}
			if err := state.Commit(ctx, &syncer.FolderState{Source: "INBOX", Target: "INBOX"}, syncer.Commit{Skipped: []syncer.Skip{
				{SourceUID: 7, Reason: syncer.SkipTooLarge, Size: 52428800, Subject: "Holiday photos", Date: e.t0.Add(-48 * time.Hour)}}}); err != nil {
				t.Fatal(err)
			}
		default:
			o = migration.Outcome{Status: migration.UserFailed, Error: "source login failed: [AUTHENTICATIONFAILED] Authentication failed.", At: now}
		}
		if err := e.st.Finish(ctx, c.User.ID, "w", o); err != nil {
			t.Fatal(err)
		}
	}
}

// smtpConfig is the sink's, without a login: smtp-sink announces AUTH
// but answers it 250 where RFC 4954 says 235, which a compliant client
// takes for a failure (TestSMTPAuthFailureHidesPassword).
func smtpConfig(port int) notify.Config {
	return notify.Config{Host: "127.0.0.1", Port: port, Security: notify.SecurityNone,
		From: "Migration <imapmigrate@example.com>", ConnectTimeout: 5 * time.Second, SendTimeout: 20 * time.Second}
}

func (e *env) notifier(t *testing.T, name string, st store.Store, cfg notify.Config) *notify.Notifier {
	t.Helper()
	svc := *e.svc
	svc.Store = st
	n, err := notify.New(notify.Options{Service: &svc, Outbox: st, SMTP: cfg, Name: name, Now: e.clock.Now,
		StartedBy: func(ctx context.Context, batch string) string { return "alice" }})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (e *env) round(t *testing.T, n *notify.Notifier) {
	t.Helper()
	if err := n.Round(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// noSecrets fails when a mail holds a password.
func noSecrets(t *testing.T, m testenv.SunkMail) {
	t.Helper()
	for _, s := range []string{smtpPassword, adminPassword, userPassword} {
		if strings.Contains(m.Raw, s) || strings.Contains(m.Body, s) {
			t.Errorf("a mail holds the password %q", s)
		}
		for name, a := range m.Attachments {
			if strings.Contains(a, s) {
				t.Errorf("attachment %s holds the password %q", name, s)
			}
		}
	}
}

// The mails arrive at a real SMTP server, each once: the initial sync's,
// a report after an interval, the completion's; each with its subject,
// recipients, body and both CSV attachments, and no password.
func TestReportMailsArriveOnce(t *testing.T) {
	sink := testenv.StartSMTPSink(t, 0)
	e := newEnv(t, sqliteDSN(t))
	n := e.notifier(t, "p1", e.st, smtpConfig(sink.Port))
	ctx := context.Background()

	// Syncing, within the first interval: nothing.
	e.clock.Set(e.t0.Add(10 * time.Minute))
	e.round(t, n)
	if list, _ := e.svc.Notifications(ctx, "B"); len(list) != 0 {
		t.Fatalf("a syncing batch before its first interval has mails: %+v", list)
	}

	// The initial sync done.
	e.clock.Set(e.t0.Add(20 * time.Minute))
	e.initialSync(t)
	e.round(t, n)
	mails := sink.Mails(t, 1, 10*time.Second)
	if len(mails) != 1 {
		t.Fatalf("%d mails, want 1", len(mails))
	}
	m := mails[0]
	noSecrets(t, m)
	if !slices.Equal(m.Rcpts, recipients) || m.MailFrom != "imapmigrate@example.com" {
		t.Errorf("envelope: from %q to %q", m.MailFrom, m.Rcpts)
	}
	if to := m.Header.Get("To"); !strings.Contains(to, "admin@example.com") || !strings.Contains(to, "helpdesk@example.com") {
		t.Errorf("To: %q", to)
	}
	if got, want := m.Header.Get("Subject"), "Migration batch B finished its initial sync: 2 of 3 synced, 1 failed, 1 item skipped"; got != want {
		t.Errorf("Subject: %q, want %q", got, want)
	}
	if m.Header.Get("Auto-Submitted") != "auto-generated" {
		t.Errorf("Auto-Submitted: %q", m.Header.Get("Auto-Submitted"))
	}
	if id := m.Header.Get("Message-Id"); !strings.HasPrefix(id, "<imapmigrate.B.InitialSyncCompleted.0.") || !strings.HasSuffix(id, "@example.com>") {
		t.Errorf("Message-ID %q", id)
	}
	for _, want := range []string{"has finished its initial sync (SyncedWithErrors)", "Started by:            alice", "Run time:              00:20:00",
		"Total:                 3", "Synced:                2", "Failed:                1", "Skipped items:         1 (too_large 1)",
		"=cat@new.example (Failed): source login failed: [AUTHENTICATIONFAILED] Authentication failed.", "MigrationStatistics.csv"} {
		if !strings.Contains(m.Body, want) {
			t.Errorf("body lacks %q:\n%s", want, m.Body)
		}
	}
	stats := "EmailAddress,Status,ItemsMigrated,ItemsSkipped\r\n" +
		"ann@new.example,Synced,10,0\r\n" +
		"bob@new.example,Synced,5,1\r\n" +
		"'=cat@new.example,Failed,0,0\r\n"
	if got := m.Attachments["MigrationStatistics.csv"]; got != stats {
		t.Errorf("MigrationStatistics.csv:\n%s\nwant:\n%s", got, stats)
	}
	errs := "EmailAddress,Error\r\n" +
		"'=cat@new.example,source login failed: [AUTHENTICATIONFAILED] Authentication failed.\r\n" +
		fmt.Sprintf("bob@new.example,\"skipped (too_large): \"\"Holiday photos\"\" of %s in INBOX, UID 7, 52428800 bytes\"\r\n",
			e.t0.Add(-48*time.Hour).Format(time.DateOnly))
	if got := m.Attachments["MigrationErrors.csv"]; got != errs {
		t.Errorf("MigrationErrors.csv:\n%s\nwant:\n%s", got, errs)
	}
	if len(m.Attachments) != 2 {
		t.Errorf("attachments %v", len(m.Attachments))
	}

	// Again, and again from another process: nothing new.
	e.round(t, n)
	e.round(t, e.notifier(t, "p2", openStore(t, e.dsn), smtpConfig(sink.Port)))
	if got := sink.Mails(t, 1, 10*time.Second); len(got) != 1 {
		t.Fatalf("%d mails after more rounds, want 1", len(got))
	}

	// An interval later: a report; one only, however long since.
	e.clock.Set(e.t0.Add(3*time.Hour + time.Minute))
	e.round(t, n)
	e.round(t, n)
	mails = sink.Mails(t, 2, 10*time.Second)
	if len(mails) != 2 {
		t.Fatalf("%d mails, want 2", len(mails))
	}
	if got := mails[1].Header.Get("Subject"); !strings.HasPrefix(got, "Migration batch B report: SyncedWithErrors, 2 of 3 synced, 1 failed") {
		t.Errorf("report subject %q", got)
	}
	noSecrets(t, mails[1])

	// Completed.
	if err := e.svc.CompleteBatch(ctx, "B"); err != nil {
		t.Fatal(err)
	}
	now := e.t0.Add(3*time.Hour + 2*time.Minute)
	for {
		c, err := e.st.Claim(ctx, "w", "B", now, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if c == nil {
			break
		}
		st := migration.UserCompleted
		if c.User.Status == migration.UserFailed || c.User.FirstSync.IsZero() {
			st = migration.UserFailed
		}
		if err := e.st.Finish(ctx, c.User.ID, "w", migration.Outcome{Status: st, At: now, Copied: c.User.ItemsSynced, FirstSync: true,
			Error: c.User.Error}); err != nil {
			t.Fatal(err)
		}
	}
	e.clock.Set(now.Add(time.Minute))
	b, _ := e.svc.Batch(ctx, "B")
	e.round(t, n)
	mails = sink.Mails(t, 3, 10*time.Second)
	if len(mails) != 3 {
		t.Fatalf("%d mails, want 3 (batch %s)", len(mails), b.Status)
	}
	if got := mails[2].Header.Get("Subject"); !strings.HasPrefix(got, "Migration batch B is completed with errors: 2 of 3 finalized, 1 failed") {
		t.Errorf("completion subject %q (batch %s)", got, b.Status)
	}
	noSecrets(t, mails[2])
	e.clock.Set(now.Add(48 * time.Hour))
	e.round(t, n)
	if got := sink.Mails(t, 3, 10*time.Second); len(got) != 3 {
		t.Errorf("%d mails after the completion, want 3", len(got))
	}

	list, err := e.svc.Notifications(ctx, "B")
	if err != nil || len(list) != 3 {
		t.Fatalf("Notifications: %d, %v", len(list), err)
	}
	for _, l := range list {
		if l.Status != migration.NotificationSent || l.Attempts != 1 || l.LastError != "" {
			t.Errorf("outbox row %+v", l)
		}
	}
}

// A server that does not answer: each attempt's error is recorded and
// the mail tried again after a backoff (not before), then sent once when
// the server is back.
func TestFailedSendRetried(t *testing.T) {
	_, found := testenv.SMTPSinkPath()
	if !found {
		testenv.StartSMTPSink(t, 0) // skips, or fails with IMAPMIGRATE_REQUIRE_REAL=1
	}
	port := testenv.FreePort(t) // closed
	e := newEnv(t, sqliteDSN(t))
	n := e.notifier(t, "p1", e.st, smtpConfig(port))
	ctx := context.Background()
	e.clock.Set(e.t0.Add(20 * time.Minute))
	e.initialSync(t)

	e.round(t, n)
	list, _ := e.svc.Notifications(ctx, "B")
	if len(list) != 1 || list[0].Attempts != 1 || list[0].Status != migration.NotificationRetrying ||
		!strings.Contains(list[0].LastError, "connection refused") || !list[0].Due.Equal(e.clock.Now().Add(notify.DefaultRetryBase)) {
		t.Fatalf("after a refused connection: %+v", list)
	}
	if strings.Contains(list[0].LastError, smtpPassword) {
		t.Error("the error shows the SMTP password")
	}
	// Before the retry: not tried.
	e.clock.Set(e.clock.Now().Add(30 * time.Second))
	e.round(t, n)
	if list, _ = e.svc.Notifications(ctx, "B"); list[0].Attempts != 1 {
		t.Fatalf("tried again before its backoff: %+v", list[0])
	}
	// At the retry: tried, failed, the backoff doubled.
	e.clock.Set(e.clock.Now().Add(30 * time.Second))
	e.round(t, n)
	if list, _ = e.svc.Notifications(ctx, "B"); list[0].Attempts != 2 || !list[0].Due.Equal(e.clock.Now().Add(2*notify.DefaultRetryBase)) {
		t.Fatalf("second attempt: %+v", list[0])
	}
	// The server is back: sent once, at the next retry.
	sink := testenv.StartSMTPSink(t, port)
	e.round(t, n)
	if list, _ = e.svc.Notifications(ctx, "B"); list[0].Attempts != 2 {
		t.Fatalf("sent before its retry: %+v", list[0])
	}
	e.clock.Set(e.clock.Now().Add(2 * notify.DefaultRetryBase))
	e.round(t, n)
	e.round(t, n)
	mails := sink.Mails(t, 1, 10*time.Second)
	if len(mails) != 1 || !strings.Contains(mails[0].Header.Get("Subject"), "finished its initial sync") || len(mails[0].Attachments) != 2 {
		t.Fatalf("%d mails: %+v", len(mails), mails)
	}
	noSecrets(t, mails[0])
	list, _ = e.svc.Notifications(ctx, "B")
	if l := list[0]; l.Status != migration.NotificationSent || l.Attempts != 3 || l.LastError != "" || !l.SentAt.Equal(e.clock.Now()) {
		t.Errorf("after sending: %+v", l)
	}
}

// Two processes (each its own Notifier and connection to the database)
// run rounds at once, again and again: each mail is sent exactly once.
func TestTwoNotifiersSendOnce(t *testing.T) {
	testTwoNotifiers(t, sqliteDSN(t))
}

func testTwoNotifiers(t *testing.T, dsn string) {
	sink := testenv.StartSMTPSink(t, 0)
	e := newEnv(t, dsn)
	ns := []*notify.Notifier{e.notifier(t, "p1", openStore(t, dsn), smtpConfig(sink.Port)), e.notifier(t, "p2", openStore(t, dsn), smtpConfig(sink.Port))}
	e.clock.Set(e.t0.Add(20 * time.Minute))
	e.initialSync(t)
	race := func() {
		var wg sync.WaitGroup
		for _, n := range ns {
			for range 3 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := n.Round(context.Background()); err != nil {
						t.Error(err)
					}
				}()
			}
		}
		wg.Wait()
	}
	race()
	e.clock.Set(e.t0.Add(time.Hour + time.Minute))
	race()
	e.clock.Set(e.t0.Add(2*time.Hour + time.Minute))
	race()
	race()
	mails := sink.Mails(t, 3, 10*time.Second)
	var subjects []string
	for _, m := range mails {
		subjects = append(subjects, m.Header.Get("Message-Id"))
	}
	if len(mails) != 3 {
		t.Fatalf("%d mails, want 3 (initial sync, two reports):\n%s", len(mails), strings.Join(subjects, "\n"))
	}
	slices.Sort(subjects)
	if subjects = slices.Compact(subjects); len(subjects) != 3 {
		t.Errorf("a mail sent twice: %v", subjects)
	}
	list, _ := e.svc.Notifications(context.Background(), "B")
	for _, l := range list {
		if l.Status != migration.NotificationSent || l.Attempts != 1 {
			t.Errorf("outbox row %+v", l)
		}
	}
}

// Start runs rounds on its ticker until Stop; Stop is safe twice, and
// without Start.
func TestStartStop(t *testing.T) {
	sink := testenv.StartSMTPSink(t, 0)
	e := newEnv(t, sqliteDSN(t))
	tick := make(chan time.Time)
	rounds := make(chan error)
	svc := *e.svc
	n, err := notify.New(notify.Options{Service: &svc, Outbox: e.st, SMTP: smtpConfig(sink.Port), Now: e.clock.Now, Tick: tick,
		OnRound: func(err error) { rounds <- err }})
	if err != nil {
		t.Fatal(err)
	}
	n.Stop() // not started: nothing to do
	n.Start(context.Background())
	n.Start(context.Background()) // running: nothing to do
	if err := <-rounds; err != nil {
		t.Fatal(err)
	}
	e.clock.Set(e.t0.Add(20 * time.Minute))
	e.initialSync(t)
	tick <- e.clock.Now()
	if err := <-rounds; err != nil {
		t.Fatal(err)
	}
	if got := sink.Mails(t, 1, 10*time.Second); len(got) != 1 {
		t.Fatalf("%d mails, want 1", len(got))
	}
	done := make(chan struct{})
	go func() {
		n.Stop()
		n.Stop()
		close(done)
	}()
	<-done
	select {
	case tick <- time.Now():
		t.Error("a stopped notifier took a tick")
	default:
	}
}

func TestMain(m *testing.M) { os.Exit(testenv.PostgresMain(m)) }

// On PostgreSQL too, each mail once from two processes.
func TestTwoNotifiersSendOncePostgres(t *testing.T) {
	testTwoNotifiers(t, testenv.PostgresDB(t))
}

// A login the server refuses (smtp-sink answers AUTH with 250, not 235:
// go-mail sent the password and took the answer for a refusal): the
// error is recorded and logged without the password.
func TestSMTPAuthFailureHidesPassword(t *testing.T) {
	sink := testenv.StartSMTPSink(t, 0)
	e := newEnv(t, sqliteDSN(t))
	var logs bytes.Buffer
	cfg := smtpConfig(sink.Port)
	cfg.User, cfg.Password = "mailer", smtpPassword
	svc := *e.svc
	n, err := notify.New(notify.Options{Service: &svc, Outbox: e.st, SMTP: cfg, Now: e.clock.Now,
		Log: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Set(e.t0.Add(20 * time.Minute))
	e.initialSync(t)
	e.round(t, n)
	list, _ := e.svc.Notifications(context.Background(), "B")
	if len(list) != 1 || !strings.Contains(list[0].LastError, "SMTP AUTH failed") || list[0].Status != migration.NotificationRetrying {
		t.Fatalf("after a refused login: %+v", list)
	}
	if strings.Contains(list[0].LastError, smtpPassword) || strings.Contains(logs.String(), smtpPassword) {
		t.Errorf("the SMTP password is shown:\n%s\n%s", list[0].LastError, logs.String())
	}
	if !strings.Contains(logs.String(), "SMTP AUTH failed") {
		t.Errorf("the failure is not logged:\n%s", logs.String())
	}
	if got := sink.Mails(t, 0, 10*time.Second); len(got) != 0 {
		t.Errorf("%d mails sent without the login", len(got))
	}
}
