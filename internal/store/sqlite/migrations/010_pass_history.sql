-- The history of a migration user's passes: one row per pass that ended,
-- written with the outcome (Finish) or when its worker gave its leases up
-- (ReleaseAll), in the same transaction; the last 100 of each user are
-- kept. The rows go with the user (RemoveUser, DeleteBatch).
CREATE TABLE pass_history (
    id             INTEGER PRIMARY KEY,
    user_id        INTEGER NOT NULL REFERENCES migration_user(id) ON DELETE CASCADE,
    batch          TEXT NOT NULL,
    kind           TEXT NOT NULL,              -- initial, incremental, final
    worker         TEXT NOT NULL,              -- the lease's owner
    started_at     TEXT,                       -- when the claim took the lease
    ended_at       TEXT NOT NULL,
    status         TEXT NOT NULL,              -- the user's status once the pass ended
    items_synced   INTEGER NOT NULL DEFAULT 0, -- in this pass
    items_skipped  INTEGER NOT NULL DEFAULT 0, -- in this pass
    bytes_synced   INTEGER NOT NULL DEFAULT 0, -- in this pass
    error          TEXT NOT NULL DEFAULT ''
);
-- A user's passes, newest first.
CREATE INDEX pass_history_user ON pass_history (user_id, id);
