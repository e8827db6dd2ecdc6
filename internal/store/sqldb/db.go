// Package sqldb is the one implementation of imapmigrate's store, written
// once in SQL that SQLite and PostgreSQL both understand. What differs
// between the two (placeholders, how a time is stored, how a claim is
// serialised, which error means "already exists", the schema's types) is a
// Dialect, given by the driver packages store/sqlite and store/postgres;
// everything else (queries, transactions, the order of the steps) is here,
// so that the two cannot drift apart. The rules that decide statuses are
// not here either: they are package migration's pure functions (rules.go),
// which this package calls and persists.
package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Dialect is what a database engine does its own way.
type Dialect struct {
	// Name is the engine's name for messages ("sqlite", "postgres").
	Name string
	// Migrations holds the numbered schema files NNN_name.sql, applied in
	// order and recorded in schema_migrations.
	Migrations fs.FS
	// Numbered placeholders ($1, $2…) instead of '?'.
	Numbered bool
	// Time is how a time is passed to the database (never zero: NULL is
	// passed for a zero time).
	Time func(time.Time) any
	// IsUnique tells a uniqueness violation (the driver's error code).
	IsUnique func(error) bool
	// Serialize, run first in a transaction, makes the transactions that
	// run it one at a time (claims, batch creation): "" when every write
	// transaction already is (SQLite's BEGIN IMMEDIATE).
	Serialize string
	// SkipLocked ends a SELECT of rows to lock and change: candidates
	// another transaction holds are passed over ("" when there is no row
	// locking).
	SkipLocked string
	// ForUpdate ends a SELECT whose rows the transaction will change.
	ForUpdate string
	// Analyze refreshes the planner's statistics of migration_user, after
	// a batch of many users is created or commanded ("": none needed).
	// Without it PostgreSQL plans the claim's candidate query from the
	// statistics of before (every next_due NULL, say) until autovacuum
	// comes by, and sorts every due user of the batch in every claim.
	Analyze string
}

// DB is an open store.
type DB struct {
	sql *sql.DB
	d   Dialect
	db  conn // rebinding wrapper of sql

	rebound sync.Map // query → rebound query
}

// New wraps an open database and brings its schema up to date.
func New(ctx context.Context, db *sql.DB, d Dialect) (*DB, error) {
	s := &DB{sql: db, d: d}
	s.db = conn{s: s, q: db}
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Close closes the database.
func (s *DB) Close() error { return s.sql.Close() }

// Dialect returns the database's dialect.
func (s *DB) Dialect() Dialect { return s.d }

// SQL returns the underlying database (tests).
func (s *DB) SQL() *sql.DB { return s.sql }

// rebind turns the '?' placeholders of q into the dialect's.
func (s *DB) rebind(q string) string {
	if !s.d.Numbered {
		return q
	}
	if r, ok := s.rebound.Load(q); ok {
		return r.(string)
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	s.rebound.Store(q, b.String())
	return b.String()
}

type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

// conn runs queries written with '?' on a database or a transaction.
type conn struct {
	s *DB
	q querier
}

func (c conn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return c.q.ExecContext(ctx, c.s.rebind(query), args...)
}

func (c conn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return c.q.QueryContext(ctx, c.s.rebind(query), args...)
}

func (c conn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return c.q.QueryRowContext(ctx, c.s.rebind(query), args...)
}

func (c conn) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return c.q.PrepareContext(ctx, c.s.rebind(query))
}

// tx runs fn in a transaction; serialize runs the dialect's Serialize first.
func (s *DB) tx(ctx context.Context, fn func(conn) error) error {
	return s.txOpt(ctx, false, fn)
}

func (s *DB) txOpt(ctx context.Context, serialize bool, fn func(conn) error) error {
	tx, err := s.sql.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	c := conn{s: s, q: tx}
	if serialize && s.d.Serialize != "" {
		if _, err := tx.ExecContext(ctx, s.d.Serialize); err != nil {
			tx.Rollback()
			return err
		}
	}
	if err := fn(c); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// analyzeAfter is how many users a change must touch for the dialect's
// Analyze to follow it.
const analyzeAfter = 1000

// analyze runs the dialect's Analyze after a change of n users, when n is
// large enough to mislead the planner; it is best effort (the statistics
// are refreshed by autovacuum anyway).
func (s *DB) analyze(ctx context.Context, n int) {
	if s.d.Analyze != "" && n >= analyzeAfter {
		s.sql.ExecContext(ctx, s.d.Analyze)
	}
}

// ts is a time as the database takes it; NULL for the zero time.
func (s *DB) ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return s.d.Time(t.UTC())
}

// TextTime is how SQLite stores a time: UTC, fixed width, so that text
// order is time order.
const TextTime = "2006-01-02T15:04:05.000000000Z"

// tsCol scans a time column of either engine: a timestamp, or text in
// TextTime (or any RFC 3339 form, as rows written before it used), or NULL.
type tsCol struct{ t *time.Time }

func (c tsCol) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*c.t = time.Time{}
	case time.Time:
		*c.t = v.UTC()
	case string:
		return c.parse(v)
	case []byte:
		return c.parse(string(v))
	default:
		return fmt.Errorf("time column: unexpected %T", v)
	}
	return nil
}

func (c tsCol) parse(s string) error {
	if s == "" {
		*c.t = time.Time{}
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("time column: %w", err)
	}
	*c.t = t.UTC()
	return nil
}

// migrate applies the migrations the database lacks, all in one
// serialised transaction: a second process opening the same new database
// meanwhile waits, then reads the version this one wrote, instead of
// applying the migrations again ("table mailbox already exists").
func (s *DB) migrate(ctx context.Context) error {
	names, err := fs.Glob(s.d.Migrations, "*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	return s.txOpt(ctx, true, func(tx conn) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
			return err
		}
		// Every version not applied yet, not only those above the
		// highest: migrations written side by side may land out of
		// order.
		applied := map[int]bool{}
		rows, err := tx.QueryContext(ctx, `SELECT version FROM schema_migrations`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var v int
			if err := rows.Scan(&v); err != nil {
				rows.Close()
				return err
			}
			applied[v] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, name := range names {
			base := path.Base(name)
			num, _, _ := strings.Cut(base, "_")
			version, err := strconv.Atoi(num)
			if err != nil {
				return fmt.Errorf("migration %s: name must start with a number", base)
			}
			if applied[version] {
				continue
			}
			body, err := fs.ReadFile(s.d.Migrations, name)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return fmt.Errorf("migration %s (%s): %w", base, s.d.Name, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, version,
				time.Now().UTC().Format(TextTime)); err != nil {
				return err
			}
		}
		return nil
	})
}

// inChunks calls fn with the ids in groups small enough for one IN list.
func inChunks(ids []int64, fn func(placeholders string, args []any) error) error {
	const chunk = 500
	for len(ids) > 0 {
		n := min(len(ids), chunk)
		args := make([]any, n)
		for i, id := range ids[:n] {
			args[i] = id
		}
		if err := fn(strings.TrimSuffix(strings.Repeat("?, ", n), ", "), args); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

var errLeaseLost = errors.New("lease lost before the outcome was recorded")
