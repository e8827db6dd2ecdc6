-- Dashboard accounts, API tokens, sessions and the audit log (package
-- auth). No secret in clear: a password is its argon2id PHC string, a
-- token and a session id only their hex SHA-256 digests. Names are
-- lowercase (auth.NormalizeName).

CREATE TABLE admin (
    name          TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    last_login    TEXT
);

CREATE TABLE api_token (
    name       TEXT PRIMARY KEY,
    admin      TEXT NOT NULL REFERENCES admin(name) ON DELETE CASCADE,
    hash       TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    last_used  TEXT
);
CREATE INDEX api_token_admin ON api_token (admin);

CREATE TABLE session (
    hash       TEXT PRIMARY KEY,
    admin      TEXT NOT NULL REFERENCES admin(name) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    seen_at    TEXT NOT NULL
);
CREATE INDEX session_admin ON session (admin);
CREATE INDEX session_seen ON session (seen_at);

-- Every change, with who made it; newest first by id.
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    object     TEXT NOT NULL DEFAULT '',
    detail     TEXT NOT NULL DEFAULT '',
    remote     TEXT NOT NULL DEFAULT ''
);
