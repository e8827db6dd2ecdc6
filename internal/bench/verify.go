package bench

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/testenv"
)

// snapshotTimeout bounds reading one user's whole mailbox (every body).
const snapshotTimeout = 10 * time.Minute

// maxDiffsShown bounds how many content differences a report line quotes.
const maxDiffsShown = 1

// snapshot reads every message of user's mailbox on d: bytes (as SHA-256),
// size, flags and INTERNALDATE, per folder.
func snapshot(ctx context.Context, d *testenv.Dovecot, user string) (map[string][]testenv.MessageInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, snapshotTimeout)
	defer cancel()
	c, release, err := dialMaster(ctx, d, user)
	if err != nil {
		return nil, err
	}
	defer release()
	s, err := testenv.ReadSnapshot(c)
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", user, err)
	}
	return s, nil
}

// contentDiffs compares user's mailbox on target with the source message
// by message (Config.VerifyContent) and returns one line summarising the
// differences, or "" when there are none. Empty folders only on the target
// (parents a tool created) are not differences.
func (b *bencher) contentDiffs(ctx context.Context, target *testenv.Dovecot, user string) (string, error) {
	src, ok := b.sourceSnapshots[user]
	if !ok {
		var err error
		if src, err = snapshot(ctx, b.source, user); err != nil {
			return "", err
		}
		b.sourceSnapshots[user] = src
	}
	tgt, err := snapshot(ctx, target, user)
	if err != nil {
		return "", err
	}
	for name, msgs := range tgt {
		if _, inSource := src[name]; !inSource && len(msgs) == 0 {
			delete(tgt, name)
		}
	}
	diffs := testenv.DiffSnapshots(src, tgt)
	if len(diffs) == 0 {
		return "", nil
	}
	shown := diffs[:min(len(diffs), maxDiffsShown)]
	return fmt.Sprintf("content of %s: %d differences, e.g. %s", user, len(diffs), strings.Join(shown, "; ")), nil
}
