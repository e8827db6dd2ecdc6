// Package store keeps imapmigrate's state in SQLite (the default, one file,
// pure Go). It is the only state shared between runs and processes.
//
// Tables (migrations/sqlite/*.sql, applied in order at Open and recorded in
// schema_migrations):
//
//   - mailbox: one row per mailbox pair, by key (source server and user,
//     target server and user).
//   - folder: per source folder, the counters of the sync algorithm
//     (UIDVALIDITY of both sides, last UID settled, UIDNEXT, HIGHESTMODSEQ,
//     the target UIDNEXT lower bound).
//   - message: the map, source UID → target UID, with the source flags last
//     written to the target.
//   - pending: APPEND intents, written (and fsynced) before the APPEND is
//     sent, settled in the same transaction that records its outcome.
//   - skipped: messages not copied, with a reason.
//   - endpoint, batch, migration_user: the migration service's model; the
//     password columns hold values sealed by package secret, each bound to
//     its table, column and row.
//   - secret_key: the ID of the key that sealed them (package secret's
//     OpenFor refuses another or a missing key while any is stored).
//
// Durability: WAL journal with synchronous=FULL, so a row written before an
// APPEND survives a power loss, not only a kill -9; this is what makes the
// crash protocol of package syncer sound.
package store
