// Package httpserver is the HTTP face of `serve` (and, with health and
// metrics only, of `worker --listen`): it mounts the REST API, the
// dashboard, /metrics, /healthz and /readyz on one handler, adds the
// headers every response carries, and serves it over HTTP or HTTPS until
// its context ends, then shuts down gracefully.
//
// It is a package of its own, above internal/server, so that the API and
// the dashboard can use internal/server in their tests without a cycle.
package httpserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/migration"
)

// DefaultListen is serve's address: loopback only, so that nothing is
// reachable from the network until the admin says so.
const DefaultListen = "127.0.0.1:8080"

// Config says where and how to listen.
type Config struct {
	// Listen is host:port ("" is DefaultListen).
	Listen string
	// TLSCert and TLSKey are PEM files; both or neither (then plain HTTP).
	TLSCert, TLSKey string
	// ShutdownTimeout bounds the graceful shutdown (0 is 10 s).
	ShutdownTimeout time.Duration
}

// Validate checks the settings; each error names the setting and the fix.
func (c *Config) Validate() error {
	var bad migration.ValidationErrors
	listen := c.Listen
	if listen == "" {
		listen = DefaultListen
	}
	if _, port, err := net.SplitHostPort(listen); err != nil || port == "" {
		bad = append(bad, &migration.ValidationError{Field: "Listen", Value: c.Listen,
			Fix: "write HOST:PORT, e.g. 127.0.0.1:8080 (loopback only) or :8080 (every address)"})
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		field, value := "TLSKey", c.TLSKey
		if c.TLSCert == "" {
			field, value = "TLSCert", c.TLSCert
		}
		bad = append(bad, &migration.ValidationError{Field: field, Value: value,
			Fix: "give both the certificate and its private key (PEM files) for HTTPS, or neither for HTTP"})
	}
	if len(bad) > 0 {
		return bad
	}
	return nil
}

// Server is a listening HTTP server.
type Server struct {
	srv     *http.Server
	ln      net.Listener
	log     *slog.Logger
	timeout time.Duration
	tls     bool
}

// Listen binds the address at once (a port in use is an error before any
// work starts) and loads the TLS key pair, if any.
func Listen(c Config, h http.Handler, log *slog.Logger) (*Server, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	listen := c.Listen
	if listen == "" {
		listen = DefaultListen
	}
	var tlsConfig *tls.Config
	if c.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("--tls-cert %s / --tls-key %s: %w", c.TLSCert, c.TLSKey, err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w (use --listen HOST:PORT)", listen, err)
	}
	if tlsConfig != nil {
		ln = tls.NewListener(ln, tlsConfig)
	}
	timeout := c.ShutdownTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       5 * time.Minute, // a migration file upload
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	return &Server{srv: srv, ln: ln, log: log, timeout: timeout, tls: tlsConfig != nil}, nil
}

// Addr is the address listened on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// URL is the base URL of the server, for the log line that says where the
// dashboard is.
func (s *Server) URL() string {
	scheme := "http"
	if s.tls {
		scheme = "https"
	}
	return scheme + "://" + s.ln.Addr().String()
}

// Serve serves until ctx ends, then stops accepting connections and waits
// (at most the shutdown timeout) for the requests under way. Long-lived
// requests (live updates) see their context end.
func (s *Server) Serve(ctx context.Context) error {
	base, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.srv.BaseContext = func(net.Listener) context.Context { return base }
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	cancel() // ends streams, so that Shutdown does not wait for them
	sctx, scancel := context.WithTimeout(context.Background(), s.timeout)
	defer scancel()
	err := s.srv.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// Close closes the listener without serving (a start-up that fails later).
func (s *Server) Close() error { return s.ln.Close() }

// secure adds the headers every response carries: no sniffing, no framing,
// no referrer outside the site, and a content security policy that allows
// the dashboard's own scripts, styles and images only (no CDN, no inline
// script).
func secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

// logRequests logs each request at debug level, and every answer of 500 or
// more at warning level, once, here at the boundary.
func logRequests(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		level := slog.LevelDebug
		if rec.status >= 500 {
			level = slog.LevelWarn
		}
		// The path, not the query: a query may hold anything.
		log.Log(r.Context(), level, "http request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
			"duration", time.Since(start).Round(time.Millisecond), "remote", remoteHost(r))
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

// Flush lets live updates (server-sent events) through the recorder.
func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController find the connection's own methods.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return strings.Trim(host, "[]")
}
