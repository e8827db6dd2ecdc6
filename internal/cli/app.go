package cli

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/imapmigrate/imapmigrate/internal/csvfile"
	"github.com/imapmigrate/imapmigrate/internal/migration"
	"github.com/imapmigrate/imapmigrate/internal/secret"
	"github.com/imapmigrate/imapmigrate/internal/server"
	"github.com/imapmigrate/imapmigrate/internal/store"
)

// app is what the service commands share: the store, the key, the service.
type app struct {
	*server.Server
	store store.Store
	box   *secret.Box
	svc   *migration.Service
	log   *slog.Logger
}

// openApp opens the database under --data-dir (or --db, $IMAPMIGRATE_DB).
// With mustExist, a missing SQLite database is refused instead of created:
// every command but those that create the first objects.
func openApp(ctx context.Context, g *globalOptions, mustExist bool) (*app, error) {
	log, err := newLogger(g.stderr, g.logLevel)
	if err != nil {
		return nil, withExit(ExitUsage, err)
	}
	if err := g.validateOutput(); err != nil {
		return nil, err
	}
	db := os.Getenv("IMAPMIGRATE_DB")
	if g.db != "" {
		db = g.db
	}
	srv, err := server.Open(ctx, server.Config{DataDir: g.dataDir, DB: db, MustExist: mustExist, Log: log})
	if err != nil {
		return nil, withExit(ExitUsage, err)
	}
	return &app{Server: srv, store: srv.Store, box: srv.Box, svc: srv.Service, log: log}, nil
}

func (a *app) close() { a.Server.Close() }

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

// createsDatabase marks the commands that may create a new database
// (cobra annotation); the others refuse a missing one.
const createsDatabase = "imapmigrate/creates-database"

// withApp opens the app for a command's work and closes it after.
func withApp(g *globalOptions, fn func(cmd *cobra.Command, a *app, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		_, creates := cmd.Annotations[createsDatabase]
		a, err := openApp(cmd.Context(), g, !creates)
		if err != nil {
			return err
		}
		defer a.close()
		return fn(cmd, a, args)
	}
}
