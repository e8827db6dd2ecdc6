-- Sync state of mailbox pairs: one row per pair, per folder, per message.

CREATE TABLE mailbox (
    id         INTEGER PRIMARY KEY,
    key        TEXT NOT NULL UNIQUE, -- source server + user + target server + user
    created_at TEXT NOT NULL
);

CREATE TABLE folder (
    id                  INTEGER PRIMARY KEY,
    mailbox_id          INTEGER NOT NULL REFERENCES mailbox(id) ON DELETE CASCADE,
    source_name         TEXT NOT NULL,
    target_name         TEXT NOT NULL,
    source_uidvalidity  INTEGER NOT NULL DEFAULT 0,
    target_uidvalidity  INTEGER NOT NULL DEFAULT 0,
    last_uid            INTEGER NOT NULL DEFAULT 0,
    source_uidnext      INTEGER NOT NULL DEFAULT 0,
    highest_modseq      INTEGER NOT NULL DEFAULT 0,
    target_uidnext      INTEGER NOT NULL DEFAULT 0,
    last_sync           TEXT,
    UNIQUE (mailbox_id, source_name)
);

-- The map: what each source message became on the target.
CREATE TABLE message (
    folder_id  INTEGER NOT NULL REFERENCES folder(id) ON DELETE CASCADE,
    source_uid INTEGER NOT NULL,
    target_uid INTEGER NOT NULL,
    flags      TEXT NOT NULL DEFAULT '',
    size       INTEGER NOT NULL,
    PRIMARY KEY (folder_id, source_uid)
) WITHOUT ROWID;

-- Intents: written before an APPEND, settled when its outcome is recorded.
CREATE TABLE pending (
    folder_id      INTEGER NOT NULL REFERENCES folder(id) ON DELETE CASCADE,
    source_uid     INTEGER NOT NULL,
    message_id     TEXT NOT NULL,
    internal_date  INTEGER NOT NULL,
    size           INTEGER NOT NULL,
    flags          TEXT NOT NULL DEFAULT '',
    target_uidnext INTEGER NOT NULL,
    PRIMARY KEY (folder_id, source_uid)
) WITHOUT ROWID;

CREATE TABLE skipped (
    folder_id  INTEGER NOT NULL REFERENCES folder(id) ON DELETE CASCADE,
    source_uid INTEGER NOT NULL,
    reason     TEXT NOT NULL,
    detail     TEXT NOT NULL DEFAULT '',
    size       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (folder_id, source_uid)
) WITHOUT ROWID;
