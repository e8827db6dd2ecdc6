-- The service core: live progress of a pass, worker processes, skipped
-- items named, and every time in one form (sqldb.TextTime: UTC, fixed
-- width, so that text order is time order).

ALTER TABLE migration_user ADD COLUMN pass_started TEXT;
ALTER TABLE migration_user ADD COLUMN progress_items INTEGER NOT NULL DEFAULT 0;
ALTER TABLE migration_user ADD COLUMN progress_bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE migration_user ADD COLUMN progress_total INTEGER NOT NULL DEFAULT 0;
ALTER TABLE migration_user ADD COLUMN progress_folder TEXT NOT NULL DEFAULT '';
ALTER TABLE migration_user ADD COLUMN progress_at TEXT;
CREATE INDEX migration_user_batch_status ON migration_user (batch, status);
CREATE INDEX migration_user_lease ON migration_user (lease_owner) WHERE lease_owner != '';

ALTER TABLE skipped ADD COLUMN subject TEXT NOT NULL DEFAULT '';
ALTER TABLE skipped ADD COLUMN internal_date INTEGER NOT NULL DEFAULT 0;

CREATE TABLE worker (
    name       TEXT PRIMARY KEY,
    host       TEXT NOT NULL,
    pid        INTEGER NOT NULL,
    slots      INTEGER NOT NULL,
    busy       INTEGER NOT NULL DEFAULT 0,
    version    TEXT NOT NULL DEFAULT '',
    started_at TEXT NOT NULL,
    seen_at    TEXT NOT NULL
);

-- RFC 3339 times written before (mailbox, folder, secret_key,
-- schema_migrations) become TextTime: the fraction padded to 9 digits.
UPDATE mailbox SET created_at = CASE WHEN instr(created_at, '.') > 0
    THEN substr(created_at, 1, instr(created_at, '.')) || substr(substr(created_at, instr(created_at, '.') + 1, length(created_at) - instr(created_at, '.') - 1) || '000000000', 1, 9) || 'Z'
    ELSE substr(created_at, 1, 19) || '.000000000Z' END WHERE created_at LIKE '%Z';
UPDATE folder SET last_sync = CASE WHEN instr(last_sync, '.') > 0
    THEN substr(last_sync, 1, instr(last_sync, '.')) || substr(substr(last_sync, instr(last_sync, '.') + 1, length(last_sync) - instr(last_sync, '.') - 1) || '000000000', 1, 9) || 'Z'
    ELSE substr(last_sync, 1, 19) || '.000000000Z' END WHERE last_sync LIKE '%Z';
UPDATE secret_key SET recorded_at = CASE WHEN instr(recorded_at, '.') > 0
    THEN substr(recorded_at, 1, instr(recorded_at, '.')) || substr(substr(recorded_at, instr(recorded_at, '.') + 1, length(recorded_at) - instr(recorded_at, '.') - 1) || '000000000', 1, 9) || 'Z'
    ELSE substr(recorded_at, 1, 19) || '.000000000Z' END WHERE recorded_at LIKE '%Z';
