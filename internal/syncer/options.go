package syncer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/imapconn"
)

// Conns opens connections to one side. imapconn.Factory is the real one;
// the scheduler wraps it to count and limit sessions.
type Conns interface {
	Client(ctx context.Context) (*imapconn.Client, error)
	Appender(ctx context.Context) (*imapconn.Appender, error)
}

// Options tune one mailbox sync. The zero value of a field means its default.
type Options struct {
	ParallelFolders int       // folders synced at once, default 2
	MaxMessageSize  int64     // larger messages are skipped, default 35 MB
	MaxItems        int       // messages per mailbox, default 500,000
	Exclude         []string  // folder exclusion patterns (see package folders)
	UserRoot        string    // only the folders under this root
	CopyDeleted     bool      // copy messages flagged \Deleted (skipped by default)
	ReceivedAfter   time.Time // messages that arrived earlier are not copied (reported as filtered)
	DryRun          bool      // plan and count, change nothing

	ChunkMessages int   // messages per APPEND batch, default 32
	ChunkBytes    int64 // bytes per APPEND batch, default 8 MiB
	MemSpoolMax   int64 // larger messages are spooled to a temp file, default 1 MiB
	SpoolDir      string

	Retry Retry
}

// Retry is the back-off policy for transient errors.
type Retry struct {
	Attempts int           // per folder, default 8
	Base     time.Duration // first wait, default 1s
	Max      time.Duration // longest wait, default 2m
}

// DefaultMaxMessageSize is Exchange Online's limit for IMAP migration.
const DefaultMaxMessageSize = 35 * 1000 * 1000

func (o *Options) withDefaults() Options {
	out := *o
	if out.ParallelFolders <= 0 {
		out.ParallelFolders = 2
	}
	if out.MaxMessageSize <= 0 {
		out.MaxMessageSize = DefaultMaxMessageSize
	}
	if out.MaxItems <= 0 {
		out.MaxItems = 500000
	}
	if out.ChunkMessages <= 0 {
		out.ChunkMessages = 32
	}
	if out.ChunkBytes <= 0 {
		out.ChunkBytes = 8 << 20
	}
	if out.MemSpoolMax <= 0 {
		out.MemSpoolMax = 1 << 20
	}
	if out.Retry.Attempts <= 0 {
		out.Retry.Attempts = 8
	}
	if out.Retry.Base <= 0 {
		out.Retry.Base = time.Second
	}
	if out.Retry.Max <= 0 {
		out.Retry.Max = 2 * time.Minute
	}
	return out
}

// Validate names a bad option and its fix.
func (o *Options) Validate() error {
	if o.ParallelFolders > 16 {
		return fmt.Errorf("--parallel-folders %d: at most 16 (each folder holds 3 connections)", o.ParallelFolders)
	}
	if o.MaxMessageSize < 0 {
		return errors.New("--max-message-size must be positive")
	}
	if o.MaxItems < 0 {
		return errors.New("--max-items must be positive")
	}
	return nil
}
