package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/imapmigrate/imapmigrate/internal/csvfile"
	"github.com/imapmigrate/imapmigrate/internal/imapconn"
	"github.com/imapmigrate/imapmigrate/internal/migration"
)

// errorBody is every error's JSON.
type errorBody struct {
	Error    string    `json:"Error"`
	Problems []Problem `json:"Problems"`
}

// Problem is one thing wrong with a request: a setting's (Field, Value,
// Message, Fix) or a migration file row's (Field naming the file, Row,
// Column, Message, Fix).
type Problem struct {
	// Field is the JSON property (or form field) that sets the bad value;
	// "" when the problem is the request as a whole.
	Field   string `json:"Field,omitempty"`
	Value   string `json:"Value,omitempty"`
	Row     int    `json:"Row,omitempty"`
	Column  string `json:"Column,omitempty"`
	Message string `json:"Message"`
	Fix     string `json:"Fix,omitempty"`
}

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// writeError writes {"Error": msg, "Problems": problems} with status.
func writeError(w http.ResponseWriter, status int, msg string, problems []Problem) {
	if problems == nil {
		problems = []Problem{}
	}
	writeJSON(w, status, errorBody{Error: msg, Problems: problems})
}

// fields names the service's fields (migration.ValidationError.Field) by
// the JSON properties of one route; a field it does not name keeps its
// own name.
type fields map[string]string

func (f fields) name(field string) string {
	if n, ok := f[field]; ok {
		return n
	}
	return field
}

// requestError is a request the API cannot read (400, 413, 415), said as
// it answers it.
type requestError struct {
	status   int
	msg      string
	problems []Problem
}

func (e *requestError) Error() string { return e.msg }

// badRequest is a malformed request (400).
func badRequest(format string, args ...any) error {
	return &requestError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

// badValue is a query parameter or form field that does not parse (422).
func badValue(field, value, fix string) error {
	return &requestError{status: http.StatusUnprocessableEntity, msg: problemMessage(field, value, fix),
		problems: []Problem{{Field: field, Value: value, Message: problemMessage(field, value, fix), Fix: fix}}}
}

func problemMessage(field, value, fix string) string {
	return (&migration.ValidationError{Field: field, Value: value, Fix: fix}).Message(field)
}

// fail answers err: a request error as it says, the service's problems as
// 422 (every one), an unknown object 404, a conflict 409, anything else
// 500, logged here (and only here) without detail in the answer.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error, names fields) {
	var re *requestError
	if errors.As(err, &re) {
		writeError(w, re.status, re.msg, re.problems)
		return
	}
	var ve *migration.ValidationError
	var pe *csvfile.ProblemsError
	var probe *migration.ProbeError
	var conn *imapconn.Error
	switch {
	case errors.Is(err, migration.ErrNotFound) && errors.As(err, &ve):
		writeError(w, http.StatusNotFound, ve.Message(names.name(ve.Field)), nil)
	case (errors.Is(err, migration.ErrExists) || errors.Is(err, migration.ErrInUse) || errors.Is(err, migration.ErrState)) && errors.As(err, &ve):
		writeError(w, http.StatusConflict, conflictMessage(err, names), nil)
	case errors.As(err, &ve) || errors.As(err, &pe):
		ps, total, first := problems(err, names)
		msg := first
		if total > 1 {
			msg = fmt.Sprintf("%d problems: nothing was done; fix each and send the request again", total)
		}
		writeError(w, http.StatusUnprocessableEntity, msg, ps)
	case errors.As(err, &probe):
		// The connection test of a new endpoint failed: nothing was saved.
		writeError(w, http.StatusUnprocessableEntity, err.Error(),
			[]Problem{{Message: probe.Step + ": " + probe.Detail, Fix: probe.Fix}})
	case errors.As(err, &conn):
		writeError(w, http.StatusUnprocessableEntity, err.Error(), []Problem{{Message: err.Error()}})
	default:
		h.log.Error("api request", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "internal error: the server's log says more", nil)
	}
}

// conflictMessage is the sentence of a 409: the problem's, named by the
// route's properties.
func conflictMessage(err error, names fields) string {
	var ve *migration.ValidationError
	errors.As(err, &ve)
	return ve.Message(names.name(ve.Field))
}

// problems lists every problem err holds: the settings' and the migration
// file's (its rows named by names' "CSV" property); total counts those
// not listed too, first is the first as a sentence.
func problems(err error, names fields) (list []Problem, total int, first string) {
	var settings migration.ValidationErrors
	if !errors.As(err, &settings) {
		var ve *migration.ValidationError
		if errors.As(err, &ve) {
			settings = migration.ValidationErrors{ve}
		}
	}
	for _, p := range settings {
		name := names.name(p.Field)
		list = append(list, Problem{Field: name, Value: p.Value, Message: p.Message(name), Fix: p.Fix})
	}
	if len(list) > 0 {
		first = list[0].Message
	}
	total = len(list)
	var file *csvfile.ProblemsError
	if errors.As(err, &file) {
		csv := names.name("CSV")
		for _, p := range file.Problems {
			list = append(list, Problem{Field: csv, Row: p.Row, Column: p.Column, Message: p.Message, Fix: p.Fix})
		}
		if file.Omitted > 0 {
			list = append(list, Problem{Field: csv, Message: fmt.Sprintf("%d more problems not listed", file.Omitted),
				Fix: "fix those listed and check the file again"})
		}
		if first == "" && len(file.Problems) > 0 {
			first = csv + ": " + file.Problems[0].String()
		}
		total += file.Total()
	}
	return list, total, first
}

// Body limits: a JSON request, and one that carries a migration file (as
// JSON text, escaped, or as an upload).
const (
	maxJSONBody = 1 << 20
	maxFileBody = 2*csvfile.DefaultMaxBytes + 1<<20
)

// decodeJSON reads r's JSON body into v: at most limit bytes, one object,
// only known properties. optional lets an empty body through (v unset).
func decodeJSON(w http.ResponseWriter, r *http.Request, v any, limit int64, optional bool) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return &requestError{status: http.StatusUnsupportedMediaType, msg: fmt.Sprintf("Content-Type %q: send application/json", ct)}
		}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, err := dec.Token(); err != io.EOF {
			if tooLarge(err) {
				return tooLargeError(limit)
			}
			return badRequest("malformed JSON: one object is taken, and something follows it")
		}
		return nil
	}
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		if optional {
			return nil
		}
		return badRequest("empty body: send a JSON object")
	case tooLarge(err):
		return tooLargeError(limit)
	case errors.As(err, &syntax):
		return badRequest("malformed JSON at byte %d: %s", syntax.Offset, strings.TrimPrefix(syntax.Error(), "json: "))
	case errors.As(err, &typ):
		if typ.Field == "" {
			return badRequest("malformed JSON: the body must be an object, not %s", typ.Value)
		}
		return badRequest("malformed JSON: property %s must be %s, not %s", property(typ.Field), jsonType(typ.Type.String()), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return badRequest("unknown property %s (see /api/v1/openapi.json)", strings.TrimPrefix(err.Error(), "json: unknown field "))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("malformed JSON: the body ends before the object does")
	}
	return badRequest("malformed JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

// property is a JSON path without the Go names of embedded structs
// ("endpointSettings.Port" is Port): properties are capitalised.
func property(path string) string {
	var kept []string
	for _, p := range strings.Split(path, ".") {
		if p != "" && !(p[0] >= 'a' && p[0] <= 'z') {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, ".")
}

// jsonType names a Go type as JSON does.
func jsonType(goType string) string {
	goType = strings.TrimPrefix(goType, "*")
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"), strings.HasPrefix(goType, "float"):
		return "a number"
	case goType == "bool":
		return "true or false"
	case goType == "string", strings.Contains(goType, "."):
		return "a string"
	}
	return goType
}

func tooLarge(err error) bool {
	var mb *http.MaxBytesError
	return errors.As(err, &mb)
}

func tooLargeError(limit int64) error {
	return &requestError{status: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf("the request body is over its limit of %d bytes", limit)}
}
