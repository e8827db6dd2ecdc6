package migration

import (
	"context"
	"errors"
	"time"
)

// Errors the store returns, for the Service to explain.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	ErrInUse    = errors.New("in use")
)

// Store is the persistence the Service and the scheduler need. In the
// store, secret fields (passwords, tokens) hold sealed values only.
type Store interface {
	PutEndpoint(ctx context.Context, e *Endpoint, create bool) error
	Endpoint(ctx context.Context, name string) (*Endpoint, error)
	Endpoints(ctx context.Context) ([]Endpoint, error)
	// DeleteEndpoint fails with ErrInUse while a batch uses it.
	DeleteEndpoint(ctx context.Context, name string) error

	// CreateBatch creates the batch and its users in one transaction. It
	// fails with a *ConflictError when an address is already in another
	// batch that is not completed.
	CreateBatch(ctx context.Context, b *Batch, users []User) error
	Batch(ctx context.Context, name string) (*Batch, []UserStatus, error)
	Batches(ctx context.Context) ([]Batch, error)
	UpdateBatchSettings(ctx context.Context, b *Batch) error
	// SetIntent records what was asked of the batch and moves its users
	// accordingly (see Transition).
	SetIntent(ctx context.Context, name string, t Transition) error
	// DeleteBatch deletes a batch, its users, their sync state and sealed
	// passwords; it fails with ErrInUse while a user is leased.
	DeleteBatch(ctx context.Context, name string) error

	Users(ctx context.Context, batch string, status UserStatus) ([]User, error)
	UserByEmail(ctx context.Context, email string) (*User, error)

	// Scheduling (leases); see package scheduler.
	Claim(ctx context.Context, owner, batch string, now time.Time, ttl time.Duration) (*Claim, error)
	Heartbeat(ctx context.Context, userID int64, owner string, expiry time.Time) (Intent, error)
	Finish(ctx context.Context, userID int64, owner string, o Outcome) error
	// ReleaseAll gives up every lease of owner (graceful shutdown).
	ReleaseAll(ctx context.Context, owner string) error
	// FinishRemovals deletes the removing batches that no one works on.
	FinishRemovals(ctx context.Context) error
}

// Transition is a batch command applied to the batch and its users.
type Transition struct {
	Intent Intent
	Now    time.Time
}

// ConflictError lists addresses already migrating in another batch.
type ConflictError struct {
	Emails  []string
	Batches []string
}

func (e *ConflictError) Error() string {
	return "addresses already in another batch"
}

// Claim is a leased unit of work: one user's sync pass.
type Claim struct {
	User   User
	Batch  Batch
	Source Endpoint
	Target Endpoint
	Kind   string // "initial", "incremental" or "final"
}

// Outcome is what a pass did, recorded by Finish.
type Outcome struct {
	Status    UserStatus
	Error     string
	Copied    int
	Skipped   map[string]int
	Bytes     int64
	Folders   int
	At        time.Time
	NextDue   time.Time // zero: nothing due
	Attempts  int
	FirstSync bool
}
