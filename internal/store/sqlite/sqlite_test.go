package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/imapmigrate/imapmigrate/internal/store/storetest"
)

// TestConformance runs the store's conformance suite on SQLite, each test
// in a new database file.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) string { return filepath.Join(t.TempDir(), "state.db") })
}
