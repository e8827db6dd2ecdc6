package auth

// This file is the seam between package auth and its users (internal/api,
// internal/web, internal/server, internal/cli): the types and the method
// set they code against. The helper building package auth owns it and may
// add to it; changing a signature here must be told to the others.

import (
	"context"
	"errors"
	"fmt"
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
	// ErrNoSession is a session id that is unknown, expired or logged out.
	ErrNoSession = errors.New("not logged in, or the session expired: log in again")
	// ErrCSRF is an unsafe request without the form's token (or with
	// another session's).
	ErrCSRF = errors.New("the form's security token is missing or wrong: reload the page and try again")
)

// RateLimitError is a login refused because of the failures before it; it
// is ErrRateLimited for errors.Is.
type RateLimitError struct {
	// Until is when a login is tried again.
	Until time.Time
	// RetryAfter is how long that is from the refusal.
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("too many failed logins: wait %s and try again", e.RetryAfter.Round(time.Second))
}

// Is makes errors.Is(err, ErrRateLimited) true.
func (e *RateLimitError) Is(target error) bool { return target == ErrRateLimited }
