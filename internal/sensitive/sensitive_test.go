package sensitive_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/imapmigrate/imapmigrate/internal/sensitive"
)

const value = "hunter2-Sekret"

type holder struct {
	User     string
	Password sensitive.String
	Token    *sensitive.String `json:",omitempty"`
}

func check(t *testing.T, what, out string) {
	t.Helper()
	if strings.Contains(out, value) || strings.Contains(out, "hunter2") {
		t.Errorf("%s shows the secret: %s", what, out)
	}
	if !strings.Contains(out, "***") {
		t.Errorf("%s shows no mask: %s", what, out)
	}
}

func TestStringNeverShowsItsValue(t *testing.T) {
	s := sensitive.String(value)
	tok := sensitive.String(value)
	h := holder{User: "terry", Password: s, Token: &tok}

	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10s", "%-8v"} {
		check(t, "fmt "+verb, fmt.Sprintf(verb, s))
		check(t, "fmt "+verb+" of a struct", fmt.Sprintf(verb, h))
		check(t, "fmt "+verb+" of a pointer to a struct", fmt.Sprintf(verb, &h))
	}
	check(t, "fmt.Sprint", fmt.Sprint(s, h))
	check(t, "fmt.Sprintln", fmt.Sprintln(s))

	for _, v := range []any{s, h, &h, map[string]sensitive.String{"k": s}, []sensitive.String{s}} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		check(t, "json.Marshal", string(b))
	}
	b, _ := json.Marshal(h)
	if string(b) != `{"User":"terry","Password":"***","Token":"***"}` {
		t.Errorf("json = %s", b)
	}
	b, err := xml.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	check(t, "xml.Marshal", string(b))

	var text, js bytes.Buffer
	for _, hd := range []slog.Handler{slog.NewTextHandler(&text, nil), slog.NewJSONHandler(&js, nil)} {
		log := slog.New(hd)
		log.Info("login", "password", s, "holder", h, "ptr", &h)
		log.Info("group", slog.Group("g", "token", s))
		log.With("password", s).Info("with")
	}
	for _, line := range strings.Split(strings.TrimSpace(text.String()+js.String()), "\n") {
		check(t, "slog", line)
	}

	if s.Reveal() != value {
		t.Errorf("Reveal = %q", s.Reveal())
	}
}

// Decoding sets the value: configuration can be read into a String.
func TestStringDecodes(t *testing.T) {
	var h holder
	if err := json.Unmarshal([]byte(`{"Password":"`+value+`"}`), &h); err != nil || h.Password.Reveal() != value {
		t.Errorf("unmarshal: %v %q", err, h.Password.Reveal())
	}
}
