package testenv

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Defaults of DovecotOptions.
const (
	DefaultMasterUser           = "mailadmin"
	DefaultMasterPassword       = "mailadmin-secret"
	DefaultMasterSeparator      = "*"
	DefaultMaxUserIPConnections = 50
	DefaultMailUser             = "mail"
	DefaultStartTimeout         = 10 * time.Second
)

// stopTimeout bounds a graceful Stop before the process group is killed.
// Dovecot's master sleeps one second on shutdown by design (it waits for its
// children to close their listeners), so a graceful stop takes about 1 s.
const stopTimeout = 10 * time.Second

// portAttempts bounds how often Start picks new ports when the ones it chose
// were taken between choosing and Dovecot binding them.
const portAttempts = 3

// DovecotOptions configures a private Dovecot instance. The zero value is a
// usable configuration.
type DovecotOptions struct {
	// Separator is the hierarchy separator announced by the inbox namespace:
	// '/' (default) or '.'. With the default Maildir++ layout folders are
	// stored as <maildir>/.a.b whatever the separator, so a name may not
	// contain the other character ('.' with '/', '/' with '.').
	Separator rune
	// Layout is the maildir layout: "" for Maildir++ (Dovecot's default) or
	// "fs" for one directory per folder (<maildir>/a/b), which allows '.' in
	// names with the '/' separator.
	Layout string
	// Users are created before start: name → password.
	Users map[string]string
	// MasterUser and MasterPassword log in as any user, as
	// user<MasterSeparator>MasterUser + MasterPassword or with SASL PLAIN
	// authzid=user, authcid=MasterUser. Defaults: mailadmin,
	// mailadmin-secret, "*".
	MasterUser, MasterPassword, MasterSeparator string
	// MaxUserIPConnections is mail_max_userip_connections (default 50;
	// Dovecot's own default of 10 is too low for parallel copy tests).
	MaxUserIPConnections int
	// AutoCreateSpecialUse creates and subscribes Drafts, Sent, Trash, Junk
	// and Archive on a user's first login. By default they are announced with
	// their SPECIAL-USE attribute but only exist once created.
	AutoCreateSpecialUse bool
	// MailUser is the system account that owns the mail when Dovecot runs as
	// root (default "mail", in Debian's base-passwd). Ignored when not root.
	MailUser string
	// CA signs the server certificate. Default: a new CA in <dir>/tls.
	CA *CA
	// Fsync keeps Dovecot's default mail_fsync = optimized, for a benchmark
	// that wants production-like writes. Tests default to never.
	Fsync bool
	// Debug turns on auth_debug, mail_debug and verbose_ssl in the log.
	Debug bool
	// ExtraConfig is appended to dovecot.conf verbatim; later settings win.
	ExtraConfig string
	// Binary is the dovecot master binary. Default: DovecotBinary().
	Binary string
	// StartTimeout bounds the wait for the greeting (default 10 s).
	StartTimeout time.Duration
}

// Dovecot is a running private Dovecot instance; see Start.
type Dovecot struct {
	// Host is the address both listeners are bound to (127.0.0.1).
	Host string
	// Port offers plain IMAP with STARTTLS; TLSPort offers implicit TLS.
	Port, TLSPort int
	// MasterUser, MasterPassword and MasterSeparator as configured.
	MasterUser, MasterPassword, MasterSeparator string
	// Separator is the hierarchy separator.
	Separator rune
	// Dir holds everything: dovecot.conf, dovecot.log, mail/, run/, tls/.
	Dir string
	// CA signed the server certificate; clients verify with CA.CAFile.
	CA *CA
	// StartDuration is how long Start waited for the first greeting.
	StartDuration time.Duration

	mailRoot, usersDir string

	usersMu sync.Mutex

	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error // set before exited is closed

	stopOnce sync.Once
	stopErr  error
}

// StartDovecot starts a private Dovecot for the test and stops it when the
// test ends; it skips the test (or fails it, see RequireReal) when Dovecot is
// not installed. On failure the test log shows the tail of Dovecot's log.
//
// Its directory is made with os.MkdirTemp, not t.TempDir: t.TempDir's parents
// are mode 0700 and the mail user must be able to traverse them.
func StartDovecot(t testing.TB, opts DovecotOptions) *Dovecot {
	t.Helper()
	if opts.Binary == "" {
		opts.Binary = RequireDovecot(t)
	}
	return startForTest(t, "dovecot", "dovecot.log", func(ctx context.Context, dir string) (*Dovecot, error) { return Start(ctx, dir, opts) })
}

// Start starts a private Dovecot whose files all live in dir, which is
// created if missing. When running as root, dir is made mode 0711 and every
// parent of dir must be searchable by others (a directory under /tmp is).
// The caller must call Stop or Kill; dir is left in place.
func Start(ctx context.Context, dir string, opts DovecotOptions) (*Dovecot, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("dovecot dir: %w", err)
	}
	if strings.ContainsAny(dir, " \t\n\"'\\#{}=%<>:") {
		return nil, fmt.Errorf("dovecot dir %q: contains a character dovecot.conf would misread; use a plain path", dir)
	}
	d := &Dovecot{
		Host:            "127.0.0.1",
		MasterUser:      opts.MasterUser,
		MasterPassword:  opts.MasterPassword,
		MasterSeparator: opts.MasterSeparator,
		Separator:       opts.Separator,
		Dir:             dir,
		CA:              opts.CA,
		mailRoot:        filepath.Join(dir, "mail"),
		usersDir:        filepath.Join(dir, "users"),
	}
	cfg := dovecotConfig{
		Dir:                  dir,
		BaseDir:              filepath.Join(dir, "run"),
		StateDir:             filepath.Join(dir, "state"),
		LogPath:              d.LogPath(),
		MailRoot:             d.mailRoot,
		UsersDir:             d.usersDir,
		MasterFile:           filepath.Join(dir, "master-users"),
		Instance:             "imapmigrate-testenv",
		Host:                 d.Host,
		Separator:            string(opts.Separator),
		MasterSeparator:      opts.MasterSeparator,
		MaxUserIPConnections: opts.MaxUserIPConnections,
		SpecialUseAuto:       "no",
		MailFsync:            "never",
		Debug:                opts.Debug,
		Extra:                opts.ExtraConfig,
	}
	if opts.Layout == "fs" {
		cfg.LayoutSuffix = ":LAYOUT=fs"
	}
	if opts.Fsync {
		cfg.MailFsync = "optimized"
	}
	if opts.AutoCreateSpecialUse {
		cfg.SpecialUseAuto = "subscribe"
	}
	// Unix socket paths are limited to 108 bytes; the longest Dovecot puts
	// under base_dir is about 30.
	if len(cfg.BaseDir) > 75 {
		return nil, fmt.Errorf("dovecot dir %q: too long for unix sockets under it (keep it under 70 bytes)", dir)
	}

	if err := d.prepareDirs(&cfg, opts); err != nil {
		return nil, err
	}
	if d.CA == nil {
		if d.CA, err = NewCA(filepath.Join(dir, "tls")); err != nil {
			return nil, err
		}
	}
	cfg.CertFile, cfg.KeyFile = d.CA.CertFile, d.CA.KeyFile

	master := fmt.Sprintf("%s:{PLAIN}%s::::::\n", strings.ToLower(opts.MasterUser), opts.MasterPassword)
	if err := os.WriteFile(cfg.MasterFile, []byte(master), 0o644); err != nil {
		return nil, fmt.Errorf("write master users: %w", err)
	}
	for name, password := range opts.Users {
		if err := d.AddUser(name, password); err != nil {
			return nil, err
		}
	}

	for attempt := 1; ; attempt++ {
		err := d.start(ctx, &cfg, opts)
		if err == nil {
			return d, nil
		}
		if !errors.Is(err, errPortInUse) || attempt == portAttempts {
			return nil, err
		}
	}
}

func (o *DovecotOptions) setDefaults() error {
	if o.Separator == 0 {
		o.Separator = '/'
	}
	if o.Separator != '/' && o.Separator != '.' {
		return fmt.Errorf("DovecotOptions.Separator %q: must be '/' or '.'", o.Separator)
	}
	if o.Layout != "" && o.Layout != "fs" {
		return fmt.Errorf("DovecotOptions.Layout %q: must be \"\" (Maildir++) or \"fs\"", o.Layout)
	}
	if o.MasterUser == "" {
		o.MasterUser = DefaultMasterUser
	}
	if o.MasterPassword == "" {
		o.MasterPassword = DefaultMasterPassword
	}
	if o.MasterSeparator == "" {
		o.MasterSeparator = DefaultMasterSeparator
	}
	if len(o.MasterSeparator) != 1 || strings.ContainsAny(o.MasterSeparator, " \t\r\n:#\"\\{}") {
		return fmt.Errorf("DovecotOptions.MasterSeparator %q: must be one character like *", o.MasterSeparator)
	}
	if err := checkAccount(o.MasterUser, o.MasterPassword, o.MasterSeparator); err != nil {
		return fmt.Errorf("DovecotOptions.MasterUser: %w", err)
	}
	if o.MaxUserIPConnections == 0 {
		o.MaxUserIPConnections = DefaultMaxUserIPConnections
	}
	if o.MaxUserIPConnections < 0 {
		return fmt.Errorf("DovecotOptions.MaxUserIPConnections %d: must be positive", o.MaxUserIPConnections)
	}
	if o.MailUser == "" {
		o.MailUser = DefaultMailUser
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = DefaultStartTimeout
	}
	if o.Binary == "" {
		p, err := DovecotBinary()
		if err != nil {
			return err
		}
		o.Binary = p
	}
	return nil
}

// checkAccount rejects what would break a passwd-file line or a per-user
// file name.
func checkAccount(name, password, masterSep string) error {
	switch {
	case name == "":
		return errors.New("empty user name")
	case strings.ContainsAny(name, ":/\\\x00\r\n\t ") || strings.HasPrefix(name, "."):
		return fmt.Errorf("user name %q: must not contain ':', '/', '\\', white space or start with '.'", name)
	case masterSep != "" && strings.Contains(name, masterSep):
		return fmt.Errorf("user name %q: must not contain the master separator %q", name, masterSep)
	case strings.ContainsAny(password, ":\x00\r\n"):
		return fmt.Errorf("password of %q: must not contain ':' or line breaks", name)
	}
	return nil
}

// prepareDirs creates the directory tree and decides who owns the mail.
func (d *Dovecot) prepareDirs(cfg *dovecotConfig, opts DovecotOptions) error {
	for _, p := range []string{d.Dir, cfg.BaseDir, cfg.StateDir, d.usersDir, d.mailRoot} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			return fmt.Errorf("create dovecot dir: %w", err)
		}
	}
	if os.Geteuid() != 0 {
		me, err := user.Current()
		if err != nil {
			return fmt.Errorf("rootless dovecot: current user: %w", err)
		}
		grp, err := user.LookupGroupId(me.Gid)
		if err != nil {
			return fmt.Errorf("rootless dovecot: group %s: %w", me.Gid, err)
		}
		cfg.Self, cfg.SelfGroup = me.Username, grp.Name
		cfg.SelfUID, _ = strconv.Atoi(me.Uid)
		return nil
	}
	cfg.Root = true
	u, err := user.Lookup(opts.MailUser)
	if err != nil {
		return fmt.Errorf("DovecotOptions.MailUser %q: %w", opts.MailUser, err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil || uid == 0 {
		return fmt.Errorf("DovecotOptions.MailUser %q: need a numeric, non-zero uid (got %s:%s)", opts.MailUser, u.Uid, u.Gid)
	}
	cfg.MailUID, cfg.MailGID = uid, gid
	// The mail user reaches <dir>/mail through dir and its parents.
	if err := os.Chmod(d.Dir, 0o711); err != nil {
		return fmt.Errorf("chmod dovecot dir: %w", err)
	}
	for p := filepath.Dir(d.Dir); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("dovecot dir parent: %w", err)
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("dovecot dir %s: parent %s (mode %v) is not searchable by mail user %s; use a directory under /tmp or chmod o+x it", d.Dir, p, fi.Mode().Perm(), opts.MailUser)
		}
		if p == filepath.Dir(p) {
			break
		}
	}
	if err := os.Chown(d.mailRoot, uid, gid); err != nil {
		return fmt.Errorf("chown mail dir: %w", err)
	}
	return nil
}

var errPortInUse = errors.New("port in use")

// start picks two free ports, writes dovecot.conf, runs dovecot -F and waits
// for both listeners to greet.
func (d *Dovecot) start(ctx context.Context, cfg *dovecotConfig, opts DovecotOptions) error {
	ports, err := freePorts(d.Host, 2)
	if err != nil {
		return err
	}
	d.Port, d.TLSPort = ports[0], ports[1]
	cfg.Port, cfg.TLSPort = d.Port, d.TLSPort

	var conf bytes.Buffer
	if err := dovecotConfTemplate.Execute(&conf, cfg); err != nil {
		return fmt.Errorf("render dovecot.conf: %w", err)
	}
	if err := os.WriteFile(d.ConfigPath(), conf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write dovecot.conf: %w", err)
	}
	// Early fatal errors (bad config, bind failures) go to stderr before the
	// log process runs.
	out, err := os.Create(filepath.Join(d.Dir, "dovecot.out"))
	if err != nil {
		return fmt.Errorf("create dovecot.out: %w", err)
	}
	defer out.Close() // the child holds its own descriptor

	began := time.Now()
	cmd := exec.Command(opts.Binary, "-F", "-c", d.ConfigPath())
	cmd.Dir = d.Dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = childSysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start dovecot: %w", err)
	}
	d.cmd = cmd
	d.exited = make(chan struct{})
	d.stopOnce = sync.Once{}
	go func() {
		d.waitErr = cmd.Wait()
		close(d.exited)
	}()

	if err := d.waitReady(ctx, opts.StartTimeout); err != nil {
		_ = d.Kill()
		text := d.startupOutput()
		if strings.Contains(text, "Address already in use") {
			return fmt.Errorf("dovecot ports %d/%d: %w", d.Port, d.TLSPort, errPortInUse)
		}
		if text != "" {
			return fmt.Errorf("%w\n%s", err, text)
		}
		return err
	}
	d.StartDuration = time.Since(began)
	return nil
}

// waitReady polls until both listeners greet, Dovecot exits, or the timeout
// or ctx ends.
func (d *Dovecot) waitReady(ctx context.Context, timeout time.Duration) error {
	return pollReady(ctx, timeout, "dovecot", d.exited, func() error { return d.waitErr }, d.probe)
}

// probe reads the greeting on the plain port and on the TLS port, verifying
// the certificate against the CA.
func (d *Dovecot) probe(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var nd net.Dialer
	conn, err := nd.DialContext(ctx, "tcp", d.Addr())
	if err != nil {
		return err
	}
	err = readGreeting(ctx, conn)
	conn.Close()
	if err != nil {
		return err
	}
	td := tls.Dialer{Config: d.CA.ClientTLSConfig("")}
	tconn, err := td.DialContext(ctx, "tcp", d.TLSAddr())
	if err != nil {
		return err
	}
	defer tconn.Close()
	return readGreeting(ctx, tconn)
}

func readGreeting(ctx context.Context, conn net.Conn) error {
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return fmt.Errorf("read greeting: %w", err)
	}
	if !strings.HasPrefix(line, "* OK") {
		return fmt.Errorf("unexpected greeting %q", strings.TrimSpace(line))
	}
	return nil
}

// startupOutput returns what Dovecot wrote to stderr and the end of its log,
// for start-up errors.
func (d *Dovecot) startupOutput() string {
	b, _ := os.ReadFile(filepath.Join(d.Dir, "dovecot.out"))
	return strings.TrimSpace(string(b) + "\n" + d.LogTail(20))
}

// freePorts asks the kernel for n distinct free ports on host. They are
// released before Dovecot binds them, so Start retries on a collision.
func freePorts(host string, n int) ([]int, error) {
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		defer ln.Close()
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Addr is the plain IMAP listener (STARTTLS offered), host:port.
func (d *Dovecot) Addr() string { return net.JoinHostPort(d.Host, strconv.Itoa(d.Port)) }

// TLSAddr is the implicit-TLS listener (imaps), host:port.
func (d *Dovecot) TLSAddr() string { return net.JoinHostPort(d.Host, strconv.Itoa(d.TLSPort)) }

// ConfigPath is the dovecot.conf in use.
func (d *Dovecot) ConfigPath() string { return filepath.Join(d.Dir, "dovecot.conf") }

// LogPath is Dovecot's log file.
func (d *Dovecot) LogPath() string { return filepath.Join(d.Dir, "dovecot.log") }

// MailDir is the user's maildir. Dovecot lower-cases login names
// (auth_username_format = %Lu), so this does too.
func (d *Dovecot) MailDir(user string) string {
	return filepath.Join(d.mailRoot, strings.ToLower(user))
}

// MasterLogin is the login name that reaches user's mailbox with the master
// password: user*mailadmin by default.
func (d *Dovecot) MasterLogin(user string) string {
	return user + d.MasterSeparator + d.MasterUser
}

// AddUser creates an account, or replaces its password (a replaced password
// may take up to a second to be seen: Dovecot re-reads a passwd-file at most
// once a second). New accounts can log in at once, before or after start.
// The name is lower-cased like Dovecot does with login names.
func (d *Dovecot) AddUser(name, password string) error {
	if err := checkAccount(name, password, d.MasterSeparator); err != nil {
		return err
	}
	name = strings.ToLower(name)
	line := fmt.Sprintf("%s:{PLAIN}%s::::::\n", name, password)
	d.usersMu.Lock()
	defer d.usersMu.Unlock()
	tmp, err := os.CreateTemp(d.usersDir, ".new-")
	if err != nil {
		return fmt.Errorf("add user %q: %w", name, err)
	}
	_, err = tmp.WriteString(line)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// Readable by Dovecot's auth process, which does not run as root.
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(d.usersDir, name))
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("add user %q: %w", name, err)
	}
	return nil
}

// Stop shuts Dovecot down gracefully (SIGTERM; about one second) and kills
// its process group if it has not exited within 10 s. Safe to call twice and
// after Kill.
func (d *Dovecot) Stop() error {
	return d.shutdown(false)
}

// Kill kills Dovecot's whole process group at once (SIGKILL), as a crash
// would. Safe to call twice and after Stop.
func (d *Dovecot) Kill() error {
	return d.shutdown(true)
}

func (d *Dovecot) shutdown(kill bool) error {
	d.stopOnce.Do(func() {
		if d.cmd == nil || d.cmd.Process == nil {
			return
		}
		if !kill {
			if err := signalTerm(d.cmd.Process); err == nil {
				t := time.NewTimer(stopTimeout)
				defer t.Stop()
				select {
				case <-d.exited:
					return
				case <-t.C:
					d.stopErr = fmt.Errorf("dovecot did not stop within %v after SIGTERM; killed", stopTimeout)
				}
			}
		}
		killGroup(d.cmd.Process)
		<-d.exited
	})
	return d.stopErr
}

// Exited is closed when the dovecot master process has exited.
func (d *Dovecot) Exited() <-chan struct{} { return d.exited }

// logTail returns the last n lines of the file at path ("" if unreadable).
func logTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// LogTail returns the last n lines of Dovecot's log.
func (d *Dovecot) LogTail(n int) string { return logTail(d.LogPath(), n) }
