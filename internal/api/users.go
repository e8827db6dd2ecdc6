package api

import (
	"net/http"

	"github.com/imapmigrate/imapmigrate/internal/migration"
)

// userFields name the service's fields by userSecretsBody's properties.
var userFields = fields{}

// getUser answers a user with its folders, its skipped items and the
// history of its passes (every one kept, the newest first).
func (h *handler) getUser(w http.ResponseWriter, r *http.Request) {
	st, err := h.svc.UserDetails(r.Context(), r.PathValue("email"),
		migration.UserStatsOptions{Folders: true, Skipped: true, History: migration.PassHistoryKept})
	if err != nil {
		h.fail(w, r, err, userFields)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// userSecretsBody is PATCH /users/{email} (Set-MigrationUser): new
// passwords, taken and never shown; a failed user is retried at once.
type userSecretsBody struct {
	Password       string `json:"Password"`
	TargetPassword string `json:"TargetPassword"`
}

func (h *handler) patchUser(w http.ResponseWriter, r *http.Request) {
	var b userSecretsBody
	if err := decodeJSON(w, r, &b, maxJSONBody, false); err != nil {
		h.fail(w, r, err, userFields)
		return
	}
	u, err := h.svc.SetUser(r.Context(), r.PathValue("email"), migration.UserSecrets{Password: b.Password, TargetPassword: b.TargetPassword})
	if err != nil {
		h.fail(w, r, err, userFields)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

// userRemoved is the answer of DELETE /users/{email}, as `user remove
// --output json` prints it.
type userRemoved struct {
	EmailAddress string `json:"EmailAddress"`
	Batch        string `json:"Batch"`
	Result       string `json:"Result"`
}

func (h *handler) removeUser(w http.ResponseWriter, r *http.Request) {
	u, err := h.svc.RemoveUser(r.Context(), r.PathValue("email"))
	if err != nil {
		h.fail(w, r, err, userFields)
		return
	}
	writeJSON(w, http.StatusOK, userRemoved{EmailAddress: u.EmailAddress, Batch: u.Batch, Result: "removed"})
}
