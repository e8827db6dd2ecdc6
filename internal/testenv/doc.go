// Package testenv starts real IMAP servers for the engine's tests and for the
// benchmark: a private Dovecot, a private Cyrus, a private Courier, and the
// in-process go-imap server. It also seeds mailboxes, reads them back for
// byte-for-byte comparison, generates test messages, and runs private
// PostgreSQL clusters for the store's tests.
//
// # Gate
//
// A test that needs a real server calls RequireReal (or RequireDovecot,
// RequireCyrus, RequireCourier, or simply StartDovecot, StartCyrus or
// StartCourier): when the server is missing the test is skipped with the
// reason, or fails when IMAPMIGRATE_REQUIRE_REAL=1, which CI sets, so a
// green CI run cannot come from skipped tests.
//
// # TLS
//
// NewCA makes a throw-away ECDSA P-256 CA and a server certificate for
// 127.0.0.1, ::1 and localhost, written as PEM (CA.CAFile is what a client's
// --ca-file points at). Every server presents it on its STARTTLS and
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
// # Cyrus
//
// StartCyrus (tests) and StartCyrusDir/Stop/Kill (outside tests) run Cyrus
// IMAP 3.6 from the Debian packages that make deps extracts into
// $IMAPMIGRATE_SERVERS_DIR/cyrus (default /opt/imapmigrate-servers/cyrus):
// cyrus-imapd conflicts with dovecot-imapd as a package, not as a program.
// The child is `master -D -C <dir>/imapd.conf -M <dir>/cyrus.conf`, in its
// own process group, with LD_LIBRARY_PATH pointing at the extracted
// libcyrus*.so. The configuration is complete in itself (nothing from
// /etc/imapd.conf, /etc/cyrus.conf or /etc/ssl/openssl.cnf) and puts
// everything under one directory:
//
//	imapd.conf  cyrus.conf  cyrus.log (syslog)  cyrus.out (stderr)
//	sasldb2      the accounts
//	conf/        configdirectory: mailboxes.db, proc/, socket/, lock/, ...
//	spool/       partition-default (hashimapspool, as Debian has it)
//	sieve/       sievedir, unused
//	run/         master.pid, the syslog socket
//	tls/         a copy of the certificate and key, openssl.cnf
//
// cyrus.conf has two imapd services and nothing else: no pop3d, lmtpd,
// httpd, timsieved, idled or notifyd, and no START or EVENTS entries (a new
// configdirectory needs no recovery; testenv writes the recovery stamp that
// ctl_cyrusdb -r would). Start waits, bounded by StartTimeout, until both
// listeners greet (the TLS one verified against the CA), and fails with
// Cyrus's own error output if master exits first. Both listeners get free
// 127.0.0.1 ports; master_bind_errors_fatal makes master exit if another
// process took one, and Start tries again with new ports. Start-up takes
// 30-50 ms.
//
// Running as root. master switches to cyrus_user when started as root, and
// the compiled-in "cyrus" account does not exist where no cyrus package was
// installed, so imapd.conf names Debian's "mail" account (uid 8;
// CyrusOptions.MailUser picks another) and the whole directory is the mail
// user's. As for Dovecot, dir is mode 0711 and its parents must be
// searchable by others, hence os.MkdirTemp under /tmp. A start script drops
// to the mail user with setpriv --pdeathsig=TERM and execs master, whose own
// switch is then a no-op: the kernel clears the parent-death signal on a
// change of credentials, and setpriv sets it again after the switch. When
// not root, master runs as the invoking user (cyrus_user and cyrus_group name
// that user).
//
// Logging. Cyrus logs only to syslog: imapd's stderr is the client's socket,
// and master's fatal errors (a bad setting, a port taken) go nowhere else.
// As root, the start script runs in a mount namespace of its own, where /dev
// is a tmpfs linking every entry of the real /dev plus a log that points to a
// unix socket testenv reads into cyrus.log (syslog.go), one line per message
// with the time it arrived and its severity. Nothing outside the namespace
// sees it. Where no mount namespace can be had (a container without
// CAP_SYS_ADMIN), or when not root, Cyrus's messages go to the machine's
// syslog if it has one (identified by syslog_prefix imapmigrate-testenv) and
// Cyrus.SyslogCaptured is false; errors then carry only cyrus.out and the
// exit status. Debug adds debug, chatty and auditlog.
//
// Accounts. sasl_pwcheck_method auxprop with the sasldb plugin reads
// <dir>/sasldb2, which saslpasswd2 -f writes under the realm "localhost"
// (imapd.conf's servername, which Cyrus SASL uses as the realm). AddUser
// updates a copy and renames it over the database, so a login in progress
// reads the old one or the new one, then has the admin create the INBOX:
// CREATE user.<name> (user/<name> with UnixHierarchySep; with the '.'
// separator a '.' in a name is stored as '^': user.john^doe). Login names are
// lower-cased (username_tolower), and so are the names AddUser stores. AddUser
// works before start (CyrusOptions.Users) and after, at once; INBOXes are
// never created on login (autocreate is off, as Cyrus ships it; Debian's
// imapd.conf turns it on with autocreate_quota: 0).
//
// Admin. CyrusOptions.AdminUser (mailadmin / mailadmin-secret by default) is
// in admins and proxyservers and has no mailbox. LOGIN as the admin sees every
// user's folders as user.<name>.*. SASL PLAIN with authzid=user,
// authcid=mailadmin and the admin password logs in as user (AdminClientAs);
// Cyrus has no user*master LOGIN form. The admin may log in as a user that
// does not exist: the session just has no mailboxes.
//
// Listeners and authentication. imap on Port offers STARTTLS, imaps (imapd
// -s) on TLSPort is implicit TLS. allowplaintext lets LOGIN and AUTHENTICATE
// PLAIN work without TLS; sasl_mech_list is PLAIN LOGIN, so what is offered
// does not depend on the SASL plugins installed. failedloginpause is 0: a
// failed login answers at once instead of after 3 s. There is no limit of
// connections per user or host (maxlogins_per_user and _per_host are 0, and
// the services have no maxchild; Debian's cyrus.conf caps imapd at 100
// processes); master's listen backlog is 256. imapd does not set TCP_NODELAY,
// so an answer written while the client has not yet acknowledged the
// previous one waits for the client's delayed ACK, 40 ms on Linux: the
// second TLS 1.3 session ticket held every implicit-TLS greeting back that
// way, so OpenSSL runs with NumTickets = 0 (nothing in IMAP resumes
// sessions). The effect remains when a client pipelines: with imapclient,
// a LOGIN sent on the implicit-TLS port before the greeting arrived
// (WaitGreeting avoids it), and the first command after LOGIN over
// STARTTLS, take about 40 ms more. Production Cyrus does the same.
//
// Mailboxes. The namespace is Debian's (altnamespace: no, unixhierarchysep:
// no): a user's folders are INBOX and below it, INBOX.Sent, INBOX.a.b, with
// the separator '.'; Cyrus.Mailbox("Sent") returns the name as the user
// sees it, and Cyrus.PersonalPrefix and Separator say which. AltNamespace
// puts folders beside INBOX (Sent, a.b) and UnixHierarchySep makes the
// separator '/', Cyrus's compiled defaults since 3.0. munge8bit,
// delete_mode and expunge_mode keep Cyrus's defaults (see below).
//
// # What Cyrus does that an engine must expect
//
// TestCyrusBehaviours pins these down, each with its own user:
//
//   - Capabilities after login (3.6.1): ACL ANNOTATE-EXPERIMENT-1
//     APPENDLIMIT=4294967295 BINARY CATENATE CHILDREN COMPRESS=DEFLATE
//     CONDSTORE CREATE-SPECIAL-USE DIGEST=SHA1 ENABLE ESEARCH ESORT ID IDLE
//     IMAP4rev1 LIST-EXTENDED LIST-METADATA LIST-MYRIGHTS LIST-STATUS LITERAL+
//     LOGINDISABLED MAILBOX-REFERRALS METADATA MOVE MULTIAPPEND NAMESPACE
//     NO_ATOMIC_RENAME OBJECTID PREVIEW QRESYNC QUOTA RIGHTS=kxten SAVEDATE
//     SCAN SEARCH=FUZZY SORT SORT=DISPLAY SORT=MODSEQ SORT=UID SPECIAL-USE
//     STATUS=SIZE THREAD=ORDEREDSUBJECT THREAD=REFERENCES THREAD=REFS UIDPLUS
//     UNSELECT URLAUTH URLAUTH=BINARY WITHIN X-CREATEDMODSEQ X-QUOTA=MESSAGE
//     X-QUOTA=STORAGE X-QUOTA=X-ANNOTATION-STORAGE X-QUOTA=X-NUM-FOLDERS
//     X-REPLICATION X-SIEVE-MAILBOX XLIST XMOVE (LOGINDISABLED after login is
//     Cyrus's oddity). Before login (TestCyrusGreeting): IMAP4rev1 LITERAL+ ID
//     ENABLE STARTTLS AUTH=PLAIN AUTH=LOGIN SASL-IR.
//   - No IMAP4rev2, UTF8=ACCEPT, LITERAL- or NOTIFY: ENABLE IMAP4rev2
//     UTF8=ACCEPT CONDSTORE QRESYNC enables the last two only, and mailbox
//     names travel in modified UTF-7, canonical only ("&APwA3w-" is
//     accepted, "&APw-&AN8-" for the same two characters is refused), never
//     as raw UTF-8.
//   - NAMESPACE is (("INBOX." ".")) (("user." ".")) (("" ".")). A user may
//     not create a top-level folder ("Sent" would be a shared one).
//   - SELECT sends UIDVALIDITY, UIDNEXT, MAILBOXID and HIGHESTMODSEQ, the
//     last without ENABLE CONDSTORE; PERMANENTFLAGS holds \*. EXAMINE
//     answers PERMANENTFLAGS ().
//   - MULTIAPPEND answers with one APPENDUID whose UID set is a range.
//   - APPEND refuses, with the reason in the NO, a message with a bare LF
//     ("Message contains bare newlines"), a NUL ("Message contains NUL
//     characters"), or a first line that is no header field ("Message
//     contains invalid header"). It keeps byte for byte a message without
//     a final CRLF, a bare CR in a body, 8-bit bodies and long lines, and
//     RFC822.SIZE is their length. But 8-bit bytes in a header are replaced
//     by X, one for one (munge8bit, which the manual documents for lmtpd
//     only): the size is the same, the bytes are not. ExtraConfig
//     "munge8bit: no" keeps them.
//   - INTERNALDATE keeps the instant, not the zone: Cyrus answers in its own.
//   - Keywords are matched without case and keep the case first used
//     (KW1, then kw1: KW1). A mailbox holds 100 keywords made by clients;
//     an APPEND or STORE that needs a 101st fails with "NO Too many user
//     flags in mailbox".
//   - CREATE subscribes nothing. LSUB and LIST (SUBSCRIBED) list subscribed
//     folders only, never their unsubscribed parents, not even as
//     \Noselect.
//   - CREATE with (USE (\Sent)) works (more than one attribute too; an
//     unknown one is NO [USEATTR]); every LIST shows the special-use
//     attributes (specialusealways), LIST (SPECIAL-USE) lists only those
//     folders, and a folder with one cannot be deleted (specialuse_protect).
//     No folder is created for a new user.
//   - CREATE INBOX.a.b.c creates INBOX.a and INBOX.a.b as real, selectable
//     mailboxes, and DELETE of a mailbox with children is NO [HASCHILDREN]:
//     a user never sees \Noselect. CREATE of an existing mailbox is "NO
//     Mailbox already exists" without [ALREADYEXISTS] (CreateMailbox copes).
//   - With the '.' separator, a '.' in a name makes a level and '/' is
//     refused (TestCyrusNamespaces: with '/', a '.' is allowed).
//   - STATUS answers MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN
//     HIGHESTMODSEQ SIZE and MAILBOXID, also in LIST RETURN (STATUS). DELETED
//     and APPENDLIMIT are BAD although QUOTA and APPENDLIMIT are advertised,
//     and go-imap's StatusOptions.NumDeleted and AppendLimit would send them.
//   - UIDVALIDITY is the creation time in Unix seconds plus one, so folders
//     created in the same second share it. EXPUNGE and RENAME keep
//     UIDVALIDITY and UIDNEXT; DELETE and CREATE again give a greater
//     UIDVALIDITY, even within the same second, and UIDs from 1.
//   - DELETE keeps the folder, as DELETED.user.<name>.<folder>.<hex>, which
//     only the admin sees (delete_mode: delayed).
//   - APPEND to a missing folder is NO [TRYCREATE].
//   - A failed LOGIN is "NO Login failed: authentication failure" without a
//     response code: there is no [AUTHENTICATIONFAILED] to classify it by.
//
// Without idled, IDLE reports changes made by other sessions only when it
// polls, every 60 s (imapidlepoll); no test waits that long.
//
// # Courier
//
// StartCourier (tests) and StartCourierDir/Stop/Kill (outside tests) run
// Courier IMAP 5.0 (Debian's courier-imap 5.0.13 with courier-authlib 0.71)
// from the packages that make deps extracts into
// $IMAPMIGRATE_SERVERS_DIR/courier (default /opt/imapmigrate-servers/courier):
// courier-imap conflicts with dovecot-imapd as a package. It is the real
// thing throughout: authdaemond with the userdb module, couriertcpd,
// imaplogin, imapd and couriertls, started the way Debian's init scripts
// start them. Everything lives under one directory:
//
//	courier.sh   the launcher, run in the instance's namespaces
//	courier.log  what every Courier process writes (stdout and stderr)
//	etc/         seen as /etc/courier: imapd, imapd-ssl, authdaemonrc,
//	             imapd.pem, userdb, userdb.dat, userdbshadow.dat
//	run/         seen as /run/courier: authdaemon/socket, the TLS cache
//	ns/          passwd and group, seen as /etc/passwd and /etc/group
//	tls/         the CA (unless CourierOptions.CA is given)
//	mail/<name>/ home directory; Maildir/ below it is the INBOX
//
// Why a namespace. Courier's paths are compiled in: authdaemond reads
// /etc/courier/authdaemonrc and listens on /run/courier/authdaemon/socket,
// where libcourierauth (in imaplogin) connects, the userdb module opens
// /etc/courier/userdb.dat, imapd and couriertls read /etc/courier. Several
// instances run at once, and nothing on the host is to be configured. So
// each runs under `unshare --mount --propagation private --pid --fork
// --kill-child --mount-proc /bin/bash courier.sh`, which bind-mounts etc/ on
// /etc/courier and run/ on /run/courier, seen by that instance only. Those
// two paths must exist on the host as mount points: StartCourierDir creates
// them, empty, if they are missing (a Debian courier install has them too),
// and mounts nothing there outside the namespace. When the host has a
// /usr/lib/courier-authlib of its own it is covered with the extracted one;
// otherwise libltdl finds the extracted modules through LD_LIBRARY_PATH,
// which also points at the extracted libcourierauth. This needs root
// (CAP_SYS_ADMIN); RequireCourier skips, or fails, without it, and when
// unshare cannot make the namespaces (a container without the capability).
//
// The courier account. Debian's courier-base creates a "courier" system
// account: STARTTLS runs couriertls as courier (compiled into imaplogin:
// without the account STARTTLS fails with "getpwnam: Success"), and the
// implicit-TLS listener runs `couriertls -user=courier`, as Debian's
// imapd-ssl does. No account is added to the host: ns/passwd and ns/group
// are copies of the host's files with a courier line, bind-mounted over
// /etc/passwd and /etc/group in the namespace only, and courier has the uid
// and gid of the mail account. imapd.pem (certificate and key in one file,
// as couriertls wants) and the TLS cache are courier's, mode 0600.
//
// The PID namespace makes Kill complete: Kill sends SIGKILL to the
// namespace's PID 1 (bash), the kernel kills every other process in the
// namespace (authdaemond's workers, imapd sessions, the gam_server imapd
// starts for folder watching, which leaves the process group), and unshare
// reaps PID 1 and exits only when all are gone; Exited is then closed.
// unshare is in its own process group and gets SIGKILL from the kernel if
// the test binary dies (Pdeathsig; it ignores SIGTERM), and --kill-child
// then kills PID 1. Stop sends SIGTERM to the group; courier.sh passes it
// on and exits, which ends the namespace: about 3 ms. StartCourier's cleanup
// uses Kill, and on test failure writes the tail of courier.log to the test
// log. Each instance gets its own gam_server through GAM_CLIENT_ID:
// gamin's socket is named after the user and the client ID, and all
// instances' imapd run as the mail user.
//
// Start waits, bounded by StartTimeout, until authdaemond answers a lookup
// on its socket (so that a login right after start cannot find it still
// starting) and both listeners greet (the TLS one verified against the CA),
// and fails with courier.log if courier.sh exits first (a couriertcpd
// refusing an option, say). Both listeners get free 127.0.0.1 ports; when
// couriertcpd finds one taken ("bind: Address already in use") the start is
// tried again with new ports. Start-up takes 25-55 ms, measured over many
// runs with the race detector and other suites running (StartDuration).
//
// Accounts. AddUser writes etc/userdb in the format makeuserdb(8)
// documents (name<TAB>uid=8|gid=8|home=<dir>/mail/<name>|systempw=...),
// hashes the password with Courier's userdbpw -md5 (its default, DES crypt,
// would look at 8 characters only), and rebuilds userdb.dat and
// userdbshadow.dat the way makeuserdb does, with Courier's makedatprog
// (makeuserdb itself has /usr/lib/courier paths compiled in). The home and
// its Maildir (made by maildirmake as the mail account) belong to the mail
// account, uid 8, as IMAP_MAILBOX_SANITY_CHECK requires; imapd runs as that
// uid. authdaemond's five workers keep userdb.dat open and reopen it when
// its mtime or inode changes, so each rebuild gets an mtime one second past
// the previous one: an account added, or a password changed, logs in at
// once, before or after start, however many per second. Login names are
// case-sensitive ("Alice" is not alice), unlike Dovecot's and Cyrus's.
// Courier has no master or admin login and no proxy authorization: SASL
// PLAIN's authzid is ignored (authzid=bob, authcid=alice is alice), so
// tests log in as the user (Client).
//
// Listeners and configuration. Port is couriertcpd with imaplogin and
// STARTTLS (IMAPDSTARTTLS=YES), TLSPort couriertcpd with couriertls
// -server, as Debian's imapd and imapd-ssl. etc/imapd and etc/imapd-ssl are
// Debian's settings, with these changes: the addresses and ports;
// MAXPERIP 100 and MAXDAEMONS 200 per listener (Debian: 20 and 40, Courier:
// 4), CourierOptions.MaxPerIP and MaxDaemons; AUTH=PLAIN in IMAP_CAPABILITY
// so that SASL PLAIN works without TLS, as LOGIN does (IMAP_TLS_REQUIRED=0);
// IMAP_USELOCKS=0 (below); no TLS_DHPARAMS or TLS_TRUSTCERTS; authdaemonrc
// uses authuserdb instead of authpam. CourierOptions.ExtraConfig is sourced
// last. Every process gets only PATH, LD_LIBRARY_PATH and GAM_CLIENT_ID
// (Debian starts them with env -i) plus the sourced settings. Kept from
// Debian, among others: IMAP_KEYWORDS=1, IMAP_ACL=1, IMAP_ULIMITD=131072
// (imapd's address space is limited to 128 MB), IMAP_TRASHFOLDERNAME=Trash
// and IMAP_EMPTYTRASH=Trash:7 (messages moved to INBOX.Trash over 7 days
// ago, by ctime, are purged at login and logout).
//
// Locks. With Debian's IMAP_USELOCKS=1 every scan of a folder (SELECT,
// EXAMINE, APPEND, NOOP, ...) takes the dot-lock tmp/courier.lock, and a
// session that finds it taken waits for gamin to report its removal, or
// sleeps a second and tries again: concurrent sessions on one folder queue,
// for a second or two on an idle machine and, with 30 at once, minutes on a
// loaded one. Tests default to IMAP_USELOCKS=0, which Courier documents as
// safe apart from a rare race (a message fetched twice, a keyword update
// lost); CourierOptions.UseLocks restores Debian's setting
// (TestCourierLocks holds the lock by hand and shows both).
//
// Deliberate delays that cannot be configured away, as they are compiled
// in, and that a real Courier has too: a failed LOGIN or AUTHENTICATE is
// answered after 5 s (imaplogin's sleep(5)), and DELETE and RENAME sleep 2 s
// so that a folder made again cannot reuse a UIDVALIDITY
// (IMAP_BROKENUIDV=1 in ExtraConfig removes the latter). The tests that
// meet them run their cases side by side.
//
// Capabilities before login: IMAP4rev1 UIDPLUS CHILDREN NAMESPACE
// THREAD=ORDEREDSUBJECT THREAD=REFERENCES SORT QUOTA IDLE AUTH=PLAIN ACL
// ACL2=UNION STARTTLS ENABLE UTF8=ACCEPT (in the greeting too). After
// login the same without STARTTLS; LOGIN's OK carries no CAPABILITY code.
// There is no LITERAL+, MULTIAPPEND, MOVE, UNSELECT, CONDSTORE, QRESYNC, ID,
// SPECIAL-USE, LIST-EXTENDED, LIST-STATUS, SASL-IR, ESEARCH or BINARY.
//
// # What Courier does that an engine must expect
//
// TestCourierBehaviours pins these down, each with its own user:
//
//   - Folders live under INBOX: NAMESPACE is (("INBOX." ".")) NIL
//     (("#shared." ".")("shared." ".")), the separator is '.', and CREATE
//     of a name outside INBOX. ("Sent") is "NO Invalid mailbox name.", as is
//     a name with '/'. Courier.Mailbox("Sent") is "INBOX.Sent". The INBOX
//     prefix is case-insensitive (inbox.x is INBOX.x).
//   - Bytes are not kept verbatim: APPEND stores the literal with every CR
//     removed, bare or not, adds a LF when its last byte is not LF, and
//     serves each LF as CRLF; RFC822.SIZE counts what is served. So a CRLF
//     message ending in CRLF comes back verbatim, one without a final CRLF
//     gains one (2 bytes), a bare LF becomes CRLF, a bare CR vanishes
//     ("bo\rdy" is "body"), and one ending in "\n\r" gains an empty line.
//     CourierStored computes it. NULs, 8-bit headers and a first line that
//     is no header are accepted (8-bit headers with an untagged "* OK
//     [ALERT] Your IMAP client does not appear to correctly implement
//     Unicode messages"). The maildir file holds the LF form; its S= is
//     that size, not RFC822.SIZE.
//   - INTERNALDATE keeps the instant and its seconds, not the zone: it is
//     the file's mtime, always answered in +0000.
//   - SELECT and EXAMINE send FLAGS, PERMANENTFLAGS, EXISTS, RECENT and
//     UIDVALIDITY, but no UIDNEXT (go-imap's SelectData.UIDNext is 0) and no
//     HIGHESTMODSEQ. STATUS does answer UIDNEXT, with MESSAGES, RECENT,
//     UIDVALIDITY and UNSEEN; items it does not know (SIZE, HIGHESTMODSEQ,
//     DELETED, APPENDLIMIT) are left out of the answer, not refused.
//     ENABLE of CONDSTORE, QRESYNC or IMAP4rev2 enables nothing. Appended
//     messages are not \Recent.
//   - PERMANENTFLAGS holds \* and the folder's keywords on SELECT, nothing
//     on EXAMINE ("No permanent flags permitted"). Keywords are matched
//     without case and keep the case first used (Project_X, then
//     project_x: Project_X); more than 26 per folder are fine.
//   - UIDPLUS: APPEND answers [APPENDUID uidvalidity uid]. MULTIAPPEND is
//     not supported: a second message in one APPEND is "NO Error in IMAP
//     command received by server.", and yet the first message is stored, so
//     a client that retries duplicates it. APPEND to a missing folder is NO
//     [TRYCREATE], before the literal.
//   - UIDVALIDITY is a clock reading: the mtime of the folder's
//     courierimapuiddb, written by CREATE (INBOX's at its first use), in
//     seconds since Unix 1000000000. After DELETE and CREATE it is greater
//     (DELETE's 2 s sleep sees to that), and UIDs start at 1.
//   - LIST shows INBOX as (\Unmarked \HasChildren) or \HasNoChildren and
//     "" as (\Noselect) "." "". CREATE INBOX.a.b.c makes INBOX.a and
//     INBOX.a.b \Noselect placeholders (Snapshot leaves them out; CREATE of
//     a placeholder makes it real), DELETE of a folder with children leaves
//     a \Noselect placeholder, and RENAME of a placeholder ends the session
//     ("* BYE [ALERT] Fatal error: Not a directory"). CREATE of an existing
//     folder is "NO Cannot create this folder." without [ALREADYEXISTS]
//     (CreateMailbox copes). INBOX.Trash (IMAP_TRASHFOLDERNAME) cannot be
//     deleted.
//   - LIST (SUBSCRIBED) "" "*" is answered as a plain LIST: every folder,
//     no \Subscribed. LSUB lists a subscribed folder's unsubscribed
//     parents, INBOX included, as \Noselect \HasChildren. LIST ... RETURN
//     (...), XLIST, MOVE, UNSELECT and ID
//     are "NO Error in IMAP command received by server."; no folder has a
//     special-use attribute.
//   - Names travel in modified UTF-7 (go-imap encodes them); a
//     non-canonical encoding is accepted and stored canonically ("&APw-&AN8-"
//     becomes "&APwA3w-"). Raw UTF-8 without ENABLE UTF8=ACCEPT is accepted
//     and mangled, each byte above 0x7f made U+FFxx ("Grüße" is
//     "Gr&,8P,vP,D,58-e"); after ENABLE UTF8=ACCEPT names are UTF-8 on the
//     wire.
//   - A failed login is "NO Login failed." after 5 s, without a response
//     code: there is no [AUTHENTICATIONFAILED] to classify it by.
//   - Connections: each listener accepts MaxPerIP at a time from one
//     address and closes the next before the greeting (logging "ALERT:
//     Maximum connection limit reached"); a closed connection counts until
//     its imaplogin or imapd has exited. There is no limit per user
//     (TestCourierMaxPerIP: 30 sessions of one user at once).
//
// # PostgreSQL
//
// StartPostgres runs a private cluster for one test; PostgresDB gives a
// test a new empty database (test_<n>, from template0) in a cluster shared
// by the test process, and drops it WITH (FORCE) when the test ends. Its
// DSN is postgres://postgres@127.0.0.1:<port>/test_<n>?sslmode=disable.
// The shared cluster starts on first use and is stopped by PostgresMain,
// which a package's TestMain calls:
//
//	func TestMain(m *testing.M) { os.Exit(testenv.PostgresMain(m)) }
//
// The binaries are Debian's postgresql package's, in
// /usr/lib/postgresql/<major>/bin (newest major first; IMAPMIGRATE_PG_BIN
// names another directory), not on PATH. When they are missing the test
// fails ("run `make deps`") rather than skips. A cluster's directory is
// os.MkdirTemp'd in /tmp as imapmigrate-postgres-<pid>-*:
//
//	data/         initdb -U postgres --auth=trust -E UTF8 --locale=C --no-sync --wal-segsize=1
//	run/          unix_socket_directories
//	postgres.log  the server's stderr
//	initdb.log
//
// initdb's postgresql.conf gets, appended: listen_addresses 127.0.0.1, a
// free port (picked again if another process takes it first),
// max_connections 200, shared_buffers 32MB, fsync, full_page_writes and
// synchronous_commit off, jit off, TimeZone UTC. Authentication is trust,
// for the socket and for 127.0.0.1. The server is postgres -D data, not
// pg_ctl: start-up waits, bounded, until postmaster.pid says "ready" and a
// query over TCP answers (80-120 ms after initdb), and fails with the
// server's log if it exits first. initdb takes 1.5-3 s, CREATE DATABASE 50
// ms to 0.5 s depending on the machine's load (STRATEGY FILE_COPY on 15 and
// later: WAL_LOG, the default, writes template0's 7.5 MB to the WAL and is
// 3-4 times slower).
//
// Running as root. initdb and postgres refuse to run as root, so they run as
// the postgres account (which the package creates) with no supplementary
// groups, set through SysProcAttr.Credential; the directory is that
// account's (hence /tmp, not t.TempDir, whose parents are mode 0700). When
// not root they run as the invoking user.
//
// Stopping. Stop, and StartPostgres's cleanup, send SIGQUIT, an immediate
// shutdown (pg_ctl stop -m immediate): the postmaster ends its backends and
// removes its shared memory and lock files, which SIGKILL would leave
// behind (a System V segment and /dev/shm files). The process group is
// killed if it has not exited within 10 s. A cluster never outlives the
// test process, even without PostgresMain or when the test binary is
// killed: the postmaster gets SIGQUIT from the kernel when the process that
// started it dies (Pdeathsig). The kernel sends it when the forking thread
// exits, so the postmaster is started and waited for from a goroutine locked
// to its thread. What such a process leaves in /tmp (a cluster is about 30
// MB) is removed by the next test process that starts a cluster, once the
// owner (the pid in the name) and its postmaster are gone.
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
// of BODY.PEEK[], streamed; it never changes \Seen, and it ends with
// UNSELECT, or CLOSE where the server has none (Courier; after EXAMINE, CLOSE
// expunges nothing). DiffSnapshots compares a
// source and a target snapshot ignoring UIDs. GenMessage produces realistic,
// deterministic messages of an exact size, up to the 35 MB limit and beyond.
package testenv
