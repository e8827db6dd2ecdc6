-- Report e-mails (package notify): who is told of a batch's progress, and
-- the outbox of the mails to send.
ALTER TABLE batch ADD COLUMN notification_emails TEXT NOT NULL DEFAULT ''; -- newline-separated
ALTER TABLE batch ADD COLUMN report_seconds INTEGER NOT NULL DEFAULT 86400;

-- The outbox: one row per report e-mail, written once per (batch, kind,
-- seq) by whichever process sees the event first (the UNIQUE makes that
-- idempotent), and sent by the process that leases it (lease_owner,
-- lease_expiry), as users are leased. The mail is composed when the row is
-- written, so that every attempt sends the same one; the row is kept
-- after the batch is removed (no foreign key), as its history.
CREATE TABLE notification (
    id            INTEGER PRIMARY KEY,
    batch         TEXT NOT NULL,
    kind          TEXT NOT NULL,     -- InitialSyncCompleted, Completed, Report
    seq           INTEGER NOT NULL,  -- Report: its interval's end, in seconds since the batch started; else 0
    recipients    TEXT NOT NULL,     -- newline-separated
    subject       TEXT NOT NULL,
    body          TEXT NOT NULL,
    attachments   TEXT NOT NULL DEFAULT '[]', -- JSON: [{Name, ContentType, Content (base64)}]
    created_at    TEXT NOT NULL,
    due_at        TEXT NOT NULL,     -- next attempt
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT NOT NULL DEFAULT '',
    gave_up       INTEGER NOT NULL DEFAULT 0,
    sent_at       TEXT,
    lease_owner   TEXT NOT NULL DEFAULT '',
    lease_expiry  TEXT,
    UNIQUE (batch, kind, seq)
);
-- The mails to send, in due order.
CREATE INDEX notification_due ON notification (due_at, id) WHERE sent_at IS NULL;
