package syncer

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
)

// State is what the syncer remembers about one mailbox pair between runs
// (and between crashes). It is implemented by the store; every method is
// one transaction, and what a method wrote is durable when it returns.
type State interface {
	// Folder returns the state of a source folder, nil if it has none.
	Folder(ctx context.Context, source string) (*FolderState, error)
	// SaveFolder records the folder's counters (never its messages).
	SaveFolder(ctx context.Context, f *FolderState) error
	// ResetFolder forgets everything about a folder: its map, pending and
	// skipped messages (a UIDVALIDITY changed on either side).
	ResetFolder(ctx context.Context, source string) error
	// Messages returns the folder's map: source UID → what it became.
	Messages(ctx context.Context, source string) (map[imap.UID]Message, error)
	// Skipped returns the folder's skipped messages by source UID.
	Skipped(ctx context.Context, source string) (map[imap.UID]Skip, error)
	// Pending returns the messages whose APPEND was begun but not recorded,
	// in source UID order.
	Pending(ctx context.Context, source string) ([]Pending, error)
	// AddPending records an intent to append, before the APPEND is sent.
	AddPending(ctx context.Context, source string, p []Pending) error
	// Commit records copied and skipped messages, drops the folder's pending
	// rows that Commit.Done names, and saves the folder's counters, at once.
	Commit(ctx context.Context, f *FolderState, c Commit) error
	// SetFlags records the source flags last written to the target.
	SetFlags(ctx context.Context, source string, m []Message) error
}

// FolderState is the per-folder summary kept between runs.
type FolderState struct {
	Source, Target    string
	SourceUIDValidity uint32
	TargetUIDValidity uint32
	// LastUID: every source UID ≤ LastUID is in the map or skipped.
	LastUID imap.UID
	// SourceUIDNext and HighestModSeq are the source's values when the
	// folder was last fully synced; equal values next time mean nothing
	// changed (with CONDSTORE; without it only new messages are known).
	SourceUIDNext imap.UID
	HighestModSeq uint64
	// TargetUIDNext is a lower bound of the target folder's next UID: any
	// message this tool appended but did not record has a UID ≥ it.
	TargetUIDNext imap.UID
	LastSync      time.Time
}

// Message is one copied message: its pair of UIDs and the source flags that
// were last written to the target.
type Message struct {
	SourceUID, TargetUID imap.UID
	Flags                []imap.Flag
	Size                 int64
}

// Skip is a source message that was not copied, with why.
type Skip struct {
	SourceUID imap.UID   `json:"SourceUid"`
	Reason    SkipReason `json:"Kind"`
	Detail    string     `json:"Failure,omitempty"` // e.g. the server's answer
	Size      int64      `json:"MessageSize"`
	// Subject and Date (INTERNALDATE) name the message in the report,
	// when the source gave them.
	Subject string    `json:"Subject"`
	Date    time.Time `json:"DateReceived,omitzero"`
}

// SkipReason is a stable, reportable reason.
type SkipReason string

const (
	SkipDeleted   SkipReason = "deleted"        // flagged \Deleted on the source (pending expunge)
	SkipTooLarge  SkipReason = "too_large"      // over the maximum message size
	SkipRejected  SkipReason = "rejected"       // the target refused it
	SkipMaxItems  SkipReason = "max_items"      // over the per-mailbox item limit
	SkipVanished  SkipReason = "vanished"       // expunged on the source while being copied
	SkipSourceBad SkipReason = "source_corrupt" // the source could not serve it
	SkipFiltered  SkipReason = "filtered"       // outside the batch's filter (--received-after)
)

// Pending is a message whose APPEND may or may not have happened.
type Pending struct {
	SourceUID     imap.UID
	Sig           Signature
	Flags         []imap.Flag
	TargetUIDNext imap.UID // target UIDNEXT lower bound when it was recorded
}

// Commit is what one appended chunk changes in the state.
type Commit struct {
	Copied  []Message
	Skipped []Skip
	// Done lists source UIDs whose pending rows are settled.
	Done []imap.UID
}

// Signature identifies a message's copy on the target when the map cannot:
// after a crash between APPEND and its record, or when a UIDVALIDITY
// changed or the state was lost. It is the Message-ID header (normalised,
// may be empty), the INTERNALDATE to the second (we set it on APPEND, so the
// copy has it), the exact size, and the Content digest, which survives what
// servers change when they store a message (line ends, a final CRLF). See
// sigMatch for how two are compared; messages with the same signature are
// matched in UID order, one to one, so true duplicates stay duplicates.
type Signature struct {
	MessageID string
	Date      int64 // INTERNALDATE, Unix seconds
	Size      int64
	Content   Content // not always known: see Content.Known
}

func (s Signature) String() string {
	return s.MessageID + "|" + time.Unix(s.Date, 0).UTC().Format(time.RFC3339) + "|" + strconv.FormatInt(s.Size, 10)
}

// JoinFlags and SplitFlags store flag lists as one space-separated string.
func JoinFlags(flags []imap.Flag) string {
	s := make([]string, len(flags))
	for i, f := range flags {
		s[i] = string(f)
	}
	return strings.Join(s, " ")
}

func SplitFlags(s string) []imap.Flag {
	if s == "" {
		return nil
	}
	f := strings.Fields(s)
	out := make([]imap.Flag, len(f))
	for i := range f {
		out[i] = imap.Flag(f[i])
	}
	return out
}
