package cli

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imapmigrate/imapmigrate/internal/secret"
)

// The database records which key sealed its passwords: a service refuses
// to start with the key file missing or with another key while sealed
// passwords exist, and says how to restore it.
func TestSecretKeyMustMatchTheDatabase(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	pwFile := filepath.Join(t.TempDir(), "admin.pw")
	os.WriteFile(pwFile, []byte("Admin-Pw-9\n"), 0o600)
	noEnv := map[string]string{secret.EnvKey: ""}
	get := []string{"endpoint", "get", "--data-dir", dir}

	code, out, errOut := run(t, []string{"endpoint", "new", "tgt", "--data-dir", dir, "--server", "imap.new.example", "--skip-verify-connection",
		"--mailbox-access", "master", "--admin-user", "mailadmin", "--admin-password-file", pwFile}, noEnv)
	if code != 0 {
		t.Fatalf("endpoint new: exit %d\n%s%s", code, out, errOut)
	}
	keyFile := filepath.Join(dir, secret.KeyFileName)
	saved, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}

	// The key file is lost: refused, and no new key is made.
	os.Remove(keyFile)
	code, _, errOut = run(t, get, noEnv)
	for _, want := range []string{"the secret key is missing", keyFile, "put back the key file", "set " + secret.EnvKey} {
		if code != ExitUsage || !strings.Contains(errOut, want) {
			t.Errorf("without the key file: exit %d, want 2 and %q in:\n%s", code, want, errOut)
		}
	}
	if _, err := os.Stat(keyFile); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a new key file was created: %v", err)
	}

	// Another key, in the environment or in the file: refused.
	other := make([]byte, secret.KeySize)
	rand.Read(other)
	otherB64 := base64.StdEncoding.EncodeToString(other)
	code, _, errOut = run(t, get, map[string]string{secret.EnvKey: otherB64})
	if code != ExitUsage || !strings.Contains(errOut, "is not the one that sealed the database's passwords") || !strings.Contains(errOut, secret.EnvKey) {
		t.Errorf("another key in %s: exit %d\n%s", secret.EnvKey, code, errOut)
	}
	os.WriteFile(keyFile, []byte(otherB64+"\n"), 0o600)
	code, _, errOut = run(t, get, noEnv)
	if code != ExitUsage || !strings.Contains(errOut, "is not the one that sealed") || !strings.Contains(errOut, "put back the key file that sealed them ("+keyFile+")") {
		t.Errorf("another key file: exit %d\n%s", code, errOut)
	}

	// The right key, in the environment, then put back in the file.
	os.Remove(keyFile)
	if code, out, errOut := run(t, get, map[string]string{secret.EnvKey: string(saved)}); code != 0 || !strings.Contains(out, "tgt") {
		t.Errorf("the key in %s: exit %d\n%s%s", secret.EnvKey, code, out, errOut)
	}
	os.WriteFile(keyFile, saved, 0o600)
	if code, out, errOut := run(t, get, noEnv); code != 0 || !strings.Contains(out, "tgt") {
		t.Errorf("key file put back: exit %d\n%s%s", code, out, errOut)
	}

	// Once nothing sealed is left, a new key is fine.
	if code, out, errOut := run(t, []string{"endpoint", "remove", "tgt", "--data-dir", dir}, noEnv); code != 0 {
		t.Fatalf("endpoint remove: exit %d\n%s%s", code, out, errOut)
	}
	os.Remove(keyFile)
	if code, _, errOut := run(t, get, noEnv); code != 0 {
		t.Errorf("empty database, key file gone: exit %d\n%s", code, errOut)
	}
	if data, err := os.ReadFile(keyFile); err != nil || string(data) == string(saved) {
		t.Errorf("no new key file: %v", err)
	}
}

// A new, empty database creates its key.
func TestSecretKeyCreatedForNewDatabase(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if code, out, errOut := run(t, []string{"endpoint", "new", "old", "--server", "imap.example", "--skip-verify-connection", "--data-dir", dir},
		map[string]string{secret.EnvKey: ""}); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	fi, err := os.Stat(filepath.Join(dir, secret.KeyFileName))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
}

// A '?', '#', '%' or space in --data-dir is part of the directory's name.
func TestDataDirWithOddCharacters(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "data?_pragma=journal_mode(DELETE)#x 100%")
	if code, out, errOut := run(t, []string{"endpoint", "new", "old", "--server", "imap.example", "--skip-verify-connection", "--data-dir", dir},
		map[string]string{secret.EnvKey: ""}); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	for _, name := range []string{"imapmigrate.db", secret.KeyFileName} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v", name, fi, err)
		}
	}
	if entries, _ := os.ReadDir(base); len(entries) != 1 {
		t.Errorf("%s holds %d entries, want only the data directory", base, len(entries))
	}
}

// A command that only reads or changes existing objects refuses a missing
// database, says where it looked and how to name the right one, and
// creates nothing (run from another directory, it used to start a new
// empty database and key).
func TestMissingDatabaseRefused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	for _, args := range [][]string{{"endpoint", "get"}, {"batch", "get"}, {"user", "get"}, {"batch", "start", "B"}, {"worker", "list"},
		{"batch", "new", "B", "--source", "a", "--target", "b", "--csv", "x.csv"}} {
		code, out, errOut := run(t, append(args, "--data-dir", dir), map[string]string{secret.EnvKey: ""})
		if code != ExitUsage || !strings.Contains(errOut, "no database at "+filepath.Join(dir, "imapmigrate.db")) ||
			!strings.Contains(errOut, "--data-dir or IMAPMIGRATE_DATA_DIR") {
			t.Errorf("%v: exit %d\n%s%s", args, code, out, errOut)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s was created: %v", dir, err)
	}
}
