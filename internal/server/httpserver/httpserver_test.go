package httpserver_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/imapmigrate/imapmigrate/internal/migration"
	"github.com/imapmigrate/imapmigrate/internal/server/httpserver"
	"github.com/imapmigrate/imapmigrate/internal/store"
	"github.com/imapmigrate/imapmigrate/internal/testenv"
)

func get(t *testing.T, h http.Handler, path string) (*http.Response, map[string]string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	res := rec.Result()
	var body map[string]string
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
	}
	return res, body
}

func TestHealthAndReadiness(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir()+"/db", store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h := httpserver.Handler(httpserver.Parts{Store: st}, nil)

	res, body := get(t, h, "/healthz")
	if res.StatusCode != 200 || body["Status"] != "Healthy" {
		t.Fatalf("/healthz: %d %v", res.StatusCode, body)
	}
	res, body = get(t, h, "/readyz")
	if res.StatusCode != 200 || body["Status"] != "Ready" {
		t.Fatalf("/readyz: %d %v", res.StatusCode, body)
	}
	for _, name := range []string{"X-Content-Type-Options", "X-Frame-Options", "Content-Security-Policy", "Referrer-Policy"} {
		if res.Header.Get(name) == "" {
			t.Errorf("no %s header", name)
		}
	}

	// A database that does not answer: not ready, and the process is still
	// healthy.
	st.Close()
	res, body = get(t, h, "/readyz")
	if res.StatusCode != http.StatusServiceUnavailable || body["Status"] != "NotReady" {
		t.Fatalf("/readyz with the database closed: %d %v", res.StatusCode, body)
	}
	if res, _ := get(t, h, "/healthz"); res.StatusCode != 200 {
		t.Fatalf("/healthz with the database closed: %d", res.StatusCode)
	}
}

func TestPartsAreMounted(t *testing.T) {
	part := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, name+" "+r.URL.Path) })
	}
	h := httpserver.Handler(httpserver.Parts{API: part("api"), Web: part("web"), Metrics: part("metrics")}, nil)
	for path, want := range map[string]string{
		"/api/v1/batches": "api /api/v1/batches",
		"/":               "web /",
		"/batches/b1":     "web /batches/b1",
		"/metrics":        "metrics /metrics",
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if got := rec.Body.String(); got != want {
			t.Errorf("GET %s: %q, want %q", path, got, want)
		}
	}
	// Without a dashboard (worker --listen), other paths are not found.
	h = httpserver.Handler(httpserver.Parts{Metrics: part("metrics")}, nil)
	if res, _ := get(t, h, "/"); res.StatusCode != 404 {
		t.Fatalf("GET / without a dashboard: %d", res.StatusCode)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		c     httpserver.Config
		field string
	}{
		{httpserver.Config{Listen: "8080"}, "Listen"},
		{httpserver.Config{Listen: "localhost"}, "Listen"},
		{httpserver.Config{TLSCert: "c.pem"}, "TLSKey"},
		{httpserver.Config{TLSKey: "k.pem"}, "TLSCert"},
	} {
		err := tc.c.Validate()
		var ve *migration.ValidationError
		if !errors.As(err, &ve) || ve.Field != tc.field || ve.Fix == "" {
			t.Errorf("%+v: %v, want a problem with %s", tc.c, err, tc.field)
		}
	}
	for _, c := range []httpserver.Config{{}, {Listen: ":0"}, {Listen: "[::1]:8080", TLSCert: "c", TLSKey: "k"}} {
		if err := c.Validate(); err != nil {
			t.Errorf("%+v: %v", c, err)
		}
	}
}

// TestServeTLSAndShutdown serves HTTPS on a free port, answers a request,
// and returns once its context ends.
func TestServeTLSAndShutdown(t *testing.T) {
	ca := testenv.NewTestCA(t)
	h := httpserver.Handler(httpserver.Parts{}, nil)
	srv, err := httpserver.Listen(httpserver.Config{Listen: "127.0.0.1:0", TLSCert: ca.CertFile, TLSKey: ca.KeyFile}, h, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(srv.URL(), "https://127.0.0.1:") {
		t.Fatalf("URL %s", srv.URL())
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()

	client := &http.Client{Transport: &http.Transport{TLSClientConfig: ca.ClientTLSConfig("127.0.0.1")}}
	res, err := client.Get(srv.URL() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Strict-Transport-Security") == "" {
		t.Fatalf("GET /healthz over TLS: %d, HSTS %q", res.StatusCode, res.Header.Get("Strict-Transport-Security"))
	}
	client.CloseIdleConnections()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if _, err := client.Get(srv.URL() + "/healthz"); err == nil {
		t.Fatal("still serving after shutdown")
	}
}

func TestListenErrors(t *testing.T) {
	h := httpserver.Handler(httpserver.Parts{}, nil)
	srv, err := httpserver.Listen(httpserver.Config{Listen: "127.0.0.1:0"}, h, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	// The same port again: the error names the address and the flag.
	_, err = httpserver.Listen(httpserver.Config{Listen: srv.Addr().String()}, h, nil)
	if err == nil || !strings.Contains(err.Error(), srv.Addr().String()) || !strings.Contains(err.Error(), "--listen") {
		t.Fatalf("port in use: %v", err)
	}
	_, err = httpserver.Listen(httpserver.Config{Listen: "127.0.0.1:0", TLSCert: "/nonexistent/c.pem", TLSKey: "/nonexistent/k.pem"}, h, nil)
	if err == nil || !strings.Contains(err.Error(), "--tls-cert") {
		t.Fatalf("missing certificate: %v", err)
	}
}
