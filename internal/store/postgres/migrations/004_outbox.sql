-- Report e-mails (package notify): who is told of a batch's progress, and
-- the outbox of the mails to send.
ALTER TABLE batch ADD COLUMN notification_emails TEXT NOT NULL DEFAULT ''; -- newline-separated
ALTER TABLE batch ADD COLUMN report_seconds BIGINT NOT NULL DEFAULT 86400;
