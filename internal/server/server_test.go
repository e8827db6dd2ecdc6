package server

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/imapconn"
	"github.com/imapmigrate/imapmigrate/internal/migration"
	"github.com/imapmigrate/imapmigrate/internal/scheduler"
	"github.com/imapmigrate/imapmigrate/internal/secret"
)

// A server stops cleanly: no new claim, the pass under way is cancelled and
// its user released, the worker forgotten; Stop and Close are safe twice.
func TestStartStop(t *testing.T) {
	t.Setenv(secret.EnvKey, "")
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := Open(ctx, Config{DataDir: dir, MustExist: true}); err == nil || !strings.Contains(err.Error(), "no database at") {
		t.Fatalf("a missing database: %v", err)
	}
	srv, err := Open(ctx, Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	svc := srv.Service
	for _, name := range []string{"old", "new"} {
		if _, err := svc.NewEndpoint(ctx, migration.EndpointParams{Endpoint: migration.Endpoint{Name: name, Server: "imap.example", Port: 993,
			Security: imapconn.SecuritySSL, MailboxAccess: migration.AccessMaster, AdminUser: "admin"}, AdminPassword: "pw", SkipVerify: true}); err != nil {
			t.Fatal(err)
		}
	}
	csv := "EmailAddress,UserName,Password\na@new.example,a,pw\nb@new.example,b,pw\n"
	if _, _, err := svc.NewBatch(ctx, migration.BatchParams{Name: "B", Source: "old", Target: "new", CSV: strings.NewReader(csv), AutoStart: true}); err != nil {
		t.Fatal(err)
	}
	sched := srv.Scheduler(WorkerOptions{Name: "w1", Workers: 1, Poll: time.Hour}, "", nil)
	started := make(chan string, 2)
	sched.Run = func(ctx context.Context, c *migration.Claim, m *scheduler.Meter) migration.Outcome {
		started <- c.User.EmailAddress
		<-ctx.Done() // a pass that runs until told to stop
		return migration.EndPass(migration.PassEnd{Kind: c.Kind, Interrupted: context.Cause(ctx)}, migration.Outcome{At: time.Now()})
	}
	r := Start(ctx, sched)
	<-started
	if ws, err := svc.Workers(ctx); err != nil || len(ws) != 1 || ws[0].Name != "w1" {
		t.Fatalf("workers while running: %+v %v", ws, err)
	}
	if err := r.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := r.Stop(); err != nil {
		t.Fatal("second Stop:", err)
	}
	select {
	case u := <-started:
		t.Fatalf("%s was claimed after Stop", u)
	default:
	}
	users, err := svc.Users(ctx, "B", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if u.Status != migration.UserQueued || u.Pass != nil {
			t.Errorf("%s after Stop: %s, pass %+v", u.EmailAddress, u.Status, u.Pass)
		}
	}
	if ws, _ := svc.Workers(ctx); len(ws) != 0 {
		t.Errorf("workers after Stop: %+v", ws)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
}
