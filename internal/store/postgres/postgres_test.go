package postgres_test

import (
	"context"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/imapmigrate/imapmigrate/internal/store"
	"github.com/imapmigrate/imapmigrate/internal/store/postgres"
	"github.com/imapmigrate/imapmigrate/internal/store/storetest"
	"github.com/imapmigrate/imapmigrate/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.PostgresMain(m)) }

// TestConformance runs the store's conformance suite on PostgreSQL, each
// test in a new database of one shared cluster.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) string { return testenv.PostgresDB(t) })
}

// Open's errors name the database without its password: a bad address,
// an unreachable server, a wrong database name.
func TestOpenErrorsHidePassword(t *testing.T) {
	ctx := context.Background()
	dsn := testenv.PostgresDB(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	withPassword := func(host, db string) string {
		v := *u
		v.User = url.UserPassword(v.User.Username(), "hunter2")
		if host != "" {
			v.Host = host
		}
		if db != "" {
			v.Path = "/" + db
		}
		q := v.Query()
		q.Set("connect_timeout", "5")
		v.RawQuery = q.Encode()
		return v.String()
	}
	closed := freePort(t)
	for _, bad := range []string{
		"postgres://admin:hunter2@db.example:notaport/x",
		withPassword(closed, ""),
		withPassword("", "no_such_database"),
	} {
		s, err := postgres.Open(ctx, bad)
		if err == nil {
			s.Close()
			t.Errorf("Open(%s) succeeded", bad)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("the error repeats the password: %v", err)
		}
		if _, err := store.Open(ctx, bad, store.Options{}); err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("store.Open: %v", err)
		}
	}
	if d := store.Describe(withPassword("", "")); strings.Contains(d, "hunter2") {
		t.Errorf("Describe repeats the password: %s", d)
	}
}

// freePort is host:port of a local port nothing listens on.
func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
