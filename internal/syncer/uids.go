package syncer

import (
	"fmt"

	"github.com/emersion/go-imap/v2"
)

// Values a server sends are outside input (DESIGN §5.8): a UID set may be
// absurd, UIDNEXT and HIGHESTMODSEQ may be absent (Courier sends no
// UIDNEXT), EXISTS may be anything. The syncer only uses what it checked.

// maxFolderMessages bounds the EXISTS the syncer believes: no IMAP server
// holds ten million messages in one folder, and the candidate list of a
// folder costs 4 bytes a message.
const maxFolderMessages = 10_000_000

// searchSlack is how many more UIDs than EXISTS a SEARCH answer may hold:
// mail delivered between EXAMINE and SEARCH.
const searchSlack = 1000

// checkSelected validates what EXAMINE or SELECT said of a folder.
func checkSelected(side, name string, sel *imap.SelectData) error {
	switch {
	case sel.UIDValidity == 0:
		return fmt.Errorf("%s folder %q: the server sent no UIDVALIDITY, so its UIDs cannot be trusted from one session to the next", side, name)
	case sel.NumMessages > maxFolderMessages:
		return fmt.Errorf("%s folder %q: the server says it holds %d messages, more than the %d imapmigrate accepts", side, name, sel.NumMessages, maxFolderMessages)
	}
	return nil
}

// walkUIDs lists the UIDs of a set a server sent, above a bound, in
// ascending order, without ever expanding more than limit of them: a range
// like 1:4294967295 is refused, not walked, and 0 (which go-imap reads as
// "*") or a "*" is refused too, with an error saying what the server sent.
func walkUIDs(set imap.NumSet, above imap.UID, limit int) ([]imap.UID, error) {
	if set == nil {
		return nil, nil
	}
	uids, ok := set.(imap.UIDSet)
	if !ok {
		return nil, fmt.Errorf("the server answered a UID SEARCH with sequence numbers")
	}
	var out []imap.UID
	for _, r := range uids {
		if r.Start == 0 || r.Stop == 0 {
			return nil, fmt.Errorf("the server's UID SEARCH answer holds UID 0 or \"*\" (%s), which no message can have", shortSet(uids))
		}
		lo, hi := uint64(r.Start), uint64(r.Stop)
		if lo > hi {
			lo, hi = hi, lo
		}
		lo = max(lo, uint64(above)+1)
		if lo > hi {
			continue
		}
		if hi-lo+1 > uint64(limit-len(out)) {
			return nil, fmt.Errorf("the server's UID SEARCH answer holds more UIDs (%s) than the folder has messages (%d)", shortSet(uids), limit-searchSlack)
		}
		for u := lo; u <= hi; u++ {
			out = append(out, imap.UID(u))
		}
	}
	return out, nil
}

// shortSet prints a set for an error message, cut to a readable length.
func shortSet(s imap.UIDSet) string {
	str := s.String()
	if len(str) > 60 {
		str = str[:60] + "…"
	}
	return str
}
