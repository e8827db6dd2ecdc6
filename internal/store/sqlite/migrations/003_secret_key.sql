-- Which key (package secret) sealed the passwords of this database: its ID,
-- a fingerprint that does not reveal the key. One row at most.

CREATE TABLE secret_key (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    key_id      TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
