// Package notify sends a batch's report e-mails, as Exchange Online does:
// to the batch's NotificationEmails, when every user has had its initial
// sync (InitialSyncCompleted), when the batch is completed (Completed),
// and every ReportInterval while it syncs (Report). Each mail says what
// happened (status, started by, run time, synced, total, failed,
// skipped) and attaches MigrationStatistics.csv (EmailAddress, Status,
// ItemsMigrated, ItemsSkipped) and MigrationErrors.csv (EmailAddress,
// Error: each user's error, then each item not migrated).
//
// # Exactly once, across processes
//
// Every serve and worker process may run a Notifier on the same database.
// The mails go through an outbox in the store (Outbox):
//
//   - Which mails a batch is due is a pure function of the batch and the
//     time (Events), so every process decides the same; each mail is
//     keyed (batch, kind, seq), and the outbox's UNIQUE key makes writing
//     it idempotent: the first process writes it, the others find it.
//   - A mail is composed once, when written: every attempt sends the same
//     subject, body and attachments, with the same Message-ID.
//   - A process sends a mail only under a lease on its row (as workers
//     lease users): one process at a time. It records the outcome under
//     the same lease: sent; or failed, with its error kept for the
//     dashboard (Service.Notifications) and due again after a backoff;
//     or given up after MaxAttempts.
//   - A process that dies while sending leaves a lease that expires
//     (LeaseTTL, at least twice the SMTP send timeout); another process
//     then sends the mail. Only a death between the SMTP server's
//     acceptance and the recording of it sends a mail twice, and the
//     repeated Message-ID lets the receiving side tell.
//
// No password reaches a mail: the mails are made of the batch's figures,
// the users' addresses, statuses, counts and errors, and skipped items'
// descriptions; the SMTP password (a sensitive.String) is given to the
// SMTP client only.
package notify
