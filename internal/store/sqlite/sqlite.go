// Package sqlite is the store on SQLite (pure Go, one file): the default,
// for one machine. Its queries are package sqldb's; this package holds
// what is SQLite's own: opening the file privately, the pragmas, the
// schema (migrations/*.sql) and the error codes.
//
// Durability: WAL journal with synchronous=FULL, so a row written before an
// APPEND survives a power loss, not only a kill -9; this is what makes the
// crash protocol of package syncer sound. Every transaction takes the
// write lock first (BEGIN IMMEDIATE), so that a claim's count of live
// leases and its new lease are one step for every process on the file.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"time"

	sqlite "modernc.org/sqlite" // database/sql driver "sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/imapmigrate/imapmigrate/internal/store/sqldb"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Dialect is SQLite's.
func Dialect() sqldb.Dialect {
	sub, _ := fs.Sub(migrations, "migrations")
	return sqldb.Dialect{
		Name:       "sqlite",
		Migrations: sub,
		Time:       func(t time.Time) any { return t.UTC().Format(sqldb.TextTime) },
		IsUnique:   isUnique,
	}
}

func isUnique(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return true
	}
	return false
}

// Open opens (creating if needed) the SQLite database at path and brings
// its schema up to date. A new database file is created with mode 0600
// (its -wal and -shm files take the same mode); the directory, when
// missing, with 0700.
func Open(ctx context.Context, path string) (*sqldb.DB, error) {
	start := time.Now()
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open state %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("open state %s: %w", path, err)
	}
	if err := createPrivate(abs); err != nil {
		return nil, fmt.Errorf("open state %s: %w", path, err)
	}
	// Processes opening a new file at once can find it locked while the
	// first one turns it to WAL, which SQLite reports at once, without
	// waiting its busy timeout: try again, for as long as that timeout.
	for wait := 5 * time.Millisecond; ; wait = min(2*wait, 500*time.Millisecond) {
		s, err := open(ctx, abs)
		if err == nil {
			return s, nil
		}
		if !isBusy(err) || time.Since(start) > busyTimeout {
			return nil, fmt.Errorf("open state %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("open state %s: %w", path, ctx.Err())
		case <-time.After(wait):
		}
	}
}

const busyTimeout = 10 * time.Second

func open(ctx context.Context, abs string) (*sqldb.DB, error) {
	db, err := sql.Open("sqlite", dsn(abs))
	if err != nil {
		return nil, err
	}
	// One connection: SQLite has one writer anyway, and this keeps every
	// transaction of this process in order without SQLITE_BUSY.
	db.SetMaxOpenConns(1)
	s, err := sqldb.New(ctx, db, Dialect())
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func isBusy(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && (e.Code()&0xff == sqlite3.SQLITE_BUSY || e.Code()&0xff == sqlite3.SQLITE_LOCKED)
}

// dsn names the database file at the absolute path for the driver: a file:
// URI whose path is escaped, so that a '?', '#' or '%' in a directory or
// file name stays part of the name instead of starting the parameters (and
// changing the pragmas) or a fragment, and the pragmas as parameters.
func dsn(path string) string {
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)", "foreign_keys(ON)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: q.Encode()}
	return u.String()
}

// createPrivate creates an empty database file with mode 0600 unless it
// exists: SQLite would create it 0644 (less the umask), readable by every
// local user, and its -wal and -shm files take the database file's mode.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.Close()
}
