// Package imapconn opens authenticated IMAP connections and classifies what
// goes wrong on them.
//
// It offers two kinds of connection to the same server:
//
//   - Client wraps a go-imap v2 client: LIST, SELECT/EXAMINE, FETCH, STORE,
//     CREATE, SUBSCRIBE, STATUS.
//   - Appender is a small connection of our own that only appends. go-imap's
//     client sends every literal over 4 KiB as a synchronizing literal (one
//     round trip per message) and has no MULTIAPPEND (RFC 3502); Appender
//     writes APPEND and MULTIAPPEND commands itself, with LITERAL+ / LITERAL-
//     non-synchronizing literals where the server offers them, and pipelines
//     single APPENDs when MULTIAPPEND is not offered.
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
