package web

import (
	"net/http"
	"strconv"

	"github.com/imapmigrate/imapmigrate/internal/auth"
)

// auditPerPage is how many entries a page of the audit log shows.
const auditPerPage = 100

type auditData struct {
	Entries []auth.AuditEntry
	Older   string // link to the next page, older entries
}

func (h *handler) auditPage(w http.ResponseWriter, r *http.Request) {
	before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	es, err := h.auth.AuditLog(r.Context(), auditPerPage, max(before, 0))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := &auditData{Entries: es}
	if len(es) == auditPerPage {
		d.Older = "/audit?before=" + strconv.FormatInt(es[len(es)-1].ID, 10)
	}
	h.render(w, r, http.StatusOK, "audit", h.newPage(r, "Audit log", "audit", d))
}
