package api

import (
	"cmp"
	"encoding/json"
	"mime"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// document is the part of an OpenAPI document the test reads.
type document struct {
	OpenAPI    string                                `json:"openapi"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas map[string]*schema `json:"schemas"`
	} `json:"components"`
}

type operation struct {
	OperationID string `json:"operationId"`
	RequestBody *struct {
		Content map[string]json.RawMessage `json:"content"`
	} `json:"requestBody"`
	Responses map[string]struct {
		Content map[string]struct {
			Schema *schema `json:"schema"`
		} `json:"content"`
	} `json:"responses"`
}

type schema struct {
	Ref                  string             `json:"$ref"`
	Type                 string             `json:"type"`
	Properties           map[string]*schema `json:"properties"`
	Items                *schema            `json:"items"`
	AllOf                []*schema          `json:"allOf"`
	OneOf                []*schema          `json:"oneOf"`
	AdditionalProperties json.RawMessage    `json:"additionalProperties"`
}

func readDocument(t *testing.T) *document {
	t.Helper()
	var d document
	if err := json.Unmarshal(openAPI, &d); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(d.OpenAPI, "3.1.") {
		t.Fatalf("openapi %q, want 3.1.x", d.OpenAPI)
	}
	return &d
}

// ops lists the document's operations as patterns ("GET /api/v1/…").
func (d *document) ops(t *testing.T) map[string]*operation {
	out := map[string]*operation{}
	for path, item := range d.Paths {
		for method, raw := range item {
			if method == "parameters" {
				continue
			}
			var op operation
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			out[strings.ToUpper(method)+" "+path] = &op
		}
	}
	return out
}

// resolve follows a $ref.
func (d *document) resolve(t *testing.T, s *schema) *schema {
	t.Helper()
	for s != nil && s.Ref != "" {
		name, ok := strings.CutPrefix(s.Ref, "#/components/schemas/")
		next := d.Components.Schemas[name]
		if !ok || next == nil {
			t.Fatalf("$ref %s resolves to nothing", s.Ref)
		}
		s = next
	}
	return s
}

// properties are the properties an object of schema s may have; open
// says it may have any.
func (d *document) properties(t *testing.T, s *schema) (props map[string]bool, open bool) {
	s = d.resolve(t, s)
	props = map[string]bool{}
	if s == nil {
		return props, true
	}
	for name := range s.Properties {
		props[name] = true
	}
	open = len(s.AdditionalProperties) > 0 && string(s.AdditionalProperties) != "false" || s.Type == "object" && len(s.Properties) == 0 && len(s.AllOf) == 0
	for _, sub := range s.AllOf {
		p, o := d.properties(t, sub)
		for k := range p {
			props[k] = true
		}
		open = open || o
	}
	return props, open
}

// checkValue lists the properties v has, at every depth, that schema s
// does not name.
func (d *document) checkValue(t *testing.T, where string, s *schema, v any) []string {
	t.Helper()
	s = d.resolve(t, s)
	if s == nil {
		return nil
	}
	if len(s.OneOf) > 0 {
		// The first alternative that names every property.
		var first []string
		for i, alt := range s.OneOf {
			bad := d.checkValue(t, where, alt, v)
			if len(bad) == 0 {
				return nil
			}
			if i == 0 {
				first = bad
			}
		}
		return first
	}
	var bad []string
	switch v := v.(type) {
	case []any:
		for i, item := range v {
			if s.Items == nil {
				return append(bad, where+": an array where the document has no items")
			}
			bad = append(bad, d.checkValue(t, where+"["+strconv.Itoa(i)+"]", s.Items, item)...)
		}
	case map[string]any:
		props, open := d.properties(t, s)
		if open {
			return nil
		}
		for k, child := range v {
			if !props[k] {
				bad = append(bad, where+": property "+k+" is not in the document")
				continue
			}
			bad = append(bad, d.checkValue(t, where+"."+k, d.property(t, s, k), child)...)
		}
	}
	return bad
}

// property is the schema of property name of object schema s.
func (d *document) property(t *testing.T, s *schema, name string) *schema {
	s = d.resolve(t, s)
	if p := s.Properties[name]; p != nil {
		return p
	}
	for _, sub := range s.AllOf {
		if p := d.property(t, sub, name); p != nil {
			return p
		}
	}
	return nil
}

// The document and the routes agree: every operation is routed to the
// pattern it names, every route is documented, and every $ref resolves.
func TestOpenAPIRoutes(t *testing.T) {
	d := readDocument(t)
	ops := d.ops(t)
	outer := New(Config{}).(*http.ServeMux)
	inner := (&handler{}).routes()
	for p := range ops {
		method, path, _ := strings.Cut(p, " ")
		req := httptest.NewRequest(method, concrete(path), nil)
		_, got := outer.Handler(req)
		if got == Prefix {
			_, got = inner.Handler(req)
		}
		if got != p {
			t.Errorf("documented %s is routed to %q", p, got)
		}
	}
	for _, p := range append(patterns(), "GET /api/v1/openapi.json") {
		if ops[p] == nil {
			t.Errorf("route %s is not in the document", p)
		}
	}
	var refs []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if r, ok := v["$ref"].(string); ok {
				refs = append(refs, r)
			}
			for _, c := range v {
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	var all any
	json.Unmarshal(openAPI, &all)
	walk(all)
	for _, r := range refs {
		d.resolve(t, &schema{Ref: r})
	}
	a := httptest.NewRecorder()
	outer.ServeHTTP(a, httptest.NewRequest("GET", "/api/v1/openapi.json", nil))
	if a.Code != http.StatusOK || a.Header().Get("Content-Type") != "application/json; charset=utf-8" || a.Body.Len() != len(openAPI) {
		t.Errorf("GET openapi.json: %d %v", a.Code, a.Header())
	}
}

// Every operation of the document, sent to the real handlers (first on
// objects that exist, with bodies that succeed, then on unknown ones with
// empty objects), answers a status the document lists, with a documented
// content type, and no property the document does not name.
func TestOpenAPIAnswers(t *testing.T) {
	d := readDocument(t)
	ops := d.ops(t)
	e := newEnv(t, "")
	e.endpoints()
	e.batch("b1")
	e.do("POST", "/api/v1/batches", map[string]any{"Name": "b2", "SourceEndpoint": "old", "TargetEndpoint": "new",
		"CSVData": "EmailAddress,UserName,Password\r\nlee@new.example,lee,x\r\n", "AutoStart": true}).want(t, http.StatusCreated, "b2")

	good := map[string]struct {
		path string
		body any
	}{
		"newEndpoint":    {"", map[string]any{"Name": "other", "RemoteServer": "imap.example", "SkipVerification": true}},
		"testServer":     {"", map[string]any{"RemoteServer": e.src.Host, "Port": e.src.TLSPort, "CAFile": e.src.CA.CAFile, "User": "kim", "Password": kimSecret}},
		"getEndpoint":    {"old", nil},
		"patchEndpoint":  {"old", map[string]any{"MaxConcurrentMigrations": 50}},
		"removeEndpoint": {"other", nil},
		"testEndpoint":   {"new", map[string]any{"TestMailbox": "terry@new.example"}},
		"newBatch":       {"", map[string]any{"Name": "b3", "SourceEndpoint": "old", "TargetEndpoint": "new", "CSVData": "EmailAddress,UserName,Password\r\nmo@new.example,mo,x\r\n"}},
		"getBatch":       {"b1", nil},
		"patchBatch":     {"b1", map[string]any{"ReportInterval": "12h"}},
		"removeBatch":    {"b3", nil},
		"startBatch":     {"b1", nil},
		"stopBatch":      {"b1", nil},
		"completeBatch":  {"b2", nil},
		"batchUsers":     {"b1", nil},
		"batchReport":    {"b1", nil},
		"getUser":        {"terry@new.example", nil},
		"patchUser":      {"terry@new.example", map[string]any{"Password": newSecret}},
		"removeUser":     {"kim@new.example", nil},
	}
	// Reads first, removals last, so that each finds what it needs.
	order := func(p string) int {
		switch {
		case strings.HasPrefix(p, "GET "):
			return 0
		case strings.HasPrefix(p, "DELETE "):
			return 2
		}
		return 1
	}
	keys := make([]string, 0, len(ops))
	for p := range ops {
		keys = append(keys, p)
	}
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(cmp.Compare(order(a), order(b)), strings.Compare(a, b)) })

	check := func(p string, op *operation, a *answer) {
		t.Helper()
		res, ok := op.Responses[strconv.Itoa(a.Status)]
		if !ok {
			t.Errorf("%s answered %d, which the document does not list:\n%.400s", p, a.Status, a.Body)
			return
		}
		mt, _, _ := mime.ParseMediaType(a.Header.Get("Content-Type"))
		content, ok := res.Content[mt]
		if !ok {
			t.Errorf("%s answered %d as %q, which the document does not list", p, a.Status, mt)
			return
		}
		if mt == "application/json" {
			var v any
			a.JSON(t, &v)
			for _, bad := range d.checkValue(t, p+" "+strconv.Itoa(a.Status), content.Schema, v) {
				t.Error(bad)
			}
		}
	}
	for _, p := range keys {
		op := ops[p]
		method, path, _ := strings.Cut(p, " ")
		g, ok := good[op.OperationID]
		if !ok && op.OperationID != "listEndpoints" && op.OperationID != "listBatches" && op.OperationID != "openAPI" {
			t.Errorf("%s (%s): no request for it in the test", p, op.OperationID)
		}
		concretePath := strings.NewReplacer("{name}", g.path, "{email}", g.path).Replace(path)
		a := e.do(method, concretePath, g.body)
		if a.Status >= 300 {
			t.Errorf("%s %s: %d, want success:\n%.400s", method, concretePath, a.Status, a.Body)
		}
		check(p, op, a)
	}
	for _, p := range keys {
		method, path, _ := strings.Cut(p, " ")
		var body any
		if ops[p].RequestBody != nil {
			body = map[string]any{}
		}
		check(p, ops[p], e.do(method, concrete(path), body))
	}
}
