package migration

import (
	"context"
	"errors"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/sensitive"
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
	// AddUsers adds users to a batch (ErrNotFound; *ConflictError as
	// CreateBatch); they start as Command decides for a new user.
	AddUsers(ctx context.Context, batch string, users []User, now time.Time) error
	// RemoveUser deletes a user with its sync state and sealed passwords.
	RemoveUser(ctx context.Context, id int64) error
	UpdateUser(ctx context.Context, id int64, u UserUpdate) error
	FolderStats(ctx context.Context, userID int64) ([]FolderStat, error)
	SkippedItems(ctx context.Context, userID int64) ([]SkippedItem, error)
	// PassHistory lists a user's latest passes that ended, the newest
	// first, at most limit (all that are kept when limit <= 0). Finish
	// and ReleaseAll record them, the last PassHistoryKept of each user.
	PassHistory(ctx context.Context, userID int64, limit int) ([]PassRecord, error)
	// BatchSyncs adds up a batch's users' syncs: how many had their
	// first sync, the latest first and last syncs, and the passes under
	// way (nothing for a batch without users).
	BatchSyncs(ctx context.Context, batch string) (BatchSyncs, error)

	// Scheduling (leases); see package scheduler.
	Claim(ctx context.Context, owner, batch string, now time.Time, ttl time.Duration) (*Claim, error)
	Heartbeat(ctx context.Context, userID int64, owner string, expiry time.Time, p Progress) (Intent, error)
	Finish(ctx context.Context, userID int64, owner string, o Outcome) error
	// ReleaseAll gives up every lease of owner (graceful shutdown).
	ReleaseAll(ctx context.Context, owner string) error
	// FinishRemovals deletes the removing batches that no one works on.
	FinishRemovals(ctx context.Context) error

	// Worker processes: PutWorker records one (or its latest sign of
	// life), Workers lists those seen since, RemoveWorker forgets one
	// (and those not seen since before).
	PutWorker(ctx context.Context, w Worker) error
	Workers(ctx context.Context, since time.Time) ([]Worker, error)
	RemoveWorker(ctx context.Context, name string, before time.Time) error

	// Notifications lists the outbox of report e-mails, of one batch or
	// all (""), the newest first, without their bodies and attachments;
	// package notify writes and sends them.
	Notifications(ctx context.Context, batch string) ([]Notification, error)
}

// SkippedItem is one message not migrated, with why (Exchange's skipped
// item details).
type SkippedItem struct {
	Folder  string    `json:"FolderName"`
	UID     uint32    `json:"SourceUid"`
	Date    time.Time `json:"DateReceived,omitzero"`
	Subject string    `json:"Subject"`
	Size    int64     `json:"MessageSize"`
	Reason  string    `json:"Kind"`
	Detail  string    `json:"Failure,omitempty"`
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
	Kind   PassKind
	// TakenOver is the owner whose lease had expired on this user when it
	// was claimed ("" when the user was free): a lease takeover.
	TakenOver string
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

// Progress is what a pass has done so far, sent with its heartbeats.
type Progress struct {
	Items      int64  // messages copied (or found already there) in this pass
	Bytes      int64  // bytes of those
	ItemsTotal int64  // estimated messages to look at in this pass (from STATUS); 0: not known yet
	Folder     string // the folder being synced
	At         time.Time
}

// PassProgress is a pass under way, as the store shows it to any process.
type PassProgress struct {
	Kind        PassKind  `json:"Kind"`
	Worker      string    `json:"Worker"`
	Started     time.Time `json:"StartTime,omitzero"`
	Items       int64     `json:"ItemsSyncedThisPass"`
	Bytes       int64     `json:"BytesSyncedThisPass"`
	ItemsTotal  int64     `json:"EstimatedItemsThisPass"`
	Folder      string    `json:"CurrentFolder,omitempty"`
	At          time.Time `json:"ProgressTime,omitzero"`
	LeaseExpiry time.Time `json:"-"`

	// Derived from the counts when read (Derive), for every reader to
	// show the same: Percent, Rate and ETA at the time of reading.
	PercentComplete int      `json:"PercentageComplete"`
	ItemsPerSecond  float64  `json:"ItemsPerSecond"`
	TimeRemaining   TimeSpan `json:"EstimatedTimeRemaining,omitzero"`
}

// UserUpdate is what UpdateUser changes; nil fields stay as they are.
type UserUpdate struct {
	Password       *sensitive.String // sealed
	TargetPassword *sensitive.String // sealed
	// Retry applies the batch's command again (a Failed user of a running
	// batch is due at once).
	Retry bool
	Now   time.Time
}

// Worker is a process that runs passes (serve or worker).
type Worker struct {
	Name    string    `json:"Name"`
	Host    string    `json:"Host"`
	PID     int       `json:"ProcessId"`
	Slots   int       `json:"Workers"`
	Busy    int       `json:"ActivePasses"`
	Version string    `json:"Version,omitempty"`
	Started time.Time `json:"StartTime"`
	Seen    time.Time `json:"LastSeenTime"`
}

// FolderStat is one folder of a migration user's sync state.
type FolderStat struct {
	Source   string    `json:"SourceFolder"`
	Target   string    `json:"TargetFolder"`
	Messages int       `json:"ItemsSynced"`
	Skipped  int       `json:"ItemsSkipped"`
	LastSync time.Time `json:"LastSyncedTime,omitzero"`
}
