// Package imapconn opens authenticated IMAP connections and classifies what
// goes wrong on them.
//
// It offers two kinds of connection to the same server:
//
//   - Client wraps a go-imap v2 client: SELECT/EXAMINE, FETCH, STORE,
//     CREATE, SUBSCRIBE, STATUS, NAMESPACE.
//   - Appender is a small connection of our own that appends and lists.
//     go-imap's client sends every literal over 4 KiB as a synchronizing
//     literal (one round trip per message) and has no MULTIAPPEND (RFC
//     3502); Appender writes APPEND and MULTIAPPEND commands itself, with
//     LITERAL+ / LITERAL- non-synchronizing literals where the server offers
//     them, and pipelines single APPENDs when MULTIAPPEND is not offered.
//     go-imap has no LSUB either (subscriptions on servers without
//     LIST-EXTENDED, such as Courier), and one malformed name in a LIST
//     answer closes its connection: ListFolders reads each entry on its
//     own, reports the bad ones and keeps the rest.
//
// # What a server may send
//
// A server's answer is outside input. Client's connection goes through a
// guard (guardConn) that follows the command stream and fails a command
// when the server sends nothing for the command timeout while it waits
// (go-imap waits for the start of an answer forever), and the connection
// when a response line is over 16 MiB or a literal outside FETCH over
// 1 MiB (go-imap buffers both without bound). A Client closes when the
// context it was connected with ends, so nothing waits on it longer.
// FETCH literals are bounded by the caller, which sees each one's size
// before reading it and refuses one with Abort. Listings are bounded in
// entries (10,000) and name length (4 KiB), APPENDUID sets by the number of
// messages appended.
//
// Both are dialled by the same code (plain TCP, implicit TLS, or STARTTLS done
// here before go-imap sees the connection, so that the protocol trace sits
// above TLS) and authenticate with LOGIN, SASL PLAIN (with an optional
// authorization identity, RFC 4616), XOAUTH2 or OAUTHBEARER.
//
// Errors are classified once, here (see Class): auth errors are permanent for
// the account, transient ones (network, BYE, [UNAVAILABLE], throttling) are
// retried by the caller with back-off, item errors reject one message, and
// everything else is fatal. The protocol trace (slog level Trace) never shows
// passwords, tokens or message bodies.
package imapconn
