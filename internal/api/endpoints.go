package api

import (
	"net/http"
	"net/url"

	"github.com/imapmigrate/imapmigrate/internal/auth"
	"github.com/imapmigrate/imapmigrate/internal/imapconn"
	"github.com/imapmigrate/imapmigrate/internal/migration"
)

// endpointSettings are the settings of an endpoint in a request, named as
// migration.Endpoint's JSON names them (GET shows them so); nil is not
// given.
type endpointSettings struct {
	RemoteServer                  *string                  `json:"RemoteServer"`
	Port                          *int                     `json:"Port"`
	Security                      *imapconn.Security       `json:"Security"`
	Auth                          *imapconn.AuthMech       `json:"Auth"`
	MasterSeparator               *string                  `json:"MasterSeparator"`
	CAFile                        *string                  `json:"CAFile"`
	InsecureSkipVerify            *bool                    `json:"InsecureSkipVerify"`
	MaxConcurrentMigrations       *int                     `json:"MaxConcurrentMigrations"`
	MaxConcurrentIncrementalSyncs *int                     `json:"MaxConcurrentIncrementalSyncs"`
	MailboxAccess                 *migration.MailboxAccess `json:"MailboxAccess"`
	AdminUser                     *string                  `json:"AdminUser"`
	// AdminPassword is taken, never shown.
	AdminPassword *string `json:"AdminPassword"`
	TokenCommand  *string `json:"TokenCommand"`
}

// newEndpointBody is POST /endpoints (New-MigrationEndpoint).
type newEndpointBody struct {
	Name string `json:"Name"`
	endpointSettings
	TestMailbox      string `json:"TestMailbox"`
	SkipVerification bool   `json:"SkipVerification"`
}

// endpointFields name the service's fields by the properties above.
var endpointFields = fields{"Server": "RemoteServer", "SkipVerify": "SkipVerification"}

// endpointResponse is an endpoint as created or changed, with what it
// should know (a server that sees passwords in clear).
type endpointResponse struct {
	*migration.Endpoint
	Warnings []string `json:"Warnings,omitempty"`
}

func newEndpointResponse(e *migration.Endpoint) endpointResponse {
	r := endpointResponse{Endpoint: e}
	if w := e.CleartextWarning(""); w != "" {
		r.Warnings = append(r.Warnings, w)
	}
	return r
}

// value is *p, or the zero value.
func value[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func (h *handler) listEndpoints(w http.ResponseWriter, r *http.Request) {
	eps, err := h.svc.Endpoints(r.Context(), "")
	if err != nil {
		h.fail(w, r, err, endpointFields)
		return
	}
	if eps == nil {
		eps = []migration.Endpoint{}
	}
	writeJSON(w, http.StatusOK, eps)
}

func (h *handler) newEndpoint(w http.ResponseWriter, r *http.Request) {
	var b newEndpointBody
	if err := decodeJSON(w, r, &b, maxJSONBody, false); err != nil {
		h.fail(w, r, err, endpointFields)
		return
	}
	s := b.endpointSettings
	p := migration.EndpointParams{Endpoint: migration.Endpoint{Name: b.Name, Server: value(s.RemoteServer), Port: value(s.Port),
		Security: value(s.Security), Auth: value(s.Auth), MasterSeparator: value(s.MasterSeparator), CAFile: value(s.CAFile),
		InsecureSkipVerify: value(s.InsecureSkipVerify), MaxConcurrentMigrations: value(s.MaxConcurrentMigrations),
		MaxConcurrentIncrementalSyncs: value(s.MaxConcurrentIncrementalSyncs), MailboxAccess: value(s.MailboxAccess),
		AdminUser: value(s.AdminUser), TokenCommand: value(s.TokenCommand)},
		AdminPassword: value(s.AdminPassword), SkipVerify: b.SkipVerification, TestMailbox: b.TestMailbox, Flag: settingProperty}
	e, err := h.svc.NewEndpoint(r.Context(), p)
	if err != nil {
		h.fail(w, r, err, endpointFields)
		return
	}
	auth.SetAuditObject(r.Context(), e.Name)
	w.Header().Set("Location", Prefix+"endpoints/"+url.PathEscape(e.Name))
	writeJSON(w, http.StatusCreated, newEndpointResponse(e))
}

func (h *handler) getEndpoint(w http.ResponseWriter, r *http.Request) {
	eps, err := h.svc.Endpoints(r.Context(), r.PathValue("name"))
	if err != nil {
		h.fail(w, r, err, endpointFields)
		return
	}
	writeJSON(w, http.StatusOK, eps[0])
}

func (h *handler) patchEndpoint(w http.ResponseWriter, r *http.Request) {
	var s endpointSettings
	if err := decodeJSON(w, r, &s, maxJSONBody, false); err != nil {
		h.fail(w, r, err, endpointFields)
		return
	}
	e, err := h.svc.PatchEndpoint(r.Context(), r.PathValue("name"), migration.EndpointPatch{Server: s.RemoteServer, Port: s.Port,
		Security: s.Security, Auth: s.Auth, MasterSeparator: s.MasterSeparator, CAFile: s.CAFile, InsecureSkipVerify: s.InsecureSkipVerify,
		MaxConcurrentMigrations: s.MaxConcurrentMigrations, MaxConcurrentIncrementalSyncs: s.MaxConcurrentIncrementalSyncs,
		MailboxAccess: s.MailboxAccess, AdminUser: s.AdminUser, AdminPassword: s.AdminPassword, TokenCommand: s.TokenCommand})
	if err != nil {
		h.fail(w, r, err, endpointFields)
		return
	}
	writeJSON(w, http.StatusOK, newEndpointResponse(e))
}

// removed is the answer of a DELETE, as the CLI's remove commands print
// it with --output json.
type removed struct {
	Name   string `json:"Name"`
	Result string `json:"Result"` // removed, or removing (a batch a worker still holds)
}

func (h *handler) removeEndpoint(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := h.svc.RemoveEndpoint(r.Context(), name); err != nil {
		h.fail(w, r, err, endpointFields)
		return
	}
	writeJSON(w, http.StatusOK, removed{Name: name, Result: "removed"})
}

// testEndpointBody is POST /endpoints/{name}/test, optional.
type testEndpointBody struct {
	// TestMailbox (a target endpoint) is opened as batches will.
	TestMailbox string `json:"TestMailbox"`
}

func (h *handler) testEndpoint(w http.ResponseWriter, r *http.Request) {
	var b testEndpointBody
	if err := decodeJSON(w, r, &b, maxJSONBody, true); err != nil {
		h.fail(w, r, err, endpointFields)
		return
	}
	report, err := h.svc.TestEndpoint(r.Context(), r.PathValue("name"), b.TestMailbox, settingProperty)
	if err != nil {
		h.fail(w, r, err, endpointFields)
		return
	}
	writeJSON(w, http.StatusOK, report)
}

// testServerBody is POST /endpoints/test: a server tested without saving
// anything (`imapmigrate endpoint test`).
type testServerBody struct {
	RemoteServer       string            `json:"RemoteServer"`
	Port               int               `json:"Port"`
	Security           imapconn.Security `json:"Security"`
	CAFile             string            `json:"CAFile"`
	InsecureSkipVerify bool              `json:"InsecureSkipVerify"`
	Auth               imapconn.AuthMech `json:"Auth"`
	User               string            `json:"User"`
	Password           string            `json:"Password"`
}

// settingProperty names a connection setting in a test's fixes by its
// property (imapconn.Config.Flag, EndpointParams.Flag).
func settingProperty(setting string) string {
	switch setting {
	case "security":
		return "Security"
	case "port":
		return "Port"
	case "auth":
		return "Auth"
	case "ca-file":
		return "CAFile"
	case "insecure-skip-verify":
		return "InsecureSkipVerify"
	case "test-mailbox":
		return "TestMailbox"
	case "skip-verify-connection":
		return "SkipVerification"
	}
	return setting
}

func (h *handler) testServer(w http.ResponseWriter, r *http.Request) {
	var b testServerBody
	if err := decodeJSON(w, r, &b, maxJSONBody, false); err != nil {
		h.fail(w, r, err, endpointFields)
		return
	}
	report, err := h.svc.TestServer(r.Context(), migration.ServerTest{Server: b.RemoteServer, Port: b.Port, Security: b.Security,
		CAFile: b.CAFile, InsecureSkipVerify: b.InsecureSkipVerify, Auth: b.Auth, User: b.User, Password: b.Password, Flag: settingProperty})
	if err != nil {
		h.fail(w, r, err, endpointFields)
		return
	}
	writeJSON(w, http.StatusOK, report)
}
