package secret_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/imapmigrate/imapmigrate/internal/secret"
)

// testKey is a fixed key: bytes 0..31.
var testKey = func() []byte {
	k := make([]byte, secret.KeySize)
	for i := range k {
		k[i] = byte(i)
	}
	return k
}()

// here is the place the tests seal for.
var here = secret.Place{Table: "endpoint", Column: "admin_password", Row: "name=new-imap", Server: "imap.new.example:993"}

func newBox(t *testing.T, key []byte) *secret.Box {
	t.Helper()
	b, err := secret.New(key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// openDir opens dir's Box with the key file, not the environment.
func openDir(t *testing.T, dir string) *secret.Box {
	t.Helper()
	t.Setenv(secret.EnvKey, "")
	b, err := secret.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	b := newBox(t, testKey)
	for _, plain := range []string{"", "hunter2", "pässwörd ✓", strings.Repeat("x", 10000), "ya29.a0AfH6SMB-token\x00with nul"} {
		sealed, err := b.Seal(plain, here)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(sealed, "v2:"+b.KeyID()+":") || !secret.IsSealed(sealed) {
			t.Errorf("sealed = %q, want the v2:<key ID>: prefix", sealed)
		}
		if plain != "" && strings.Contains(sealed, plain) {
			t.Errorf("sealed %q shows the plaintext", sealed)
		}
		got, err := b.Open(sealed, here)
		if err != nil || got != plain {
			t.Errorf("Open(Seal(%.20q)) = %.20q, %v", plain, got, err)
		}
	}
}

func TestSealUsesFreshNonces(t *testing.T) {
	b := newBox(t, testKey)
	seen := map[string]bool{}
	nonces := map[string]bool{}
	for range 100 {
		s, err := b.Seal("same password", here)
		if err != nil {
			t.Fatal(err)
		}
		if seen[s] {
			t.Fatalf("Seal returned %q twice", s)
		}
		seen[s] = true
		raw, err := base64.RawURLEncoding.DecodeString(body(s))
		if err != nil {
			t.Fatal(err)
		}
		if nonces[string(raw[:12])] {
			t.Fatal("nonce reused")
		}
		nonces[string(raw[:12])] = true
	}
}

func TestWrongKey(t *testing.T) {
	dir := t.TempDir()
	a := openDir(t, dir)
	sealed, err := a.Seal("hunter2", here)
	if err != nil {
		t.Fatal(err)
	}
	other := testKey
	t.Setenv(secret.EnvKey, base64.StdEncoding.EncodeToString(other))
	b, err := secret.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if a.KeyID() == b.KeyID() {
		t.Fatalf("two keys, one KeyID %s", a.KeyID())
	}
	_, err = b.Open(sealed, here)
	if !errors.Is(err, secret.ErrWrongKey) {
		t.Fatalf("Open with another key: %v, want ErrWrongKey", err)
	}
	keyFile := filepath.Join(dir, secret.KeyFileName)
	for _, want := range []string{"encrypted with another key", "set IMAPMIGRATE_SECRET_KEY", "restore " + keyFile, b.KeyID(), a.KeyID()} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error shows the plaintext: %v", err)
	}
}

// body is the base64 part of a sealed string.
func body(sealed string) string { return sealed[strings.LastIndexByte(sealed, ':')+1:] }

func TestTampered(t *testing.T) {
	b := newBox(t, testKey)
	sealed, err := b.Seal("hunter2", here)
	if err != nil {
		t.Fatal(err)
	}
	prefix := "v2:" + b.KeyID() + ":"
	raw, _ := base64.RawURLEncoding.DecodeString(body(sealed))
	for i := range raw {
		bad := bytes.Clone(raw)
		bad[i] ^= 0x01
		if _, err := b.Open(prefix+base64.RawURLEncoding.EncodeToString(bad), here); !errors.Is(err, secret.ErrMisplaced) {
			t.Fatalf("byte %d flipped: Open = %v, want ErrMisplaced", i, err)
		}
	}
	for _, tt := range []struct{ in, want string }{
		{"", "not a sealed secret"},
		{"hunter2", "not a sealed secret"},
		{"v3:" + strings.TrimPrefix(sealed, "v2:"), `format "v3"`},
		{"v1:" + body(sealed), "format v1, from before secrets were bound"},
		{"v2:" + body(sealed), "no key ID"},
		{"v2:0011223344556677:" + body(sealed), "encrypted with another key (0011223344556677)"},
		{prefix + "@@@", "bad base64"},
		{prefix + base64.RawURLEncoding.EncodeToString(raw[:20]), "too short"},
		{prefix + base64.RawURLEncoding.EncodeToString(raw[:len(raw)-1]), "the database was altered"},
	} {
		if _, err := b.Open(tt.in, here); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Open(%q) = %v, want an error with %q", tt.in, err, tt.want)
		}
	}
}

// A sealed secret opens only in the place it was sealed for: not in
// another table, column or row, nor for another server.
func TestBoundToPlace(t *testing.T) {
	b := newBox(t, testKey)
	sealed, err := b.Seal("hunter2", here)
	if err != nil {
		t.Fatal(err)
	}
	elsewhere := []secret.Place{
		{Table: "migration_user", Column: "admin_password", Row: here.Row, Server: here.Server},
		{Table: here.Table, Column: "password", Row: here.Row, Server: here.Server},
		{Table: here.Table, Column: here.Column, Row: "name=old-imap", Server: here.Server},
		{Table: here.Table, Column: here.Column, Row: here.Row, Server: "evil.example:993"},
		{Table: here.Table, Column: here.Column, Row: here.Row},
		// Length prefixes: moving bytes between fields changes the binding.
		{Table: here.Table + here.Column, Row: here.Row, Server: here.Server},
		{},
	}
	for _, at := range elsewhere {
		_, err := b.Open(sealed, at)
		if !errors.Is(err, secret.ErrMisplaced) || errors.Is(err, secret.ErrWrongKey) {
			t.Errorf("opened for %v: %v, want ErrMisplaced", at, err)
			continue
		}
		if want := "sealed secret does not belong to " + at.String() + ": the database was altered"; !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error shows the plaintext: %v", err)
		}
	}
	if got, err := b.Open(sealed, here); err != nil || got != "hunter2" {
		t.Errorf("Open in its place = %q, %v", got, err)
	}
}

func TestKeyID(t *testing.T) {
	b := newBox(t, testKey)
	// SHA-256 of bytes 0..31, first 8 bytes.
	if got, want := b.KeyID(), "630dcd2966c43366"; got != want {
		t.Errorf("KeyID = %s, want %s", got, want)
	}
	if s := fmt.Sprintf("%v %+v %#v %s", b, b, b, b); strings.Contains(s, hex.EncodeToString(testKey)) || !strings.Contains(s, b.KeyID()) {
		t.Errorf("Box prints as %q", s)
	}
}

func TestEnvKeyFormats(t *testing.T) {
	want := newBox(t, testKey).KeyID()
	for _, tt := range []struct {
		name, value string
	}{
		{"base64 std", base64.StdEncoding.EncodeToString(testKey)},
		{"base64 std unpadded", base64.RawStdEncoding.EncodeToString(testKey)},
		{"base64 url", base64.URLEncoding.EncodeToString(testKey)},
		{"base64 url unpadded", base64.RawURLEncoding.EncodeToString(testKey)},
		{"hex", hex.EncodeToString(testKey)},
		{"hex upper, with newline", strings.ToUpper(hex.EncodeToString(testKey)) + "\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(secret.EnvKey, tt.value)
			dir := t.TempDir()
			b, err := secret.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			if b.KeyID() != want || b.Source() != secret.EnvKey {
				t.Errorf("KeyID %s from %s, want %s from the environment", b.KeyID(), b.Source(), want)
			}
			if _, err := os.Stat(filepath.Join(dir, secret.KeyFileName)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a key file was created although the key came from the environment: %v", err)
			}
		})
	}
	// A URL-safe key whose base64 has '-' or '_' only decodes as URL encoding.
	urlKey := bytes.Repeat([]byte{0xfb, 0xff}, 16)
	t.Setenv(secret.EnvKey, base64.URLEncoding.EncodeToString(urlKey))
	if b, err := secret.Open(t.TempDir()); err != nil || b.KeyID() != newBox(t, urlKey).KeyID() {
		t.Errorf("URL-safe key: %v", err)
	}
}

func TestEnvKeyMalformed(t *testing.T) {
	for _, v := range []string{
		"short",
		base64.StdEncoding.EncodeToString(testKey[:16]),             // 16 bytes
		base64.StdEncoding.EncodeToString(append(testKey, 0)),       // 33 bytes
		hex.EncodeToString(testKey)[:63] + "g",                      // not hex
		"correct horse battery staple correct horse battery staple", // a passphrase
	} {
		t.Setenv(secret.EnvKey, v)
		_, err := secret.Open(t.TempDir())
		if err == nil {
			t.Fatalf("%q accepted", v)
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, secret.EnvKey+": ") || !strings.Contains(msg, "base64") || !strings.Contains(msg, "hex") {
			t.Errorf("error %q: want it to name %s and the formats", msg, secret.EnvKey)
		}
		if strings.Contains(msg, v) {
			t.Errorf("error %q shows the value", msg)
		}
	}
}

func TestKeyFileCreated(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data") // missing: Open creates it
	a := openDir(t, dir)
	path := filepath.Join(dir, secret.KeyFileName)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %04o, want 0600", fi.Mode().Perm())
	}
	if a.Source() != path {
		t.Errorf("source = %q, want %q", a.Source(), path)
	}
	data, _ := os.ReadFile(path)
	key, err := secret.ParseKey(string(data))
	if err != nil || newBox(t, key).KeyID() != a.KeyID() {
		t.Fatalf("key file %q does not hold the key: %v", data, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("data dir holds %v, want only the key file", entries)
	}

	// Reopened, the same key: what one process sealed, another opens.
	sealed, _ := a.Seal("hunter2", here)
	b := openDir(t, dir)
	if b.KeyID() != a.KeyID() {
		t.Fatalf("reopened with key %s, was %s", b.KeyID(), a.KeyID())
	}
	if got, err := b.Open(sealed, here); err != nil || got != "hunter2" {
		t.Errorf("Open = %q, %v", got, err)
	}
}

func TestKeyFileCreatedOnceConcurrently(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(secret.EnvKey, "")
	ids := make([]string, 8)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			b, err := secret.Open(dir)
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = b.KeyID()
		})
	}
	wg.Wait()
	for _, id := range ids[1:] {
		if id != ids[0] {
			t.Fatalf("concurrent Opens got different keys: %v", ids)
		}
	}
}

func TestKeyFileTooOpen(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	dir := t.TempDir()
	openDir(t, dir)
	path := filepath.Join(dir, secret.KeyFileName)
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o620} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := secret.Open(dir)
		if err == nil {
			t.Fatalf("mode %04o accepted", mode)
		}
		if want := "chmod 600 " + path; !strings.Contains(err.Error(), want) {
			t.Errorf("mode %04o: error %q lacks %q", mode, err, want)
		}
	}
	os.Chmod(path, 0o400) // read-only for the owner is fine
	if _, err := secret.Open(dir); err != nil {
		t.Errorf("mode 0400: %v", err)
	}
}

func TestKeyFileMalformed(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, secret.KeyFileName)
	if err := os.WriteFile(path, []byte("not a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(secret.EnvKey, "")
	_, err := secret.Open(dir)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("Open = %v, want an error naming %s", err, path)
	}
	if data, _ := os.ReadFile(path); string(data) != "not a key\n" {
		t.Error("a malformed key file was overwritten")
	}
}

func TestNewRejectsShortKey(t *testing.T) {
	if _, err := secret.New(testKey[:16]); err == nil {
		t.Fatal("16-byte key accepted")
	}
}

func ExampleBox() {
	box, err := secret.New(testKey) // in a program: secret.Open(dataDir)
	if err != nil {
		panic(err)
	}
	at := secret.Place{Table: "endpoint", Column: "admin_password", Row: "name=new-imap", Server: "imap.new.example:993"}
	sealed, _ := box.Seal("hunter2", at)
	fmt.Println(strings.HasPrefix(sealed, "v2:630dcd2966c43366:"))
	plain, _ := box.Open(sealed, at)
	fmt.Println(plain)
	_, err = box.Open(sealed, secret.Place{Table: "migration_user", Column: "password", Row: "batch=b1 email=terry@contoso.edu"})
	fmt.Println(err)
	// Output:
	// true
	// hunter2
	// sealed secret does not belong to migration_user.password of batch=b1 email=terry@contoso.edu: the database was altered (the value was moved there from another row or column, or changed): give the secret again
}

// fakeRecord is a database's key record.
type fakeRecord struct {
	id     string
	sealed bool
	writes int
}

func (r *fakeRecord) SecretKeyID(context.Context) (string, bool, error) { return r.id, r.sealed, nil }
func (r *fakeRecord) RecordSecretKeyID(_ context.Context, id string) error {
	r.id = id
	r.writes++
	return nil
}

func TestOpenForChecksTheRecordedKey(t *testing.T) {
	ctx := context.Background()
	t.Setenv(secret.EnvKey, "")
	otherEnv := base64.StdEncoding.EncodeToString(testKey)

	t.Run("a new database creates a key and records it", func(t *testing.T) {
		dir := t.TempDir()
		rec := &fakeRecord{}
		b, err := secret.OpenFor(ctx, dir, rec)
		if err != nil {
			t.Fatal(err)
		}
		if rec.id != b.KeyID() || rec.writes != 1 {
			t.Errorf("recorded %q (%d writes), key %s", rec.id, rec.writes, b.KeyID())
		}
		if _, err := os.Stat(filepath.Join(dir, secret.KeyFileName)); err != nil {
			t.Errorf("no key file: %v", err)
		}
		// Again: same key, nothing to record.
		if b2, err := secret.OpenFor(ctx, dir, rec); err != nil || b2.KeyID() != b.KeyID() || rec.writes != 1 {
			t.Errorf("reopened: %v, %d writes", err, rec.writes)
		}
	})
	t.Run("the recorded key, from the file or the environment", func(t *testing.T) {
		dir := t.TempDir()
		a := openDir(t, dir)
		rec := &fakeRecord{id: a.KeyID(), sealed: true}
		if b, err := secret.OpenFor(ctx, dir, rec); err != nil || b.KeyID() != a.KeyID() {
			t.Fatalf("key file: %v", err)
		}
		data, _ := os.ReadFile(filepath.Join(dir, secret.KeyFileName))
		os.Remove(filepath.Join(dir, secret.KeyFileName))
		t.Setenv(secret.EnvKey, string(data))
		if b, err := secret.OpenFor(ctx, dir, rec); err != nil || b.KeyID() != a.KeyID() || b.Source() != secret.EnvKey {
			t.Fatalf("environment: %v", err)
		}
	})
	t.Run("a missing key is refused while secrets are sealed", func(t *testing.T) {
		dir := t.TempDir()
		rec := &fakeRecord{id: "630dcd2966c43366", sealed: true}
		_, err := secret.OpenFor(ctx, dir, rec)
		keyFile := filepath.Join(dir, secret.KeyFileName)
		for _, want := range []string{"the secret key is missing", keyFile, "630dcd2966c43366", "put back the key file", "set " + secret.EnvKey} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("OpenFor = %v, want an error with %q", err, want)
			}
		}
		if _, err := os.Stat(keyFile); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a new key file was created: %v", err)
		}
		if rec.writes != 0 {
			t.Error("the record was changed")
		}
	})
	t.Run("another key is refused while secrets are sealed", func(t *testing.T) {
		dir := t.TempDir()
		a := openDir(t, dir)
		rec := &fakeRecord{id: "0011223344556677", sealed: true}
		_, err := secret.OpenFor(ctx, dir, rec)
		for _, want := range []string{"not the one that sealed", a.KeyID(), "0011223344556677", "put back the key file", filepath.Join(dir, secret.KeyFileName)} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("key file: OpenFor = %v, want an error with %q", err, want)
			}
		}
		t.Setenv(secret.EnvKey, otherEnv)
		_, err = secret.OpenFor(ctx, dir, rec)
		for _, want := range []string{"not the one that sealed", "from " + secret.EnvKey, "set " + secret.EnvKey + " to the key that sealed them, or unset it"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("environment: OpenFor = %v, want an error with %q", err, want)
			}
		}
		if rec.writes != 0 {
			t.Error("the record was changed")
		}
	})
	t.Run("without sealed secrets another or a new key is taken", func(t *testing.T) {
		dir := t.TempDir()
		rec := &fakeRecord{id: "0011223344556677"}
		b, err := secret.OpenFor(ctx, dir, rec)
		if err != nil || rec.id != b.KeyID() {
			t.Fatalf("missing key, nothing sealed: %v (recorded %q)", err, rec.id)
		}
		t.Setenv(secret.EnvKey, otherEnv)
		b, err = secret.OpenFor(ctx, dir, rec)
		if err != nil || rec.id != b.KeyID() || b.KeyID() != newBox(t, testKey).KeyID() {
			t.Fatalf("other key, nothing sealed: %v (recorded %q)", err, rec.id)
		}
	})
	t.Run("sealed secrets but no record: the key there is, never a new one", func(t *testing.T) {
		dir := t.TempDir()
		if _, err := secret.OpenFor(ctx, dir, &fakeRecord{sealed: true}); err == nil || !strings.Contains(err.Error(), "a key it does not name") {
			t.Errorf("missing key: %v", err)
		}
		a := openDir(t, dir)
		rec := &fakeRecord{sealed: true}
		if b, err := secret.OpenFor(ctx, dir, rec); err != nil || b.KeyID() != a.KeyID() || rec.id != a.KeyID() {
			t.Errorf("key file: %v", err)
		}
	})
}
