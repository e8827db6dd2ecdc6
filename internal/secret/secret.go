package secret

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// EnvKey is the environment variable that holds the key, when set.
const EnvKey = "IMAPMIGRATE_SECRET_KEY"

// KeyFileName is the key file's name in the data directory.
const KeyFileName = "secret.key"

// KeySize is the key length in bytes (AES-256).
const KeySize = 32

// version prefixes every sealed string; it starts GCM's additional data.
const version = "v2"

// oldVersion is the format before secrets were bound to their place.
const oldVersion = "v1"

// ErrWrongKey is wrapped by Open's error when a sealed string was sealed
// with another key.
var ErrWrongKey = errors.New("does not open with this key")

// ErrMisplaced is wrapped by Open's error when a sealed string was sealed
// with this key for another place (moved from another row or column, or
// changed): the database was altered.
var ErrMisplaced = errors.New("does not belong here")

// Place is where a sealed secret is stored. Seal binds the ciphertext to it
// (as GCM additional data) and Open checks it, so that a ciphertext copied
// to another row or column, or an endpoint's password once its server was
// changed, does not open: whoever can write the database cannot make
// imapmigrate send a secret anywhere it was not given for.
//
// Its fields are part of the binding: the names must never change, even if
// the schema's do.
type Place struct {
	Table  string // e.g. "endpoint", "migration_user"
	Column string // e.g. "admin_password"
	Row    string // the row's key, e.g. "name=new-imap"
	// Server is host:port of the server the secret is sent to, when the
	// place does not say it by itself (endpoints).
	Server string
}

// String describes the place: "endpoint.admin_password of name=new-imap
// (server imap.new.example:993)".
func (p Place) String() string {
	s := p.Table + "." + p.Column + " of " + p.Row
	if p.Server != "" {
		s += " (server " + p.Server + ")"
	}
	return s
}

// additionalData is what GCM authenticates besides the ciphertext: the
// format, the key's ID and the place, each length-prefixed so that no two
// places give the same bytes.
func (p Place) additionalData(keyID string) []byte {
	b := []byte("imapmigrate secret " + version)
	for _, f := range []string{keyID, p.Table, p.Column, p.Row, p.Server} {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	return b
}

// Box seals and opens secrets with one key. It is safe for concurrent use.
type Box struct {
	aead cipher.AEAD
	id   string
	// source says where the key came from, for errors: the environment
	// variable or the key file's path.
	source string
	// keyFile is <dataDir>/secret.key, named in errors ("restore it"); empty
	// when the Box was made with New.
	keyFile string
}

// ErrNoKey is wrapped by Load's error when there is no key: neither
// IMAPMIGRATE_SECRET_KEY nor the key file.
var ErrNoKey = errors.New("no secret key")

// Load returns the Box of a data directory: with the key in
// IMAPMIGRATE_SECRET_KEY when that is set, else with the key in
// <dataDir>/secret.key. It creates nothing; without either, its error wraps
// ErrNoKey.
func Load(dataDir string) (*Box, error) {
	keyFile := filepath.Join(dataDir, KeyFileName)
	if v := strings.TrimSpace(os.Getenv(EnvKey)); v != "" {
		key, err := ParseKey(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvKey, err)
		}
		b, err := newBox(key, EnvKey)
		if err != nil {
			return nil, err
		}
		b.keyFile = keyFile
		return b, nil
	}
	key, err := readKeyFile(keyFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s is not set and %s does not exist", ErrNoKey, EnvKey, keyFile)
	}
	if err != nil {
		return nil, err
	}
	b, err := newBox(key, keyFile)
	if err != nil {
		return nil, err
	}
	b.keyFile = keyFile
	return b, nil
}

// Open is Load, but creates <dataDir>/secret.key (and dataDir, mode 0700)
// with a new random key when there is no key. Use it only where no secret
// was sealed before; a service opens its key with OpenFor, which checks
// with the database.
func Open(dataDir string) (*Box, error) {
	b, err := Load(dataDir)
	if !errors.Is(err, ErrNoKey) {
		return b, err
	}
	keyFile := filepath.Join(dataDir, KeyFileName)
	key, err := loadOrCreateKey(keyFile)
	if err != nil {
		return nil, err
	}
	b, err = newBox(key, keyFile)
	if err != nil {
		return nil, err
	}
	b.keyFile = keyFile
	return b, nil
}

// KeyRecord is a database's record of the key that sealed its secrets.
type KeyRecord interface {
	// SecretKeyID returns the ID of the key recorded for the database (""
	// when none) and whether it holds any sealed secret.
	SecretKeyID(ctx context.Context) (id string, sealed bool, err error)
	// RecordSecretKeyID records id as the key of the database's secrets.
	RecordSecretKeyID(ctx context.Context, id string) error
}

// OpenFor returns the Box of dataDir for the database db, and records its
// key's ID there. While db holds sealed secrets it refuses a key other
// than the recorded one, and it never replaces a missing key with a new one
// (every stored password would then fail to open, one user at a time): the
// error says to put the key file back or to set IMAPMIGRATE_SECRET_KEY. A
// database without sealed secrets takes the key there is, or a new one.
func OpenFor(ctx context.Context, dataDir string, db KeyRecord) (*Box, error) {
	recorded, sealed, err := db.SecretKeyID(ctx)
	if err != nil {
		return nil, fmt.Errorf("secret key: read the database's key ID: %w", err)
	}
	b, err := Load(dataDir)
	switch {
	case errors.Is(err, ErrNoKey) && sealed:
		return nil, missingKey(dataDir, recorded)
	case errors.Is(err, ErrNoKey):
		if b, err = Open(dataDir); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	case sealed && recorded != "" && b.id != recorded:
		return nil, b.notRecorded(recorded)
	}
	if b.id != recorded {
		if err := db.RecordSecretKeyID(ctx, b.id); err != nil {
			return nil, fmt.Errorf("secret key: record its ID in the database: %w", err)
		}
	}
	return b, nil
}

func missingKey(dataDir, recorded string) error {
	which := "key " + recorded
	if recorded == "" {
		which = "a key it does not name"
	}
	keyFile := filepath.Join(dataDir, KeyFileName)
	return fmt.Errorf("the secret key is missing: %s does not exist and %s is not set, but the database holds passwords sealed with %s: "+
		"put back the key file (from a backup of the data directory; mode 0600) or set %s to that key. "+
		"imapmigrate does not create a new key for it: no stored password would open with it",
		keyFile, EnvKey, which, EnvKey)
}

func (b *Box) notRecorded(recorded string) error {
	fix := fmt.Sprintf("put back the key file that sealed them (%s), or set %s to that key", b.keyFile, EnvKey)
	if b.source == EnvKey {
		fix = fmt.Sprintf("set %s to the key that sealed them, or unset it to use the key file %s", EnvKey, b.keyFile)
	}
	return fmt.Errorf("the secret key (key %s, from %s) is not the one that sealed the database's passwords (key %s): %s",
		b.id, b.source, recorded, fix)
}

// New returns a Box for a key of KeySize bytes.
func New(key []byte) (*Box, error) {
	return newBox(key, "the given key")
}

func newBox(key []byte, source string) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secret key: %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	sum := sha256.Sum256(key)
	return &Box{aead: aead, id: hex.EncodeToString(sum[:8]), source: source}, nil
}

// ParseKey decodes a key written as base64 (standard or URL-safe, padded or
// not) or as hex. The error never shows the value.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) == 2*KeySize {
		if key, err := hex.DecodeString(s); err == nil {
			return key, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if key, err := enc.DecodeString(s); err == nil && len(key) == KeySize {
			return key, nil
		}
	}
	return nil, fmt.Errorf("not a %d-byte key: want %d bytes as base64 (44 characters, e.g. from `openssl rand -base64 32`) or %d hex digits (`openssl rand -hex 32`), got %d characters",
		KeySize, KeySize, 2*KeySize, len(s))
}

// loadOrCreateKey reads the key file, or creates it with a new random key.
func loadOrCreateKey(path string) ([]byte, error) {
	key, err := readKeyFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create secret key: %w", err)
	}
	key = make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("create secret key: %w", err)
	}
	if err := createKeyFile(path, key); err != nil {
		if errors.Is(err, fs.ErrExist) {
			// Another process created it first: use its key.
			return readKeyFile(path)
		}
		return nil, err
	}
	return key, nil
}

// createKeyFile writes key to a temporary file, syncs it, and links it to
// path, so that no process ever reads a half-written key file and a second
// process starting at the same time cannot replace the first one's key.
func createKeyFile(path string, key []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".secret.key-*")
	if err != nil {
		return fmt.Errorf("create secret key: %w", err)
	}
	defer os.Remove(tmp.Name())
	// CreateTemp makes the file 0600; say so anyway, in case that changes.
	if err := tmp.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		tmp.Close()
		return fmt.Errorf("create secret key: %w", err)
	}
	_, err = tmp.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write secret key %s: %w", path, err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return err
		}
		return fmt.Errorf("create secret key %s: %w", path, err)
	}
	// Make the new name durable too: losing the key loses every secret.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// readKeyFile reads and checks the key file.
func readKeyFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("secret key %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("secret key %s is accessible to group or others (mode %04o): chmod 600 %s", path, perm, path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read secret key: %w", err)
	}
	key, err := ParseKey(string(data))
	if err != nil {
		return nil, fmt.Errorf("secret key %s: %w", path, err)
	}
	return key, nil
}

// KeyID names the key without revealing it: the first 8 bytes of its
// SHA-256, as 16 hex digits.
func (b *Box) KeyID() string { return b.id }

// Source says where the key came from: IMAPMIGRATE_SECRET_KEY or the key
// file's path.
func (b *Box) Source() string { return b.source }

// String names the box by its key ID; it never shows the key.
func (b *Box) String() string { return "secret.Box(key " + b.id + ")" }

// GoString is String, so that %#v does not print the key schedule.
func (b *Box) GoString() string { return b.String() }

// Seal encrypts plaintext for the place at, with a fresh random nonce, and
// returns "v2:<key ID>:<base64url(nonce|ciphertext)>".
func (b *Box) Seal(plaintext string, at Place) (string, error) {
	nonce := make([]byte, b.aead.NonceSize(), b.aead.NonceSize()+len(plaintext)+b.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal: %w", err)
	}
	out := b.aead.Seal(nonce, nonce, []byte(plaintext), at.additionalData(b.id))
	return version + ":" + b.id + ":" + base64.RawURLEncoding.EncodeToString(out), nil
}

// Open decrypts what Seal returned for the place at. It fails, wrapping
// ErrWrongKey, when sealed was made with another key, and wrapping
// ErrMisplaced when it was made for another place or altered.
func (b *Box) Open(sealed string, at Place) (string, error) {
	ver, rest, ok := strings.Cut(sealed, ":")
	if !ok || ver == "" || len(ver) > 8 {
		return "", errors.New("open secret: not a sealed secret (no v2: prefix)")
	}
	if ver == oldVersion {
		return "", fmt.Errorf("open secret of %s: sealed in format %s, from before secrets were bound to where they are stored, which is no longer accepted: give the secret again", at, oldVersion)
	}
	if ver != version {
		return "", fmt.Errorf("open secret: sealed in format %q, which this version of imapmigrate does not know: upgrade it", ver)
	}
	keyID, body, ok := strings.Cut(rest, ":")
	if !ok {
		return "", errors.New("open secret: damaged (no key ID)")
	}
	if keyID != b.id {
		return "", b.wrongKey(keyID)
	}
	data, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return "", fmt.Errorf("open secret: damaged (bad base64): %w", err)
	}
	ns := b.aead.NonceSize()
	if len(data) < ns+b.aead.Overhead() {
		return "", errors.New("open secret: damaged (too short)")
	}
	plain, err := b.aead.Open(nil, data[:ns], data[ns:], at.additionalData(b.id))
	if err != nil {
		return "", &misplacedError{at: at}
	}
	return string(plain), nil
}

// misplacedError is ErrMisplaced, naming the place.
type misplacedError struct{ at Place }

func (e *misplacedError) Error() string {
	return fmt.Sprintf("sealed secret does not belong to %s: the database was altered (the value was moved there from another row or column, or changed): give the secret again", e.at)
}

func (e *misplacedError) Is(target error) bool { return target == ErrMisplaced }

func (b *Box) wrongKey(sealedWith string) error {
	fix := "open it with the key that sealed it"
	if b.keyFile != "" {
		fix = fmt.Sprintf("set %s to the key that sealed it, or restore %s", EnvKey, b.keyFile)
	}
	return fmt.Errorf("open secret: %w (key %s, from %s): it was encrypted with another key (%s): %s",
		ErrWrongKey, b.id, b.source, sealedWith, fix)
}

// IsSealed reports whether s looks like a sealed secret (has a version
// prefix, old or current), e.g. to find values stored before encryption
// was introduced.
func IsSealed(s string) bool {
	return strings.HasPrefix(s, version+":") || strings.HasPrefix(s, oldVersion+":")
}
