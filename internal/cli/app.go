package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/imapmigrate/imapmigrate/internal/csvfile"
	"github.com/imapmigrate/imapmigrate/internal/imapconn"
	"github.com/imapmigrate/imapmigrate/internal/migration"
	"github.com/imapmigrate/imapmigrate/internal/secret"
	"github.com/imapmigrate/imapmigrate/internal/store"
)

// app is what the service commands share: the store, the key, the service.
type app struct {
	store *store.Store
	box   *secret.Box
	svc   *migration.Service
	log   *slog.Logger
}

// openApp opens the database under --data-dir (or $IMAPMIGRATE_DB).
func openApp(ctx context.Context, g *globalOptions) (*app, error) {
	log, err := newLogger(g.stderr, g.logLevel)
	if err != nil {
		return nil, withExit(ExitUsage, err)
	}
	if err := g.validateOutput(); err != nil {
		return nil, err
	}
	path := os.Getenv("IMAPMIGRATE_DB")
	if g.db != "" {
		path = g.db
	}
	if path == "" {
		path = filepath.Join(g.dataDir, "imapmigrate.db")
	}
	if err := os.MkdirAll(g.dataDir, 0o700); err != nil {
		return nil, withExit(ExitUsage, fmt.Errorf("--data-dir: %w", err))
	}
	st, err := store.Open(ctx, path)
	if err != nil {
		return nil, withExit(ExitUsage, err)
	}
	// The key must be the one that sealed the database's passwords: a
	// missing or other key is refused, not replaced.
	box, err := secret.OpenFor(ctx, g.dataDir, st)
	if err != nil {
		st.Close()
		return nil, withExit(ExitUsage, fmt.Errorf("database %s: %w", path, err))
	}
	svc := &migration.Service{Store: st, Box: box, Probe: func(ctx context.Context, cfg *imapconn.Config) error {
		if cfg.User == "" {
			r := imapconn.Probe(ctx, cfg, false, log)
			if f := r.FirstFailure(); f != nil {
				return fmt.Errorf("%s: %s — %s", f.Name, f.Detail, f.Fix)
			}
			return nil
		}
		c, err := imapconn.Connect(ctx, cfg, log)
		if err != nil {
			return err
		}
		return c.Close()
	}}
	return &app{store: st, box: box, svc: svc, log: log}, nil
}

func (a *app) close() { a.store.Close() }

// ownerID names this process in leases.
func ownerID() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	rand.Read(b)
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// serviceError maps a use case's error to an exit status: bad input is 1
// (the message says what to fix), anything else 2.
func serviceError(err error) error {
	if err == nil {
		return nil
	}
	var ve *migration.ValidationError
	var pe *csvfile.ProblemsError
	if errors.As(err, &ve) || errors.As(err, &pe) {
		return withExit(ExitPartial, err)
	}
	return withExit(ExitUsage, err)
}

// withApp opens the app for a command's work and closes it after.
func withApp(g *globalOptions, fn func(cmd *cobra.Command, a *app, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		a, err := openApp(cmd.Context(), g)
		if err != nil {
			return err
		}
		defer a.close()
		return fn(cmd, a, args)
	}
}
