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
//     side, discards the folder's map; a server that sends none fails the
//     folder. UIDNEXT and HIGHESTMODSEQ are used only when the server sent
//     them (Courier sends no UIDNEXT: the target's bound is then one more
//     than its highest UID, and an unchanged folder is not recognised).
//  2. Settle pending intents (below).
//  3. Candidates are the source UIDs above LastUID that are neither in the
//     map nor skipped (UID SEARCH, whose set is walked range by range and
//     refused when it holds 0, "*", more UIDs than EXISTS, or a UID at or
//     above UIDNEXT), taken in windows of 2,000: flags, date and size are
//     fetched; \Deleted (by default), oversized and over-the-limit messages
//     are recorded as skipped with their reason, and so are candidates the
//     server no longer returns (vanished).
//  4. With no map but a non-empty target folder (the state was lost, or a
//     UIDVALIDITY changed), source messages are first matched to target
//     messages by Signature, one to one in UID order, so nothing is copied
//     twice and duplicates stay duplicates (see "Matching" below).
//  5. The rest is copied in chunks (32 messages or 8 MiB): one goroutine
//     fetches and spools chunk n+1 (BODY.PEEK[], in memory up to 1 MiB a
//     message, else in a temp file) while chunk n is appended, with
//     MULTIAPPEND where offered, else pipelined APPENDs, LITERAL+ literals.
//     Bytes are never parsed or re-serialised; only the header is read, for
//     the Message-ID, and the bytes are digested on the way (Content). A
//     body literal larger than both RFC822.SIZE and the size limit is
//     refused as soon as it is announced (the connection is closed rather
//     than the literal read) and recorded as too large.
//  6. Flags of messages copied in earlier passes are compared with the
//     flags last written (CONDSTORE CHANGEDSINCE where offered, else all
//     flags) and changed ones are STOREd on the target.
//  7. LastUID (the highest UID the source showed a message for, or
//     UIDNEXT-1 when it sent UIDNEXT), UIDNEXT and HIGHESTMODSEQ are saved:
//     next time an unchanged folder (same UIDNEXT and HIGHESTMODSEQ) costs
//     one EXAMINE.
//
// Before the folders, every pass creates the target folders the plan needs
// (with their special use where the target offers CREATE-SPECIAL-USE) and
// makes the target's subscriptions those of the source: subscribed stays
// subscribed, unsubscribed is unsubscribed, INBOX is left alone. It reads
// the target's subscriptions again after creating folders, so a pass
// repairs what an interrupted one left.
//
// # Matching
//
// A copy is found by its Signature: Message-ID, INTERNALDATE (to the
// second) and size must agree, and with a Message-ID and the exact size
// that is enough. Targets do not always store the bytes they are given
// (Courier adds a CRLF to a message that does not end in one; Dovecot
// stores bare LF and serves CRLF), so without a Message-ID, or with a size
// a normalisation explains, the Contents decide: a SHA-256 of the message
// in a normal form (every line end CRLF, the CR/LF bytes at the very end
// left out), which those copies share and any other difference breaks.
// Intents keep the source's Content; a rebuild reads it from both sides
// for the messages that need it. Two different messages are never merged.
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
// Transient errors (network, BYE, [UNAVAILABLE], throttling, a command
// left unanswered for the command timeout) close the worker's connections
// and resume the folder after an exponential back-off with jitter (at least
// what the server suggested); auth errors stop the whole sync; a message
// the target rejects is skipped with the server's answer. A panic in a
// folder's pass fails that folder, with the panic; a folder the source
// lists with a name that cannot be read (NUL, CR, LF, bad modified UTF-7)
// is reported as failed and the others are synced.
//
// One writer per state: the CLI holds an exclusive lock on the state file
// for the run (store.LockFile), the service a lease per user.
package syncer
