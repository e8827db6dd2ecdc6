package auth

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Cookie and form names.
const (
	// SessionCookie holds the session's id.
	SessionCookie = "imapmigrate_session"
	// LoginCookie holds the login form's CSRF token (before a session).
	LoginCookie = "imapmigrate_login"
	// CSRFField is the form field, and CSRFHeader the header, that carry
	// the CSRF token of unsafe requests.
	CSRFField  = "csrf_token"
	CSRFHeader = "X-CSRF-Token"
	// multipartMemory is how much of a multipart form is kept in memory
	// (the rest goes to temporary files), as r.FormValue does.
	multipartMemory = 32 << 20
	// loginFormAge is how long a login page's form stays valid.
	loginFormAge = time.Hour
)

// RemoteAddr is the client's address of a request, without the port: the
// peer of the connection. X-Forwarded-For is not trusted; behind a reverse
// proxy every request has the proxy's address (the per-address login
// limit then counts everyone together).
func RemoteAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// safe tells the methods that change nothing (no CSRF check, no audit).
func safe(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return false
}

// writeJSONError writes {"Error": msg} with status.
func writeJSONError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(struct {
		Error string `json:"Error"`
	}{msg})
}

// bearer is the token of an "Authorization: Bearer …" header.
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// RequireToken lets through the requests with a valid API token in
// "Authorization: Bearer imt_…", with their Principal in the context
// (From); the others get 401 with {"Error": …} and WWW-Authenticate.
func (s *Service) RequireToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.init()
		tok, ok := bearer(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="imapmigrate"`)
			writeJSONError(w, http.StatusUnauthorized,
				"no API token: send \"Authorization: Bearer TOKEN\" with a token from `imapmigrate token new`")
			return
		}
		p, err := s.Authenticate(r.Context(), tok)
		if errors.Is(err, ErrNoToken) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="imapmigrate", error="invalid_token"`)
			writeJSONError(w, http.StatusUnauthorized, "the API token is unknown or revoked: `imapmigrate token list` lists the valid ones")
			return
		}
		if err != nil {
			s.Log.Error("authenticate token", "err", err)
			writeJSONError(w, http.StatusServiceUnavailable, "cannot check the API token now: try again")
			return
		}
		serveAs(w, r, p, "", next)
	})
}

type csrfKey struct{}

// CSRFToken is the CSRF token of the request's session (set by
// RequireSession), for the forms a page renders: <input type="hidden"
// name="csrf_token" value="{{.CSRF}}">, or the X-CSRF-Token header of a
// script's requests. "" outside a session.
func CSRFToken(ctx context.Context) string {
	t, _ := ctx.Value(csrfKey{}).(string)
	return t
}

// serveAs serves r as p (with csrf, for a session) and tells an outer
// AuditChanges who it was.
func serveAs(w http.ResponseWriter, r *http.Request, p Principal, csrf string, next http.Handler) {
	ctx := WithPrincipal(r.Context(), p)
	if csrf != "" {
		ctx = context.WithValue(ctx, csrfKey{}, csrf)
	}
	r = r.WithContext(ctx)
	if n, ok := ctx.Value(noteKey{}).(*auditNote); ok {
		n.principal, n.req = p, r
	}
	next.ServeHTTP(w, r)
}

// RequireSession lets through the requests of a logged-in session, with
// their Principal (From) and CSRF token (CSRFToken) in the context. Without
// a valid session, a GET or HEAD is redirected (303) to
// loginPath?next=PATH, any other method gets 401. An unsafe method (POST,
// PUT, PATCH, DELETE) must carry the session's CSRF token in the form field
// csrf_token or the header X-CSRF-Token, or gets 403. To read the field it
// parses the form (a multipart form as r.FormValue does: 32 MB in memory,
// the rest in temporary files; at most MaxFormBytes, or 413), so the
// handler finds r.Form and r.MultipartForm ready.
func (s *Service) RequireSession(loginPath string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.init()
		var p Principal
		var csrf string
		err := ErrNoSession
		if c, cerr := r.Cookie(SessionCookie); cerr == nil {
			p, csrf, err = s.Session(r.Context(), c.Value)
		}
		if err != nil && !errors.Is(err, ErrNoSession) {
			s.Log.Error("check session", "err", err)
			http.Error(w, "cannot check the session now: try again", http.StatusServiceUnavailable)
			return
		}
		if err != nil {
			if _, cerr := r.Cookie(SessionCookie); cerr == nil {
				s.ClearSession(w, r)
			}
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				http.Redirect(w, r, loginPath+"?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			http.Error(w, ErrNoSession.Error(), http.StatusUnauthorized)
			return
		}
		if !safe(r.Method) {
			got := r.Header.Get(CSRFHeader)
			if got == "" {
				r.Body = http.MaxBytesReader(w, r.Body, s.MaxFormBytes)
				// A body that is no form is not read (ParseForm reads only
				// url-encoded bodies, ParseMultipartForm only multipart
				// ones).
				var mbe *http.MaxBytesError
				err := r.ParseForm()
				if err == nil {
					err = r.ParseMultipartForm(multipartMemory)
				}
				if errors.As(err, &mbe) {
					// The limit hit: this one, or a smaller one of the caller's.
					http.Error(w, fmt.Sprintf("the form is larger than %d MiB", mbe.Limit>>20), http.StatusRequestEntityTooLarge)
					return
				}
				got = r.PostFormValue(CSRFField)
			}
			if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(csrf)) != 1 {
				s.Log.Warn("request refused: CSRF token missing or wrong", "account", p.Name, "remote", RemoteAddr(r),
					"method", r.Method, "path", r.URL.Path)
				http.Error(w, ErrCSRF.Error(), http.StatusForbidden)
				return
			}
		}
		serveAs(w, r, p, csrf, next)
	})
}

// SafeNext is a login's next parameter if it is a path of this site, "/"
// otherwise (no redirect to another site: "//evil.example", "https://…").
func SafeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return "/"
	}
	return next
}

// cookie is a cookie of the site's: Path=/, HttpOnly, SameSite=Lax, Secure
// under TLS.
func cookie(r *http.Request, name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil}
}

// SetSession sets the session cookie after Login; it lasts as long as a
// session may (SessionMax), the store deciding before that.
func (s *Service) SetSession(w http.ResponseWriter, r *http.Request, sessionID string) {
	s.init()
	http.SetCookie(w, cookie(r, SessionCookie, sessionID, int(s.SessionMax/time.Second)))
}

// ClearSession removes the session cookie (logout; call Logout too).
func (s *Service) ClearSession(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, cookie(r, SessionCookie, "", -1))
}

// SessionID is the session cookie's value of a request ("" when none),
// for the logout handler to pass to Logout.
func SessionID(r *http.Request) string {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return ""
	}
	return c.Value
}

// LoginForm returns the CSRF token to put in the login form (field
// csrf_token), setting it as a cookie too when the browser has none
// (double submit: a page of another site can make the browser post the
// form, but cannot read the cookie to fill in the field). Call it in the
// handler that renders the login page, before writing the body.
func (s *Service) LoginForm(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(LoginCookie); err == nil && len(c.Value) == 43 {
		return c.Value
	}
	tok := randomSecret()
	http.SetCookie(w, cookie(r, LoginCookie, tok, int(loginFormAge/time.Second)))
	return tok
}

// CheckLoginForm checks the login form's CSRF token against its cookie
// (ErrCSRF when missing or different); call it before Login.
func (s *Service) CheckLoginForm(r *http.Request) error {
	c, err := r.Cookie(LoginCookie)
	if err != nil || c.Value == "" {
		return ErrCSRF
	}
	got := r.PostFormValue(CSRFField)
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(c.Value)) != 1 {
		return ErrCSRF
	}
	return nil
}
