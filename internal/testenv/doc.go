// Package testenv starts real IMAP servers for the engine's tests and for the
// benchmark: a private Dovecot, and the in-process go-imap server. It also
// seeds mailboxes, reads them back for byte-for-byte comparison, and
// generates test messages.
//
// # Gate
//
// A test that needs a real server calls RequireReal (or RequireDovecot, or
// simply StartDovecot): when the server is missing the test is skipped with
// the reason, or fails when IMAPMIGRATE_REQUIRE_REAL=1, which CI sets, so a
// green CI run cannot come from skipped tests.
//
// # TLS
//
// NewCA makes a throw-away ECDSA P-256 CA and a server certificate for
// 127.0.0.1, ::1 and localhost, written as PEM (CA.CAFile is what a client's
// --ca-file points at). Both servers present it on their STARTTLS and
// implicit-TLS listeners.
//
// # Dovecot
//
// StartDovecot (tests) and Start/Stop/Kill (the benchmark) run `dovecot -F -c
// <dir>/dovecot.conf` as a child process in its own process group. The
// configuration is complete in itself (nothing from /etc/dovecot) and puts
// everything under one directory:
//
//	dovecot.conf  dovecot.log  dovecot.out (stderr)
//	run/          base_dir: sockets, login chroot
//	state/        state_dir
//	tls/          the CA (unless DovecotOptions.CA is given)
//	users/<name>  one passwd-file per account, {PLAIN} passwords
//	master-users  the master account
//	mail/<name>/  maildir (mail_location = maildir:<dir>/mail/%u)
//
// Start waits, bounded by StartTimeout, until both listeners answer with a
// greeting (the TLS one verified against the CA), and fails with Dovecot's
// own error output if it exits first. Both listeners get free 127.0.0.1
// ports; if another process takes one before Dovecot binds it, Start tries
// again with new ports. Start-up takes 50-150 ms, so each test can have its
// own source and target servers.
//
// Running as root. Dovecot refuses to access mail as uid 0 ("Mail access for
// users with UID 0 not permitted"), so mail processes run as Debian's "mail"
// account (uid 8, gid 8, from base-passwd, present on every Debian system;
// DovecotOptions.MailUser picks another). mail_uid/mail_gid name it and
// first_valid_uid/gid are lowered to it (the default floor is 500). The
// "dovecot" account would work too, but Dovecot's documentation says mail
// must not be accessed as its internal user, and "dovenull" must own
// nothing. The mail user has to reach <dir>/mail, so Start makes dir mode
// 0711, chowns mail/ to the mail user and checks that every parent of dir is
// searchable by others; that is why StartDovecot uses os.MkdirTemp under
// /tmp rather than t.TempDir, whose parents are 0700. Everything else keeps
// Dovecot's defaults: login processes run as dovenull in a chroot under
// run/, auth as dovecot (passwd-files are therefore mode 0644). When not
// root, Dovecot runs rootless: every process as the invoking user
// (default_internal_user, default_login_user), without chroot.
//
// Accounts. A passdb and userdb of driver passwd-file read users/%u, one file
// per account: Dovecot re-reads a passwd-file only when its mtime or size
// changed and at most once per second, so with one shared file an account
// added right after a login would be unknown for up to a second; a file it
// has never opened is read on first use. AddUser thus works before and after
// start. Dovecot lower-cases login names (auth_username_format = %Lu), so
// AddUser and MailDir do too.
//
// Master user. A second passdb with master = yes and pass = yes reads
// master-users (mailadmin / mailadmin-secret by default), and
// auth_master_user_separator = "*": "alice*mailadmin" with the master
// password logs in as alice, as does SASL PLAIN with authzid=alice,
// authcid=mailadmin. pass = yes makes Dovecot check that alice exists.
//
// Listeners and authentication. imap on Port offers STARTTLS (ssl = yes, not
// required) and imaps on TLSPort is implicit TLS. disable_plaintext_auth = no
// lets LOGIN and AUTHENTICATE PLAIN work without TLS; auth_mechanisms =
// plain login. auth_failure_delay = 0 and the auth penalty is switched off
// (the anvil-auth-penalty socket has mode 0), so a failed login answers
// within about half a second (Dovecot flushes failures on a 0.5 s timer)
// instead of 2 s, then 4, 8 and 15 s for every later attempt from 127.0.0.1.
//
// Mailboxes. The inbox namespace has the separator DovecotOptions.Separator
// ('/' or '.') and announces Drafts, Sent, Trash, Junk and Archive with
// their SPECIAL-USE attributes; they are created only when a client creates
// them (auto = no), or at first login with AutoCreateSpecialUse.
// mail_max_userip_connections is 50 (Dovecot's default, 10, is below what
// parallel copy tests open). mail_fsync = never, since the data is thrown
// away (DovecotOptions.Fsync restores the default). imap-login may run 1000
// processes: every TLS connection keeps one as its proxy, and the default
// of 100 would cap a benchmark's connections.
//
// Capabilities after login (Dovecot 2.3.19): IMAP4rev1 SASL-IR
// LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY THREAD=REFERENCES
// THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT
// CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC
// ESEARCH ESORT SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE
// SNIPPET=FUZZY PREVIEW=FUZZY PREVIEW STATUS=SIZE SAVEDATE LITERAL+ NOTIFY
// SPECIAL-USE. Before login: IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE
// IDLE LITERAL+ STARTTLS AUTH=PLAIN AUTH=LOGIN.
//
// Stopping. Stop sends SIGTERM and takes about a second: Dovecot's master
// sleeps one second on the way out so that its children have closed the
// listening sockets before a restart. Kill sends SIGKILL to the process
// group at once, as a crash would; StartDovecot's cleanup uses it, since the
// directory is deleted anyway. The child also gets SIGTERM from the kernel if
// the test binary dies (Pdeathsig). On test failure the tail of dovecot.log
// is written to the test log.
//
// # What Dovecot does that an engine must expect
//
// TestDovecotBehaviours pins these down:
//
//   - Bytes are not always kept verbatim: a message appended with bare LF line
//     endings is stored with LF (mail_save_crlf = no) and served with CRLF;
//     RFC822.SIZE and BODY[] both count the CRLF form. A message that arrives
//     with CRLF comes back identical.
//   - INTERNALDATE keeps the instant but not the zone: maildir stores it as
//     the file's mtime and Dovecot answers in its own zone. Compare in UTC.
//   - MULTIAPPEND answers with one APPENDUID whose UID set is a range, e.g.
//     "[APPENDUID 1795290476 2:3]", not one response per message.
//   - Maildir file names hold 26 keywords per mailbox (a-z); Dovecot accepts
//     more and keeps the rest in its index only, and PERMANENTFLAGS contains
//     \* either way.
//   - With the default Maildir++ layout a folder name cannot contain '.' when
//     the separator is '/' ("NO [CANNOT] Character not allowed in mailbox
//     name: '.'"), nor '/' when it is '.'. Layout "fs" lifts the first limit.
//   - CREATE a/b does not create a: LIST shows it as \Noselect \HasChildren.
//     CreateMailbox creates every level, and Snapshot leaves \Noselect out.
//   - Keywords keep the case they were first created with; flags are \Recent
//     on a first SELECT. Snapshot drops \Recent; DiffSnapshots compares flags
//     case-insensitively.
//   - A production Dovecot delays every failed login by 2 s and then
//     penalises the client's IP (4, 8, 15 s before the next attempt is even
//     checked): an engine must not take that for a hung server, nor retry
//     authentication errors.
//
// # In-process server
//
// StartMemServer runs go-imap's imapserver with the imapmemserver backend on
// 127.0.0.1, with the same two listeners and certificate. Its sessions wrap
// imapmemserver's to add Dovecot's master-user forms (LOGIN
// user*admin + admin password, SASL PLAIN with authzid) when
// MemServerOptions.MasterUser is set, and lower-case login names like
// Dovecot. It differs from Dovecot where the engine may notice: the
// delimiter is always '/', keywords are lower-cased, there is no CONDSTORE,
// QRESYNC, SPECIAL-USE or MULTIAPPEND, and INTERNALDATE keeps its zone.
//
// # Seeding and comparing
//
// Seed (Append outside tests) creates a mailbox and its parents and appends
// messages with their flags and INTERNALDATE, pipelined. Snapshot
// (ReadSnapshot) EXAMINEs every selectable mailbox and records each
// message's UID, flags, INTERNALDATE, RFC822.SIZE and the length and SHA-256
// of BODY.PEEK[], streamed; it never changes \Seen. DiffSnapshots compares a
// source and a target snapshot ignoring UIDs. GenMessage produces realistic,
// deterministic messages of an exact size, up to the 35 MB limit and beyond.
package testenv
