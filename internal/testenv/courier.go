package testenv

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
)

// Defaults of CourierOptions.
const (
	// DefaultCourierMaxPerIP is couriertcpd's -maxperip. Courier's own
	// default is 4 and Debian's 20, below what parallel copy tests open.
	DefaultCourierMaxPerIP = 100
	// DefaultCourierMaxDaemons is couriertcpd's -maxprocs, per listener
	// (Debian: 40).
	DefaultCourierMaxDaemons = 200
)

// courierServersDirEnv names the directory scripts/install-deps.sh extracts
// the servers that conflict with Dovecot as packages into (default
// /opt/imapmigrate-servers).
const courierServersDirEnv = "IMAPMIGRATE_SERVERS_DIR"

// courierBinaries are the extracted files Courier needs, relative to its
// root; their absence means `make deps` has not run.
var courierBinaries = []string{
	"usr/sbin/couriertcpd",
	"usr/lib/courier/courier/imaplogin",
	"usr/bin/imapd",
	"usr/bin/couriertls",
	"usr/lib/courier/courier-authlib/authdaemond",
	"usr/lib/courier/courier-authlib/makedatprog",
	"usr/lib/courier-authlib/libauthuserdb.so.0",
	"usr/sbin/userdbpw",
	"usr/bin/maildirmake.courier",
}

// courierMountPoints are the paths compiled into Courier that each instance
// bind-mounts its own directories over; they must exist on the host.
var courierMountPoints = []string{"/etc/courier", "/run/courier"}

// CourierRoot is where scripts/install-deps.sh extracts Courier:
// $IMAPMIGRATE_SERVERS_DIR/courier, by default /opt/imapmigrate-servers/courier.
func CourierRoot() string {
	dir := os.Getenv(courierServersDirEnv)
	if dir == "" {
		dir = "/opt/imapmigrate-servers"
	}
	return filepath.Join(dir, "courier")
}

// CourierAvailable reports why Courier cannot run here, or nil: it needs
// Linux, root (for its mount namespace), unshare(1), and the packages
// extracted by `make deps` under root.
func CourierAvailable(root string) error {
	if !courierOS {
		return errors.New("courier runs only on Linux (mount namespaces)")
	}
	for _, b := range courierBinaries {
		if _, err := os.Stat(filepath.Join(root, b)); err != nil {
			return fmt.Errorf("courier is not extracted in %s (%s missing): run make deps", root, b)
		}
	}
	if os.Geteuid() != 0 {
		return errors.New("courier runs in its own mount namespace, which needs root: run the tests as root")
	}
	return unshareWorks()
}

// unshareWorks checks once that unshare(1) can make the namespaces Courier
// runs in (a container without CAP_SYS_ADMIN cannot).
var unshareWorks = sync.OnceValue(func() error {
	p, err := exec.LookPath("unshare")
	if err != nil {
		return errors.New("unshare not found (util-linux): run make deps")
	}
	out, err := exec.Command(p, "--mount", "--propagation", "private", "--pid", "--fork", "--mount-proc", "true").CombinedOutput()
	if err != nil {
		return fmt.Errorf("unshare --mount --pid failed (needs CAP_SYS_ADMIN): %v: %s", err, bytes.TrimSpace(out))
	}
	return nil
})

// RequireCourier skips the test (or fails it, see RequireReal) when Courier
// cannot run here, and returns its root (CourierRoot).
func RequireCourier(t testing.TB) string {
	t.Helper()
	root := CourierRoot()
	err := CourierAvailable(root)
	what := "courier"
	if err != nil {
		what = "courier (" + err.Error() + ")"
	}
	RequireReal(t, what, err == nil)
	return root
}

// CourierOptions configures a private Courier IMAP. The zero value is a
// usable configuration.
type CourierOptions struct {
	// Users are created before start: name → password.
	Users map[string]string
	// MaxPerIP is couriertcpd's -maxperip (default 100): each listener
	// accepts MaxPerIP connections from one address at a time and closes
	// the next one without a greeting.
	MaxPerIP int
	// MaxDaemons is couriertcpd's -maxprocs per listener (default 200).
	MaxDaemons int
	// MailUser is the system account that owns the mail (default "mail",
	// in Debian's base-passwd). Inside the instance's namespace the courier
	// account has its uid and gid too.
	MailUser string
	// CA signs the server certificate. Default: a new CA in <dir>/tls.
	CA *CA
	// UseLocks sets IMAP_USELOCKS=1, as Debian has it: every scan of a
	// folder (SELECT, EXAMINE, APPEND, NOOP, ...) takes the dot-lock
	// tmp/courier.lock, and a session that finds it taken sleeps a second
	// before trying again, so concurrent sessions on one folder queue (30
	// at once took minutes on a loaded 2-CPU machine). Tests default to
	// IMAP_USELOCKS=0, which Courier documents as safe with a rare race
	// (a message fetched twice, a keyword update lost).
	UseLocks bool
	// Debug sets DEBUG_LOGIN=1 in authdaemonrc (authentication details in
	// courier.log, passwords not).
	Debug bool
	// ExtraConfig is sourced after etc/imapd and etc/imapd-ssl: shell
	// assignments such as IMAP_BROKENUIDV=1. Later settings win.
	ExtraConfig string
	// Root is the extracted Courier (default CourierRoot()).
	Root string
	// StartTimeout bounds the wait for both greetings (default 10 s).
	StartTimeout time.Duration
}

// Courier is a running private Courier IMAP 5; see StartCourierDir.
type Courier struct {
	// Host is the address both listeners are bound to (127.0.0.1).
	Host string
	// Port offers plain IMAP with STARTTLS; TLSPort offers implicit TLS.
	Port, TLSPort int
	// Dir holds everything: courier.sh, courier.log, etc/, run/, mail/.
	Dir string
	// CA signed the server certificate; clients verify with CA.CAFile.
	CA *CA
	// StartDuration is how long the start waited for the listeners and
	// authdaemond.
	StartDuration time.Duration

	root             string
	etcDir, mailRoot string
	mailUID, mailGID int

	usersMu     sync.Mutex
	users       map[string]courierAccount
	userdbStamp time.Time // mtime of the last userdb.dat written

	cmd     *exec.Cmd
	nsInit  int // PID (outside) of the namespace's PID 1, or 0
	exited  chan struct{}
	waitErr error // set before exited is closed

	stopOnce sync.Once
	stopErr  error
}

// courierAccount is one userdb entry.
type courierAccount struct {
	home, hash string
}

var _ Server = (*Courier)(nil)

// StartCourier starts a private Courier for the test and kills it when the
// test ends; it skips the test (or fails it, see RequireReal) when Courier
// cannot run here. On failure the test log shows the tail of courier.log.
//
// Its directory is made with os.MkdirTemp under /tmp, not t.TempDir, whose
// parents are mode 0700: the mail account must reach the maildirs.
func StartCourier(t testing.TB, opts CourierOptions) *Courier {
	t.Helper()
	if opts.Root == "" {
		opts.Root = RequireCourier(t)
	}
	return startForTest(t, "courier", "courier.log", func(ctx context.Context, dir string) (*Courier, error) { return StartCourierDir(ctx, dir, opts) })
}

// courierPlainPath matches what may appear unquoted in courier.sh and the
// sourced configuration files.
var courierPlainPath = regexp.MustCompile(`^/[A-Za-z0-9._/+-]*$`)

// StartCourierDir starts a private Courier whose files all live in dir, which is
// created if missing; dir is made mode 0711 and every parent must be
// searchable by others (a directory under /tmp is). It needs root (see
// CourierAvailable). The caller must call Stop or Kill; dir is left in
// place.
func StartCourierDir(ctx context.Context, dir string, opts CourierOptions) (*Courier, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	if err := CourierAvailable(opts.Root); err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("courier dir: %w", err)
	}
	for _, p := range []string{dir, opts.Root} {
		if !courierPlainPath.MatchString(p) {
			return nil, fmt.Errorf("courier path %q: only letters, digits and ._/+- are allowed (it is used unquoted in shell scripts)", p)
		}
	}
	c := &Courier{
		Host:     "127.0.0.1",
		Dir:      dir,
		CA:       opts.CA,
		root:     opts.Root,
		etcDir:   filepath.Join(dir, "etc"),
		mailRoot: filepath.Join(dir, "mail"),
		users:    map[string]courierAccount{},
	}
	cfg := courierConfig{
		Dir:        dir,
		Root:       opts.Root,
		EtcDir:     c.etcDir,
		RunDir:     filepath.Join(dir, "run"),
		NSDir:      filepath.Join(dir, "ns"),
		Host:       c.Host,
		MaxPerIP:   opts.MaxPerIP,
		MaxDaemons: opts.MaxDaemons,
		UseLocks:   opts.UseLocks,
		Debug:      opts.Debug,
		Extra:      opts.ExtraConfig,
	}
	if fi, err := os.Stat("/usr/lib/courier-authlib"); err == nil && fi.IsDir() {
		cfg.BindModules = true
	}
	if err := c.prepare(&cfg, opts); err != nil {
		return nil, err
	}
	for name, password := range opts.Users {
		if err := c.AddUser(name, password); err != nil {
			return nil, err
		}
	}
	for attempt := 1; ; attempt++ {
		err := c.start(ctx, &cfg, opts)
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, errPortInUse) || attempt == portAttempts {
			return nil, err
		}
	}
}

func (o *CourierOptions) setDefaults() error {
	if o.MaxPerIP == 0 {
		o.MaxPerIP = DefaultCourierMaxPerIP
	}
	if o.MaxPerIP < 1 {
		return fmt.Errorf("CourierOptions.MaxPerIP %d: must be positive", o.MaxPerIP)
	}
	if o.MaxDaemons == 0 {
		o.MaxDaemons = DefaultCourierMaxDaemons
	}
	if o.MaxDaemons < 1 {
		return fmt.Errorf("CourierOptions.MaxDaemons %d: must be positive", o.MaxDaemons)
	}
	if o.MailUser == "" {
		o.MailUser = DefaultMailUser
	}
	if o.Root == "" {
		o.Root = CourierRoot()
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = DefaultStartTimeout
	}
	return nil
}

// prepare creates the directory tree, the certificate file, the namespace's
// passwd and group files and the host's mount points.
func (c *Courier) prepare(cfg *courierConfig, opts CourierOptions) error {
	u, err := user.Lookup(opts.MailUser)
	if err != nil {
		return fmt.Errorf("CourierOptions.MailUser %q: %w", opts.MailUser, err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil || uid == 0 {
		return fmt.Errorf("CourierOptions.MailUser %q: need a numeric, non-zero uid (got %s:%s)", opts.MailUser, u.Uid, u.Gid)
	}
	c.mailUID, c.mailGID = uid, gid

	authDir := filepath.Join(cfg.RunDir, "authdaemon")
	for _, d := range []struct {
		path     string
		mode     os.FileMode
		uid, gid int
	}{
		{c.Dir, 0o711, 0, 0},
		{c.etcDir, 0o755, 0, 0},
		{cfg.NSDir, 0o755, 0, 0},
		{c.mailRoot, 0o755, 0, 0},
		// As Debian's tmpfiles.d: /run/courier root:courier 0775,
		// /run/courier/authdaemon courier:courier 0750.
		{cfg.RunDir, 0o775, 0, gid},
		{authDir, 0o750, uid, gid},
	} {
		if err := os.MkdirAll(d.path, d.mode); err != nil {
			return fmt.Errorf("create courier dir: %w", err)
		}
		if err := os.Chmod(d.path, d.mode); err != nil {
			return fmt.Errorf("chmod courier dir: %w", err)
		}
		if err := os.Chown(d.path, d.uid, d.gid); err != nil {
			return fmt.Errorf("chown courier dir: %w", err)
		}
	}
	if err := courierCheckParents(c.Dir, opts.MailUser); err != nil {
		return err
	}

	if c.CA == nil {
		if c.CA, err = NewCA(filepath.Join(c.Dir, "tls")); err != nil {
			return err
		}
	}
	var pemFile []byte
	for _, f := range []string{c.CA.CertFile, c.CA.KeyFile} {
		b, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("courier certificate: %w", err)
		}
		pemFile = append(pemFile, b...)
	}
	if err := courierWriteFile(filepath.Join(c.etcDir, "imapd.pem"), pemFile, 0o600, uid, gid); err != nil {
		return fmt.Errorf("courier certificate: %w", err)
	}

	// The courier account, in this instance's namespace only.
	for _, f := range []struct{ host, name, line string }{
		{"/etc/passwd", "passwd", fmt.Sprintf("courier:x:%d:%d:Courier mail server (imapmigrate testenv):/run/courier:/usr/sbin/nologin\n", uid, gid)},
		{"/etc/group", "group", fmt.Sprintf("courier:x:%d:\n", gid)},
	} {
		b, err := os.ReadFile(f.host)
		if err != nil {
			return fmt.Errorf("courier %s: %w", f.name, err)
		}
		var out bytes.Buffer
		for line := range strings.Lines(string(b)) {
			if !strings.HasPrefix(line, "courier:") {
				out.WriteString(line)
			}
		}
		if out.Len() > 0 && !bytes.HasSuffix(out.Bytes(), []byte("\n")) {
			out.WriteByte('\n')
		}
		out.WriteString(f.line)
		if err := os.WriteFile(filepath.Join(cfg.NSDir, f.name), out.Bytes(), 0o644); err != nil {
			return fmt.Errorf("courier %s: %w", f.name, err)
		}
	}

	for _, p := range courierMountPoints {
		if err := os.MkdirAll(p, 0o755); err != nil {
			return fmt.Errorf("courier mount point: %w", err)
		}
	}
	return nil
}

// courierCheckParents checks that who can reach dir through its parents.
func courierCheckParents(dir, who string) error {
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("courier dir parent: %w", err)
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("courier dir %s: parent %s (mode %v) is not searchable by mail user %s; use a directory under /tmp or chmod o+x it", dir, p, fi.Mode().Perm(), who)
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

// courierWriteFile writes a file atomically with the given mode and owner.
func courierWriteFile(path string, data []byte, mode os.FileMode, uid, gid int) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".new-")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), mode)
	}
	if err == nil {
		err = os.Chown(tmp.Name(), uid, gid)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

// courierEnv is the whole environment of Courier's processes: Debian's
// init scripts start them with env -i and the sourced configuration.
//
// GAM_CLIENT_ID gives the instance a gam_server of its own. imapd watches
// folders through libfam, which Debian's courier-imap gets from gamin: the
// first imapd to need it (UseLocks, IDLE) starts gam_server, inside the
// instance's PID namespace, listening on a socket named after the user and
// GAM_CLIENT_ID. Without it every instance's imapd (all running as the
// mail user) would share the first instance's gam_server and lose it, with
// the lock notifications they wait for, when that instance is killed.
func (c *Courier) courierEnv() []string {
	return []string{
		"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
		"LD_LIBRARY_PATH=" + filepath.Join(c.root, "usr/lib") + ":" + filepath.Join(c.root, "usr/lib/courier-authlib"),
		"GAM_CLIENT_ID=imapmigrate-" + filepath.Base(c.Dir),
	}
}

// start picks two free ports, writes the configuration, runs courier.sh
// under unshare and waits until both listeners greet and authdaemond
// answers.
func (c *Courier) start(ctx context.Context, cfg *courierConfig, opts CourierOptions) error {
	ports, err := freePorts(c.Host, 2)
	if err != nil {
		return err
	}
	c.Port, c.TLSPort = ports[0], ports[1]
	cfg.Port, cfg.TLSPort = c.Port, c.TLSPort

	files := []struct {
		tmpl *template.Template
		path string
		mode os.FileMode
	}{
		{courierImapdTemplate, filepath.Join(c.etcDir, "imapd"), 0o644},
		{courierImapdSSLTemplate, filepath.Join(c.etcDir, "imapd-ssl"), 0o644},
		{courierAuthdaemonrcTemplate, filepath.Join(c.etcDir, "authdaemonrc"), 0o660},
		{courierScriptTemplate, c.scriptPath(), 0o755},
	}
	if cfg.Extra != "" {
		files = append(files, struct {
			tmpl *template.Template
			path string
			mode os.FileMode
		}{courierExtraTemplate, filepath.Join(c.etcDir, "imapd-testenv"), 0o644})
	}
	for _, f := range files {
		var b bytes.Buffer
		if err := f.tmpl.Execute(&b, cfg); err != nil {
			return fmt.Errorf("render %s: %w", f.tmpl.Name(), err)
		}
		if err := os.WriteFile(f.path, b.Bytes(), f.mode); err != nil {
			return fmt.Errorf("write %s: %w", f.tmpl.Name(), err)
		}
	}

	log, err := os.Create(c.LogPath())
	if err != nil {
		return fmt.Errorf("create courier.log: %w", err)
	}
	defer log.Close() // the child holds its own descriptor

	unshare, err := exec.LookPath("unshare")
	if err != nil {
		return fmt.Errorf("courier: %w", err)
	}
	began := time.Now()
	cmd := exec.Command(unshare, "--mount", "--propagation", "private", "--pid", "--fork", "--kill-child", "--mount-proc",
		"/bin/bash", c.scriptPath())
	cmd.Dir = c.Dir
	cmd.Env = c.courierEnv()
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = courierSysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start courier: %w", err)
	}
	c.cmd = cmd
	c.nsInit = 0
	c.exited = make(chan struct{})
	c.stopOnce = sync.Once{}
	go func() {
		c.waitErr = cmd.Wait()
		close(c.exited)
	}()

	if err := c.waitReady(ctx, opts.StartTimeout); err != nil {
		_ = c.Kill()
		text := strings.TrimSpace(c.LogTail(30))
		if strings.Contains(text, "Address already in use") {
			return fmt.Errorf("courier ports %d/%d: %w", c.Port, c.TLSPort, errPortInUse)
		}
		if text != "" {
			return fmt.Errorf("%w\n%s", err, text)
		}
		return err
	}
	c.StartDuration = time.Since(began)
	// unshare's only child is the namespace's PID 1 (bash); it has forked
	// it by now, since Courier answered.
	c.nsInit = courierChild(cmd.Process.Pid)
	return nil
}

// waitReady polls until both listeners greet and authdaemond answers,
// Courier exits, or the timeout or ctx ends.
func (c *Courier) waitReady(ctx context.Context, timeout time.Duration) error {
	return pollReady(ctx, timeout, "courier", c.exited, func() error { return c.waitErr }, c.probe)
}

// probe asks authdaemond about a user that does not exist (a login right
// after start must not find it still starting), then reads the greeting on
// the plain port and on the TLS port, verifying the certificate.
func (c *Courier) probe(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := c.probeAuthdaemon(ctx); err != nil {
		return err
	}
	var nd net.Dialer
	conn, err := nd.DialContext(ctx, "tcp", c.Addr())
	if err != nil {
		return err
	}
	err = readGreeting(ctx, conn)
	conn.Close()
	if err != nil {
		return err
	}
	td := tls.Dialer{Config: c.CA.ClientTLSConfig("")}
	tconn, err := td.DialContext(ctx, "tcp", c.TLSAddr())
	if err != nil {
		return err
	}
	defer tconn.Close()
	return readGreeting(ctx, tconn)
}

// probeAuthdaemon sends authdaemond's PRE request (the lookup imapd's
// libcourierauth makes) through its socket, which inside the namespace is
// /run/courier/authdaemon/socket, and expects FAIL for a user that does not
// exist.
func (c *Courier) probeAuthdaemon(ctx context.Context) error {
	var nd net.Dialer
	conn, err := nd.DialContext(ctx, "unix", filepath.Join(c.Dir, "run", "authdaemon", "socket"))
	if err != nil {
		return fmt.Errorf("authdaemond: %w", err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	if _, err := conn.Write([]byte("PRE . imap imapmigrate-testenv-probe\n")); err != nil {
		return fmt.Errorf("authdaemond: %w", err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return fmt.Errorf("authdaemond: %w", err)
	}
	if line != "FAIL\n" {
		return fmt.Errorf("authdaemond: unexpected answer %q", line)
	}
	return nil
}

// Kind is "courier".
func (c *Courier) Kind() string { return "courier" }

// Endpoint returns the listeners and the CA.
func (c *Courier) Endpoint() Endpoint {
	return Endpoint{Host: c.Host, Port: c.Port, TLSPort: c.TLSPort, CA: c.CA}
}

// Addr is the plain IMAP listener (STARTTLS offered), host:port.
func (c *Courier) Addr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }

// TLSAddr is the implicit-TLS listener, host:port.
func (c *Courier) TLSAddr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.TLSPort)) }

// Client logs in to the plain port as user with LOGIN; closed when the test
// ends. Courier has no master user: tests log in as the user.
func (c *Courier) Client(t testing.TB, user, password string) *imapclient.Client {
	t.Helper()
	return Login(t, c.Addr(), user, password)
}

// Mailbox returns the name a user sees for one of their folders, given its
// path: Courier keeps every folder under INBOX, with '.' as separator, so
// Mailbox("Sent") is "INBOX.Sent" and Mailbox("a", "b") is "INBOX.a.b".
// Mailbox("INBOX") and Mailbox() are "INBOX".
func (c *Courier) Mailbox(path ...string) string {
	if len(path) == 0 || len(path) == 1 && strings.EqualFold(path[0], "INBOX") {
		return "INBOX"
	}
	return "INBOX." + strings.Join(path, ".")
}

// CourierStored returns the bytes Courier serves (BODY[], and RFC822.SIZE
// is their length) for a message appended as msg. Courier 5's APPEND
// writes the literal to the maildir with every CR dropped, bare or not,
// adds a LF when the literal's last byte is not LF, and serves every LF as
// CRLF. So a CRLF message ending in CRLF comes back verbatim; one without a
// final line end gets CRLF appended; bare LFs become CRLF; a bare CR
// vanishes.
func CourierStored(msg []byte) []byte {
	lf := bytes.ReplaceAll(msg, []byte("\r"), nil)
	if len(msg) == 0 || msg[len(msg)-1] != '\n' {
		lf = append(lf, '\n')
	}
	return bytes.ReplaceAll(lf, []byte("\n"), []byte("\r\n"))
}

// MailDir is user's maildir (INBOX; folder f is MailDir(user)/.f).
func (c *Courier) MailDir(user string) string {
	return filepath.Join(c.mailRoot, user, "Maildir")
}

// LogPath is the file every Courier process writes to.
func (c *Courier) LogPath() string { return filepath.Join(c.Dir, "courier.log") }

// LogTail returns the last n lines of courier.log.
func (c *Courier) LogTail(n int) string { return logTail(c.LogPath(), n) }

func (c *Courier) scriptPath() string { return filepath.Join(c.Dir, "courier.sh") }

// AddUser creates an account with an empty maildir, or replaces its
// password, before or after start; it can log in at once. Login names are
// case-sensitive (Courier keeps them as given).
//
// The account is a line of etc/userdb in the format makeuserdb(8)
// documents, with the password hashed by Courier's userdbpw -md5; etc/userdb.dat
// and etc/userdbshadow.dat are rebuilt with Courier's makedatprog, as
// makeuserdb does. authdaemond keeps userdb.dat open and reopens it when its
// mtime or inode changes; mtime has a resolution of one second, so each
// rebuild gets an mtime one second past the previous one.
func (c *Courier) AddUser(name, password string) error {
	if err := checkAccount(name, password, ""); err != nil {
		return err
	}
	if strings.ContainsAny(name, "|=") {
		return fmt.Errorf("user name %q: must not contain '|' or '='", name)
	}
	hash, err := c.hashPassword(password)
	if err != nil {
		return fmt.Errorf("add user %q: %w", name, err)
	}
	home := filepath.Join(c.mailRoot, name)

	c.usersMu.Lock()
	defer c.usersMu.Unlock()
	if _, ok := c.users[name]; !ok {
		if err := c.makeMaildir(home); err != nil {
			return fmt.Errorf("add user %q: %w", name, err)
		}
	}
	c.users[name] = courierAccount{home: home, hash: hash}
	if err := c.writeUserdb(); err != nil {
		return fmt.Errorf("add user %q: %w", name, err)
	}
	return nil
}

// hashPassword runs userdbpw -md5 (MD5-crypt; its default is DES crypt,
// which only looks at the first 8 characters).
func (c *Courier) hashPassword(password string) (string, error) {
	cmd := exec.Command(filepath.Join(c.root, "usr/sbin/userdbpw"), "-md5")
	cmd.Env = c.courierEnv()
	cmd.Stdin = strings.NewReader(password + "\n")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("userdbpw: %v: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	hash := strings.TrimSpace(string(out))
	if !strings.HasPrefix(hash, "$1$") || strings.ContainsAny(hash, "|\t\n") {
		return "", fmt.Errorf("userdbpw: unexpected output %q", hash)
	}
	return hash, nil
}

// makeMaildir creates the home directory and, with maildirmake as the mail
// account, its Maildir: IMAP_MAILBOX_SANITY_CHECK wants both owned by the
// account's uid and gid.
func (c *Courier) makeMaildir(home string) error {
	if err := os.Mkdir(home, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	if err := os.Chown(home, c.mailUID, c.mailGID); err != nil {
		return err
	}
	maildir := filepath.Join(home, "Maildir")
	if _, err := os.Stat(maildir); err == nil {
		return nil
	}
	cmd := exec.Command(filepath.Join(c.root, "usr/bin/maildirmake.courier"), maildir)
	cmd.Env = c.courierEnv()
	cmd.Dir = home
	cmd.SysProcAttr = courierCredential(c.mailUID, c.mailGID)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("maildirmake: %v: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// writeUserdb writes etc/userdb and rebuilds userdb.dat and
// userdbshadow.dat from it the way makeuserdb does: fields ending in "pw"
// go to the shadow database, every other field plus "_=" (the source file
// under /etc/courier/userdb, empty for the file itself) to userdb.dat.
// c.usersMu is held.
func (c *Courier) writeUserdb() error {
	var src, plain, shadow bytes.Buffer
	for _, name := range slices.Sorted(maps.Keys(c.users)) {
		a := c.users[name]
		fields := fmt.Sprintf("uid=%d|gid=%d|home=%s", c.mailUID, c.mailGID, a.home)
		fmt.Fprintf(&src, "%s\t%s|systempw=%s\n", name, fields, a.hash)
		fmt.Fprintf(&plain, "%s\t%s|_=\n", name, fields)
		fmt.Fprintf(&shadow, "%s\tsystempw=%s\n", name, a.hash)
	}
	// /etc/courier/userdb: makeuserdb refuses it with group or world
	// permissions.
	if err := courierWriteFile(filepath.Join(c.etcDir, "userdb"), src.Bytes(), 0o600, 0, 0); err != nil {
		return fmt.Errorf("write userdb: %w", err)
	}
	// The shadow database is opened afresh on each lookup; build it first
	// so that a user found in userdb.dat always has a password.
	shadowDat := filepath.Join(c.etcDir, "userdbshadow.dat")
	if err := c.makedat(&shadow, filepath.Join(c.etcDir, "userdbshadow.tmp"), shadowDat); err != nil {
		return err
	}
	if err := os.Chmod(shadowDat, 0o600); err != nil {
		return err
	}
	next := filepath.Join(c.etcDir, "userdb.dat.new")
	if err := c.makedat(&plain, filepath.Join(c.etcDir, "userdb.tmp"), next); err != nil {
		return err
	}
	stamp := time.Now().Truncate(time.Second)
	if !stamp.After(c.userdbStamp) {
		stamp = c.userdbStamp.Add(time.Second)
	}
	if err := os.Chmod(next, 0o644); err != nil {
		return err
	}
	if err := os.Chtimes(next, stamp, stamp); err != nil {
		return err
	}
	if err := os.Rename(next, filepath.Join(c.etcDir, "userdb.dat")); err != nil {
		return err
	}
	c.userdbStamp = stamp
	return nil
}

// makedat runs Courier's makedatprog: it reads "key<TAB>value" lines up to
// a line ".", writes the GDBM file tmp and renames it to dat.
func (c *Courier) makedat(lines *bytes.Buffer, tmp, dat string) error {
	cmd := exec.Command(filepath.Join(c.root, "usr/lib/courier/courier-authlib/makedatprog"), "-", tmp, dat)
	cmd.Env = c.courierEnv()
	cmd.Stdin = io.MultiReader(lines, strings.NewReader(".\n"))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("makedatprog %s: %v: %s", filepath.Base(dat), err, bytes.TrimSpace(out))
	}
	return nil
}

// Stop shuts Courier down: SIGTERM to every process, after which
// courier.sh exits and the kernel kills what is left of the namespace (a
// few milliseconds in all). Safe to call twice and after Kill.
func (c *Courier) Stop() error { return c.shutdown(false) }

// Kill kills every Courier process at once (SIGKILL), as a crash would. Safe
// to call twice and after Stop.
func (c *Courier) Kill() error { return c.shutdown(true) }

func (c *Courier) shutdown(kill bool) error {
	c.stopOnce.Do(func() {
		if c.cmd == nil || c.cmd.Process == nil {
			return
		}
		if !kill {
			if err := courierTermGroup(c.cmd.Process); err == nil {
				t := time.NewTimer(stopTimeout)
				defer t.Stop()
				select {
				case <-c.exited:
					return
				case <-t.C:
					c.stopErr = fmt.Errorf("courier did not stop within %v after SIGTERM; killed", stopTimeout)
				}
			}
		}
		// SIGKILL to the namespace's PID 1: the kernel kills every other
		// process of the namespace, PID 1 finishes exiting once they all
		// have, and unshare, still alive, reaps it and exits. So Exited
		// means every process is gone; killing unshare first would return
		// while the namespace is still being torn down.
		select {
		case <-c.exited:
			return
		default:
		}
		if c.nsInit > 0 && courierKillPID(c.nsInit) == nil {
			t := time.NewTimer(stopTimeout)
			defer t.Stop()
			select {
			case <-c.exited:
				return
			case <-t.C:
			}
		}
		killGroup(c.cmd.Process)
		<-c.exited
	})
	return c.stopErr
}

// Exited is closed when unshare, and with it every Courier process, has
// exited.
func (c *Courier) Exited() <-chan struct{} { return c.exited }
