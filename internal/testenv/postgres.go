package testenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresBinEnv names a directory holding initdb and postgres. It
// overrides the search of /usr/lib/postgresql/<major>/bin, where Debian's
// postgresql package installs them (not on PATH).
const PostgresBinEnv = "IMAPMIGRATE_PG_BIN"

// PostgresSuperuser is the superuser initdb creates in every testenv
// cluster; DSNs log in as it, without a password (trust authentication).
const PostgresSuperuser = "postgres"

// PostgresAccount is the system account initdb and postgres run as when the
// tests run as root (both refuse to run as root); Debian's postgresql
// package creates it.
const PostgresAccount = "postgres"

const (
	// postgresNotInstalled is the error when no binaries are found; the
	// tests fail with it rather than skip, so that make test runs them.
	postgresNotInstalled = "PostgreSQL is not installed: run `make deps` (Debian package postgresql)"
	// postgresInitTimeout bounds initdb, which takes 1-3 s.
	postgresInitTimeout = 2 * time.Minute
	// postgresStartTimeout bounds the wait until the server accepts
	// connections (100-300 ms usually); it fails at once if the server exits.
	postgresStartTimeout = 30 * time.Second
	// postgresStopTimeout bounds an immediate shutdown before the server's
	// process group is killed.
	postgresStopTimeout = 10 * time.Second
	// postgresSQLTimeout bounds CREATE DATABASE and DROP DATABASE.
	postgresSQLTimeout = time.Minute
	// postgresDirPrefix starts the name of every cluster's directory in
	// os.TempDir(), followed by the owning test process's pid and "-".
	postgresDirPrefix = "imapmigrate-postgres-"
)

// postgresSearchGlob is where Debian installs each major version's server
// binaries.
var postgresSearchGlob = "/usr/lib/postgresql/*/bin"

// postgresConf is appended to the postgresql.conf initdb wrote (later
// settings win). Durability is off: the cluster is thrown away.
const postgresConf = `
# imapmigrate testenv (internal/testenv/postgres.go): a throw-away cluster.
listen_addresses = '127.0.0.1'
unix_socket_directories = '%s'
max_connections = 200
shared_buffers = 32MB
fsync = off
full_page_writes = off
synchronous_commit = off
jit = off
timezone = 'UTC'
log_timezone = 'UTC'
`

// PostgresBinDir returns the directory of initdb and postgres:
// $IMAPMIGRATE_PG_BIN if set, else the newest major version's
// /usr/lib/postgresql/<major>/bin that has both.
func PostgresBinDir() (string, error) {
	if dir := os.Getenv(PostgresBinEnv); dir != "" {
		if err := postgresBinaries(dir); err != nil {
			return "", fmt.Errorf("%s (%s=%s: %v)", postgresNotInstalled, PostgresBinEnv, dir, err)
		}
		return dir, nil
	}
	dirs, _ := filepath.Glob(postgresSearchGlob)
	major := func(dir string) float64 { // 9.6 < 10 < 15
		v, err := strconv.ParseFloat(filepath.Base(filepath.Dir(dir)), 64)
		if err != nil {
			return -1
		}
		return v
	}
	slices.SortFunc(dirs, func(a, b string) int {
		ma, mb := major(a), major(b)
		switch {
		case ma > mb:
			return -1
		case ma < mb:
			return 1
		}
		return strings.Compare(a, b)
	})
	for _, dir := range dirs {
		if postgresBinaries(dir) == nil {
			return dir, nil
		}
	}
	return "", errors.New(postgresNotInstalled)
}

// postgresBinaries checks that dir has executable initdb and postgres.
func postgresBinaries(dir string) error {
	for _, name := range []string{"initdb", "postgres"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("no %s", name)
		}
		if !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0 {
			return fmt.Errorf("%s is not an executable file", name)
		}
	}
	return nil
}

// Postgres is a running private PostgreSQL cluster; see StartPostgres.
type Postgres struct {
	// Host is the address the server listens on (127.0.0.1); Port is a free
	// port picked at start.
	Host string
	Port int
	// User is the superuser DSNs log in as (PostgresSuperuser).
	User string
	// Dir holds everything: data/ (the cluster), run/ (the unix socket),
	// postgres.log (the server's stderr) and initdb.log.
	Dir, DataDir, SocketDir string
	// BinDir is where initdb and postgres came from; Version is the
	// cluster's major version (data/PG_VERSION).
	BinDir, Version string
	// InitDuration is how long initdb took; StartDuration how long the
	// server took to accept connections.
	InitDuration, StartDuration time.Duration

	account *postgresAccount // nil: run as the invoking user
	env     []string

	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error // set before exited is closed

	stopOnce sync.Once
	stopErr  error

	dbSeq atomic.Int64
}

// postgresAccount is who initdb and postgres run as when the tests run as
// root.
type postgresAccount struct {
	name     string
	uid, gid uint32
}

// StartPostgres starts a private PostgreSQL cluster for the test and stops
// it when the test ends; the directory is removed. Starting costs 1-3 s
// (initdb), so tests that only need an empty database use PostgresDB. It
// fails the test when PostgreSQL is not installed.
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	dir, err := newPostgresDir()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("testenv: remove postgres dir: %v", err)
		}
	})
	ctx := context.Background()
	if dl, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if deadline, ok := dl.Deadline(); ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithDeadline(ctx, deadline)
			defer cancel()
		}
	}
	p, err := startPostgres(ctx, dir)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() {
		if err := p.Stop(); err != nil {
			t.Errorf("testenv: %v", err)
		}
		if t.Failed() {
			t.Logf("testenv: postgres log tail (%s):\n%s", p.LogPath(), p.LogTail(50))
		}
	})
	return p
}

// sharedPG is the cluster PostgresDB hands out databases from: started on
// first use, stopped by PostgresMain.
var sharedPG struct {
	once    sync.Once
	pg      *Postgres
	err     error
	mu      sync.Mutex
	stopped bool
}

// PostgresDB returns the DSN of a new, empty database for the test, in a
// cluster shared by the whole test process, and drops the database when the
// test ends (WITH (FORCE): connections the test left open are ended). The
// cluster is started on first use (1-3 s) and stopped by PostgresMain, which
// the package's TestMain should call; without it the server still dies with
// the test process. The DSN has the form
// postgres://postgres@127.0.0.1:<port>/test_<n>?sslmode=disable.
func PostgresDB(t testing.TB) string {
	t.Helper()
	p, err := sharedPostgres()
	if err != nil {
		t.Fatalf("testenv: shared postgres: %v", err)
	}
	return p.NewDatabase(t)
}

func sharedPostgres() (*Postgres, error) {
	sharedPG.once.Do(func() {
		dir, err := newPostgresDir()
		if err != nil {
			sharedPG.err = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), postgresInitTimeout+postgresStartTimeout)
		defer cancel()
		sharedPG.pg, sharedPG.err = startPostgres(ctx, dir)
		if sharedPG.err != nil {
			_ = os.RemoveAll(dir)
		}
	})
	sharedPG.mu.Lock()
	defer sharedPG.mu.Unlock()
	if sharedPG.stopped {
		return nil, errors.New("the shared cluster was stopped by PostgresMain; PostgresDB is for tests, not for after m.Run")
	}
	return sharedPG.pg, sharedPG.err
}

// PostgresMain runs the tests and then stops the cluster PostgresDB started,
// if it did, and removes its directory. A package whose tests call
// PostgresDB has
//
//	func TestMain(m *testing.M) { os.Exit(testenv.PostgresMain(m)) }
//
// A cluster that does not stop makes the exit code 1.
func PostgresMain(m *testing.M) int {
	code := m.Run()
	if err := stopSharedPostgres(); err != nil {
		fmt.Fprintf(os.Stderr, "testenv: shared postgres: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

func stopSharedPostgres() error {
	sharedPG.mu.Lock()
	defer sharedPG.mu.Unlock()
	if sharedPG.stopped || sharedPG.pg == nil {
		sharedPG.stopped = true
		return nil
	}
	sharedPG.stopped = true
	p := sharedPG.pg
	err := p.Stop()
	if rerr := os.RemoveAll(p.Dir); rerr != nil && err == nil {
		err = rerr
	}
	return err
}

var sweepOnce sync.Once

// newPostgresDir makes a directory for a cluster in os.TempDir(), named
// after this process, and first removes those of test processes that have
// died (a cluster is 25-30 MB; a test binary that panicked, timed out or
// was killed, or a package without PostgresMain, leaves its directory).
func newPostgresDir() (string, error) {
	sweepOnce.Do(sweepPostgresDirs)
	dir, err := os.MkdirTemp("", fmt.Sprintf("%s%d-", postgresDirPrefix, os.Getpid()))
	if err != nil {
		return "", fmt.Errorf("postgres dir: %w", err)
	}
	// unix_socket_directories is quoted in postgresql.conf, and a socket
	// path (run/.s.PGSQL.<port>) is limited to 107 bytes.
	if strings.ContainsAny(dir, "'\\\n") || len(dir) > 80 {
		os.Remove(dir)
		return "", fmt.Errorf("postgres dir %q: too long for a unix socket under it or has a quote; set TMPDIR to a short plain path", dir)
	}
	return dir, nil
}

// sweepPostgresDirs removes the cluster directories of test processes that
// no longer run, unless their postmaster (data/postmaster.pid) still does.
func sweepPostgresDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), postgresDirPrefix+"*"))
	for _, dir := range dirs {
		rest := strings.TrimPrefix(filepath.Base(dir), postgresDirPrefix)
		owner, err := strconv.Atoi(rest[:max(strings.IndexByte(rest, '-'), 0)])
		if err != nil || owner == os.Getpid() || processAlive(owner) {
			continue
		}
		if pid := postmasterPID(filepath.Join(dir, "data")); pid > 0 && processAlive(pid) {
			continue
		}
		_ = os.RemoveAll(dir)
	}
}

// postmasterPID reads the pid from data/postmaster.pid, or returns 0.
func postmasterPID(dataDir string) int {
	lines := postmasterPIDFile(dataDir)
	if len(lines) == 0 {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(lines[0]))
	return pid
}

// postmasterPIDFile returns the lines of data/postmaster.pid: pid, data
// dir, start time, port, socket dir, listen address, shared memory key,
// status ("starting", "ready", "stopping").
func postmasterPIDFile(dataDir string) []string {
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		return nil
	}
	return strings.Split(string(b), "\n")
}

// startPostgres runs initdb into dir/data and starts the server; the caller
// stops it. As root both run as PostgresAccount, who then owns dir.
func startPostgres(ctx context.Context, dir string) (*Postgres, error) {
	bin, err := PostgresBinDir()
	if err != nil {
		return nil, err
	}
	p := &Postgres{
		Host:      "127.0.0.1",
		User:      PostgresSuperuser,
		Dir:       dir,
		DataDir:   filepath.Join(dir, "data"),
		SocketDir: filepath.Join(dir, "run"),
		BinDir:    bin,
		env:       postgresEnv(),
	}
	if os.Geteuid() == 0 {
		if p.account, err = lookupPostgresAccount(); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(p.SocketDir, 0o700); err != nil {
		return nil, fmt.Errorf("postgres dir: %w", err)
	}
	if a := p.account; a != nil {
		// dir is in os.TempDir() (/tmp, mode 1777), so the account reaches
		// it; a t.TempDir() would not do, its parents are mode 0700.
		for _, d := range []string{dir, p.SocketDir} {
			if err := os.Chown(d, int(a.uid), int(a.gid)); err != nil {
				return nil, fmt.Errorf("postgres dir: %w", err)
			}
		}
	}
	if err := p.initdb(ctx); err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		err := p.start(ctx)
		if err == nil {
			return p, nil
		}
		if !errors.Is(err, errPortInUse) || attempt == portAttempts {
			return nil, err
		}
	}
}

// lookupPostgresAccount finds PostgresAccount, for running as root.
func lookupPostgresAccount() (*postgresAccount, error) {
	if !postgresCanSwitchUser {
		return nil, errors.New("postgres: initdb and postgres refuse to run as root, and switching to another account is implemented on Linux only; run the tests as an ordinary user")
	}
	u, err := user.Lookup(PostgresAccount)
	if err != nil {
		return nil, fmt.Errorf("postgres: running as root, and initdb and postgres refuse to: they run as the %q account, which Debian's postgresql package creates (run `make deps`): %w", PostgresAccount, err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil || uid == 0 {
		return nil, fmt.Errorf("postgres: account %q: need a numeric, non-zero uid (got %s:%s)", PostgresAccount, u.Uid, u.Gid)
	}
	return &postgresAccount{name: PostgresAccount, uid: uint32(uid), gid: uint32(gid)}, nil
}

// postgresEnv is the environment without PG* variables (PGDATA, PGPORT,
// PGHOST, ... would steer initdb and the server).
func postgresEnv() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "PG") })
}

// initdb creates the cluster in DataDir and appends postgresConf to its
// postgresql.conf. Authentication is trust for the unix socket and for
// 127.0.0.1 and ::1.
func (p *Postgres) initdb(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, postgresInitTimeout)
	defer cancel()
	logPath := filepath.Join(p.Dir, "initdb.log")
	out, err := os.Create(logPath)
	if err != nil {
		return fmt.Errorf("create initdb.log: %w", err)
	}
	defer out.Close()
	began := time.Now()
	cmd := exec.CommandContext(ctx, filepath.Join(p.BinDir, "initdb"),
		"-D", p.DataDir, "-U", p.User, "--auth=trust", "-E", "UTF8", "--locale=C",
		"--no-sync", "--wal-segsize=1")
	cmd.Dir = p.Dir
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = postgresSysProcAttr(p.account, syscall.SIGKILL)
	cmd.Cancel = func() error { killGroup(cmd.Process); return nil }
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", err, ctx.Err())
		}
		return fmt.Errorf("initdb %s: %v\n%s", p.DataDir, err, logTail(logPath, 30))
	}
	p.InitDuration = time.Since(began)
	if b, err := os.ReadFile(filepath.Join(p.DataDir, "PG_VERSION")); err == nil {
		p.Version = strings.TrimSpace(string(b))
	}
	conf, err := os.OpenFile(filepath.Join(p.DataDir, "postgresql.conf"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("postgresql.conf: %w", err)
	}
	_, err = fmt.Fprintf(conf, postgresConf, p.SocketDir)
	if cerr := conf.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("postgresql.conf: %w", err)
	}
	return nil
}

// start runs the server on a free port and waits until it accepts
// connections. It returns errPortInUse when another process bound the port
// first.
func (p *Postgres) start(ctx context.Context) error {
	ports, err := freePorts(p.Host, 1)
	if err != nil {
		return err
	}
	p.Port = ports[0]
	out, err := os.OpenFile(p.LogPath(), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("create postgres.log: %w", err)
	}
	defer out.Close() // the child holds its own descriptor
	var logStart int64
	if fi, err := out.Stat(); err == nil {
		logStart = fi.Size()
	}

	began := time.Now()
	cmd := exec.Command(filepath.Join(p.BinDir, "postgres"), "-D", p.DataDir, "-p", strconv.Itoa(p.Port))
	cmd.Dir = p.Dir
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = out, out
	// SIGQUIT is an immediate shutdown: the postmaster ends its children and
	// removes its shared memory and socket lock files, which SIGKILL would
	// leave behind.
	cmd.SysProcAttr = postgresSysProcAttr(p.account, syscall.SIGQUIT)
	exited := make(chan struct{})
	if err := startLocked(cmd, func(err error) { p.waitErr = err; close(exited) }); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	p.cmd, p.exited = cmd, exited
	p.stopOnce = sync.Once{}

	err = pollReady(ctx, postgresStartTimeout, "postgres", p.exited, func() error { return p.waitErr }, p.probe)
	if err != nil {
		_ = p.Stop()
		text := ""
		if b, rerr := os.ReadFile(p.LogPath()); rerr == nil && int64(len(b)) >= logStart {
			text = strings.TrimSpace(string(b[logStart:]))
		}
		if strings.Contains(text, "Address already in use") {
			return fmt.Errorf("postgres port %d: %w", p.Port, errPortInUse)
		}
		if text != "" {
			return fmt.Errorf("%w\n%s", err, text)
		}
		return err
	}
	p.StartDuration = time.Since(began)
	return nil
}

// startLocked starts cmd from a goroutine locked to its OS thread, waits for
// it there and then calls done with Wait's error. The kernel sends the
// parent-death signal when the thread that forked the child exits, not the
// process, and the Go runtime ends a thread when a goroutine that locked it
// returns: a thread kept for the child's lifetime cannot be that one.
func startLocked(cmd *exec.Cmd, done func(waitErr error)) error {
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		done(cmd.Wait())
	}()
	return <-started
}

// probe succeeds once postmaster.pid says "ready" and a connection over TCP
// runs a query. Checking the file first keeps the log free of "the database
// system is starting up" lines.
func (p *Postgres) probe(ctx context.Context) error {
	lines := postmasterPIDFile(p.DataDir)
	if len(lines) < 8 || strings.TrimSpace(lines[7]) != "ready" {
		return errors.New("postmaster.pid does not say ready yet")
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, p.DSN("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	var one int
	return conn.QueryRow(ctx, "SELECT 1").Scan(&one)
}

// DSN is the URL of database db, for the superuser, over TCP:
// postgres://postgres@127.0.0.1:<port>/<db>?sslmode=disable.
func (p *Postgres) DSN(db string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(p.User),
		Host:     net.JoinHostPort(p.Host, strconv.Itoa(p.Port)),
		Path:     "/" + db,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// Addr is host:port.
func (p *Postgres) Addr() string { return net.JoinHostPort(p.Host, strconv.Itoa(p.Port)) }

// NewDatabase creates an empty database test_<n> (from template0: UTF8,
// collation C; 50-100 ms) and drops it when the test ends, WITH (FORCE), so that
// connections the test left open do not keep it. It returns its DSN.
func (p *Postgres) NewDatabase(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("test_%d", p.dbSeq.Add(1))
	create := "CREATE DATABASE " + name + " TEMPLATE template0"
	// PostgreSQL 15 made WAL_LOG the default strategy, which writes the
	// template's 7.5 MB to the WAL: 3-4 times slower than copying the files
	// (and two checkpoints, cheap with fsync off), the only strategy before.
	if v, err := strconv.Atoi(p.Version); err == nil && v >= 15 {
		create += " STRATEGY FILE_COPY"
	}
	if err := p.Exec(create); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() {
		if err := p.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("testenv: %v", err)
		}
	})
	return p.DSN(name)
}

// Exec runs one SQL statement as the superuser in the postgres database,
// on a connection of its own.
func (p *Postgres) Exec(sql string) error {
	select {
	case <-p.exited:
		return fmt.Errorf("postgres: %s: the server has exited (%v); log tail:\n%s", sql, p.waitErr, p.LogTail(20))
	default:
	}
	ctx, cancel := context.WithTimeout(context.Background(), postgresSQLTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, p.DSN("postgres"))
	if err != nil {
		return fmt.Errorf("postgres: %s: %w", sql, err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("postgres: %s: %w", sql, err)
	}
	return nil
}

// Stop shuts the server down at once (SIGQUIT, what pg_ctl stop -m
// immediate sends: the postmaster ends its children and removes its shared
// memory), and kills its process group if it has not exited within 10 s.
// It reports an error if the server had already exited on its own. Safe to
// call twice.
func (p *Postgres) Stop() error {
	p.stopOnce.Do(func() {
		if p.cmd == nil || p.cmd.Process == nil {
			return
		}
		select {
		case <-p.exited:
			p.stopErr = fmt.Errorf("postgres had exited before Stop: %v; log tail:\n%s", p.waitErr, p.LogTail(20))
			return
		default:
		}
		if err := p.cmd.Process.Signal(syscall.SIGQUIT); err == nil {
			t := time.NewTimer(postgresStopTimeout)
			defer t.Stop()
			select {
			case <-p.exited:
				return
			case <-t.C:
				p.stopErr = fmt.Errorf("postgres did not stop within %v after SIGQUIT; killed", postgresStopTimeout)
			}
		}
		killGroup(p.cmd.Process)
		<-p.exited
	})
	return p.stopErr
}

// Exited is closed when the postmaster has exited.
func (p *Postgres) Exited() <-chan struct{} { return p.exited }

// PID is the postmaster's process id.
func (p *Postgres) PID() int { return p.cmd.Process.Pid }

// LogPath is the server's log (its stderr).
func (p *Postgres) LogPath() string { return filepath.Join(p.Dir, "postgres.log") }

// LogTail returns the last n lines of the server's log.
func (p *Postgres) LogTail(n int) string { return logTail(p.LogPath(), n) }
