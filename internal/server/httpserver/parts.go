package httpserver

import (
	"fmt"

	"github.com/imapmigrate/imapmigrate/internal/api"
	"github.com/imapmigrate/imapmigrate/internal/server"
	"github.com/imapmigrate/imapmigrate/internal/web"
)

// ServeParts are what serve mounts: the REST API and the dashboard (every
// change they make recorded in the audit log with the account that made
// it), /metrics and readiness.
func ServeParts(s *server.Server) (Parts, error) {
	dashboard, err := web.New(web.Config{Service: s.Service, Auth: s.Auth, Log: s.Log})
	if err != nil {
		return Parts{}, fmt.Errorf("dashboard: %w", err)
	}
	return Parts{
		API:     s.Auth.AuditChanges(api.New(api.Config{Service: s.Service, Auth: s.Auth, Log: s.Log})),
		Web:     s.Auth.AuditChanges(dashboard),
		Metrics: s.Metrics.Handler(),
		Store:   s.Store,
	}, nil
}

// WorkerParts are what `worker --listen` mounts: /metrics and readiness.
func WorkerParts(s *server.Server) Parts {
	return Parts{Metrics: s.Metrics.Handler(), Store: s.Store}
}
