package notify

import (
	"context"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/migration"
)

// Outbox is the part of the store the Notifier needs: the outbox of
// report e-mails (store/sqldb/outbox.go).
//
// Each mail is written once per (Batch, Kind, Seq), whichever process
// writes it first; it is sent by the process that leases it, which then
// records that it was sent, or that it failed and when to try again. A
// lease that is not ended (the process died) expires after its TTL and
// another process takes the mail; a mail is sent twice only when a
// process dies between the server's acceptance and recording it.
type Outbox interface {
	// EnqueueNotification writes n (its ID set) unless one of its (Batch,
	// Kind, Seq) exists; created says whether it did.
	EnqueueNotification(ctx context.Context, n *migration.Notification) (created bool, err error)
	// HasNotification says whether (batch, kind, seq) was written.
	HasNotification(ctx context.Context, batch string, kind migration.NotificationKind, seq int) (bool, error)
	// LeaseNotification leases the earliest due mail, not sent, not given
	// up, not leased, until now+ttl, with its body and attachments; nil
	// when none is due.
	LeaseNotification(ctx context.Context, owner string, now time.Time, ttl time.Duration) (*migration.Notification, error)
	// NotificationSent and NotificationFailed end owner's lease with the
	// outcome (an error when owner no longer holds it).
	NotificationSent(ctx context.Context, id int64, owner string, at time.Time) error
	NotificationFailed(ctx context.Context, id int64, owner, msg string, retryAt time.Time, giveUp bool) error
	// Notifications lists the outbox (migration.Store's).
	Notifications(ctx context.Context, batch string) ([]migration.Notification, error)
}
