package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/imapmigrate/imapmigrate/internal/auth"
	"github.com/imapmigrate/imapmigrate/internal/imapconn"
	"github.com/imapmigrate/imapmigrate/internal/migration"
)

// endpointData is the endpoint form (new or edit) and, after a test, its
// report.
type endpointData struct {
	New      bool
	Endpoint migration.Endpoint
	// Form values that are not the endpoint's fields, or not numbers yet.
	Port, MaxMigrations, MaxIncremental string
	TestMailbox                         string
	SkipVerify                          bool
	HasPassword                         bool
	Report                              *imapconn.ProbeReport
}

func (h *handler) endpointsPage(w http.ResponseWriter, r *http.Request) {
	eps, err := h.svc.Endpoints(r.Context(), "")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "endpoints", h.newPage(r, "Endpoints", "endpoints", eps))
}

func (h *handler) newEndpointPage(w http.ResponseWriter, r *http.Request) {
	d := &endpointData{New: true, Endpoint: migration.Endpoint{Security: imapconn.SecuritySSL, Auth: imapconn.AuthLogin, MasterSeparator: "*"},
		MaxMigrations: strconv.Itoa(migration.DefaultMaxConcurrentMigrations), MaxIncremental: strconv.Itoa(migration.DefaultMaxConcurrentIncrementalSyncs)}
	h.render(w, r, http.StatusOK, "endpoint", h.newPage(r, "New endpoint", "endpoints", d))
}

func (h *handler) editEndpointPage(w http.ResponseWriter, r *http.Request) {
	eps, err := h.svc.Endpoints(r.Context(), r.PathValue("name"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "endpoint", h.newPage(r, "Endpoint "+eps[0].Name, "endpoints", editData(&eps[0])))
}

func editData(e *migration.Endpoint) *endpointData {
	return &endpointData{Endpoint: *e, Port: strconv.Itoa(e.Port), MaxMigrations: strconv.Itoa(e.MaxConcurrentMigrations),
		MaxIncremental: strconv.Itoa(e.MaxConcurrentIncrementalSyncs), HasPassword: e.AdminPassword != ""}
}

// endpointForm reads the endpoint form; numbers that do not parse are
// problems of their fields.
func endpointForm(r *http.Request, name string) (*endpointData, migration.EndpointParams, migration.ValidationErrors) {
	e := migration.Endpoint{
		Name: name, Server: strings.TrimSpace(r.FormValue("server")), Security: imapconn.Security(r.FormValue("security")),
		Auth: imapconn.AuthMech(r.FormValue("auth")), MasterSeparator: r.FormValue("master_separator"),
		CAFile: strings.TrimSpace(r.FormValue("ca_file")), InsecureSkipVerify: r.FormValue("insecure_skip_verify") != "",
		MailboxAccess: migration.MailboxAccess(r.FormValue("mailbox_access")), AdminUser: strings.TrimSpace(r.FormValue("admin_user")),
		TokenCommand: strings.TrimSpace(r.FormValue("token_command")),
	}
	d := &endpointData{Endpoint: e, Port: strings.TrimSpace(r.FormValue("port")), MaxMigrations: strings.TrimSpace(r.FormValue("max_migrations")),
		MaxIncremental: strings.TrimSpace(r.FormValue("max_incremental")), TestMailbox: strings.TrimSpace(r.FormValue("test_mailbox")),
		SkipVerify: r.FormValue("skip_verify") != ""}
	var bad migration.ValidationErrors
	number := func(field, v string, to *int) {
		if v == "" {
			return
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			bad = append(bad, &migration.ValidationError{Field: field, Value: v, Fix: "must be a whole number"})
		}
		*to = n
	}
	number("Port", d.Port, &e.Port)
	number("MaxConcurrentMigrations", d.MaxMigrations, &e.MaxConcurrentMigrations)
	number("MaxConcurrentIncrementalSyncs", d.MaxIncremental, &e.MaxConcurrentIncrementalSyncs)
	p := migration.EndpointParams{Endpoint: e, AdminPassword: r.FormValue("admin_password"), SkipVerify: d.SkipVerify, TestMailbox: d.TestMailbox,
		Flag: formSetting}
	p.ChangePassword = p.AdminPassword != ""
	return d, p, bad
}

func (h *handler) newEndpoint(w http.ResponseWriter, r *http.Request) {
	d, params, bad := endpointForm(r, strings.TrimSpace(r.FormValue("name")))
	d.New = true
	p := h.newPage(r, "New endpoint", "endpoints", d)
	if len(bad) > 0 {
		p.problems(bad)
		h.render(w, r, http.StatusUnprocessableEntity, "endpoint", p)
		return
	}
	e, err := h.svc.NewEndpoint(r.Context(), params)
	if err != nil {
		h.endpointFailed(w, r, p, err)
		return
	}
	auth.SetAuditObject(r.Context(), e.Name)
	seeOther(w, r, "/endpoints/"+url.PathEscape(e.Name)+"?done=saved")
}

func (h *handler) editEndpoint(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	d, params, bad := endpointForm(r, name)
	if eps, err := h.svc.Endpoints(r.Context(), name); err == nil {
		d.HasPassword = eps[0].AdminPassword != "" // an empty field keeps it
	}
	p := h.newPage(r, "Endpoint "+name, "endpoints", d)
	if len(bad) > 0 {
		p.problems(bad)
		h.render(w, r, http.StatusUnprocessableEntity, "endpoint", p)
		return
	}
	if _, err := h.svc.SetEndpoint(r.Context(), params); err != nil {
		h.endpointFailed(w, r, p, err)
		return
	}
	seeOther(w, r, "/endpoints/"+url.PathEscape(name)+"?done=saved")
}

// endpointFailed shows the form again with what failed: bad settings
// against their fields, a failed connection test with its step and fix.
func (h *handler) endpointFailed(w http.ResponseWriter, r *http.Request, p *page, err error) {
	var pe *migration.ProbeError
	switch {
	case errors.As(err, &pe):
		p.Error = "The connection test failed at step “" + pe.Step + "”: nothing was saved."
		p.General = []string{pe.Detail, "Fix: " + pe.Fix}
	case !p.problems(err):
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusUnprocessableEntity, "endpoint", p)
}

// formSetting names a connection setting in a test's fixes by its field
// on the endpoint form (imapconn.Config.Flag), not by a CLI flag.
func formSetting(setting string) string {
	switch setting {
	case "security":
		return "“Security”"
	case "port":
		return "“Port”"
	case "auth":
		return "“Login method”"
	case "ca-file":
		return "“CA file”"
	case "insecure-skip-verify":
		return "“Do not verify the server's certificate”"
	case "test-mailbox":
		return "“Test mailbox”"
	case "skip-verify-connection":
		return "“Save without testing the connection”"
	}
	return "“" + setting + "”"
}

// testEndpoint runs a saved endpoint's connection test and shows each
// step with its verdict.
func (h *handler) testEndpoint(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	mailbox := strings.TrimSpace(r.FormValue("test_mailbox"))
	rep, err := h.svc.TestEndpoint(r.Context(), name, mailbox, formSetting)
	if err != nil {
		eps, err2 := h.svc.Endpoints(r.Context(), name)
		if err2 != nil {
			h.fail(w, r, err2)
			return
		}
		d := editData(&eps[0])
		d.TestMailbox = mailbox
		p := h.newPage(r, "Endpoint "+name, "endpoints", d)
		if !p.problems(err) {
			p.Error = "The test could not run: " + err.Error()
		}
		h.render(w, r, http.StatusUnprocessableEntity, "endpoint_test", p)
		return
	}
	eps, err := h.svc.Endpoints(r.Context(), name)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := editData(&eps[0])
	d.TestMailbox, d.Report = mailbox, rep
	h.render(w, r, http.StatusOK, "endpoint_test", h.newPage(r, "Test of endpoint "+name, "endpoints", d))
}

// removeEndpointPage asks to confirm.
func (h *handler) removeEndpointPage(w http.ResponseWriter, r *http.Request) {
	eps, err := h.svc.Endpoints(r.Context(), r.PathValue("name"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "remove_endpoint", h.newPage(r, "Remove endpoint "+eps[0].Name, "endpoints", &eps[0]))
}

// removeEndpoint deletes an endpoint that no batch uses.
func (h *handler) removeEndpoint(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.RemoveEndpoint(r.Context(), r.PathValue("name")); err != nil {
		h.fail(w, r, err)
		return
	}
	seeOther(w, r, "/endpoints?done=endpoint")
}
