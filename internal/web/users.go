package web

import (
	"net/http"
	"net/url"

	"github.com/imapmigrate/imapmigrate/internal/migration"
)

// userData is a user's page: its statistics with folders, skipped items
// and its latest passes, the newest first (migration.UserStats names both
// Folders).
type userData struct {
	*migration.UserStats
	FolderList []migration.FolderStat
}

func (h *handler) userPage(w http.ResponseWriter, r *http.Request) {
	h.showUser(w, r, http.StatusOK, nil)
}

// showUser renders a user's page, with the problems of its password form.
func (h *handler) showUser(w http.ResponseWriter, r *http.Request, status int, formErr error) {
	st, err := h.svc.UserDetails(r.Context(), r.PathValue("email"), migration.UserStatsOptions{Folders: true, Skipped: true, History: migration.PassHistoryKept})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := h.newPage(r, st.EmailAddress, "batches", &userData{UserStats: st, FolderList: st.Folders})
	if formErr != nil && !p.problems(formErr) {
		h.fail(w, r, formErr)
		return
	}
	h.render(w, r, status, "user", p)
}

// setUserPassword stores a user's new passwords (a source password
// changed, a failed login): a failed user is retried at once.
func (h *handler) setUserPassword(w http.ResponseWriter, r *http.Request) {
	email := r.PathValue("email")
	_, err := h.svc.SetUser(r.Context(), email, migration.UserSecrets{Password: r.PostFormValue("password"), TargetPassword: r.PostFormValue("target_password")})
	if err != nil {
		h.showUser(w, r, http.StatusUnprocessableEntity, err)
		return
	}
	seeOther(w, r, "/users/"+url.PathEscape(email)+"?done=password")
}
