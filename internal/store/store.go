package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"strings"

	"github.com/imapmigrate/imapmigrate/internal/auth"
	"github.com/imapmigrate/imapmigrate/internal/migration"
	"github.com/imapmigrate/imapmigrate/internal/notify"
	"github.com/imapmigrate/imapmigrate/internal/secret"
	"github.com/imapmigrate/imapmigrate/internal/store/postgres"
	"github.com/imapmigrate/imapmigrate/internal/store/sqldb"
	"github.com/imapmigrate/imapmigrate/internal/store/sqlite"
	"github.com/imapmigrate/imapmigrate/internal/syncer"
)

// Store is an open state database, on either engine.
type Store interface {
	migration.Store
	secret.KeyRecord
	auth.Store
	notify.Outbox
	// State is the sync state of the mailbox pair named by key (created
	// when missing); UserState that of a migration user.
	State(ctx context.Context, key string) (syncer.State, error)
	UserState(ctx context.Context, userID int64) (syncer.State, error)
	// Ping runs a query (readiness: the database answers).
	Ping(ctx context.Context) error
	Close() error
}

var _ Store = (*sqldb.DB)(nil)

// ErrNoDatabase is returned by Open with MustExist when there is none.
var ErrNoDatabase = errors.New("no database")

// Options tune Open.
type Options struct {
	// MustExist refuses to create a new SQLite database (commands that only
	// read or change existing objects).
	MustExist bool
}

// Kind says which engine a DSN names: "sqlite" (a file path, or
// sqlite:PATH / file:PATH) or "postgres" (postgres://… or
// postgresql://…). Anything else is refused with what to write instead.
func Kind(dsn string) (kind, rest string, err error) {
	switch {
	case dsn == "":
		return "", "", errors.New("no database given: use --db PATH or --db postgres://…, or --data-dir")
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return "postgres", dsn, nil
	}
	if m := schemeRE.FindStringSubmatch(dsn); m != nil {
		switch strings.ToLower(m[1]) {
		case "sqlite", "file":
			return "sqlite", strings.TrimPrefix(dsn[len(m[0]):], "//"), nil
		case "postgres", "postgresql":
			return "", "", fmt.Errorf("database %s:…: a PostgreSQL address is written postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE", m[1])
		}
		// The rest is not shown: it may hold a password.
		return "", "", fmt.Errorf("database %s:…: unknown scheme %q: use a file path (SQLite) or postgres://USER@HOST/DATABASE (PostgreSQL)", m[1], m[1])
	}
	return "sqlite", dsn, nil
}

var schemeRE = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]+):`)

// redactDSN hides a password in a URL-shaped DSN.
func redactDSN(dsn string) string {
	if i := strings.Index(dsn, "://"); i >= 0 {
		rest := dsn[i+3:]
		if at := strings.LastIndex(strings.SplitN(rest, "/", 2)[0], "@"); at >= 0 {
			cred := rest[:at]
			if c := strings.Index(cred, ":"); c >= 0 {
				return dsn[:i+3] + cred[:c] + ":***" + rest[at:]
			}
		}
	}
	return dsn
}

// Describe names the database for logs, without a password.
func Describe(dsn string) string {
	kind, rest, err := Kind(dsn)
	if err != nil {
		return redactDSN(dsn)
	}
	if kind == "sqlite" {
		return "sqlite:" + rest
	}
	return redactDSN(rest)
}

// Open opens the database named by dsn (see Kind) and brings its schema up
// to date.
func Open(ctx context.Context, dsn string, o Options) (Store, error) {
	kind, rest, err := Kind(dsn)
	if err != nil {
		return nil, err
	}
	if kind == "postgres" {
		return postgres.Open(ctx, rest)
	}
	if o.MustExist {
		if _, err := os.Stat(rest); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w at %s", ErrNoDatabase, rest)
		}
	}
	return sqlite.Open(ctx, rest)
}

// OpenSQLite opens a SQLite database file (the sync command's state).
func OpenSQLite(ctx context.Context, path string) (*sqldb.DB, error) { return sqlite.Open(ctx, path) }
