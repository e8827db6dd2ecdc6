// Package store opens imapmigrate's state database: SQLite (the default,
// one file, pure Go, for one machine) or PostgreSQL (for several machines
// sharing one database). The implementation is package sqldb, written once
// for both; the engines' differences are their Dialects, in store/sqlite
// and store/postgres; store/storetest is the conformance suite both pass.
//
// Tables (each engine's migrations/*.sql, applied in order at Open and
// recorded in schema_migrations):
//
//   - mailbox: one row per mailbox pair, by key (source server and user,
//     target server and user).
//   - folder: per source folder, the counters of the sync algorithm
//     (UIDVALIDITY of both sides, last UID settled, UIDNEXT, HIGHESTMODSEQ,
//     the target UIDNEXT lower bound).
//   - message: the map, source UID → target UID, with the source flags last
//     written to the target.
//   - pending: APPEND intents, written (and made durable) before the APPEND
//     is sent, settled in the same transaction that records its outcome.
//   - skipped: messages not copied, with a reason, subject and date.
//   - endpoint, batch, migration_user: the migration service's model; the
//     password columns hold values sealed by package secret, each bound to
//     its table, column and row. A leased user's row also holds its pass's
//     live progress, written with each heartbeat.
//   - worker: the processes that run passes, with their last sign of life.
//   - secret_key: the ID of the key that sealed them (package secret's
//     OpenFor refuses another or a missing key while any is stored).
//
// Times are UTC: timestamptz on PostgreSQL, fixed-width text on SQLite
// (sqldb.TextTime), so that comparisons in SQL are time comparisons.
package store
