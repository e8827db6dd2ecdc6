package web

import (
	"net/http"

	"github.com/imapmigrate/imapmigrate/internal/migration"
)

// userData is a user's page: its statistics with folders and skipped
// items (migration.UserStats names both Folders).
type userData struct {
	*migration.UserStats
	FolderList []migration.FolderStat
}

func (h *handler) userPage(w http.ResponseWriter, r *http.Request) {
	st, err := h.svc.UserStatistics(r.Context(), r.PathValue("email"), true, true)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "user", h.newPage(r, st.EmailAddress, "batches", &userData{UserStats: st, FolderList: st.Folders}))
}
