package auth

import (
	"strings"
	"testing"
)

func TestPasswordHash(t *testing.T) {
	k := KDF{Time: 1, MemoryKiB: 64, Threads: 1}
	h := hashPassword("correct horse battery", k)
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") || strings.Count(h, "$") != 5 {
		t.Fatalf("hash %q is not a PHC argon2id string", h)
	}
	if h2 := hashPassword("correct horse battery", k); h2 == h {
		t.Errorf("two hashes of one password are equal: no salt")
	}
	if ok, err := verifyPassword("correct horse battery", h); !ok || err != nil {
		t.Errorf("right password: %v %v", ok, err)
	}
	if ok, err := verifyPassword("correct horse batterY", h); ok || err != nil {
		t.Errorf("wrong password: %v %v", ok, err)
	}
	parts := strings.Split(h, "$")
	for name, bad := range map[string]string{
		"bcrypt":         "$2a$10$abcdefghijklmnopqrstuv",
		"argon2i":        strings.Replace(h, "argon2id", "argon2i", 1),
		"version":        strings.Replace(h, "v=19", "v=16", 1),
		"huge memory":    strings.Join([]string{"", "argon2id", "v=19", "m=4194304,t=1,p=1", parts[4], parts[5]}, "$"),
		"many passes":    strings.Join([]string{"", "argon2id", "v=19", "m=64,t=1000,p=1", parts[4], parts[5]}, "$"),
		"no lanes":       strings.Join([]string{"", "argon2id", "v=19", "m=64,t=1,p=0", parts[4], parts[5]}, "$"),
		"short salt":     strings.Join([]string{"", "argon2id", "v=19", parts[3], "AAAA", parts[5]}, "$"),
		"bad base64 key": strings.Join([]string{"", "argon2id", "v=19", parts[3], parts[4], "!!"}, "$"),
		"empty":          "",
	} {
		if ok, err := verifyPassword("correct horse battery", bad); ok || err == nil {
			t.Errorf("%s: %v %v, want an error", name, ok, err)
		}
	}
}

// A hash keeps its own parameters: a password hashed before DefaultKDF
// changed still verifies.
func TestPasswordHashKeepsItsParameters(t *testing.T) {
	h := hashPassword("correct horse battery", KDF{Time: 2, MemoryKiB: 128, Threads: 2})
	if ok, err := verifyPassword("correct horse battery", h); !ok || err != nil {
		t.Fatalf("%v %v", ok, err)
	}
}
