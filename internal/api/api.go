// Package api is the REST API under /api/v1: endpoints, batches, their
// users and reports, as the CLI has them, for scripts with an API token.
//
// Every handler parses its request, calls one migration.Service method and
// renders the result with the structs the CLI prints with --output json
// (Exchange's property names: Identity, Status, EmailAddress,
// ItemsSynced…). Rules live in the service, not here.
//
// Errors are JSON, always {"Error": "…", "Problems": […]}: 422 with every
// problem of a request (a setting's Field, Value, Message and Fix, named
// by the JSON property that sets it; a migration file's Row, Column,
// Message and Fix), 404 for an unknown object, 409 for a conflict (a name
// taken, an endpoint in use, a batch in a state that refuses the
// request), 400 for a malformed request, 401 without a valid token
// (package auth), 413 for a body over its limit, 415 for a body that is
// neither JSON nor a form where one is taken. No response holds a
// password or a token.
//
// The document at /api/v1/openapi.json (openapi.json, OpenAPI 3.1)
// describes every route; a test checks it against the routes.
package api

import (
	"log/slog"
	"net/http"

	"github.com/imapmigrate/imapmigrate/internal/auth"
	"github.com/imapmigrate/imapmigrate/internal/migration"
)

// Prefix is the path every route of the API is under.
const Prefix = "/api/v1/"

// Config is what the API serves with.
type Config struct {
	Service *migration.Service
	// Auth checks the API token of every request but the OpenAPI
	// document's (RequireToken).
	Auth *auth.Service
	Log  *slog.Logger
}

type handler struct {
	svc *migration.Service
	log *slog.Logger
}

// New returns the API's handler; it serves full paths (/api/v1/…) and is
// mounted at Prefix.
func New(c Config) http.Handler {
	h := &handler{svc: c.Service, log: c.Log}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/openapi.json", serveOpenAPI)
	mux.Handle(Prefix, c.Auth.RequireToken(h.routes()))
	// Mounted at /api/: another version's path is not found, in JSON.
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such route: "+r.URL.Path+" (the API is under /api/v1/)", nil)
	})
	return mux
}

// routes is the mux of every route that needs a token, with a JSON 404 or
// 405 for the others.
func (h *handler) routes() *http.ServeMux {
	mux := http.NewServeMux()
	h.register(mux.HandleFunc)
	mux.Handle(Prefix, noRoute(mux))
	return mux
}

// register declares the routes, one per line.
func (h *handler) register(handle func(pattern string, fn func(http.ResponseWriter, *http.Request))) {
	handle("GET /api/v1/endpoints", h.listEndpoints)
	handle("POST /api/v1/endpoints", h.newEndpoint)
	handle("POST /api/v1/endpoints/test", h.testServer)
	handle("GET /api/v1/endpoints/{name}", h.getEndpoint)
	handle("PATCH /api/v1/endpoints/{name}", h.patchEndpoint)
	handle("DELETE /api/v1/endpoints/{name}", h.removeEndpoint)
	handle("POST /api/v1/endpoints/{name}/test", h.testEndpoint)

	handle("GET /api/v1/batches", h.listBatches)
	handle("POST /api/v1/batches", h.newBatch)
	handle("GET /api/v1/batches/{name}", h.getBatch)
	handle("PATCH /api/v1/batches/{name}", h.patchBatch)
	handle("DELETE /api/v1/batches/{name}", h.removeBatch)
	handle("POST /api/v1/batches/{name}/start", h.startBatch)
	handle("POST /api/v1/batches/{name}/stop", h.stopBatch)
	handle("POST /api/v1/batches/{name}/complete", h.completeBatch)
	handle("GET /api/v1/batches/{name}/users", h.batchUsers)
	handle("GET /api/v1/batches/{name}/report", h.batchReport)

	handle("GET /api/v1/users/{email}", h.getUser)
	handle("PATCH /api/v1/users/{email}", h.patchUser)
	handle("DELETE /api/v1/users/{email}", h.removeUser)
}

// methods are those the API's routes use, for the Allow header of a 405.
var methods = []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete}

// noRoute answers a path no route has (404) or a method its route does
// not take (405, with Allow), in JSON.
func noRoute(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, m := range methods {
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, pattern := mux.Handler(probe); pattern != "" && pattern != Prefix {
				allow = append(allow, m)
			}
		}
		if len(allow) == 0 {
			writeError(w, http.StatusNotFound, "no such route: "+r.URL.Path+" (see /api/v1/openapi.json)", nil)
			return
		}
		for _, m := range allow {
			w.Header().Add("Allow", m)
		}
		writeError(w, http.StatusMethodNotAllowed, r.Method+" is not a method of "+r.URL.Path, nil)
	})
}
