package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/imapmigrate/imapmigrate/internal/auth"
	"github.com/imapmigrate/imapmigrate/internal/secret"
	"github.com/imapmigrate/imapmigrate/internal/server"
	"github.com/imapmigrate/imapmigrate/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.PostgresMain(m)) }

// Secrets the tests give; no answer may hold one.
const (
	adminSecret  = "Tgt-Admin-Secret-7"
	terrySecret  = "Terry-Src-Secret-1"
	kimSecret    = "Kim-Src-Secret-2"
	newSecret    = "Terry-New-Secret-3"
	adminAccount = "Alice-Account-Secret-4"
)

// testKDF makes password hashes cheap in tests.
var testKDF = auth.KDF{Time: 1, MemoryKiB: 64, Threads: 1}

// env is the API on a real service and store, with a source and a target
// IMAP server in process and a valid API token.
type env struct {
	t     *testing.T
	srv   *server.Server
	h     http.Handler
	token string
	src   *testenv.MemServer
	tgt   *testenv.MemServer

	mu      sync.Mutex
	answers []string // every body served, checked for secrets at the end
}

// engine is a database the suite runs on: SQLite always, PostgreSQL where
// it is installed.
type engine struct {
	name string
	dsn  func(t *testing.T) string // "" is SQLite in the data directory
}

func engines() []engine {
	return []engine{
		{"sqlite", func(*testing.T) string { return "" }},
		{"postgres", func(t *testing.T) string {
			_, err := testenv.PostgresBinDir()
			testenv.RequireReal(t, "PostgreSQL", err == nil)
			return testenv.PostgresDB(t)
		}},
	}
}

// onEngines runs fn on each engine.
func onEngines(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, eng := range engines() {
		t.Run(eng.name, func(t *testing.T) { fn(t, newEnv(t, eng.dsn(t))) })
	}
}

func newEnv(t *testing.T, dsn string) *env {
	t.Helper()
	t.Setenv(secret.EnvKey, "")
	ctx := context.Background()
	srv, err := server.Open(ctx, server.Config{DataDir: t.TempDir(), DB: dsn})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	srv.Auth.KDF = testKDF
	if _, err := srv.Auth.AddAdmin(ctx, "alice", adminAccount); err != nil {
		t.Fatal(err)
	}
	token, _, err := srv.Auth.NewToken(ctx, "alice", "ci")
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := &env{t: t, srv: srv, token: token,
		src: testenv.StartMemServer(t, testenv.MemServerOptions{Users: map[string]string{"terry": terrySecret, "kim": kimSecret}}),
		tgt: testenv.StartMemServer(t, testenv.MemServerOptions{Users: map[string]string{"terry@new.example": "x", "kim@new.example": "y"},
			MasterUser: "mailadmin", MasterPassword: adminSecret}),
	}
	e.h = New(Config{Service: srv.Service, Auth: srv.Auth, Log: log})
	t.Cleanup(e.checkSecrets)
	return e
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// checkSecrets fails the test if an answer held a password or the token.
func (e *env) checkSecrets() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, body := range e.answers {
		for _, s := range []string{adminSecret, terrySecret, kimSecret, newSecret, adminAccount, e.token} {
			if strings.Contains(body, s) {
				e.t.Errorf("an answer holds a secret (%.4s…):\n%s", s, body)
			}
		}
	}
}

// answer is a response as the tests read it.
type answer struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v.
func (a *answer) JSON(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.Body, v); err != nil {
		t.Fatalf("answer %d is not JSON (%v):\n%s", a.Status, err, a.Body)
	}
}

// Error is the body as an error answer.
func (a *answer) Error(t *testing.T) errorBody {
	t.Helper()
	var b errorBody
	a.JSON(t, &b)
	if b.Error == "" || b.Problems == nil {
		t.Fatalf("answer %d is not {Error, Problems}:\n%s", a.Status, a.Body)
	}
	return b
}

// do sends a request with the token; body is JSON-encoded unless it is
// an io.Reader (sent as is, with contentType).
func (e *env) do(method, path string, body any) *answer {
	return e.send(method, path, body, "application/json", "Bearer "+e.token)
}

func (e *env) send(method, path string, body any, contentType, authorization string) *answer {
	e.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case io.Reader:
		r = b
	case string:
		r = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		r = bytes.NewReader(j)
	}
	req := httptest.NewRequest(method, path, r)
	if r != nil && contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	a := &answer{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
	e.mu.Lock()
	e.answers = append(e.answers, rec.Body.String())
	e.mu.Unlock()
	return a
}

// want fails the test unless the answer has status.
func (a *answer) want(t *testing.T, status int, what string) *answer {
	t.Helper()
	if a.Status != status {
		t.Fatalf("%s: status %d, want %d:\n%s", what, a.Status, status, a.Body)
	}
	return a
}

// form is a multipart/form-data body: fields, and the migration file in
// field csv when file is not "".
func form(t *testing.T, file string, fields ...string) (io.Reader, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for i := 0; i+1 < len(fields); i += 2 {
		mw.WriteField(fields[i], fields[i+1])
	}
	if file != "" {
		fw, err := mw.CreateFormFile("csv", "users.csv")
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(fw, file)
	}
	mw.Close()
	return &buf, mw.FormDataContentType()
}

// endpoints creates the source and target endpoints, "old" and "new",
// through the API (the connection tested, as for real).
func (e *env) endpoints() {
	e.t.Helper()
	e.do("POST", "/api/v1/endpoints", map[string]any{"Name": "old", "RemoteServer": e.src.Host, "Port": e.src.TLSPort,
		"CAFile": e.src.CA.CAFile}).want(e.t, http.StatusCreated, "source endpoint")
	e.do("POST", "/api/v1/endpoints", map[string]any{"Name": "new", "RemoteServer": e.tgt.Host, "Port": e.tgt.TLSPort,
		"CAFile": e.tgt.CA.CAFile, "MailboxAccess": "master", "AdminUser": "mailadmin", "AdminPassword": adminSecret,
		"TestMailbox": "terry@new.example"}).want(e.t, http.StatusCreated, "target endpoint")
}

// usersCSV is a good migration file of two users.
const usersCSV = "EmailAddress,UserName,Password\r\nterry@new.example,terry," + terrySecret + "\r\nkim@new.example,kim," + kimSecret + "\r\n"

// batch creates batch name of the two users.
func (e *env) batch(name string) {
	e.t.Helper()
	e.do("POST", "/api/v1/batches", map[string]any{"Name": name, "SourceEndpoint": "old", "TargetEndpoint": "new", "CSVData": usersCSV}).
		want(e.t, http.StatusCreated, "batch "+name)
}
