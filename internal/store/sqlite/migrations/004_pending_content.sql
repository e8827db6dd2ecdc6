-- The digest of an intent's content (syncer.Content), so that a copy that
-- the target normalised (a CRLF added at the end, bare LF stored as CRLF)
-- is still recognised after a crash, without a Message-ID or an exact
-- size to go by. Empty for intents written before.
ALTER TABLE pending ADD COLUMN content_sum BLOB NOT NULL DEFAULT x'';
ALTER TABLE pending ADD COLUMN content_norm INTEGER NOT NULL DEFAULT 0;
ALTER TABLE pending ADD COLUMN content_crlf INTEGER NOT NULL DEFAULT 0;
