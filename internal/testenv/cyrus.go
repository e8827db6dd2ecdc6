package testenv

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
)

// cyrusServersDirEnv and cyrusServersDir are where scripts/install-deps.sh
// extracts the Cyrus packages (into <dir>/cyrus): they conflict with
// dovecot-imapd as packages, not as programs.
const (
	cyrusServersDirEnv = "IMAPMIGRATE_SERVERS_DIR"
	cyrusServersDir    = "/opt/imapmigrate-servers"
)

// cyrusBinDir is where the cyrus-imapd and cyrus-common packages put master,
// imapd and the tools, relative to the extracted tree.
const cyrusBinDir = "usr/lib/cyrus/bin"

// cyrusInstall is an extracted Cyrus tree and the programs it needs.
type cyrusInstall struct {
	Root, Master, Imapd string
	// LibDir holds libcyrus*.so, which the binaries find through
	// LD_LIBRARY_PATH (they are not in the system's library path).
	LibDir string
	// Saslpasswd is saslpasswd2 (sasl2-bin), which writes the sasldb.
	Saslpasswd string
}

// CyrusRoot returns the extracted Cyrus tree: $IMAPMIGRATE_SERVERS_DIR/cyrus,
// by default /opt/imapmigrate-servers/cyrus, as make deps leaves it.
func CyrusRoot() string {
	dir := os.Getenv(cyrusServersDirEnv)
	if dir == "" {
		dir = cyrusServersDir
	}
	return filepath.Join(dir, "cyrus")
}

// findCyrus checks that root holds a complete extraction and finds
// saslpasswd2.
func findCyrus(root string) (cyrusInstall, error) {
	in := cyrusInstall{
		Root:   root,
		Master: filepath.Join(root, cyrusBinDir, "master"),
		Imapd:  filepath.Join(root, cyrusBinDir, "imapd"),
	}
	if _, err := os.Stat(filepath.Join(root, ".complete")); err != nil {
		return in, fmt.Errorf("no extracted Cyrus in %s (run make deps): %w", root, err)
	}
	for _, p := range []string{in.Master, in.Imapd} {
		if fi, err := os.Stat(p); err != nil || fi.Mode()&0o111 == 0 {
			return in, fmt.Errorf("cyrus: %s is missing or not executable (run make deps)", p)
		}
	}
	libs, _ := filepath.Glob(filepath.Join(root, "usr/lib/*/libcyrus.so.0"))
	if len(libs) == 0 {
		return in, fmt.Errorf("cyrus: no libcyrus.so.0 under %s/usr/lib (run make deps)", root)
	}
	in.LibDir = filepath.Dir(libs[0])
	if p, err := exec.LookPath("saslpasswd2"); err == nil {
		in.Saslpasswd = p
	} else if _, err := os.Stat("/usr/sbin/saslpasswd2"); err == nil {
		in.Saslpasswd = "/usr/sbin/saslpasswd2"
	} else {
		return in, errors.New("cyrus: saslpasswd2 not found (run make deps; it is in sasl2-bin)")
	}
	return in, nil
}

// RequireCyrus skips (or fails, see RequireReal) the test when the extracted
// Cyrus is missing, and returns its root.
func RequireCyrus(t testing.TB) string {
	t.Helper()
	_, err := findCyrus(CyrusRoot())
	what := "cyrus"
	if err != nil {
		what = fmt.Sprintf("cyrus (%v)", err)
	}
	RequireReal(t, what, err == nil)
	return CyrusRoot()
}

// CyrusOptions configures a private Cyrus instance. The zero value is a
// usable configuration, with Debian's namespace.
type CyrusOptions struct {
	// Users are created at start, each with an INBOX: name → password.
	Users map[string]string
	// AdminUser and AdminPassword are the account listed in admins and
	// proxyservers: it creates INBOXes and logs in as any user with SASL
	// PLAIN authzid=user, authcid=AdminUser. Defaults: mailadmin,
	// mailadmin-secret. It has no mailbox of its own.
	AdminUser, AdminPassword string
	// UnixHierarchySep makes '/' the hierarchy separator (Cyrus's compiled
	// default since 3.0). Default '.', as Debian's imapd.conf sets it
	// (unixhierarchysep: no); a folder name may then not contain '.'.
	UnixHierarchySep bool
	// AltNamespace puts personal folders beside INBOX ("Sent") instead of
	// under it ("INBOX.Sent"), Cyrus's compiled default since 3.0. Default
	// off, as in Debian's imapd.conf.
	AltNamespace bool
	// MailUser is the account Cyrus runs as when the test runs as root
	// (default "mail", from Debian's base-passwd). Ignored when not root.
	MailUser string
	// CA signs the server certificate. Default: a new CA in <dir>/tls.
	CA *CA
	// Debug turns on debug, chatty and auditlog: every command in cyrus.log.
	Debug bool
	// ExtraConfig is appended to imapd.conf verbatim; later settings win.
	ExtraConfig string
	// Root is the extracted Cyrus tree. Default: CyrusRoot().
	Root string
	// StartTimeout bounds the wait for both greetings (default 10 s).
	StartTimeout time.Duration
}

// Cyrus is a running private Cyrus IMAP instance; see StartCyrusDir.
type Cyrus struct {
	// Host is the address both listeners are bound to (127.0.0.1).
	Host string
	// Port offers plain IMAP with STARTTLS; TLSPort offers implicit TLS.
	Port, TLSPort int
	// AdminUser and AdminPassword as configured.
	AdminUser, AdminPassword string
	// Separator is the hierarchy separator: '.' or, with UnixHierarchySep, '/'.
	Separator rune
	// PersonalPrefix is the prefix of a user's own folders, as NAMESPACE
	// announces it: "INBOX." by default, "" with AltNamespace.
	PersonalPrefix string
	// Dir holds everything: imapd.conf, cyrus.conf, cyrus.log, conf/, spool/.
	Dir string
	// CA signed the server certificate; clients verify with CA.CAFile.
	CA *CA
	// StartDuration is how long the start took until both listeners
	// greeted, the INBOXes of CyrusOptions.Users excluded.
	StartDuration time.Duration
	// SyslogCaptured says whether Cyrus's syslog messages reach cyrus.log
	// (only when the test runs as root; see the package documentation).
	SyslogCaptured bool

	install cyrusInstall
	cfg     cyrusConfig
	uid     int // owner of the tree and the account Cyrus runs as
	gid     int
	root    bool
	// privateDev: master was started in a mount namespace of its own,
	// where the start script links /dev/log to sink.
	privateDev bool

	usersMu sync.Mutex

	sink *syslogSink

	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error // set before exited is closed

	stopOnce sync.Once
	stopErr  error
}

var _ Server = (*Cyrus)(nil)

// StartCyrus starts a private Cyrus for the test and kills it when the test
// ends; it skips the test (or fails it, see RequireReal) when the extracted
// Cyrus is missing. On failure the test log shows the tail of cyrus.log.
//
// Its directory is made with os.MkdirTemp, not t.TempDir: t.TempDir's parents
// are mode 0700 and the mail user must be able to traverse them.
func StartCyrus(t testing.TB, opts CyrusOptions) *Cyrus {
	t.Helper()
	if opts.Root == "" {
		opts.Root = RequireCyrus(t)
	}
	return startForTest(t, "cyrus", "cyrus.log", func(ctx context.Context, dir string) (*Cyrus, error) { return StartCyrusDir(ctx, dir, opts) })
}

// StartCyrusDir starts a private Cyrus whose files all live in dir, which is
// created if missing, and creates CyrusOptions.Users. When running as root,
// dir is made mode 0711 and every parent of dir must be searchable by others
// (a directory under /tmp is). The caller must call Stop or Kill; dir is left
// in place.
func StartCyrusDir(ctx context.Context, dir string, opts CyrusOptions) (*Cyrus, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	install, err := findCyrus(opts.Root)
	if err != nil {
		return nil, err
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("cyrus dir: %w", err)
	}
	// cyrus.conf splits cmd on white space, imapd.conf ends a value at the
	// line's end, and the start script takes paths as arguments.
	for _, p := range []string{dir, install.Root} {
		if strings.ContainsAny(p, " \t\r\n\"'\\#") {
			return nil, fmt.Errorf("cyrus path %q: contains a character cyrus.conf would misread; use a plain path", p)
		}
	}
	// Unix socket paths are limited to 108 bytes; Cyrus puts
	// conf/socket/idle.<pid> under dir.
	if len(dir) > 70 {
		return nil, fmt.Errorf("cyrus dir %q: too long for unix sockets under it (keep it under 70 bytes)", dir)
	}
	c := &Cyrus{
		Host:          "127.0.0.1",
		AdminUser:     opts.AdminUser,
		AdminPassword: opts.AdminPassword,
		Separator:     '.',
		Dir:           dir,
		CA:            opts.CA,
		install:       install,
		root:          os.Geteuid() == 0,
	}
	if opts.UnixHierarchySep {
		c.Separator = '/'
	}
	if !opts.AltNamespace {
		c.PersonalPrefix = "INBOX" + string(c.Separator)
	}
	c.cfg = cyrusConfig{
		Dir:              dir,
		ConfDir:          filepath.Join(dir, "conf"),
		SpoolDir:         filepath.Join(dir, "spool"),
		SieveDir:         filepath.Join(dir, "sieve"),
		SASLDB:           filepath.Join(dir, "sasldb2"),
		ImapdConf:        c.ConfigPath(),
		CyrusConf:        filepath.Join(dir, "cyrus.conf"),
		Imapd:            install.Imapd,
		Host:             c.Host,
		SyslogPrefix:     "imapmigrate-testenv",
		Admin:            opts.AdminUser,
		AltNamespace:     opts.AltNamespace,
		UnixHierarchySep: opts.UnixHierarchySep,
		Debug:            opts.Debug,
		Extra:            opts.ExtraConfig,
	}
	if err := c.prepareDirs(opts); err != nil {
		return nil, err
	}
	if err := c.prepareTLS(); err != nil {
		return nil, err
	}
	c.cfg.CertFile = filepath.Join(dir, "tls", "cyrus-cert.pem")
	c.cfg.KeyFile = filepath.Join(dir, "tls", "cyrus-key.pem")

	if err := c.setPassword(opts.AdminUser, opts.AdminPassword); err != nil {
		return nil, err
	}
	for name, password := range opts.Users {
		if err := c.setPassword(strings.ToLower(name), password); err != nil {
			return nil, err
		}
	}

	if c.root {
		c.sink, err = listenSyslog(filepath.Join(dir, "run", "syslog"), c.LogPath())
		if err != nil {
			return nil, err
		}
	}
	for attempt := 1; ; attempt++ {
		err = c.start(ctx, opts)
		if err == nil {
			break
		}
		if !errors.Is(err, errPortInUse) || attempt == portAttempts {
			c.closeSink()
			return nil, err
		}
	}

	if len(opts.Users) > 0 {
		admin, err := c.adminClient()
		if err != nil {
			_ = c.Kill()
			return nil, err
		}
		defer closeClient(admin)
		for name := range opts.Users {
			if err := c.createInbox(admin, strings.ToLower(name)); err != nil {
				_ = c.Kill()
				return nil, err
			}
		}
	}
	return c, nil
}

func (o *CyrusOptions) setDefaults() error {
	if o.AdminUser == "" {
		o.AdminUser = DefaultMasterUser
	}
	if o.AdminPassword == "" {
		o.AdminPassword = DefaultMasterPassword
	}
	name, err := checkCyrusAccount(o.AdminUser, o.AdminPassword)
	if err != nil {
		return fmt.Errorf("CyrusOptions.AdminUser: %w", err)
	}
	o.AdminUser = name
	for user, password := range o.Users {
		lower, err := checkCyrusAccount(user, password)
		if err != nil {
			return fmt.Errorf("CyrusOptions.Users: %w", err)
		}
		if lower == o.AdminUser {
			return fmt.Errorf("CyrusOptions.Users: %q is the admin, which must have no mailbox", user)
		}
	}
	if o.MailUser == "" {
		o.MailUser = DefaultMailUser
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = DefaultStartTimeout
	}
	if o.StartTimeout < 0 {
		return fmt.Errorf("CyrusOptions.StartTimeout %v: must be positive", o.StartTimeout)
	}
	if o.Root == "" {
		o.Root = CyrusRoot()
	}
	return nil
}

// checkCyrusAccount returns the name as Cyrus will know it (lower case:
// username_tolower is on by default) or says why it cannot be an account
// here. A '.' is allowed with either separator: with '.' Cyrus stores it as
// '^' in mailbox names (user.john^doe).
func checkCyrusAccount(name, password string) (string, error) {
	lower := strings.ToLower(name)
	switch {
	case name == "":
		return "", errors.New("empty user name")
	case strings.Trim(lower, "abcdefghijklmnopqrstuvwxyz0123456789._-") != "":
		return "", fmt.Errorf("user name %q: use letters, digits, '.', '_' and '-' only", name)
	case strings.HasPrefix(name, ".") || strings.HasPrefix(name, "-") || strings.HasSuffix(name, "."):
		return "", fmt.Errorf("user name %q: must not start with '.' or '-' or end with '.'", name)
	case password == "":
		return "", fmt.Errorf("password of %q: must not be empty", name)
	case strings.ContainsAny(password, "\x00\r\n"):
		return "", fmt.Errorf("password of %q: must not contain NUL or line breaks", name)
	}
	return lower, nil
}

// prepareDirs creates the directory tree (what Debian's cyrus-makedirs makes
// that Cyrus does not create itself) and decides who owns it.
func (c *Cyrus) prepareDirs(opts CyrusOptions) error {
	dirs := []string{c.Dir, c.cfg.SpoolDir, c.cfg.SieveDir, filepath.Join(c.Dir, "run"), filepath.Join(c.Dir, "run", "hostdev"), filepath.Join(c.Dir, "tls")}
	for _, sub := range []string{"db", "proc", "socket", "log", "msg", "user", "quota", "lock"} {
		dirs = append(dirs, filepath.Join(c.cfg.ConfDir, sub))
	}
	for _, p := range dirs {
		if err := os.MkdirAll(p, 0o755); err != nil {
			return fmt.Errorf("create cyrus dir: %w", err)
		}
	}
	// The recovery stamp that ctl_cyrusdb -r (Debian's START entry) writes:
	// without it every imapd logs "DBERROR: read failed, assuming the worst".
	stamp := binary.BigEndian.AppendUint32(nil, uint32(time.Now().Unix()))
	if err := os.WriteFile(filepath.Join(c.cfg.ConfDir, "db", "skipstamp"), stamp, 0o644); err != nil {
		return fmt.Errorf("create cyrus dir: %w", err)
	}
	if !c.root {
		me, err := user.Current()
		if err != nil {
			return fmt.Errorf("cyrus as %d: current user: %w", os.Getuid(), err)
		}
		grp, err := user.LookupGroupId(strconv.Itoa(os.Getgid()))
		if err != nil {
			return fmt.Errorf("cyrus as %s: group %d: %w", me.Username, os.Getgid(), err)
		}
		// master calls become_cyrus even when not root; it is a no-op when
		// cyrus_user and cyrus_group are who it already runs as.
		c.cfg.User, c.cfg.Group = me.Username, grp.Name
		c.uid, c.gid = os.Getuid(), os.Getgid()
		return nil
	}
	u, err := user.Lookup(opts.MailUser)
	if err != nil {
		return fmt.Errorf("CyrusOptions.MailUser %q: %w", opts.MailUser, err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil || uid == 0 {
		return fmt.Errorf("CyrusOptions.MailUser %q: need a numeric, non-zero uid (got %s:%s)", opts.MailUser, u.Uid, u.Gid)
	}
	grp, err := user.LookupGroupId(u.Gid)
	if err != nil {
		return fmt.Errorf("CyrusOptions.MailUser %q: group %s: %w", opts.MailUser, u.Gid, err)
	}
	c.cfg.User, c.cfg.Group = u.Username, grp.Name
	c.uid, c.gid = uid, gid
	if err := os.Chmod(c.Dir, 0o711); err != nil {
		return fmt.Errorf("chmod cyrus dir: %w", err)
	}
	for p := filepath.Dir(c.Dir); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("cyrus dir parent: %w", err)
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("cyrus dir %s: parent %s (mode %v) is not searchable by mail user %s; use a directory under /tmp or chmod o+x it", c.Dir, p, fi.Mode().Perm(), opts.MailUser)
		}
		if p == filepath.Dir(p) {
			break
		}
	}
	return c.chownTree(c.Dir)
}

// chownTree gives path and everything under it to the account Cyrus runs as.
func (c *Cyrus) chownTree(path string) error {
	if !c.root {
		return nil
	}
	err := filepath.WalkDir(path, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, c.uid, c.gid)
	})
	if err != nil {
		return fmt.Errorf("chown cyrus dir: %w", err)
	}
	return nil
}

// prepareTLS puts the server certificate and key where imapd, which runs as
// the mail user, can read them: a copy in <dir>/tls, owned by that user.
func (c *Cyrus) prepareTLS() error {
	tlsDir := filepath.Join(c.Dir, "tls")
	if c.CA == nil {
		ca, err := NewCA(tlsDir)
		if err != nil {
			return err
		}
		c.CA = ca
	}
	for src, dst := range map[string]string{c.CA.CertFile: "cyrus-cert.pem", c.CA.KeyFile: "cyrus-key.pem"} {
		b, err := os.ReadFile(src)
		if err != nil {
			return fmt.Errorf("cyrus tls: %w", err)
		}
		dst = filepath.Join(tlsDir, dst)
		if err := os.WriteFile(dst, b, 0o600); err != nil {
			return fmt.Errorf("cyrus tls: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(tlsDir, "openssl.cnf"), []byte(cyrusOpenSSLConf), 0o644); err != nil {
		return fmt.Errorf("cyrus tls: %w", err)
	}
	return c.chownTree(tlsDir)
}

// setPassword creates or updates name in the sasldb. saslpasswd2 works on a
// copy that then replaces the file, so an imapd reading the database (it
// opens it for every authentication) sees the old one or the new one, never
// one half written.
func (c *Cyrus) setPassword(name, password string) error {
	tmp := c.cfg.SASLDB + ".new"
	_ = os.Remove(tmp)
	if b, err := os.ReadFile(c.cfg.SASLDB); err == nil {
		if err := os.WriteFile(tmp, b, 0o640); err != nil {
			return fmt.Errorf("add user %q: %w", name, err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("add user %q: %w", name, err)
	}
	cmd := exec.Command(c.install.Saslpasswd, "-f", tmp, "-u", cyrusServername, "-p", "-c", name)
	cmd.Stdin = strings.NewReader(password)
	if out, err := cmd.CombinedOutput(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("add user %q: saslpasswd2: %v: %s", name, err, bytes.TrimSpace(out))
	}
	if c.root {
		if err := os.Chown(tmp, c.uid, c.gid); err != nil {
			os.Remove(tmp)
			return fmt.Errorf("add user %q: %w", name, err)
		}
	}
	if err := os.Rename(tmp, c.cfg.SASLDB); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("add user %q: %w", name, err)
	}
	return nil
}

// cyrusFreePorts is freePorts; a test replaces it to hand out a taken port.
var cyrusFreePorts = freePorts

// start picks two free ports, writes the configuration, runs master and
// waits for both listeners to greet.
func (c *Cyrus) start(ctx context.Context, opts CyrusOptions) error {
	ports, err := cyrusFreePorts(c.Host, 2)
	if err != nil {
		return err
	}
	c.Port, c.TLSPort = ports[0], ports[1]
	c.cfg.Port, c.cfg.TLSPort = c.Port, c.TLSPort
	for _, f := range []struct {
		path string
		tmpl *template.Template
	}{{c.cfg.ImapdConf, imapdConfTemplate}, {c.cfg.CyrusConf, cyrusConfTemplate}} {
		var b bytes.Buffer
		if err := f.tmpl.Execute(&b, c.cfg); err != nil {
			return fmt.Errorf("render %s: %w", filepath.Base(f.path), err)
		}
		if err := os.WriteFile(f.path, b.Bytes(), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", filepath.Base(f.path), err)
		}
	}
	out, err := os.Create(c.outPath())
	if err != nil {
		return fmt.Errorf("create cyrus.out: %w", err)
	}
	defer out.Close() // the child holds its own descriptor

	// -D keeps stdout and stderr (cyrus.out); -l raises the listen backlog
	// for tests that open many connections at once.
	master := []string{c.install.Master, "-D", "-l", "256",
		"-C", c.cfg.ImapdConf, "-M", c.cfg.CyrusConf, "-p", filepath.Join(c.Dir, "run", "master.pid")}
	env := []string{
		"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
		"LD_LIBRARY_PATH=" + c.install.LibDir,
		"OPENSSL_CONF=" + filepath.Join(c.Dir, "tls", "openssl.cnf"),
	}
	if tz, ok := os.LookupEnv("TZ"); ok {
		env = append(env, "TZ="+tz)
	}

	began := time.Now()
	newCmd := func(tryPrivateDev bool) *exec.Cmd {
		var cmd *exec.Cmd
		if c.root {
			args := append([]string{"-c", cyrusRootScript, "sh", c.Dir, strconv.Itoa(c.uid), strconv.Itoa(c.gid)}, master...)
			cmd = exec.Command("/bin/sh", args...)
		} else {
			cmd = exec.Command(master[0], master[1:]...)
		}
		cmd.Dir = c.Dir
		cmd.Env = env
		cmd.Stdout, cmd.Stderr = out, out
		cmd.SysProcAttr = childSysProcAttr()
		c.privateDev = tryPrivateDev && privateMountNamespace(cmd.SysProcAttr)
		if c.privateDev {
			cmd.Env = append(cmd.Env, "TESTENV_PRIVATE_DEV=1")
		}
		return cmd
	}
	cmd := newCmd(c.sink != nil)
	err = cmd.Start()
	if err != nil && c.privateDev {
		// No mount namespace for us (a container without CAP_SYS_ADMIN,
		// say): run without the private /dev/log.
		cmd = newCmd(false)
		err = cmd.Start()
	}
	if err != nil {
		return fmt.Errorf("start cyrus master: %w", err)
	}
	c.cmd = cmd
	c.exited = make(chan struct{})
	c.stopOnce = sync.Once{}
	go func() {
		c.waitErr = cmd.Wait()
		close(c.exited)
	}()

	if err := c.waitReady(ctx, opts.StartTimeout); err != nil {
		_ = c.shutdown(true)
		c.syncLog()
		text := c.startupOutput()
		var exit *exec.ExitError
		if errors.As(c.waitErr, &exit) && exit.ExitCode() == exUnavailable &&
			(strings.Contains(text, "Address already in use") || !c.logCaptured()) {
			return fmt.Errorf("cyrus ports %d/%d: %w", c.Port, c.TLSPort, errPortInUse)
		}
		if text != "" {
			return fmt.Errorf("%w\n%s", err, text)
		}
		return err
	}
	c.StartDuration = time.Since(began)
	c.SyslogCaptured = c.logCaptured()
	return nil
}

// logCaptured says whether syslog messages reach cyrus.log: master runs in
// a mount namespace and the start script gave it a private /dev/log there.
func (c *Cyrus) logCaptured() bool {
	return c.privateDev && !strings.Contains(readFile(c.outPath()), "no private /dev/log")
}

// exUnavailable is EX_UNAVAILABLE from sysexits.h: master's exit status when
// it cannot bind a listener (master_bind_errors_fatal).
const exUnavailable = 69

// waitReady polls until both listeners greet, master exits, or the timeout
// or ctx ends.
func (c *Cyrus) waitReady(ctx context.Context, timeout time.Duration) error {
	return pollReady(ctx, timeout, "cyrus master", c.exited, func() error { return c.waitErr }, func(ctx context.Context) error { return probeGreetings(ctx, c.Addr(), c.TLSAddr(), c.CA) })
}

// probeGreetings reads the greeting on the plain port and, at the same time
// (each connection makes master start an imapd), on the TLS port, verifying
// the certificate against ca.
func probeGreetings(ctx context.Context, addr, tlsAddr string, ca *CA) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	// readGreeting stops at the deadline only; closing the connection
	// stops it when ctx is cancelled.
	greeting := func(conn net.Conn) error {
		defer conn.Close()
		stop := context.AfterFunc(ctx, func() { conn.Close() })
		defer stop()
		return readGreeting(ctx, conn)
	}
	var tlsErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		td := tls.Dialer{Config: ca.ClientTLSConfig("")}
		conn, err := td.DialContext(ctx, "tcp", tlsAddr)
		if err != nil {
			tlsErr = err
			return
		}
		tlsErr = greeting(conn)
	})
	var nd net.Dialer
	conn, err := nd.DialContext(ctx, "tcp", addr)
	if err == nil {
		err = greeting(conn)
	}
	wg.Wait()
	return errors.Join(err, tlsErr)
}

// startupOutput returns what the start script and master wrote to stderr and
// the end of the log, for start-up errors.
func (c *Cyrus) startupOutput() string {
	return strings.TrimSpace(readFile(c.outPath()) + "\n" + c.LogTail(20))
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// adminClient logs in as the admin on the plain port.
func (c *Cyrus) adminClient() (*imapclient.Client, error) {
	return DialLogin(c.Addr(), c.AdminUser, c.AdminPassword, nil)
}

// createInbox creates user's INBOX as the admin: user.<name> (user/<name>
// with the unix separator). One that exists is left alone.
func (c *Cyrus) createInbox(admin *imapclient.Client, name string) error {
	mbox := "user" + string(c.Separator) + c.mailboxUser(name)
	err := admin.Create(mbox, nil).Wait()
	if err == nil {
		return nil
	}
	// "NO Mailbox already exists" comes without [ALREADYEXISTS].
	if exists, lerr := mailboxExists(admin, mbox); lerr == nil && exists {
		return nil
	}
	return fmt.Errorf("create INBOX of %q (%s): %w", name, mbox, err)
}

// mailboxUser is how a user name appears in mailbox names: with the '.'
// separator Cyrus writes a '.' in a name as '^'.
func (c *Cyrus) mailboxUser(name string) string {
	if c.Separator == '.' {
		return strings.ReplaceAll(name, ".", "^")
	}
	return name
}

// Kind is "cyrus".
func (c *Cyrus) Kind() string { return "cyrus" }

// Endpoint returns the listeners and the CA.
func (c *Cyrus) Endpoint() Endpoint {
	return Endpoint{Host: c.Host, Port: c.Port, TLSPort: c.TLSPort, CA: c.CA}
}

// Addr is the plain IMAP listener (STARTTLS offered), host:port.
func (c *Cyrus) Addr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }

// TLSAddr is the implicit-TLS listener (imaps), host:port.
func (c *Cyrus) TLSAddr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.TLSPort)) }

// ConfigPath is the imapd.conf in use.
func (c *Cyrus) ConfigPath() string { return filepath.Join(c.Dir, "imapd.conf") }

// LogPath is where Cyrus's syslog messages are written (see SyslogCaptured).
func (c *Cyrus) LogPath() string { return filepath.Join(c.Dir, "cyrus.log") }

func (c *Cyrus) outPath() string { return filepath.Join(c.Dir, "cyrus.out") }

// LogTail returns the last n lines of cyrus.log, after what the start script
// and master wrote to stderr, if anything.
func (c *Cyrus) LogTail(n int) string {
	c.syncLog()
	tail := logTail(c.LogPath(), n)
	if out := strings.TrimSpace(readFile(c.outPath())); out != "" {
		tail = out + "\n" + tail
	}
	return tail
}

// Mailbox returns the name a user sees for one of their folders, given its
// path below the personal namespace: Mailbox("Sent") is "INBOX.Sent" by
// default, "Sent" with AltNamespace; Mailbox("a", "b") is "INBOX.a.b".
// Mailbox("INBOX") is "INBOX".
func (c *Cyrus) Mailbox(path ...string) string {
	name := strings.Join(path, string(c.Separator))
	if strings.EqualFold(name, "INBOX") {
		return "INBOX"
	}
	return c.PersonalPrefix + name
}

// AddUser creates an account with an empty INBOX, or replaces its password;
// either way it can log in at once, before or after start. The name is
// lower-cased as Cyrus does with login names (username_tolower).
func (c *Cyrus) AddUser(name, password string) error {
	lower, err := checkCyrusAccount(name, password)
	if err != nil {
		return err
	}
	if lower == c.AdminUser {
		return fmt.Errorf("user name %q: is the admin, which must have no mailbox", name)
	}
	c.usersMu.Lock()
	defer c.usersMu.Unlock()
	if err := c.setPassword(lower, password); err != nil {
		return err
	}
	admin, err := c.adminClient()
	if err != nil {
		return fmt.Errorf("add user %q: %w", name, err)
	}
	defer closeClient(admin)
	return c.createInbox(admin, lower)
}

// Client logs in to the plain port as user with LOGIN; it is closed when the
// test ends.
func (c *Cyrus) Client(t testing.TB, user, password string) *imapclient.Client {
	t.Helper()
	return Login(t, c.Addr(), user, password)
}

// AdminClientAs logs in to the plain port as user through the admin, with
// SASL PLAIN authzid=user, authcid=AdminUser, the admin password: Cyrus's
// form of a master login (it has no user*master LOGIN). Closed when the test
// ends.
func (c *Cyrus) AdminClientAs(t testing.TB, user string) *imapclient.Client {
	t.Helper()
	cl, err := imapclient.DialInsecure(c.Addr(), &imapclient.Options{Dialer: &net.Dialer{Timeout: dialTimeout}})
	if err != nil {
		t.Fatalf("testenv: dial %s: %v", c.Addr(), err)
	}
	if err := cl.Authenticate(sasl.NewPlainClient(user, c.AdminUser, c.AdminPassword)); err != nil {
		cl.Close()
		t.Fatalf("testenv: AUTHENTICATE PLAIN as %q by %q at %s: %v", user, c.AdminUser, c.Addr(), err)
	}
	t.Cleanup(func() { closeClient(cl) })
	return cl
}

// Stop shuts Cyrus down gracefully (SIGTERM to master, which stops its
// children) and kills its process group if it has not exited within 10 s.
// Safe to call twice and after Kill.
func (c *Cyrus) Stop() error {
	err := c.shutdown(false)
	c.closeSink()
	return err
}

// Kill kills Cyrus's whole process group at once (SIGKILL), as a crash
// would. Safe to call twice and after Stop.
func (c *Cyrus) Kill() error {
	err := c.shutdown(true)
	c.closeSink()
	return err
}

func (c *Cyrus) shutdown(kill bool) error {
	c.stopOnce.Do(func() {
		if c.cmd == nil || c.cmd.Process == nil {
			return
		}
		c.stopErr = c.stopMaster(kill)
		// master's children (imapd) may still be dying, holding the
		// listeners and files in dir.
		if err := waitGroupExit(c.cmd.Process.Pid, stopTimeout); err != nil && c.stopErr == nil {
			c.stopErr = fmt.Errorf("cyrus: %w", err)
		}
	})
	return c.stopErr
}

// stopMaster ends master: SIGTERM and a bounded wait unless kill, then
// SIGKILL to the process group.
func (c *Cyrus) stopMaster(kill bool) error {
	var err error
	if !kill {
		if signalTerm(c.cmd.Process) == nil {
			t := time.NewTimer(stopTimeout)
			defer t.Stop()
			select {
			case <-c.exited:
				return nil
			case <-t.C:
				err = fmt.Errorf("cyrus did not stop within %v after SIGTERM; killed", stopTimeout)
			}
		}
	}
	killGroup(c.cmd.Process)
	<-c.exited
	return err
}

// Exited is closed when the master process has exited.
func (c *Cyrus) Exited() <-chan struct{} { return c.exited }

// syncLog makes sure cyrus.log holds every message Cyrus sent so far.
func (c *Cyrus) syncLog() {
	if c.sink != nil {
		c.sink.Sync()
	}
}

func (c *Cyrus) closeSink() {
	if c.sink != nil {
		c.sink.Close()
	}
}
