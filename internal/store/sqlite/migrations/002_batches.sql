-- Migration endpoints, batches and migration users (Exchange Online's model).

CREATE TABLE endpoint (
    name                             TEXT PRIMARY KEY,
    server                           TEXT NOT NULL,
    port                             INTEGER NOT NULL,
    security                         TEXT NOT NULL,
    auth                             TEXT NOT NULL,
    master_separator                 TEXT NOT NULL,
    ca_file                          TEXT NOT NULL DEFAULT '',
    insecure_skip_verify             INTEGER NOT NULL DEFAULT 0,
    max_concurrent_migrations        INTEGER NOT NULL,
    max_concurrent_incremental_syncs INTEGER NOT NULL,
    mailbox_access                   TEXT NOT NULL DEFAULT '',
    admin_user                       TEXT NOT NULL DEFAULT '',
    admin_password                   TEXT NOT NULL DEFAULT '', -- sealed (package secret)
    token_command                    TEXT NOT NULL DEFAULT '',
    created_at                       TEXT NOT NULL
);

CREATE TABLE batch (
    name                 TEXT PRIMARY KEY,
    source_endpoint      TEXT NOT NULL REFERENCES endpoint(name),
    target_endpoint      TEXT NOT NULL REFERENCES endpoint(name),
    intent               TEXT NOT NULL,
    exclude_folders      TEXT NOT NULL DEFAULT '', -- newline-separated
    incremental_seconds  INTEGER NOT NULL,
    max_message_size     INTEGER NOT NULL,
    received_after       TEXT,          -- only messages that arrived later
    error                TEXT NOT NULL DEFAULT '',
    created_at           TEXT NOT NULL,
    started_at           TEXT,
    completed_at         TEXT
);

CREATE TABLE migration_user (
    id               INTEGER PRIMARY KEY,
    batch            TEXT NOT NULL REFERENCES batch(name) ON DELETE CASCADE,
    email            TEXT NOT NULL,
    email_key        TEXT NOT NULL,  -- lower case, for uniqueness
    user_name        TEXT NOT NULL,
    password         TEXT NOT NULL,  -- sealed
    user_root        TEXT NOT NULL DEFAULT '',
    target_user_name TEXT NOT NULL DEFAULT '',
    target_password  TEXT NOT NULL DEFAULT '', -- sealed
    status           TEXT NOT NULL,
    error            TEXT NOT NULL DEFAULT '',
    items_synced     INTEGER NOT NULL DEFAULT 0,
    items_skipped    INTEGER NOT NULL DEFAULT 0,
    skipped_by       TEXT NOT NULL DEFAULT '{}', -- JSON reason → count
    bytes_synced     INTEGER NOT NULL DEFAULT 0,
    folders          INTEGER NOT NULL DEFAULT 0,
    first_sync       TEXT,
    last_sync        TEXT,
    next_due         TEXT,          -- when work is due; NULL: none
    attempts         INTEGER NOT NULL DEFAULT 0,
    kind             TEXT NOT NULL DEFAULT '', -- while leased: initial | incremental
    lease_owner      TEXT NOT NULL DEFAULT '',
    lease_expiry     TEXT,
    UNIQUE (batch, email_key)
);

CREATE INDEX migration_user_due ON migration_user (next_due);
CREATE INDEX migration_user_email ON migration_user (email_key);
