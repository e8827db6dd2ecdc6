package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
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

// version prefixes every sealed string and is GCM's additional data.
const version = "v1"

// ErrWrongKey is wrapped by Open's error when a sealed string does not open
// with this key: it was sealed with another key, or altered.
var ErrWrongKey = errors.New("does not open with this key")

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

// Open returns the Box of a data directory: with the key in
// IMAPMIGRATE_SECRET_KEY when that is set, else with the key in
// <dataDir>/secret.key, which it creates (and dataDir, mode 0700) when
// missing.
func Open(dataDir string) (*Box, error) {
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
	key, err := loadOrCreateKey(keyFile)
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

// Seal encrypts plaintext with a fresh random nonce and returns
// "v1:<base64url(nonce|ciphertext)>".
func (b *Box) Seal(plaintext string) (string, error) {
	nonce := make([]byte, b.aead.NonceSize(), b.aead.NonceSize()+len(plaintext)+b.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal: %w", err)
	}
	out := b.aead.Seal(nonce, nonce, []byte(plaintext), []byte(version))
	return version + ":" + base64.RawURLEncoding.EncodeToString(out), nil
}

// Open decrypts what Seal returned. It fails, wrapping ErrWrongKey, when
// sealed was made with another key or altered.
func (b *Box) Open(sealed string) (string, error) {
	ver, body, ok := strings.Cut(sealed, ":")
	if !ok || ver == "" || len(ver) > 8 {
		return "", errors.New("open secret: not a sealed secret (no v1: prefix)")
	}
	if ver != version {
		return "", fmt.Errorf("open secret: sealed in format %q, which this version of imapmigrate does not know: upgrade it", ver)
	}
	data, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return "", fmt.Errorf("open secret: damaged (bad base64): %w", err)
	}
	ns := b.aead.NonceSize()
	if len(data) < ns+b.aead.Overhead() {
		return "", errors.New("open secret: damaged (too short)")
	}
	plain, err := b.aead.Open(nil, data[:ns], data[ns:], []byte(version))
	if err != nil {
		return "", b.wrongKey()
	}
	return string(plain), nil
}

func (b *Box) wrongKey() error {
	fix := "open it with the key that sealed it"
	if b.keyFile != "" {
		fix = fmt.Sprintf("set %s to the key that sealed it, or restore %s", EnvKey, b.keyFile)
	}
	return fmt.Errorf("open secret: %w (key %s, from %s): it was encrypted with another key, or altered: %s",
		ErrWrongKey, b.id, b.source, fix)
}

// IsSealed reports whether s looks like a sealed secret (has a version
// prefix), e.g. to find values stored before encryption was introduced.
func IsSealed(s string) bool {
	return strings.HasPrefix(s, version+":")
}
