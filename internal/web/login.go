package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/imapmigrate/imapmigrate/internal/auth"
)

// loginData is the login page.
type loginData struct {
	Name string
	Next string
}

// loginPage shows the login form, or how to create the first account
// when there is none.
func (h *handler) loginPage(w http.ResponseWriter, r *http.Request) {
	has, err := h.auth.HasAdmins(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !has {
		h.render(w, r, http.StatusOK, "no_admin", &page{Title: "No account yet"})
		return
	}
	p := &page{Title: "Log in", CSRF: h.auth.LoginForm(w, r), Data: &loginData{Next: auth.SafeNext(r.URL.Query().Get("next"))}}
	h.render(w, r, http.StatusOK, "login", p)
}

func (h *handler) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	d := &loginData{Name: strings.TrimSpace(r.PostFormValue("name")), Next: auth.SafeNext(r.PostFormValue("next"))}
	p := &page{Title: "Log in", Data: d}
	if err := h.auth.CheckLoginForm(r); err != nil {
		p.CSRF = h.auth.LoginForm(w, r)
		p.Error = "The login form had expired: log in again."
		h.render(w, r, http.StatusForbidden, "login", p)
		return
	}
	id, err := h.auth.Login(r.Context(), d.Name, r.PostFormValue("password"), auth.RemoteAddr(r))
	if err != nil {
		p.CSRF = h.auth.LoginForm(w, r)
		status := http.StatusUnauthorized
		switch {
		case errors.Is(err, auth.ErrRateLimited):
			p.Error, status = err.Error(), http.StatusTooManyRequests
		case errors.Is(err, auth.ErrBadLogin):
			p.Error = "Wrong account name or password."
		default:
			h.fail(w, r, err)
			return
		}
		h.render(w, r, status, "login", p)
		return
	}
	h.auth.SetSession(w, r, id)
	seeOther(w, r, d.Next)
}

func (h *handler) logout(w http.ResponseWriter, r *http.Request) {
	if id := auth.SessionID(r); id != "" {
		if err := h.auth.Logout(r.Context(), id); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	h.auth.ClearSession(w, r)
	seeOther(w, r, loginPath)
}
