package auth

// This file is the seam between package auth and its users (internal/api,
// internal/web, internal/server, internal/cli): the types and the method
// set they code against. The helper building package auth owns it and may
// add to it; changing a signature here must be told to the others.

import (
	"context"
	"errors"
	"time"
)

// Principal is who makes a request: a dashboard account, by a session or
// by one of its API tokens.
type Principal struct {
	Name string `json:"Name"` // the admin account
	Via  string `json:"Via"`  // "session" or "token"
	// Token names the API token (Via "token").
	Token string `json:"Token,omitempty"`
}

// String is how the audit log names a principal: "alice" or
// "alice (token ci)".
func (p Principal) String() string {
	if p.Via == "token" && p.Token != "" {
		return p.Name + " (token " + p.Token + ")"
	}
	return p.Name
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p (set by the middlewares).
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// From returns the principal of a request's context.
func From(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// Admin is a dashboard account.
type Admin struct {
	Name      string    `json:"Name"`
	CreatedAt time.Time `json:"CreatedAt"`
	LastLogin time.Time `json:"LastLoginTime,omitzero"`
}

// Token is an API token; its secret is shown once, at creation, and stored
// only as a hash.
type Token struct {
	Name      string    `json:"Name"`
	Admin     string    `json:"Admin"`
	CreatedAt time.Time `json:"CreatedAt"`
	LastUsed  time.Time `json:"LastUsedTime,omitzero"`
}

// AuditEntry is one change, with who made it.
type AuditEntry struct {
	ID     int64     `json:"Id"`
	Time   time.Time `json:"Time"`
	Actor  string    `json:"Actor"`  // Principal.String()
	Action string    `json:"Action"` // e.g. "batch start"
	Object string    `json:"Object"` // e.g. the batch's name
	Detail string    `json:"Detail,omitempty"`
	Remote string    `json:"RemoteAddress,omitempty"`
}

// Errors of the service.
var (
	ErrBadLogin    = errors.New("wrong account name or password")
	ErrRateLimited = errors.New("too many failed logins: wait and try again")
	ErrNoToken     = errors.New("no valid API token")
)
