package storetest

import (
	"context"
	"github.com/imapmigrate/imapmigrate/internal/store"
	"testing"

	"github.com/emersion/go-imap/v2"

	"github.com/imapmigrate/imapmigrate/internal/syncer"
)

func testMailboxStateRoundTrip(t *testing.T, dsn string) {
	ctx := context.Background()
	s, err := store.Open(ctx, dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.State(ctx, "a -> b")
	if err != nil {
		t.Fatal(err)
	}
	if f, err := m.Folder(ctx, "INBOX"); err != nil || f != nil {
		t.Fatalf("unknown folder: %v %v", f, err)
	}
	f := &syncer.FolderState{Source: "INBOX", Target: "INBOX", SourceUIDValidity: 7, TargetUIDValidity: 9, TargetUIDNext: 3}
	p := []syncer.Pending{{SourceUID: 4, Sig: syncer.Signature{MessageID: "<a@b>", Date: 100, Size: 10}, Flags: []imap.Flag{imap.FlagSeen}, TargetUIDNext: 3},
		{SourceUID: 5, Sig: syncer.Signature{Date: 200, Size: 20}, TargetUIDNext: 3}}
	if err := m.AddPending(ctx, "INBOX", p); err != nil {
		t.Fatal(err)
	}
	if err := m.Commit(ctx, f, syncer.Commit{
		Copied:  []syncer.Message{{SourceUID: 4, TargetUID: 3, Flags: []imap.Flag{imap.FlagSeen, "Work"}, Size: 10}},
		Skipped: []syncer.Skip{{SourceUID: 6, Reason: syncer.SkipTooLarge, Detail: "big", Size: 99}},
		Done:    []imap.UID{4},
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	// Everything survives a reopen.
	s, err = store.Open(ctx, dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m, _ = s.State(ctx, "a -> b")
	got, err := m.Folder(ctx, "INBOX")
	if err != nil || got == nil || got.SourceUIDValidity != 7 || got.TargetUIDValidity != 9 || got.TargetUIDNext != 3 {
		t.Fatalf("folder = %+v, %v", got, err)
	}
	pend, _ := m.Pending(ctx, "INBOX")
	if len(pend) != 1 || pend[0].SourceUID != 5 || pend[0].Sig.Date != 200 {
		t.Errorf("pending = %+v", pend)
	}
	msgs, _ := m.Messages(ctx, "INBOX")
	if len(msgs) != 1 || msgs[4].TargetUID != 3 || syncer.JoinFlags(msgs[4].Flags) != `\Seen Work` {
		t.Errorf("messages = %+v", msgs)
	}
	skips, _ := m.Skipped(ctx, "INBOX")
	if skips[6].Reason != syncer.SkipTooLarge || skips[6].Detail != "big" {
		t.Errorf("skipped = %+v", skips)
	}
	if err := m.SetFlags(ctx, "INBOX", []syncer.Message{{SourceUID: 4, Flags: nil}}); err != nil {
		t.Fatal(err)
	}
	msgs, _ = m.Messages(ctx, "INBOX")
	if len(msgs[4].Flags) != 0 {
		t.Errorf("flags after SetFlags = %v", msgs[4].Flags)
	}
	// Reset forgets the folder and its rows.
	if err := m.ResetFolder(ctx, "INBOX"); err != nil {
		t.Fatal(err)
	}
	if f, _ := m.Folder(ctx, "INBOX"); f != nil {
		t.Error("folder survived ResetFolder")
	}
	if msgs, _ := m.Messages(ctx, "INBOX"); len(msgs) != 0 {
		t.Error("messages survived ResetFolder")
	}
	// Another mailbox pair is separate.
	other, _ := s.State(ctx, "c -> d")
	if f, _ := other.Folder(ctx, "INBOX"); f != nil {
		t.Error("mailboxes share state")
	}
}
