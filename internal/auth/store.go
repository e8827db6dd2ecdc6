package auth

import (
	"context"
	"time"
)

// Store is the persistence the Service needs (package store implements
// it on both engines). Names are stored as the Service gives them
// (lowercase); a missing row is migration.ErrNotFound, a taken name
// migration.ErrExists. Hashes are hex SHA-256 digests: the store never
// sees a token's or a session's secret, only its hash.
type Store interface {
	// CreateAdmin stores a new account with its password's PHC string.
	CreateAdmin(ctx context.Context, a *Admin, passwordHash string) error
	// AdminPassword returns an account and its password's PHC string.
	AdminPassword(ctx context.Context, name string) (*Admin, string, error)
	// DeleteAdmin removes an account with its tokens and sessions.
	DeleteAdmin(ctx context.Context, name string) error
	// ListAdmins lists the accounts by name.
	ListAdmins(ctx context.Context) ([]Admin, error)
	// CountAdmins is how many accounts there are.
	CountAdmins(ctx context.Context) (int, error)
	// SetLastLogin records an account's latest login.
	SetLastLogin(ctx context.Context, name string, t time.Time) error

	// CreateToken stores a new API token (its name is unique across
	// accounts; its admin must exist).
	CreateToken(ctx context.Context, t *Token, hash string) error
	// TokenByHash finds the token whose secret has this hash.
	TokenByHash(ctx context.Context, hash string) (*Token, error)
	// ListTokens lists every token, by name.
	ListTokens(ctx context.Context) ([]Token, error)
	// DeleteToken removes a token.
	DeleteToken(ctx context.Context, name string) error
	// TouchToken records a token's latest use.
	TouchToken(ctx context.Context, name string, t time.Time) error

	// CreateSession stores a new session.
	CreateSession(ctx context.Context, s *SessionRecord) error
	// SessionByHash finds the session whose id has this hash.
	SessionByHash(ctx context.Context, hash string) (*SessionRecord, error)
	// TouchSession records a session's latest request.
	TouchSession(ctx context.Context, hash string, t time.Time) error
	// DeleteSession removes a session (logout); none is not an error.
	DeleteSession(ctx context.Context, hash string) error
	// DeleteSessionsBefore removes the sessions last seen before seen or
	// created before created (expired).
	DeleteSessionsBefore(ctx context.Context, seen, created time.Time) error

	// AppendAudit stores an entry and sets its ID (increasing).
	AppendAudit(ctx context.Context, e *AuditEntry) error
	// ListAudit returns up to limit entries, newest first, with an ID
	// below beforeID (0: from the newest).
	ListAudit(ctx context.Context, limit int, beforeID int64) ([]AuditEntry, error)
}

// SessionRecord is a session as stored: the hash of its id, not the id.
type SessionRecord struct {
	Hash    string
	Admin   string
	Created time.Time
	Seen    time.Time
}
