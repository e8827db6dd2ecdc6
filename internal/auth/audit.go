package auth

import (
	"context"
	"net/http"
	"strings"
	"time"
)

type noteKey struct{}

// auditNote is how RequireToken and RequireSession, inside AuditChanges,
// tell it who made the request and which request (with the pattern and
// path values the inner mux set) they passed on, and how a handler names
// the object its request changes (SetAuditObject).
type auditNote struct {
	principal Principal
	req       *http.Request
	object    string
}

// SetAuditObject names the object of the change the request of ctx makes,
// for an outer AuditChanges, instead of the route's path values: a
// create's name is in its body ("POST /api/v1/batches" with Name b1 is
// "batch create" of b1). The last call wins; nothing happens outside
// AuditChanges, and a refused request is not recorded anyway.
func SetAuditObject(ctx context.Context, object string) {
	if n, ok := ctx.Value(noteKey{}).(*auditNote); ok {
		n.object = object
	}
}

// auditTimeout bounds the write of an audit entry (after the response, on
// a context that the client's leaving does not cancel).
const auditTimeout = 5 * time.Second

// AuditChanges records in the audit log every unsafe request (POST, PUT,
// PATCH, DELETE) that succeeded (status below 400) and that a principal
// made: the actor is From(ctx).String(), the action is read from the
// route's pattern ("POST /api/v1/batches/{name}/start" is "batch start"),
// the object is the route's path values ("b1") unless the handler named
// it (SetAuditObject), the detail the method and path. Put it outside the muxes and RequireToken/RequireSession: they
// tell it who the principal was. Requests without a principal (the login
// form; Login audits itself) are not recorded.
func (s *Service) AuditChanges(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if safe(r.Method) {
			next.ServeHTTP(w, r)
			return
		}
		s.init()
		note := &auditNote{}
		r = r.WithContext(context.WithValue(r.Context(), noteKey{}, note))
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		status := sw.status
		if status == 0 {
			status = http.StatusOK
		}
		if status >= 400 {
			return
		}
		req, p := note.req, note.principal
		if req == nil {
			req = r
			var ok bool
			if p, ok = From(r.Context()); !ok {
				return
			}
		}
		action, object := describe(req)
		if note.object != "" {
			object = note.object
		}
		e := AuditEntry{Actor: p.String(), Action: action, Object: object, Detail: req.Method + " " + req.URL.Path,
			Remote: RemoteAddr(req)}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), auditTimeout)
		defer cancel()
		if err := s.Audit(ctx, e); err != nil {
			s.Log.Error("audit log", "action", action, "object", object, "actor", e.Actor, "err", err)
		}
	})
}

// statusWriter remembers the status of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush passes a flush on (streamed responses).
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// collections are the plural path segments named in the singular in an
// action ("batches" → "batch").
var collections = map[string]string{
	"batches": "batch", "endpoints": "endpoint", "users": "user", "tokens": "token",
	"admins": "admin", "accounts": "account", "sessions": "session", "notifications": "notification",
}

// methodVerbs name what a method does to the object a path names.
var methodVerbs = map[string]string{
	http.MethodPost: "create", http.MethodPut: "update", http.MethodPatch: "update", http.MethodDelete: "remove",
}

// describe reads a request's action and object from its route's pattern:
// the static segments, collections in the singular, then the method's
// verb when the path ends at an object or a collection ("POST
// /api/v1/batches" is "batch create", "DELETE /batches/{name}" is "batch
// remove", "POST /batches/{name}/start" is "batch start"); the object is
// the path values, space-separated. Without a pattern, the path is used.
func describe(r *http.Request) (action, object string) {
	pattern := r.Pattern
	if _, rest, ok := strings.Cut(pattern, " "); ok {
		pattern = rest // the method
	}
	if pattern == "" {
		pattern = r.URL.Path
	}
	if i := strings.Index(pattern, "/"); i > 0 {
		pattern = pattern[i:] // a host
	}
	pattern = strings.TrimPrefix(pattern, "/api/v1")
	var words, values []string
	endsAtObject := false
	for seg := range strings.SplitSeq(strings.Trim(pattern, "/"), "/") {
		switch {
		case seg == "":
		case strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}"):
			name := strings.TrimSuffix(strings.TrimSuffix(seg[1:len(seg)-1], "..."), "$")
			if name != "" {
				if v := r.PathValue(name); v != "" {
					values = append(values, v)
				}
			}
			endsAtObject = true
		case collections[seg] != "":
			words = append(words, collections[seg])
			endsAtObject = true
		default:
			words = append(words, seg)
			endsAtObject = false
		}
	}
	if endsAtObject || len(words) == 0 {
		if v := methodVerbs[r.Method]; v != "" {
			words = append(words, v)
		} else {
			words = append(words, strings.ToLower(r.Method))
		}
	}
	return strings.Join(words, " "), strings.Join(values, " ")
}
