package cli

import (
	"github.com/spf13/cobra"

	"github.com/imapmigrate/imapmigrate/internal/migration"
)

// noWorkerWarning is what batch start and complete add when no worker is
// live: the command is recorded, but nothing will sync until a serve or
// worker process runs (batch run is its own worker and says nothing).
func noWorkerWarning(cmd *cobra.Command, svc *migration.Service, verb string) string {
	if (verb == "start" || verb == "complete") && svc.NoWorker(cmd.Context()) {
		return noWorkerHint
	}
	return ""
}
