-- Indexes for batches of 50,000 users (docs/BENCHMARKS.md, "Scale").
--
-- Claims (sqldb.Claim) ask for the earliest due user of one slot: initial
-- syncs are the users without a first sync, incremental syncs those with
-- one. An index per slot keeps that one ordered index step, however many
-- users of the other slot are due (50,000 queued while every initial slot
-- is taken, say).
CREATE INDEX migration_user_due_initial ON migration_user (next_due, id) WHERE first_sync IS NULL;
CREATE INDEX migration_user_due_synced ON migration_user (next_due, id) WHERE first_sync IS NOT NULL;

-- A batch's users in order (user get --batch, batch report): read from
-- the index, not every user sorted.
CREATE INDEX migration_user_batch ON migration_user (batch, id);
