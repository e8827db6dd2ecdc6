package migration

import (
	"time"

	"github.com/imapmigrate/imapmigrate/internal/imapconn"
	"github.com/imapmigrate/imapmigrate/internal/sensitive"
)

// Exchange Online's defaults and limits for migration endpoints.
const (
	DefaultMaxConcurrentMigrations       = 100
	DefaultMaxConcurrentIncrementalSyncs = 20
	MaxConcurrentLimit                   = 300
	DefaultIncrementalInterval           = 24 * time.Hour
)

// MailboxAccess says how a target endpoint opens the mailbox named by a
// migration user's EmailAddress.
type MailboxAccess string

const (
	// AccessMaster logs in as "<email><separator><admin>" with the admin's
	// password (Dovecot master users).
	AccessMaster MailboxAccess = "master"
	// AccessAuthzid logs in with SASL PLAIN, authzid = email, authcid = admin.
	AccessAuthzid MailboxAccess = "authzid"
	// AccessPerUser uses the migration file's TargetUserName/TargetPassword.
	AccessPerUser MailboxAccess = "per-user"
	// AccessXOAUTH2 runs TokenCommand with the email (as $1 and in
	// IMAPMIGRATE_TOKEN_EMAIL, in a clean environment: see
	// tokenCommandEnv) and logs in with the bearer token it prints.
	AccessXOAUTH2 MailboxAccess = "xoauth2"
)

// Endpoint is how to reach one IMAP server (Exchange Online's migration
// endpoint). A source endpoint logs rows in with their UserName/Password;
// a target endpoint also says how to open a target mailbox.
type Endpoint struct {
	Name               string            `json:"name"`
	Server             string            `json:"server"`
	Port               int               `json:"port"`
	Security           imapconn.Security `json:"security"`
	Auth               imapconn.AuthMech `json:"auth"` // login or plain, for source rows
	MasterSeparator    string            `json:"master_separator"`
	CAFile             string            `json:"ca_file,omitempty"`
	InsecureSkipVerify bool              `json:"insecure_skip_verify,omitempty"`

	MaxConcurrentMigrations       int `json:"max_concurrent_migrations"`
	MaxConcurrentIncrementalSyncs int `json:"max_concurrent_incremental_syncs"`

	MailboxAccess MailboxAccess    `json:"mailbox_access,omitempty"`
	AdminUser     string           `json:"admin_user,omitempty"`
	AdminPassword sensitive.String `json:"-"`
	TokenCommand  string           `json:"token_command,omitempty"`

	CreatedAt time.Time `json:"created_at"`
}

// Intent is what the administrator last asked of a batch; the batch's
// status is derived from it and its users' statuses (BatchStatusOf).
type Intent string

const (
	IntentCreated    Intent = "created"    // not started yet
	IntentRunning    Intent = "running"    // initial, then incremental syncs
	IntentStopped    Intent = "stopped"    // stop was asked
	IntentCompleting Intent = "completing" // a last incremental pass, then done
	IntentRemoving   Intent = "removing"   // being deleted
	IntentFailed     Intent = "failed"     // the batch itself cannot run
)

// BatchStatus is what Get-MigrationBatch shows.
type BatchStatus string

const (
	BatchCreated               BatchStatus = "Created"
	BatchSyncing               BatchStatus = "Syncing"
	BatchSynced                BatchStatus = "Synced"
	BatchSyncedWithErrors      BatchStatus = "SyncedWithErrors"
	BatchIncrementalSyncing    BatchStatus = "IncrementalSyncing"
	BatchStopping              BatchStatus = "Stopping"
	BatchStopped               BatchStatus = "Stopped"
	BatchCompleting            BatchStatus = "Completing"
	BatchCompleted             BatchStatus = "Completed"
	BatchCompletedWithErrors   BatchStatus = "CompletedWithErrors"
	BatchCompletedWithWarnings BatchStatus = "CompletedWithWarnings"
	BatchRemoving              BatchStatus = "Removing"
	BatchFailed                BatchStatus = "Failed"
)

// UserStatus is what Get-MigrationUser shows.
type UserStatus string

const (
	UserQueued                UserStatus = "Queued"
	UserSyncing               UserStatus = "Syncing"
	UserSynced                UserStatus = "Synced"
	UserFailed                UserStatus = "Failed"
	UserIncrementalSyncing    UserStatus = "IncrementalSyncing"
	UserIncrementalFailed     UserStatus = "IncrementalFailed"
	UserStopping              UserStatus = "Stopping"
	UserStopped               UserStatus = "Stopped"
	UserCompleting            UserStatus = "Completing"
	UserCompleted             UserStatus = "Completed"
	UserCompletedWithWarnings UserStatus = "CompletedWithWarnings"
	UserRemoving              UserStatus = "Removing"
)

// Batch is a named set of migration users between two endpoints.
type Batch struct {
	Name                string        `json:"name"`
	SourceEndpoint      string        `json:"source_endpoint"`
	TargetEndpoint      string        `json:"target_endpoint"`
	Intent              Intent        `json:"-"`
	Status              BatchStatus   `json:"status"`
	ExcludeFolders      []string      `json:"exclude_folders,omitempty"`
	IncrementalInterval time.Duration `json:"-"`
	MaxMessageSize      int64         `json:"max_message_size"`
	ReceivedAfter       time.Time     `json:"received_after,omitzero"`
	Error               string        `json:"error,omitempty"`
	CreatedAt           time.Time     `json:"created_at"`
	StartedAt           time.Time     `json:"started_at,omitzero"`
	CompletedAt         time.Time     `json:"completed_at,omitzero"`

	// Counts by user status, filled by the store on reads.
	Users  int                `json:"total_count"`
	Counts map[UserStatus]int `json:"counts,omitempty"`
}

// User is one migration user: a row of the migration file and its progress.
type User struct {
	ID             int64            `json:"-"`
	Batch          string           `json:"batch"`
	EmailAddress   string           `json:"email_address"`
	UserName       string           `json:"user_name"`
	Password       sensitive.String `json:"-"`
	UserRoot       string           `json:"user_root,omitempty"`
	TargetUserName string           `json:"target_user_name,omitempty"`
	TargetPassword sensitive.String `json:"-"`

	Status       UserStatus     `json:"status"`
	Error        string         `json:"error,omitempty"`
	ItemsSynced  int            `json:"items_synced"`
	ItemsSkipped int            `json:"items_skipped"`
	SkippedBy    map[string]int `json:"skipped_by_reason,omitempty"`
	BytesSynced  int64          `json:"bytes_synced"`
	Folders      int            `json:"folders"`
	FirstSync    time.Time      `json:"first_sync_time,omitzero"`
	LastSync     time.Time      `json:"last_sync_time,omitzero"`
	NextSync     time.Time      `json:"next_sync_time,omitzero"`
	Attempts     int            `json:"-"`
	// Pass is the pass under way, nil when none is.
	Pass *PassProgress `json:"pass,omitempty"`
}
