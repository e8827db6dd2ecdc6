// Package folders plans how a source mailbox's folders map onto a target's:
// which target folder each source folder becomes, which target folders must
// be created (parents first), which folders are excluded and why, and which
// special-use folders (Sent, Drafts, Trash, Junk, Archive, …) meet. It does
// no I/O: its inputs are the two LIST results, the target's hierarchy
// delimiter and the batch options; its output ([Plan]) is a list of
// [Mapping] that the syncer carries out and a dry run shows ([Describe]).
//
// Names arrive as go-imap gives them: decoded from modified UTF-7 into UTF-8.
// This package never encodes or decodes UTF-7; "R&D", "已发送" and
// "Skickat" pass through as they are.
//
// # Invariants of a plan
//
//   - Two source folders never feed one target folder: a plan in which they
//     would (after delimiter translation, escaping, INBOX and, with
//     Options.TargetCaseInsensitive, case folding) comes with a
//     *CollisionError naming them, and must not be carried out. Merging
//     would make the syncer's per-folder UID map and crash reconciliation
//     ambiguous, so there is no silent merge and no automatic renaming
//     (which could change between two incremental passes when a folder is
//     added on the source). The fix is the administrator's: rename one on the
//     source, or exclude it.
//   - Mappings are ordered parents before children, INBOX and its subtree
//     first, then by target name (ignoring case first, then byte order).
//     Creating the folders with Create set in that order never relies on a
//     server creating missing parents, which not all do.
//   - The plan depends only on its inputs, not on their order.
//
// # Source side: the user's folders and their logical path
//
// Every source folder is reduced to its levels below the mailbox root (its
// "path"), using its own delimiter (0: flat, one level):
//
//   - UserRoot (Courier/Oracle virtual shared folders), written with '/'
//     as in the migration file ("/users/terry.adams"), is joined with the
//     source delimiter ("users.terry.adams" on a '.' server, so a '.' inside
//     a level of the root is fine) and matched exactly against the name
//     with one leading delimiter removed. The root itself and root/INBOX
//     (any case) are INBOX; folders below it keep the levels below it;
//     folders outside it are not the user's and are left out of the plan
//     altogether (not returned: in a shared tree they are other users'
//     folders, which a report must not list).
//   - INBOX is case-insensitive: a first level "inbox" or "Inbox" is INBOX.
//   - SourcePrefix, the personal namespace prefix ("INBOX." on Courier and
//     Cyrus), is removed: "INBOX.Sent" is the top-level folder "Sent", and
//     the prefix folder itself is INBOX when the prefix is INBOX (another
//     prefix folder is the namespace, not a folder, and is left out).
//     Folders outside the prefix keep their full name as their path.
//   - Empty levels (a trailing delimiter, as UW-IMAP lists directories) are
//     dropped. When a \Noselect folder and a selectable one have the same
//     path (UW-IMAP's "mail/" next to "mail", a \Noselect root next to
//     root/INBOX), the selectable one stands for it.
//
// # Target side: delimiters, prefix, INBOX
//
// A path becomes a target name by escaping each level (below), joining the
// levels with the target delimiter and putting TargetPrefix (with or
// without its trailing delimiter) in front: source '.' and target '/' (or the
// reverse) just swap the joining character. INBOX is always "INBOX", never
// prefixed and never created. INBOX's children (source "INBOX/Foo" on a
// server without prefix) stay below INBOX ("INBOX/Foo"); on a target whose
// prefix is INBOX ("INBOX." on Cyrus/Courier) they become prefix children
// like any top-level folder ("INBOX.Foo"), and on a target whose INBOX is
// \Noinferiors (an mbox INBOX) they move to the top level, with a Note. A
// flat target (delimiter 0) has no hierarchy: levels are joined with '/'
// into one name ("Archive/2023"), escaped against '/'.
//
// # Delimiters and escaping
//
// A level that contains the target delimiter ("R/D" from a '.' server going
// to a '/' server, "john.doe" from '/' to '.') would otherwise split into
// two levels. [Escape] replaces the delimiter by a look-alike so the name
// still reads the same in a mail client: U+2215 "∕" for '/', U+2024 "․" for
// '.', U+29F5 "⧵" for '\', the fullwidth form (U+FF01…U+FF5E) for any
// other printable ASCII delimiter, a control picture (U+2400…) for a
// control character. To stay reversible, a look-alike or a U+241B "␛"
// already in the name is quoted by a "␛" in front (U+241C "␜" is the quote
// when the delimiter is ESC itself). The code is a prefix code, so
// [Unescape] reverses it exactly, an escaped level never contains the
// delimiter, and a name without these three rare characters is unchanged.
// Exclusion patterns and special-use names are matched against the
// unescaped source levels.
//
// # Special-use folders
//
// A source folder's use is its SPECIAL-USE attribute (\Sent, \Drafts,
// \Trash, \Junk, \Archive, \All, \Flagged; any level, as Gmail's
// "[Gmail]/Sent Mail"), else, for a top-level folder only, a well-known name
// in one of many languages compared without regard to case (Sent, Sent
// Items, 已发送, Skickat, Gesendet, Envoyés, Deleted Items, Papierkorb,
// Borttaget, Junk E-mail, Skräppost, Archive, Arkiv, …: see [UseByName]).
// \All and \Flagged are recognised by attribute only. The target folder for
// a use is the target folder with that attribute, else a top-level target
// folder (below the prefix) with a well-known name for it, else none: then
// nothing moves and the folder keeps its translated name (Mapping.SpecialUse
// set, so that it can be created with CREATE-SPECIAL-USE; not for \All and
// \Flagged, which are virtual folders on most servers: such a source folder
// is an ordinary folder unless the target has a folder of that use).
//
// Of the selectable, not excluded source folders of one use, one is chosen,
// and only it is mapped onto the target folder of that use:
//
//  1. the one that already has that target folder's name (it goes there
//     anyway: mapping another one there would merge two folders; this also
//     picks, among several well-known target folders, the one with the
//     source folder's name);
//  2. else the one flagged with the SPECIAL-USE attribute;
//  3. else the first by path.
//
// The others keep their own translated names and get a Note saying so; so
// "Sent" (flagged) and "Sent Items" from a Dovecot source both survive on
// an Exchange target whose \Sent folder is "Sent Items": "Sent Items" →
// "Sent Items", "Sent" → "Sent". Subfolders of a folder that moved follow
// it ("Sent/2023" → "Sent Items/2023"). A target folder serves one use.
//
// # Exclusions
//
// Options.Exclude holds patterns as Exchange Online's IMAP migration takes
// them, relative to the mailbox root after UserRoot and SourcePrefix, with
// '/' between levels whatever the delimiters, compared without regard to
// case:
//
//   - "Name" or "Parent/Name" excludes exactly that folder; its children
//     are migrated (a leading '/' is allowed and ignored);
//   - "Name/*" excludes the folder and every folder below it;
//   - a first level #Inbox#, #SentItems#, #Drafts#, #DeletedItems#,
//     #JunkEmail# or #Archive# stands for INBOX or for every source folder
//     detected (as above) as \Sent, \Drafts, \Trash, \Junk or \Archive,
//     whatever its name and language: "#DeletedItems#/*" excludes the trash
//     and everything in it;
//   - a backslash quotes '#', '*', '/' and '\' ("\#Inbox#" is a folder
//     literally called "#Inbox#", "C\/C++" one level "C/C++"); other
//     backslashes are literal. An unknown #token#, a token after the first
//     level, an empty level, or a '*' other than a final "/*" is an error,
//     so that typos fail when the batch is created ([ValidateExclude]).
//
// The first matching pattern is the reason shown in Mapping.Excluded.
// Excluded folders are still returned, with Sync false, so a dry run shows
// them; one that is the parent of migrated folders is created empty.
// Exclusion comes before special-use mapping: an excluded folder is never
// chosen for a use.
//
// # Parents and creation
//
// A \Noselect source folder is a parent only (Sync false). It is created
// when a migrated folder lies below it and the target lacks it; one with
// nothing to migrate below it is not created (Gmail's "[Gmail]" when all its
// children moved to special-use folders). A missing parent that no source
// folder lists gets a Mapping of its own with an empty Source. Create is
// set when the target list has no folder of that name: names are compared
// exactly, INBOX (and a first level INBOX) without regard to case, and all
// of them without regard to case with Options.TargetCaseInsensitive. A
// target folder listed \Noselect or \NonExistent counts as a parent but not
// as a folder that can receive messages.
//
// Subscriptions: Mapping.Source.Subscribed says whether to subscribe the
// target folder.
package folders
