package testenv

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(postgresHelperEnv); mode != "" {
		postgresHelper(mode)
		return
	}
	os.Exit(PostgresMain(m))
}

func pgConnect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect %s: %v", dsn, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func pgQueryString(t *testing.T, conn *pgx.Conn, sql string) string {
	t.Helper()
	var s string
	if err := conn.QueryRow(context.Background(), sql).Scan(&s); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return s
}

// TestStartPostgres: a private cluster starts with the test settings and
// accepts connections over TCP and over its unix socket.
func TestStartPostgres(t *testing.T) {
	p := StartPostgres(t)
	t.Logf("PostgreSQL %s from %s: initdb %v, start %v", p.Version, p.BinDir, p.InitDuration, p.StartDuration)
	conn := pgConnect(t, p.DSN("postgres"))
	for setting, want := range map[string]string{
		"fsync":              "off",
		"full_page_writes":   "off",
		"synchronous_commit": "off",
		"max_connections":    "200",
		"listen_addresses":   "127.0.0.1",
		"port":               strconv.Itoa(p.Port),
		"server_encoding":    "UTF8",
		"lc_collate":         "C",
		"TimeZone":           "UTC",
	} {
		if got := pgQueryString(t, conn, "SHOW "+setting); got != want {
			t.Errorf("%s = %q, want %q", setting, got, want)
		}
	}
	if got := pgQueryString(t, conn, "SELECT current_user"); got != PostgresSuperuser {
		t.Errorf("current_user = %q, want %q", got, PostgresSuperuser)
	}
	// The unix socket in run/ works too.
	sock := pgConnect(t, fmt.Sprintf("host=%s port=%d user=%s dbname=postgres", p.SocketDir, p.Port, p.User))
	if got := pgQueryString(t, sock, "SELECT coalesce(inet_client_addr()::text, 'unix')"); got != "unix" {
		t.Errorf("connection through %s came from %s", p.SocketDir, got)
	}
	if os.Geteuid() == 0 {
		fi, err := os.Stat(p.DataDir)
		if err != nil {
			t.Fatal(err)
		}
		if uid := fi.Sys().(*syscall.Stat_t).Uid; uid == 0 {
			t.Errorf("running as root, %s belongs to root; want the %s account", p.DataDir, PostgresAccount)
		}
	}
}

// TestStartPostgresCleanup: when the test that started a cluster ends, the
// server is gone, its port closed and its directory removed.
func TestStartPostgresCleanup(t *testing.T) {
	var p *Postgres
	t.Run("start", func(t *testing.T) {
		p = StartPostgres(t)
		pgConnect(t, p.DSN("postgres")) // closed first: cleanups run last-in first-out
	})
	if p == nil {
		t.Fatal("no cluster")
	}
	select {
	case <-p.Exited():
	default:
		t.Fatal("postmaster still running after its test ended")
	}
	if p.waitErr != nil {
		t.Errorf("postmaster exited with %v, want a clean immediate shutdown", p.waitErr)
	}
	if processAlive(p.PID()) {
		t.Errorf("postmaster %d is still alive", p.PID())
	}
	if conn, err := net.DialTimeout("tcp", p.Addr(), time.Second); err == nil {
		conn.Close()
		t.Errorf("%s still accepts connections", p.Addr())
	}
	if _, err := os.Stat(p.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s: %v, want it removed", p.Dir, err)
	}
}

// TestPostgresDB: two databases of the shared cluster are distinct, empty
// and usable at the same time.
func TestPostgresDB(t *testing.T) {
	began := time.Now()
	a := PostgresDB(t)
	first := time.Since(began)
	began = time.Now()
	b := PostgresDB(t)
	t.Logf("first PostgresDB %v (starts the shared cluster unless another test did), second %v", first, time.Since(began))
	if a == b {
		t.Fatalf("two PostgresDB calls returned the same DSN %s", a)
	}
	dsns := []string{a, b}
	names := make([]string, 2)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, dsn := range dsns {
		conn := pgConnect(t, dsn)
		names[i] = pgQueryString(t, conn, "SELECT current_database()")
		if n := pgQueryString(t, conn, "SELECT count(*)::text FROM pg_class WHERE relnamespace = 'public'::regnamespace"); n != "0" {
			t.Errorf("%s: %s relations in public, want an empty database", dsn, n)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fillTable(conn, i)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("%s: %v", dsns[i], err)
		}
	}
	if names[0] == names[1] || !strings.HasPrefix(names[0], "test_") {
		t.Errorf("databases %q and %q: want two distinct test_<n>", names[0], names[1])
	}
	// Each sees its own rows only.
	for i, dsn := range dsns {
		conn := pgConnect(t, dsn)
		if got, want := pgQueryString(t, conn, "SELECT string_agg(DISTINCT owner::text, ',') FROM items"), strconv.Itoa(i); got != want {
			t.Errorf("%s: rows of writers %s, want only %s", dsn, got, want)
		}
	}
}

// fillTable creates a table and writes to it in transactions, as a test's
// code would.
func fillTable(conn *pgx.Conn, owner int) error {
	ctx := context.Background()
	if _, err := conn.Exec(ctx, "CREATE TABLE items (id serial PRIMARY KEY, owner int NOT NULL, body text)"); err != nil {
		return err
	}
	for i := range 50 {
		tx, err := conn.Begin(ctx)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "INSERT INTO items (owner, body) VALUES ($1, $2)", owner, strings.Repeat("x", i)); err != nil {
			tx.Rollback(ctx)
			return err
		}
		if err := tx.Commit(ctx); err != nil {
			return err
		}
	}
	return nil
}

// TestPostgresDBDropped: a test's database is dropped when it ends, even
// with a connection the test left open.
func TestPostgresDBDropped(t *testing.T) {
	var dsn string
	var leaked *pgx.Conn
	t.Run("use", func(t *testing.T) {
		dsn = PostgresDB(t)
		ctx := context.Background()
		var err error
		if leaked, err = pgx.Connect(ctx, dsn); err != nil { // never closed by the test
			t.Fatal(err)
		}
		if _, err := leaked.Exec(ctx, "CREATE TABLE t (x int)"); err != nil {
			t.Fatal(err)
		}
	})
	defer leaked.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err == nil {
		conn.Close(ctx)
		t.Fatalf("%s: still there after its test ended", dsn)
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "3D000" { // invalid_catalog_name
		t.Fatalf("%s: %v, want database does not exist (3D000)", dsn, err)
	}
}

// TestPostgresDBParallel: parallel tests each get their own database.
func TestPostgresDBParallel(t *testing.T) {
	const n = 8
	var mu sync.Mutex
	seen := map[string]bool{}
	var total time.Duration
	PostgresDB(t) // the cluster is up before timing
	t.Run("group", func(t *testing.T) {
		for i := range n {
			t.Run(strconv.Itoa(i), func(t *testing.T) {
				t.Parallel()
				began := time.Now()
				dsn := PostgresDB(t)
				took := time.Since(began)
				conn := pgConnect(t, dsn)
				if err := fillTable(conn, i); err != nil {
					t.Fatal(err)
				}
				mu.Lock()
				defer mu.Unlock()
				if seen[dsn] {
					t.Errorf("DSN %s handed out twice", dsn)
				}
				seen[dsn] = true
				total += took
			})
		}
	})
	t.Logf("PostgresDB: %v on average over %d parallel tests", total/n, n)
}

// postgresHelperEnv makes the test binary a helper process that starts a
// cluster, prints its postmaster's pid, port and directory, and then exits
// without stopping it ("exit") or waits to be killed ("kill").
const postgresHelperEnv = "IMAPMIGRATE_TESTENV_PG_HELPER"

func postgresHelper(mode string) {
	var p *Postgres
	var err error
	switch mode {
	case "exit": // the shared cluster, as in a package without PostgresMain
		p, err = sharedPostgres()
	case "kill":
		dir, derr := newPostgresDir()
		if derr != nil {
			err = derr
			break
		}
		p, err = startPostgres(context.Background(), dir)
	default:
		err = fmt.Errorf("unknown mode %q", mode)
	}
	if err != nil {
		fmt.Printf("ERROR %v\n", strings.ReplaceAll(err.Error(), "\n", " | "))
		os.Exit(2)
	}
	fmt.Printf("READY %d %d %s\n", p.PID(), p.Port, p.Dir)
	if mode == "exit" {
		os.Exit(0)
	}
	select {}
}

// TestPostgresDiesWithTestProcess: a cluster does not outlive the test
// process that started it, whether that exits without stopping it (a
// package without PostgresMain) or is killed; the postmaster's
// parent-death signal makes it shut down.
func TestPostgresDiesWithTestProcess(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the parent-death signal is Linux's")
	}
	for _, mode := range []string{"exit", "kill"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), postgresHelperEnv+"="+mode)
			cmd.Stderr = os.Stderr
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			line, err := bufio.NewReader(stdout).ReadString('\n')
			if err != nil {
				t.Fatalf("helper: %v (exit %v)", err, cmd.Wait())
			}
			var pid, port int
			var dir string
			if _, err := fmt.Sscanf(line, "READY %d %d %s", &pid, &port, &dir); err != nil {
				t.Fatalf("helper said %q", line)
			}
			t.Cleanup(func() { os.RemoveAll(dir) })
			if mode == "kill" {
				if err := cmd.Process.Kill(); err != nil {
					t.Fatal(err)
				}
			}
			werr := cmd.Wait()
			t.Logf("helper %d exited: %v; postmaster %d, port %d", cmd.Process.Pid, werr, pid, port)
			addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
			deadline := time.Now().Add(20 * time.Second)
			for processAlive(pid) || portOpen(addr) {
				if time.Now().After(deadline) {
					t.Fatalf("postmaster %d (alive %v, port %d open %v) outlived its test process by 20 s; log:\n%s",
						pid, processAlive(pid), port, portOpen(addr), logTail(filepath.Join(dir, "postgres.log"), 20))
				}
				time.Sleep(10 * time.Millisecond)
			}
			// An immediate shutdown, not a kill: the postmaster removed its
			// lock file (and its shared memory) on the way out.
			if _, err := os.Stat(filepath.Join(dir, "data", "postmaster.pid")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("postmaster.pid: %v, want it removed by a clean shutdown", err)
			}
		})
	}
}

func portOpen(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// TestPostgresBinDir: IMAPMIGRATE_PG_BIN wins, and a wrong one says what
// to do.
func TestPostgresBinDir(t *testing.T) {
	dir, err := PostgresBinDir()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Setenv(PostgresBinEnv, dir)
	if got, err := PostgresBinDir(); err != nil || got != dir {
		t.Errorf("with %s=%s: %q, %v", PostgresBinEnv, dir, got, err)
	}
	t.Setenv(PostgresBinEnv, t.TempDir())
	_, err = PostgresBinDir()
	if err == nil || !strings.Contains(err.Error(), "make deps") {
		t.Errorf("with an empty %s: %v, want the not-installed error", PostgresBinEnv, err)
	}
}

// TestSweepPostgresDirs: the directory of a test process that has died is
// removed; those of live processes are kept.
func TestSweepPostgresDirs(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("processAlive is Linux's")
	}
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	mk := func(pid int) string {
		dir, err := os.MkdirTemp("", fmt.Sprintf("%s%d-", postgresDirPrefix, pid))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		if err := os.MkdirAll(filepath.Join(dir, "data", "base"), 0o700); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	stale := mk(dead.Process.Pid)
	// A dead owner whose postmaster still runs (here: this process) is kept.
	orphan := mk(dead.Process.Pid)
	if err := os.WriteFile(filepath.Join(orphan, "data", "postmaster.pid"), fmt.Appendf(nil, "%d\n", os.Getpid()), 0o600); err != nil {
		t.Fatal(err)
	}
	mine, parent := mk(os.Getpid()), mk(os.Getppid())
	sweepPostgresDirs()
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s of dead process %d: %v, want it removed", stale, dead.Process.Pid, err)
	}
	for _, dir := range []string{orphan, mine, parent} {
		if _, err := os.Stat(dir); err != nil {
			t.Errorf("%s: %v, want it kept", dir, err)
		}
	}
}
