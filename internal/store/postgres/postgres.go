// Package postgres is the store on PostgreSQL, for several machines
// sharing one database: `imapmigrate worker` processes anywhere claim
// users with leases in it. Its queries are package sqldb's; this package
// holds what is PostgreSQL's own: the connection (pgx), the schema
// (migrations/*.sql), the error codes and the locks.
//
// Claims are serialised by a transaction-scoped advisory lock, so that
// counting an endpoint's live leases and taking one more is one step for
// every worker of every machine (MaxConcurrentMigrations and
// MaxConcurrentIncrementalSyncs hold under contention); candidate rows
// another transaction holds are skipped (FOR UPDATE SKIP LOCKED).
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/imapmigrate/imapmigrate/internal/store/sqldb"
)

//go:embed migrations/*.sql
var migrations embed.FS

// lockClaims is the advisory lock key of claims, batch creation and
// migrations ("imapmigr" in ASCII).
const lockClaims = 0x696d61706d696772

// Dialect is PostgreSQL's.
func Dialect() sqldb.Dialect {
	sub, _ := fs.Sub(migrations, "migrations")
	return sqldb.Dialect{
		Name:       "postgres",
		Migrations: sub,
		Numbered:   true,
		Time:       func(t time.Time) any { return t.UTC() },
		IsUnique:   isUnique,
		Serialize:  fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", int64(lockClaims)),
		SkipLocked: " FOR UPDATE OF u SKIP LOCKED",
		ForUpdate:  " FOR UPDATE",
		Analyze:    "ANALYZE migration_user",
	}
}

func isUnique(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == "23505" // unique_violation
}

// Open connects to the PostgreSQL database named by dsn (a postgres:// URL
// or key=value settings, as libpq) and brings its schema up to date.
func Open(ctx context.Context, dsn string) (*sqldb.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("database: %w", redact(err))
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("database %s: %w", Describe(cfg), err)
	}
	s, err := sqldb.New(ctx, db, Dialect())
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("database %s: %w", Describe(cfg), err)
	}
	return s, nil
}

// Describe names a database without its password: user@host:port/dbname.
func Describe(cfg *pgx.ConnConfig) string {
	return fmt.Sprintf("postgres://%s@%s:%d/%s", cfg.User, cfg.Host, cfg.Port, cfg.Database)
}

// redact drops the DSN pgx may quote in a parse error (it can hold the
// password).
func redact(err error) error {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		return errors.New("cannot parse the PostgreSQL address: write postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=…]")
	}
	return err
}
