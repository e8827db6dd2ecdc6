package migration_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/imapmigrate/imapmigrate/internal/csvfile"
	"github.com/imapmigrate/imapmigrate/internal/migration"
)

func TestBatchUsersPages(t *testing.T) {
	e := newSealEnv(t)
	ctx := context.Background()
	var csv strings.Builder
	csv.WriteString("EmailAddress,UserName,Password\r\n")
	for i := range 25 {
		fmt.Fprintf(&csv, "u%02d@p.example,u%02d,Pw-%d\r\n", i, i, i)
	}
	if _, _, err := e.svc.NewBatch(ctx, migration.BatchParams{Name: "paged", Source: "old", Target: "new", CSV: strings.NewReader(csv.String())}); err != nil {
		t.Fatal(err)
	}
	var seen []string
	for off := 0; off < 30; off += 10 {
		p, err := e.svc.BatchUsers(ctx, "paged", "", off, 10)
		if err != nil {
			t.Fatal(err)
		}
		if p.Total != 25 || p.Offset != off || p.Limit != 10 {
			t.Errorf("page at %d: total %d offset %d limit %d", off, p.Total, p.Offset, p.Limit)
		}
		for _, u := range p.Users {
			seen = append(seen, u.EmailAddress)
		}
	}
	if len(seen) != 25 || seen[0] != "u00@p.example" || seen[24] != "u24@p.example" {
		t.Errorf("pages hold %d users: %v", len(seen), seen)
	}
	if p, err := e.svc.BatchUsers(ctx, "paged", migration.UserSynced, 0, 10); err != nil || p.Total != 0 || len(p.Users) != 0 {
		t.Errorf("synced users of a batch not started: %+v %v", p, err)
	}
	if p, err := e.svc.BatchUsers(ctx, "paged", migration.UserQueued, 20, 0); err != nil || p.Total != 25 || len(p.Users) != 5 || p.Limit != migration.MaxPageSize {
		t.Errorf("queued users from 20, no limit: %+v %v", p, err)
	}
	var ve *migration.ValidationError
	if _, err := e.svc.BatchUsers(ctx, "nosuch", "", 0, 10); !errors.As(err, &ve) || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("no such batch: %v", err)
	}
}

func TestCheckBatchCreatesNothing(t *testing.T) {
	e := newSealEnv(t)
	ctx := context.Background()
	good := "EmailAddress,UserName,Password\r\nc@x.example,c*mailadmin,Pw-C\r\nd@x.example,d,Pw-D\r\n"
	file, err := e.svc.CheckBatch(ctx, migration.BatchParams{Name: "checked", Source: "old", Target: "new", CSV: strings.NewReader(good), AutoStart: true})
	if err != nil || file == nil || len(file.Rows) != 2 {
		t.Fatalf("a good file: %v %v", file, err)
	}
	if f := file.Forms(); f["dovecot"] != 1 || f["plain"] != 1 {
		t.Errorf("forms: %v", f)
	}
	if _, err := e.svc.Batch(ctx, "checked"); err == nil {
		t.Error("CheckBatch created the batch")
	}
	// Every problem, as NewBatch reports them.
	bad := "EmailAddress,UserName,Password\r\nnot-an-address,c,Pw-C\r\nd@x.example,,Pw-D\r\n"
	_, err = e.svc.CheckBatch(ctx, migration.BatchParams{Name: "bad name", Source: "old", Target: "nosuch", CSV: strings.NewReader(bad)})
	var ves migration.ValidationErrors
	var pe *csvfile.ProblemsError
	if !errors.As(err, &ves) || !errors.As(err, &pe) {
		t.Fatalf("a bad batch: %v", err)
	}
	fields := map[string]bool{}
	for _, v := range ves {
		fields[v.Field] = true
	}
	if !fields["Name"] || !fields["Target"] {
		t.Errorf("settings problems: %v", ves)
	}
	if len(pe.Problems) < 2 || pe.Problems[0].Row != 2 || pe.Problems[len(pe.Problems)-1].Row != 3 {
		t.Errorf("file problems: %v", pe.Problems)
	}
	if bs, _ := e.svc.Batches(ctx, ""); len(bs) != 2 {
		t.Errorf("batches after the checks: %d, want the 2 of the setup", len(bs))
	}
}

func TestTestEndpointRefusals(t *testing.T) {
	e := newSealEnv(t)
	ctx := context.Background()
	var ve *migration.ValidationError
	if _, err := e.svc.TestEndpoint(ctx, "nosuch", "", nil); !errors.As(err, &ve) {
		t.Errorf("no such endpoint: %v", err)
	}
	if _, err := e.svc.TestEndpoint(ctx, "old", "a@x.example", nil); !errors.As(err, &ve) || ve.Field != "TestMailbox" {
		t.Errorf("a mailbox on a source endpoint: %v", err)
	}
	if _, err := e.svc.TestEndpoint(ctx, "peruser", "a@x.example", nil); !errors.As(err, &ve) || ve.Field != "TestMailbox" {
		t.Errorf("a mailbox on a per-user target: %v", err)
	}
}

// closedPort is a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

func TestTestEndpointNamesSettingsAsTheCallerDoes(t *testing.T) {
	e := newSealEnv(t)
	ctx := context.Background()
	if _, err := e.svc.NewEndpoint(ctx, migration.EndpointParams{Endpoint: migration.Endpoint{Name: "down", Server: "127.0.0.1",
		Port: closedPort(t), Security: "none"}, SkipVerify: true}); err != nil {
		t.Fatal(err)
	}
	fix := func(flag func(string) string) string {
		t.Helper()
		rep, err := e.svc.TestEndpoint(ctx, "down", "", flag)
		if err != nil {
			t.Fatal(err)
		}
		f := rep.FirstFailure()
		if f == nil {
			t.Fatalf("nothing listens, yet no step failed: %+v", rep)
		}
		return f.Fix
	}
	// By default, the command that changes the saved endpoint.
	if got := fix(nil); !strings.Contains(got, "endpoint set down --port") {
		t.Errorf("default fix %q does not name endpoint set down --port", got)
	}
	got := fix(func(setting string) string { return "<" + setting + ">" })
	if !strings.Contains(got, "<port>") || strings.Contains(got, "--") {
		t.Errorf("fix %q does not name the setting as the caller does", got)
	}
}

// onlyStore hides the store's UserPager: BatchView reads every user.
type onlyStore struct{ migration.Store }

func TestBatchView(t *testing.T) {
	e := newSealEnv(t)
	if _, ok := e.svc.Store.(migration.UserPager); !ok {
		t.Fatal("the SQL store is no UserPager")
	}
	t.Run("pager", func(t *testing.T) { testBatchView(t, e, e.svc) })
	t.Run("every user", func(t *testing.T) {
		svc := *e.svc
		svc.Store = onlyStore{e.svc.Store}
		testBatchView(t, e, &svc)
	})
}

func testBatchView(t *testing.T, e *sealEnv, svc *migration.Service) {
	ctx := context.Background()
	v, err := svc.BatchView(ctx, "b1", "", 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if v.Name != "b1" || v.Users != 2 || v.Page.Total != 2 || len(v.Page.Users) != 1 || v.Page.Users[0].EmailAddress != "b@x.example" {
		t.Errorf("page 2 of 1 user: %+v %+v", v.Batch, v.Page)
	}
	if v, err := svc.BatchView(ctx, "b1", "", 2, 1); err != nil || v.Page.Total != 2 || len(v.Page.Users) != 0 {
		t.Errorf("past the last page: %+v %v", v, err)
	}
	if b, _ := svc.Batch(ctx, "b1"); b.Intent == migration.IntentCreated {
		if err := svc.StartBatch(ctx, "b1"); err != nil {
			t.Fatal(err)
		}
		e.fail(t, "b1")
	}
	v, err = svc.BatchView(ctx, "b1", migration.UserFailed, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if v.Page.Total != 1 || v.Page.Users[0].Status != migration.UserFailed || v.Counts[migration.UserQueued] != 1 || v.NextSync.IsZero() {
		t.Errorf("failed users of a started batch: %+v, counts %v, next %v", v.Page, v.Counts, v.NextSync)
	}
	if _, err := svc.BatchView(ctx, "nosuch", "", 0, 10); err == nil {
		t.Error("no such batch: no error")
	}
}
