package migration_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/migration"
	"github.com/imapmigrate/imapmigrate/internal/testenv"
)

// TestErrorClasses: a refused request is a *ValidationError (as the CLI
// shows it) that also says its class, for the REST API's 404 and 409.
func TestErrorClasses(t *testing.T) {
	e := newSealEnv(t)
	ctx := context.Background()
	_, err := e.svc.NewEndpoint(ctx, migration.EndpointParams{Endpoint: migration.Endpoint{Name: "old", Server: "x"}, SkipVerify: true})
	exists := err
	_, _, batchExists := e.svc.NewBatch(ctx, migration.BatchParams{Name: "b1", Source: "old", Target: "new",
		CSV: strings.NewReader("EmailAddress,UserName,Password\r\nz@x.example,z,Pw-Z-Secret\r\n")})
	if err := e.svc.StartBatch(ctx, "b1"); err != nil {
		t.Fatal(err)
	}
	none := []string{}
	_, setStarted := e.svc.SetBatch(ctx, "b1", migration.BatchSettings{ExcludeFolders: &none})
	for _, c := range []struct {
		name string
		err  error
		want error
	}{
		{"unknown batch", e.svc.StartBatch(ctx, "nope"), migration.ErrNotFound},
		{"unknown endpoint", e.svc.RemoveEndpoint(ctx, "nope"), migration.ErrNotFound},
		{"endpoint exists", exists, migration.ErrExists},
		{"batch exists", batchExists, migration.ErrExists},
		{"endpoint in use", e.svc.RemoveEndpoint(ctx, "old"), migration.ErrInUse},
		{"stop a created batch", e.svc.StopBatch(ctx, "b2"), migration.ErrState},
		{"complete a created batch", e.svc.CompleteBatch(ctx, "b2"), migration.ErrState},
		{"set a started batch", setStarted, migration.ErrState},
	} {
		var ve *migration.ValidationError
		if !errors.Is(c.err, c.want) || !errors.As(c.err, &ve) {
			t.Errorf("%s: %v, want a *ValidationError of class %v", c.name, c.err, c.want)
		}
	}
	if _, err := e.svc.Endpoints(ctx, "old"); err != nil {
		t.Fatal(err)
	}
}

func TestPatchEndpoint(t *testing.T) {
	e := newSealEnv(t)
	ctx := context.Background()
	port, limit := 1993, 50
	access := migration.AccessAuthzid
	got, err := e.svc.PatchEndpoint(ctx, "new", migration.EndpointPatch{Port: &port, MaxConcurrentMigrations: &limit, MailboxAccess: &access})
	if err != nil {
		t.Fatal(err)
	}
	if got.Port != 1993 || got.MaxConcurrentMigrations != 50 || got.MaxConcurrentIncrementalSyncs != 20 || got.MailboxAccess != access ||
		got.Server != "imap.new.example" || got.AdminUser != "mailadmin" || got.AdminPassword == "" {
		t.Errorf("after the patch: %+v", got)
	}
	// The admin password moved with the port and still opens.
	if _, err := e.svc.TestEndpoint(ctx, "new", "", nil); err != nil {
		t.Errorf("the password does not open after the move: %v", err)
	}
	// Removing the password a master target needs is refused.
	none := ""
	if _, err := e.svc.PatchEndpoint(ctx, "new", migration.EndpointPatch{AdminPassword: &none}); !errorField(err, "AdminPassword") {
		t.Errorf("password removed: %v", err)
	}
	bad := 500
	if _, err := e.svc.PatchEndpoint(ctx, "new", migration.EndpointPatch{MaxConcurrentMigrations: &bad}); !errorField(err, "MaxConcurrentMigrations") {
		t.Errorf("500 migrations: %v", err)
	}
	if _, err := e.svc.PatchEndpoint(ctx, "nope", migration.EndpointPatch{}); !errors.Is(err, migration.ErrNotFound) {
		t.Errorf("unknown endpoint: %v", err)
	}
	pw := "Other-Admin-Pw"
	if _, err := e.svc.PatchEndpoint(ctx, "new", migration.EndpointPatch{AdminPassword: &pw}); err != nil {
		t.Fatal(err)
	}
}

// errorField says whether err holds a *ValidationError of field.
func errorField(err error, field string) bool {
	var ve migration.ValidationErrors
	if errors.As(err, &ve) {
		for _, e := range ve {
			if e.Field == field {
				return true
			}
		}
	}
	var one *migration.ValidationError
	return errors.As(err, &one) && one.Field == field
}

func TestTestServer(t *testing.T) {
	srv := testenv.StartMemServer(t, testenv.MemServerOptions{Users: map[string]string{"terry@x.example": "Terry-Pw-1"}})
	svc := &migration.Service{}
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		t      migration.ServerTest
		fields []string
	}{
		{"nothing", migration.ServerTest{}, []string{"Server"}},
		{"bad values", migration.ServerTest{Server: "x", Security: "tls1.3", Port: 70000, Auth: "cram-md5"}, []string{"Security", "Port", "Auth"}},
		{"user alone", migration.ServerTest{Server: "x", User: "u"}, []string{"Password"}},
		{"password alone", migration.ServerTest{Server: "x", Password: "p"}, []string{"User"}},
	} {
		_, err := svc.TestServer(ctx, c.t)
		for _, f := range c.fields {
			if !errorField(err, f) {
				t.Errorf("%s: %v lacks %s", c.name, err, f)
			}
		}
	}
	flag := func(s string) string { return "<" + s + ">" }
	r, err := svc.TestServer(ctx, migration.ServerTest{Server: srv.Host, Port: srv.TLSPort, CAFile: srv.CA.CAFile, User: "terry@x.example", Password: "Terry-Pw-1", Flag: flag})
	if err != nil || !r.OK || !r.LoggedIn {
		t.Fatalf("a good login: %+v %v", r, err)
	}
	r, err = svc.TestServer(ctx, migration.ServerTest{Server: srv.Host, Port: srv.TLSPort, Flag: flag})
	if err != nil || r.OK {
		t.Fatalf("an untrusted certificate: %+v %v", r, err)
	}
	if f := r.FirstFailure(); f == nil || !strings.Contains(f.Fix, "<ca-file>") {
		t.Errorf("the fix does not name the setting as the caller does: %+v", f)
	}
}

func TestReportUsers(t *testing.T) {
	e := newSealEnv(t)
	ctx := context.Background()
	if users, err := e.svc.ReportUsers(ctx, "b1"); err != nil || len(users) != 2 {
		t.Errorf("b1: %d users, %v", len(users), err)
	}
	if _, err := e.svc.ReportUsers(ctx, "nope"); !errors.Is(err, migration.ErrNotFound) {
		t.Errorf("unknown batch: %v", err)
	}
}

func TestParseTimeSpan(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"00:00:00", 0, true},
		{"00:08:20", 8*time.Minute + 20*time.Second, true},
		{"1.02:03:04", 26*time.Hour + 3*time.Minute + 4*time.Second, true},
		{"-00:05:00", -5 * time.Minute, true},
		{" 24h ", 24 * time.Hour, true},
		{"90m", 90 * time.Minute, true},
		{"", 0, false},
		{"soon", 0, false},
		{"24:00:00", 0, false},
		{"00:60:00", 0, false},
		{"1.2.00:00:00", 0, false},
		{"x.00:00:00", 0, false},
		{"00:00", 0, false},
		{"000:00:00", 0, false},
		{"999999999.00:00:00", 0, false},
	} {
		got, err := migration.ParseTimeSpan(c.in)
		if (err == nil) != c.ok || (c.ok && time.Duration(got) != c.want) {
			t.Errorf("ParseTimeSpan(%q) = %v, %v; want %v, ok %v", c.in, time.Duration(got), err, c.want, c.ok)
		}
	}
	// What a TimeSpan shows reads back, in JSON too.
	for _, d := range []time.Duration{0, time.Second, 59 * time.Minute, 24 * time.Hour, 1000*24*time.Hour + 5*time.Second, -time.Hour} {
		var back migration.TimeSpan
		if err := back.UnmarshalText([]byte(migration.TimeSpan(d).String())); err != nil || time.Duration(back) != d {
			t.Errorf("%v: read back as %v, %v", d, time.Duration(back), err)
		}
	}
}

func FuzzParseTimeSpan(f *testing.F) {
	for _, s := range []string{"1.02:03:04", "00:00:00", "-00:05:00", "24h", "99999.23:59:59"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := migration.ParseTimeSpan(s)
		if err != nil {
			return
		}
		// A span to the second shows and reads back as itself.
		if time.Duration(d)%time.Second == 0 {
			back, err := migration.ParseTimeSpan(d.String())
			if err != nil || back != d {
				t.Errorf("%q = %v shows as %q, read back as %v, %v", s, time.Duration(d), d.String(), time.Duration(back), err)
			}
		}
	})
}
