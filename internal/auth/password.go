package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// KDF is the cost of argon2id for new password hashes. A stored hash
// carries its own parameters, so changing these later leaves the old
// hashes verifiable.
type KDF struct {
	Time      uint32 // passes
	MemoryKiB uint32
	Threads   uint8
}

// DefaultKDF is RFC 9106's second recommended option (§4): 64 MiB, three
// passes, four lanes; about a quarter of a second on one core of a small
// server.
var DefaultKDF = KDF{Time: 3, MemoryKiB: 64 * 1024, Threads: 4}

const (
	saltLen = 16
	keyLen  = 32
	// maxKDF bounds the parameters read back from a stored hash, so that
	// a tampered row cannot make a login take gigabytes.
	maxMemoryKiB = 1 << 20
	maxTime      = 16
)

// hashPassword returns the PHC string of password:
// $argon2id$v=19$m=65536,t=3,p=4$SALT$HASH (standard base64, unpadded).
func hashPassword(password string, k KDF) string {
	salt := make([]byte, saltLen)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, k.Time, k.MemoryKiB, k.Threads, keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, k.MemoryKiB, k.Time, k.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

var errBadHash = errors.New("stored password hash is not an argon2id PHC string")

// verifyPassword tells whether password matches the PHC string encoded;
// the keys are compared in constant time.
func verifyPassword(password, encoded string) (bool, error) {
	k, salt, want, err := parseHash(encoded)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, k.Time, k.MemoryKiB, k.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

func parseHash(encoded string) (k KDF, salt, key []byte, err error) {
	parts := strings.Split(encoded, "$")
	// "", "argon2id", "v=19", "m=…,t=…,p=…", salt, key
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return k, nil, nil, errBadHash
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return k, nil, nil, errBadHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &k.MemoryKiB, &k.Time, &k.Threads); err != nil {
		return k, nil, nil, errBadHash
	}
	if k.Time < 1 || k.Time > maxTime || k.MemoryKiB < 8*uint32(k.Threads) || k.MemoryKiB > maxMemoryKiB || k.Threads < 1 {
		return k, nil, nil, errBadHash
	}
	if salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil || len(salt) < 8 {
		return k, nil, nil, errBadHash
	}
	if key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(key) < 16 || len(key) > 64 {
		return k, nil, nil, errBadHash
	}
	return k, salt, key, nil
}
