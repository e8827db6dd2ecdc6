// Command imapmigrate migrates IMAP mailboxes from one server to another.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/imapmigrate/imapmigrate/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Execute(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
