package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/imapmigrate/imapmigrate/internal/migration"
	"github.com/imapmigrate/imapmigrate/internal/syncer"
)

// Mailbox is the sync state of one mailbox pair. It implements
// syncer.State.
type Mailbox struct {
	s  *DB
	id int64

	mu      sync.Mutex
	folders map[string]int64 // source name → folder id
}

var _ syncer.State = (*Mailbox)(nil)

// Mailbox returns the state of the mailbox pair named by key, creating it.
func (s *DB) State(ctx context.Context, key string) (syncer.State, error) {
	if _, err := s.db.ExecContext(ctx, `INSERT INTO mailbox (key, created_at) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`, key, s.ts(time.Now())); err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	m := &Mailbox{s: s, folders: make(map[string]int64)}
	if err := s.db.QueryRowContext(ctx, `SELECT id FROM mailbox WHERE key = ?`, key).Scan(&m.id); err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	return m, nil
}

// folderID returns the id of a source folder's row, creating it when
// create is set (else 0 when there is none).
func (m *Mailbox) folderID(ctx context.Context, q conn, source, target string, create bool) (int64, error) {
	m.mu.Lock()
	id, ok := m.folders[source]
	m.mu.Unlock()
	if ok {
		return id, nil
	}
	err := q.QueryRowContext(ctx, `SELECT id FROM folder WHERE mailbox_id = ? AND source_name = ?`, m.id, source).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		if !create {
			return 0, nil
		}
		err = q.QueryRowContext(ctx, `INSERT INTO folder (mailbox_id, source_name, target_name) VALUES (?, ?, ?) RETURNING id`, m.id, source, target).Scan(&id)
	}
	if err != nil {
		return 0, err
	}
	m.mu.Lock()
	m.folders[source] = id
	m.mu.Unlock()
	return id, nil
}

func (m *Mailbox) Folder(ctx context.Context, source string) (*syncer.FolderState, error) {
	f := &syncer.FolderState{Source: source}
	err := m.s.db.QueryRowContext(ctx, `SELECT target_name, source_uidvalidity, target_uidvalidity, last_uid, source_uidnext, highest_modseq, target_uidnext, last_sync
		FROM folder WHERE mailbox_id = ? AND source_name = ?`, m.id, source).
		Scan(&f.Target, &f.SourceUIDValidity, &f.TargetUIDValidity, &f.LastUID, &f.SourceUIDNext, &f.HighestModSeq, &f.TargetUIDNext, tsCol{&f.LastSync})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state of folder %q: %w", source, err)
	}
	return f, nil
}

func (m *Mailbox) SaveFolder(ctx context.Context, f *syncer.FolderState) error {
	return m.tx(ctx, func(tx conn) error { return m.saveFolder(ctx, tx, f) })
}

func (m *Mailbox) saveFolder(ctx context.Context, tx conn, f *syncer.FolderState) error {
	id, err := m.folderID(ctx, tx, f.Source, f.Target, true)
	if err != nil {
		return err
	}
	lastSync := m.s.ts(f.LastSync)
	_, err = tx.ExecContext(ctx, `UPDATE folder SET target_name = ?, source_uidvalidity = ?, target_uidvalidity = ?, last_uid = ?,
		source_uidnext = ?, highest_modseq = ?, target_uidnext = ?, last_sync = COALESCE(?, last_sync) WHERE id = ?`,
		f.Target, f.SourceUIDValidity, f.TargetUIDValidity, f.LastUID, f.SourceUIDNext, f.HighestModSeq, f.TargetUIDNext, lastSync, id)
	return err
}

func (m *Mailbox) ResetFolder(ctx context.Context, source string) error {
	return m.tx(ctx, func(tx conn) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM folder WHERE mailbox_id = ? AND source_name = ?`, m.id, source)
		m.mu.Lock()
		delete(m.folders, source)
		m.mu.Unlock()
		return err
	})
}

func (m *Mailbox) Messages(ctx context.Context, source string) (map[imap.UID]syncer.Message, error) {
	out := make(map[imap.UID]syncer.Message)
	id, err := m.folderID(ctx, m.s.db, source, "", false)
	if err != nil || id == 0 {
		return out, err
	}
	rows, err := m.s.db.QueryContext(ctx, `SELECT source_uid, target_uid, flags, size FROM message WHERE folder_id = ?`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var msg syncer.Message
		var flags string
		if err := rows.Scan(&msg.SourceUID, &msg.TargetUID, &flags, &msg.Size); err != nil {
			return nil, err
		}
		msg.Flags = syncer.SplitFlags(flags)
		out[msg.SourceUID] = msg
	}
	return out, rows.Err()
}

func (m *Mailbox) Skipped(ctx context.Context, source string) (map[imap.UID]syncer.Skip, error) {
	out := make(map[imap.UID]syncer.Skip)
	id, err := m.folderID(ctx, m.s.db, source, "", false)
	if err != nil || id == 0 {
		return out, err
	}
	rows, err := m.s.db.QueryContext(ctx, `SELECT source_uid, reason, detail, size, subject, internal_date FROM skipped WHERE folder_id = ?`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var sk syncer.Skip
		var date int64
		if err := rows.Scan(&sk.SourceUID, &sk.Reason, &sk.Detail, &sk.Size, &sk.Subject, &date); err != nil {
			return nil, err
		}
		sk.Date = fromUnix(date)
		out[sk.SourceUID] = sk
	}
	return out, rows.Err()
}

func (m *Mailbox) Pending(ctx context.Context, source string) ([]syncer.Pending, error) {
	id, err := m.folderID(ctx, m.s.db, source, "", false)
	if err != nil || id == 0 {
		return nil, err
	}
	rows, err := m.s.db.QueryContext(ctx, `SELECT source_uid, message_id, internal_date, size, flags, target_uidnext,
		content_sum, content_norm, content_crlf FROM pending WHERE folder_id = ? ORDER BY source_uid`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []syncer.Pending
	for rows.Next() {
		var p syncer.Pending
		var flags string
		var sum []byte
		if err := rows.Scan(&p.SourceUID, &p.Sig.MessageID, &p.Sig.Date, &p.Sig.Size, &flags, &p.TargetUIDNext,
			&sum, &p.Sig.Content.Norm, &p.Sig.Content.CRLF); err != nil {
			return nil, err
		}
		p.Flags = syncer.SplitFlags(flags)
		if len(sum) == len(p.Sig.Content.Sum) {
			copy(p.Sig.Content.Sum[:], sum)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func (m *Mailbox) AddPending(ctx context.Context, source string, ps []syncer.Pending) error {
	return m.tx(ctx, func(tx conn) error {
		id, err := m.folderID(ctx, tx, source, "", true)
		if err != nil {
			return err
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO pending (folder_id, source_uid, message_id, internal_date, size, flags, target_uidnext,
			content_sum, content_norm, content_crlf) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (folder_id, source_uid) DO UPDATE SET message_id = excluded.message_id, internal_date = excluded.internal_date, size = excluded.size,
			flags = excluded.flags, target_uidnext = excluded.target_uidnext, content_sum = excluded.content_sum, content_norm = excluded.content_norm,
			content_crlf = excluded.content_crlf`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, p := range ps {
			sum := []byte{} // NOT NULL: empty when unknown
			if p.Sig.Content.Known() {
				sum = p.Sig.Content.Sum[:]
			}
			if _, err := stmt.ExecContext(ctx, id, p.SourceUID, p.Sig.MessageID, p.Sig.Date, p.Sig.Size, syncer.JoinFlags(p.Flags), p.TargetUIDNext,
				sum, p.Sig.Content.Norm, p.Sig.Content.CRLF); err != nil {
				return err
			}
		}
		return nil
	})
}

func (m *Mailbox) Commit(ctx context.Context, f *syncer.FolderState, c syncer.Commit) error {
	return m.tx(ctx, func(tx conn) error {
		id, err := m.folderID(ctx, tx, f.Source, f.Target, true)
		if err != nil {
			return err
		}
		if len(c.Copied) > 0 {
			stmt, err := tx.PrepareContext(ctx, `INSERT INTO message (folder_id, source_uid, target_uid, flags, size) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (folder_id, source_uid) DO UPDATE SET target_uid = excluded.target_uid, flags = excluded.flags, size = excluded.size`)
			if err != nil {
				return err
			}
			defer stmt.Close()
			for _, msg := range c.Copied {
				if _, err := stmt.ExecContext(ctx, id, msg.SourceUID, msg.TargetUID, syncer.JoinFlags(msg.Flags), msg.Size); err != nil {
					return err
				}
			}
		}
		if len(c.Skipped) > 0 {
			stmt, err := tx.PrepareContext(ctx, `INSERT INTO skipped (folder_id, source_uid, reason, detail, size, subject, internal_date) VALUES (?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (folder_id, source_uid) DO UPDATE SET reason = excluded.reason, detail = excluded.detail, size = excluded.size,
				subject = excluded.subject, internal_date = excluded.internal_date`)
			if err != nil {
				return err
			}
			defer stmt.Close()
			for _, sk := range c.Skipped {
				if _, err := stmt.ExecContext(ctx, id, sk.SourceUID, string(sk.Reason), sk.Detail, sk.Size, sk.Subject, unixTime(sk.Date)); err != nil {
					return err
				}
			}
		}
		if len(c.Done) > 0 {
			stmt, err := tx.PrepareContext(ctx, `DELETE FROM pending WHERE folder_id = ? AND source_uid = ?`)
			if err != nil {
				return err
			}
			defer stmt.Close()
			for _, uid := range c.Done {
				if _, err := stmt.ExecContext(ctx, id, uid); err != nil {
					return err
				}
			}
		}
		return m.saveFolder(ctx, tx, f)
	})
}

func (m *Mailbox) SetFlags(ctx context.Context, source string, msgs []syncer.Message) error {
	return m.tx(ctx, func(tx conn) error {
		id, err := m.folderID(ctx, tx, source, "", false)
		if err != nil || id == 0 {
			return err
		}
		stmt, err := tx.PrepareContext(ctx, `UPDATE message SET flags = ? WHERE folder_id = ? AND source_uid = ?`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, msg := range msgs {
			if _, err := stmt.ExecContext(ctx, syncer.JoinFlags(msg.Flags), id, msg.SourceUID); err != nil {
				return err
			}
		}
		return nil
	})
}

func (m *Mailbox) tx(ctx context.Context, fn func(conn) error) error {
	if err := m.s.tx(ctx, fn); err != nil {
		// The folder id cache may hold an id created in the rolled-back tx.
		m.mu.Lock()
		m.folders = make(map[string]int64)
		m.mu.Unlock()
		return fmt.Errorf("state: %w", err)
	}
	return nil
}

// FolderStats returns the per-folder detail of a migration user.
func (s *DB) FolderStats(ctx context.Context, userID int64) ([]migration.FolderStat, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT f.source_name, f.target_name,
		(SELECT COUNT(*) FROM message m WHERE m.folder_id = f.id), (SELECT COUNT(*) FROM skipped k WHERE k.folder_id = f.id), f.last_sync
		FROM folder f JOIN mailbox b ON b.id = f.mailbox_id WHERE b.key = ? ORDER BY f.source_name`, UserStateKey(userID))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []migration.FolderStat
	for rows.Next() {
		var f migration.FolderStat
		if err := rows.Scan(&f.Source, &f.Target, &f.Messages, &f.Skipped, tsCol{&f.LastSync}); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// unixTime is how the sync state stores an INTERNALDATE: seconds, 0 for
// none.
func unixTime(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func fromUnix(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(n, 0).UTC()
}

// SkippedItems lists the messages of a migration user that were not
// migrated, by folder and UID.
func (s *DB) SkippedItems(ctx context.Context, userID int64) ([]migration.SkippedItem, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT f.source_name, k.source_uid, k.internal_date, k.subject, k.size, k.reason, k.detail
		FROM skipped k JOIN folder f ON f.id = k.folder_id JOIN mailbox b ON b.id = f.mailbox_id WHERE b.key = ?
		ORDER BY f.source_name, k.source_uid`, UserStateKey(userID))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []migration.SkippedItem
	for rows.Next() {
		var it migration.SkippedItem
		var date int64
		if err := rows.Scan(&it.Folder, &it.UID, &date, &it.Subject, &it.Size, &it.Reason, &it.Detail); err != nil {
			return nil, err
		}
		it.Date = fromUnix(date)
		out = append(out, it)
	}
	return out, rows.Err()
}
