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
	Name               string            `json:"Identity"`
	Server             string            `json:"RemoteServer"`
	Port               int               `json:"Port"`
	Security           imapconn.Security `json:"Security"`
	Auth               imapconn.AuthMech `json:"Auth"` // login or plain, for source rows
	MasterSeparator    string            `json:"MasterSeparator"`
	CAFile             string            `json:"CAFile,omitempty"`
	InsecureSkipVerify bool              `json:"InsecureSkipVerify,omitempty"`

	MaxConcurrentMigrations       int `json:"MaxConcurrentMigrations"`
	MaxConcurrentIncrementalSyncs int `json:"MaxConcurrentIncrementalSyncs"`

	MailboxAccess MailboxAccess    `json:"MailboxAccess,omitempty"`
	AdminUser     string           `json:"AdminUser,omitempty"`
	AdminPassword sensitive.String `json:"-"`
	TokenCommand  string           `json:"TokenCommand,omitempty"`

	CreatedAt time.Time `json:"CreatedAt"`
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
	Name                string      `json:"Identity"`
	SourceEndpoint      string      `json:"SourceEndpoint"`
	TargetEndpoint      string      `json:"TargetEndpoint"`
	Intent              Intent      `json:"-"`
	Status              BatchStatus `json:"Status"`
	ExcludeFolders      []string    `json:"ExcludeFolders,omitempty"`
	IncrementalInterval TimeSpan    `json:"IncrementalSyncInterval"`
	MaxMessageSize      int64       `json:"MaxMessageSize"`
	ReceivedAfter       time.Time   `json:"ReceivedAfter,omitzero"`
	Error               string      `json:"Error,omitempty"`
	CreatedAt           time.Time   `json:"CreatedAt"`
	StartedAt           time.Time   `json:"StartedAt,omitzero"`
	CompletedAt         time.Time   `json:"CompletedAt,omitzero"`
	// NotificationEmails are told of the batch's initial sync, its
	// completion and, every ReportInterval while it syncs, its progress.
	NotificationEmails []string `json:"NotificationEmails,omitempty"`
	ReportInterval     TimeSpan `json:"ReportInterval"`

	// Derived on reads from its users (Summarize).
	Users               int                `json:"TotalCount"`
	SyncedCount         int                `json:"SyncedCount"`
	FinalizedCount      int                `json:"FinalizedCount"`
	FailedCount         int                `json:"FailedCount"`
	Counts              map[UserStatus]int `json:"Counts,omitempty"` // by status
	PercentComplete     int                `json:"PercentageComplete"`
	InitialSyncDuration TimeSpan           `json:"InitialSyncDuration,omitzero"`
	LastSynced          time.Time          `json:"LastSyncedTime,omitzero"`
	ActivePasses        *PassesProgress    `json:"ActivePasses,omitempty"`
}

// User is one migration user: a row of the migration file and its progress.
type User struct {
	ID             int64            `json:"-"`
	Batch          string           `json:"BatchId"`
	EmailAddress   string           `json:"EmailAddress"`
	UserName       string           `json:"UserName"`
	Password       sensitive.String `json:"-"`
	UserRoot       string           `json:"UserRoot,omitempty"`
	TargetUserName string           `json:"TargetUserName,omitempty"`
	TargetPassword sensitive.String `json:"-"`

	Status       UserStatus     `json:"Status"`
	Error        string         `json:"Error,omitempty"`
	ItemsSynced  int            `json:"ItemsSynced"`
	ItemsSkipped int            `json:"ItemsSkipped"`
	SkippedBy    map[string]int `json:"SkippedByReason,omitempty"`
	BytesSynced  int64          `json:"BytesSynced"`
	Folders      int            `json:"Folders"`
	FirstSync    time.Time      `json:"FirstSyncTime,omitzero"`
	LastSync     time.Time      `json:"LastSyncedTime,omitzero"`
	NextSync     time.Time      `json:"NextSyncTime,omitzero"`
	Attempts     int            `json:"-"`
	// Pass is the pass under way, nil when none is.
	Pass *PassProgress `json:"Pass,omitempty"`
}
