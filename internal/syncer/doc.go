// Package syncer copies one mailbox from a source IMAP server to a target
// IMAP server: every folder, every message byte for byte, with its flags,
// keywords and INTERNALDATE. It knows nothing of batches or HTTP: its inputs
// are two connection factories (Conns), the pair's State, Options and an
// event sink; its output is a Result.
//
// # A pass over a folder
//
//  1. EXAMINE the source folder (read-only: nothing on the source changes,
//     not even \Seen), with CONDSTORE where offered; SELECT the target
//     folder. A UIDVALIDITY that differs from the stored one, on either
//     side, discards the folder's map.
//  2. Settle pending intents (below).
//  3. Candidates are the source UIDs above LastUID that are neither in the
//     map nor skipped (UID SEARCH), taken in windows of 2,000: flags, date
//     and size are fetched; \Deleted (by default), oversized and
//     over-the-limit messages are recorded as skipped with their reason.
//  4. With no map but a non-empty target folder (the state was lost, or a
//     UIDVALIDITY changed), source messages are first matched to target
//     messages by Signature (Message-ID, INTERNALDATE, size), one to one
//     in UID order, so nothing is copied twice and duplicates stay
//     duplicates.
//  5. The rest is copied in chunks (32 messages or 8 MiB): one goroutine
//     fetches and spools chunk n+1 (BODY.PEEK[], in memory up to 1 MiB a
//     message, else in a temp file) while chunk n is appended, with
//     MULTIAPPEND where offered, else pipelined APPENDs, LITERAL+ literals.
//     Bytes are never parsed or re-serialised; only the header is read, for
//     the Message-ID.
//  6. Flags of messages copied in earlier passes are compared with the
//     flags last written (CONDSTORE CHANGEDSINCE where offered, else all
//     flags) and changed ones are STOREd on the target.
//  7. LastUID, UIDNEXT and HIGHESTMODSEQ are saved: next time an unchanged
//     folder (same UIDNEXT and HIGHESTMODSEQ) costs one EXAMINE.
//
// # Crash safety: every message exactly once
//
// For each chunk the syncer (a) writes an intent per message to the state,
// durably, with the message's Signature and a lower bound of the target
// folder's UIDNEXT; (b) sends the APPEND; (c) records the source→target UID
// pairs from APPENDUID and deletes the intents, in one transaction.
//
// A crash between (a) and (c) leaves intents. The next pass, before it
// copies anything, fetches the target messages with UID ≥ the lowest
// recorded bound that are not in the map, and matches them to the intents
// in order (a server assigns UIDs in the order it stores messages, so the
// copies are an ordered subsequence; mail delivered to the target
// meanwhile is passed over). Found ones enter the map; the others were
// never stored and become ordinary candidates again. An APPEND whose
// outcome is unknown (timeout, BYE, reset) is never retried blindly: the
// folder is resumed, which reconciles first. A server without UIDPLUS is
// handled by the same matching after every chunk.
//
// Transient errors (network, BYE, [UNAVAILABLE], throttling) close the
// worker's connections and resume the folder after an exponential back-off
// with jitter (at least what the server suggested); auth errors stop the
// whole sync; a message the target rejects is skipped with the server's
// answer.
package syncer
