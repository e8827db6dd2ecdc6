package migration

import (
	"context"
	"time"
)

// NotificationKind is what a report e-mail tells (Exchange Online sends
// the same three).
type NotificationKind string

const (
	// NotifyInitialSyncCompleted: every user of the batch had its initial
	// sync (or failed it).
	NotifyInitialSyncCompleted NotificationKind = "InitialSyncCompleted"
	// NotifyCompleted: the batch is completed.
	NotifyCompleted NotificationKind = "Completed"
	// NotifyReport: the batch's progress, every ReportInterval while it
	// syncs.
	NotifyReport NotificationKind = "Report"
)

// NotificationStatus is where a notification is in the outbox.
type NotificationStatus string

const (
	NotificationPending  NotificationStatus = "Pending"  // due, not tried yet
	NotificationSending  NotificationStatus = "Sending"  // leased by a process
	NotificationRetrying NotificationStatus = "Retrying" // failed, tried again later
	NotificationSent     NotificationStatus = "Sent"
	NotificationFailed   NotificationStatus = "Failed" // given up (LastError says why)
)

// Attachment is a file attached to a notification.
type Attachment struct {
	Name        string `json:"Name"`
	ContentType string `json:"ContentType"`
	Content     []byte `json:"-"`
}

// Notification is one report e-mail in the outbox of the store: written
// once per (Batch, Kind, Seq) by whichever process sees the event first,
// and sent once, by the process that holds its lease. Its subject, body
// and attachments are composed when it is written, so that every attempt
// sends the same mail, even after the batch is removed.
type Notification struct {
	ID          int64              `json:"Id"`
	Batch       string             `json:"BatchId"`
	Kind        NotificationKind   `json:"Kind"`
	Seq         int                `json:"Sequence"`
	Recipients  []string           `json:"Recipients"`
	Subject     string             `json:"Subject"`
	Body        string             `json:"-"`
	Attachments []Attachment       `json:"Attachments,omitempty"`
	CreatedAt   time.Time          `json:"CreatedTime"`
	Due         time.Time          `json:"DueTime"`
	Attempts    int                `json:"Attempts"`
	LastError   string             `json:"LastError,omitempty"`
	SentAt      time.Time          `json:"SentTime,omitzero"`
	LeaseOwner  string             `json:"-"`
	LeaseExpiry time.Time          `json:"-"`
	GaveUp      bool               `json:"-"`
	Status      NotificationStatus `json:"Status"` // derived on reads (StatusAt)
}

// StatusAt derives where the notification is at now.
func (n *Notification) StatusAt(now time.Time) NotificationStatus {
	switch {
	case !n.SentAt.IsZero():
		return NotificationSent
	case n.GaveUp:
		return NotificationFailed
	case n.LeaseOwner != "" && !n.LeaseExpiry.Before(now):
		return NotificationSending
	case n.LastError != "":
		return NotificationRetrying
	}
	return NotificationPending
}

// Notifications lists the report e-mails of a batch (all batches' when
// batch is ""), the newest first, with their status: what was sent, what
// waits, what failed and why.
func (s *Service) Notifications(ctx context.Context, batch string) ([]Notification, error) {
	list, err := s.Store.Notifications(ctx, batch)
	if err != nil {
		return nil, err
	}
	now := s.now()
	for i := range list {
		list[i].Status = list[i].StatusAt(now)
	}
	return list, nil
}
