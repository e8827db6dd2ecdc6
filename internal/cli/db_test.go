package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imapmigrate/imapmigrate/internal/secret"
)

// --db names a SQLite file or a postgres:// URL; anything else is refused
// with what to write, creates nothing, and never echoes a password (it
// used to create a directory "postgres:" holding a SQLite file).
func TestDBRefusesUnknownSchemes(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	for _, tt := range []struct{ db, want string }{
		{"mysql://admin:s3cret@db.example/im", `unknown scheme "mysql"`},
		{"postgres:imapmigrate", "postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE"},
		{"postgres://admin:s3cret@db.example:badport/im", "PostgreSQL address"},
	} {
		code, out, errOut := run(t, []string{"endpoint", "new", "old", "--server", "imap.example", "--skip-verify-connection",
			"--db", tt.db, "--data-dir", filepath.Join(dir, "data")}, map[string]string{secret.EnvKey: ""})
		if code != ExitUsage || !strings.Contains(errOut, tt.want) || strings.Contains(out+errOut, "s3cret") {
			t.Errorf("--db %s: exit %d\n%s%s", tt.db, code, out, errOut)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("created %v", entries)
	}
}
