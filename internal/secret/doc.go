// Package secret encrypts passwords and tokens before they are stored, so
// that a copy of the database without its key reveals none of them.
//
// # Scheme
//
// One 256-bit key encrypts every secret with AES-256-GCM. Each Seal draws a
// fresh 96-bit random nonce (so sealing the same password twice gives two
// different strings, and equal passwords cannot be spotted in the database)
// and returns
//
//	v2:<key ID>:<base64url(nonce | ciphertext | 16-byte GCM tag)>
//
// (unpadded URL-safe base64: no character that needs quoting in SQL, CSV,
// JSON or a URL). GCM authenticates, besides the ciphertext, the format, the
// key ID and the Place the secret is stored at: its table, column and row,
// and for an endpoint's password the server (host:port) it is sent to. So a
// ciphertext that was altered, moved to another row or column (the target
// admin's password into a migration user's row, which would send it to the
// source server), or whose endpoint was pointed at another server in the
// database, does not open: Open fails with ErrMisplaced ("sealed secret does
// not belong to …: the database was altered"), and one sealed with another
// key fails with ErrWrongKey, told apart by the key ID in clear. Open never
// returns a wrong plaintext. With random nonces one key is safe for far more
// secrets than a migration service will ever seal (the limit is about 2^32
// Seals).
//
// The first format, v1, bound only "v1" as additional data; it is refused
// with a message to give the secret again (there were no released databases
// to carry over).
//
// # The key
//
// The key comes from the environment variable IMAPMIGRATE_SECRET_KEY (32
// bytes as base64, standard or URL-safe, padded or not, or as 64 hex
// digits), else from the file <data-dir>/secret.key, mode 0600. Open
// refuses a key file that group or others may read or write. Several
// processes (serve, worker, CLI) sharing a data directory share the key; a
// PostgreSQL store shared by several machines needs the same key on each:
// set IMAPMIGRATE_SECRET_KEY everywhere, e.g. from the first machine's
// secret.key.
//
// KeyID names the key without revealing it (the first 8 bytes of its
// SHA-256, in hex). The database records the ID of the key that sealed its
// secrets (KeyRecord), and a service opens its key with OpenFor, which
// enforces the key rule:
//
//   - while the database holds a sealed secret, only the recorded key is
//     accepted: another one (in the environment or the file) is refused,
//     and a missing key is refused rather than replaced, with a message to
//     put the key file back or to set IMAPMIGRATE_SECRET_KEY;
//   - a database without sealed secrets takes the key there is, or a new
//     one (the key file is created then, and only then), and records it.
//
// # What this protects, and what it does not
//
// A database file, dump or backup copied without the key reveals no password
// or token: only their sealed forms, which cannot be opened, nor told apart
// by length beyond a rough size. Whoever holds both the database and the key
// (the key file, or the environment of a running process) can open every
// secret: keep the key out of database backups, or back it up separately.
// Losing the key loses the stored passwords (the migration file must then be
// uploaded again); it loses nothing else.
package secret
