package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/migration"
)

// The outbox of report e-mails (package notify): rows are written once per
// (batch, kind, seq), leased for sending as users are (the lease of a
// process that died expires, and another process takes the row), and
// marked sent, or failed and due again later, by the lease's holder only.

// ErrLeaseLost is a notification whose lease another process took (or
// that was sent meanwhile) before its outcome was recorded.
var ErrLeaseLost = errors.New("notification lease lost before the outcome was recorded")

const notificationListCols = `id, batch, kind, seq, recipients, subject, created_at, due_at, attempts, last_error, gave_up, sent_at,
	lease_owner, lease_expiry`

// storedAttachment is an attachment as the attachments column holds it.
type storedAttachment struct {
	Name        string
	ContentType string
	Content     []byte // base64 in JSON
}

func scanNotification(r scanner, withBody bool) (*migration.Notification, error) {
	var n migration.Notification
	var recipients, attachments string
	dest := []any{&n.ID, &n.Batch, &n.Kind, &n.Seq, &recipients, &n.Subject, tsCol{&n.CreatedAt}, tsCol{&n.Due}, &n.Attempts, &n.LastError,
		&n.GaveUp, tsCol{&n.SentAt}, &n.LeaseOwner, tsCol{&n.LeaseExpiry}}
	if withBody {
		dest = append(dest, &n.Body, &attachments)
	}
	if err := r.Scan(dest...); err != nil {
		return nil, err
	}
	if recipients != "" {
		n.Recipients = strings.Split(recipients, "\n")
	}
	if !withBody {
		return &n, nil
	}
	var stored []storedAttachment
	if err := json.Unmarshal([]byte(attachments), &stored); err != nil {
		return nil, err
	}
	for _, a := range stored {
		n.Attachments = append(n.Attachments, migration.Attachment(a))
	}
	return &n, nil
}

// EnqueueNotification writes n (its ID set) unless the outbox holds one of
// its (Batch, Kind, Seq) already; created says whether it did. Two
// processes that see the same event write one row. A new Report empties
// the body and attachments of the batch's earlier Reports already sent.
func (s *DB) EnqueueNotification(ctx context.Context, n *migration.Notification) (created bool, err error) {
	stored := make([]storedAttachment, 0, len(n.Attachments))
	for _, a := range n.Attachments {
		stored = append(stored, storedAttachment(a))
	}
	attachments, err := json.Marshal(stored)
	if err != nil {
		return false, err
	}
	due := n.Due
	if due.IsZero() {
		due = n.CreatedAt
	}
	rows, err := s.db.QueryContext(ctx, `INSERT INTO notification (batch, kind, seq, recipients, subject, body, attachments, created_at, due_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (batch, kind, seq) DO NOTHING RETURNING id`,
		n.Batch, n.Kind, n.Seq, strings.Join(n.Recipients, "\n"), n.Subject, n.Body, string(attachments), s.ts(n.CreatedAt), s.ts(due))
	if err != nil {
		return false, err
	}
	if rows.Next() {
		if err := rows.Scan(&n.ID); err != nil {
			rows.Close()
			return false, err
		}
		created = true
	}
	rows.Close()
	if err := rows.Err(); err != nil || !created || n.Kind != migration.NotifyReport {
		return created, err
	}
	// A new report supersedes the batch's earlier ones: those sent keep
	// their row (the history the dashboard shows), not their contents,
	// so that a large batch's daily CSVs do not pile up.
	_, err = s.db.ExecContext(ctx, `UPDATE notification SET body = '', attachments = '[]' WHERE batch = ? AND kind = ? AND seq < ?
		AND sent_at IS NOT NULL AND body != ''`, n.Batch, n.Kind, n.Seq)
	return created, err
}

// HasNotification says whether the outbox holds the notification (batch,
// kind, seq), sent or not.
func (s *DB) HasNotification(ctx context.Context, batch string, kind migration.NotificationKind, seq int) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM notification WHERE batch = ? AND kind = ? AND seq = ?`, batch, kind, seq).Scan(&n)
	return n > 0, err
}

// LeaseNotification leases the earliest due notification that is neither
// sent nor given up, nor leased by a live lease, to owner until now+ttl,
// and counts the attempt; nil when none is due. The row is taken by a
// conditional UPDATE: of two processes that pick the same row, one
// changes it and the other finds it taken and looks again.
func (s *DB) LeaseNotification(ctx context.Context, owner string, now time.Time, ttl time.Duration) (*migration.Notification, error) {
	nowS := s.ts(now)
	const free = `sent_at IS NULL AND gave_up = ? AND due_at <= ? AND (lease_owner = '' OR lease_expiry < ?)`
	for range 10 {
		var id int64
		err := s.db.QueryRowContext(ctx, `SELECT id FROM notification WHERE `+free+` ORDER BY due_at, id LIMIT 1`, false, nowS, nowS).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		n, err := scanNotification(s.db.QueryRowContext(ctx, `UPDATE notification SET lease_owner = ?, lease_expiry = ?, attempts = attempts + 1
			WHERE id = ? AND `+free+` RETURNING `+notificationListCols+`, body, attachments`, owner, s.ts(now.Add(ttl)), id, false, nowS, nowS), true)
		if errors.Is(err, sql.ErrNoRows) {
			continue // taken meanwhile
		}
		return n, err
	}
	return nil, nil
}

// NotificationSent records that owner sent the notification at at, and
// ends its lease. ErrLeaseLost: owner no longer held it.
func (s *DB) NotificationSent(ctx context.Context, id int64, owner string, at time.Time) error {
	return s.endNotificationLease(ctx, `UPDATE notification SET sent_at = ?, last_error = '', lease_owner = '', lease_expiry = NULL
		WHERE id = ? AND lease_owner = ? AND sent_at IS NULL`, s.ts(at), id, owner)
}

// NotificationFailed records a failed attempt of owner's: the error, and
// when to try again (retryAt), or that no attempt follows (giveUp).
// ErrLeaseLost: owner no longer held it.
func (s *DB) NotificationFailed(ctx context.Context, id int64, owner, msg string, retryAt time.Time, giveUp bool) error {
	return s.endNotificationLease(ctx, `UPDATE notification SET last_error = ?, due_at = COALESCE(?, due_at), gave_up = ?, lease_owner = '', lease_expiry = NULL
		WHERE id = ? AND lease_owner = ? AND sent_at IS NULL`, msg, s.ts(retryAt), giveUp, id, owner)
}

func (s *DB) endNotificationLease(ctx context.Context, q string, args ...any) error {
	res, err := s.db.ExecContext(ctx, q, args...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrLeaseLost
	}
	return nil
}

// Notifications lists the outbox, of one batch or all (""), the newest
// first, without their bodies and attachments.
func (s *DB) Notifications(ctx context.Context, batch string) ([]migration.Notification, error) {
	q, args := `SELECT `+notificationListCols+` FROM notification`, []any{}
	if batch != "" {
		q, args = q+` WHERE batch = ?`, append(args, batch)
	}
	rows, err := s.db.QueryContext(ctx, q+` ORDER BY created_at DESC, id DESC`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []migration.Notification
	for rows.Next() {
		n, err := scanNotification(rows, false)
		if err != nil {
			return nil, err
		}
		out = append(out, *n)
	}
	return out, rows.Err()
}
