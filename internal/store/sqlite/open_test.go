package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// A '?', '#', '%' or space in the directory or file name is part of the
// name: the database lands at exactly that path, and the pragmas still
// apply.
func TestOpenOddPath(t *testing.T) {
	ctx := context.Background()
	for _, name := range []string{
		"data?_pragma=journal_mode(DELETE)&x=#frag",
		"50% done #1",
		"a b?c#d%41%zz",
		"%2e%2e",
	} {
		t.Run(name, func(t *testing.T) {
			base := t.TempDir()
			dir := filepath.Join(base, name)
			path := filepath.Join(dir, "state "+name+".db")
			s, err := Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if _, err := s.State(ctx, "a -> b"); err != nil { // a write
				t.Fatal(err)
			}
			if _, err := os.Stat(path); err != nil {
				t.Fatalf("no database at %q: %v", path, err)
			}
			// Nothing was created anywhere else.
			if entries, _ := os.ReadDir(base); len(entries) != 1 || entries[0].Name() != name {
				t.Errorf("%s holds %v, want only %q", base, names(entries), name)
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if !strings.HasPrefix(e.Name(), "state "+name+".db") {
					t.Errorf("unexpected file %q in %s", e.Name(), dir)
				}
			}
			var mode string
			var sync, fk, busy int
			if err := s.SQL().QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
				t.Errorf("journal_mode = %q, %v; want wal", mode, err)
			}
			if err := s.SQL().QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&sync); err != nil || sync != 2 {
				t.Errorf("synchronous = %d, %v; want 2 (FULL)", sync, err)
			}
			if err := s.SQL().QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
				t.Errorf("foreign_keys = %d, %v", fk, err)
			}
			if err := s.SQL().QueryRowContext(ctx, `PRAGMA busy_timeout`).Scan(&busy); err != nil || busy != 10000 {
				t.Errorf("busy_timeout = %d, %v", busy, err)
			}
			var file string
			if err := s.SQL().QueryRowContext(ctx, `SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&file); err != nil || file != path {
				t.Errorf("SQLite's file = %q, %v; want %q", file, err, path)
			}
		})
	}
}

// The database and its -wal and -shm files are private to the owner.
func TestOpenFileModes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	path := filepath.Join(dir, "imapmigrate.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.State(ctx, "a -> b"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(p), err)
			continue
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %04o, want 0600", filepath.Base(p), fi.Mode().Perm())
		}
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v, %v; want 0700", fi.Mode().Perm(), err)
	}
}

func names(entries []os.DirEntry) []string {
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func TestOpenConcurrently(t *testing.T) {
	for i := 0; i < 5; i++ {
		path := filepath.Join(t.TempDir(), "state.db")
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for j := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, err := Open(context.Background(), path)
				if err == nil {
					_, err = s.State(context.Background(), "k")
					s.Close()
				}
				errs[j] = err
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatalf("concurrent first open: %v", err)
			}
		}
	}
}

// A migration missing below the highest applied one (written side by side
// with a later one, which landed first) is applied at the next open.
func TestOpenAppliesAMissingMigration(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	db := s.SQL()
	for _, q := range []string{"DROP TABLE audit_log", "DROP TABLE session", "DROP TABLE api_token", "DROP TABLE admin",
		"DELETE FROM schema_migrations WHERE version = 8"} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	s.Close()
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var n int
	if err := s.SQL().QueryRowContext(ctx, "SELECT COUNT(*) FROM admin").Scan(&n); err != nil {
		t.Fatalf("008 not applied again: %v", err)
	}
}
