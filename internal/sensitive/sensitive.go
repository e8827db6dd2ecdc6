// Package sensitive holds String, a password or token that never shows its
// value: not through fmt (any verb, %#v included), encoding/json,
// encoding.TextMarshaler users (YAML, TOML, XML, JSON map keys) or log/slog
// (text and JSON handlers alike). Only Reveal returns it, for the one place
// that needs it: the wire, or the sealing of package secret.
//
// It is a leaf package (it imports only the standard library), so that any
// package can hold a secret without importing the one that sends it.
package sensitive

import (
	"fmt"
	"log/slog"
	"strconv"
)

// Mask is what a String shows instead of its value.
const Mask = "***"

// String is a password or token. Its zero value is the empty secret.
//
// Decoding keeps working (json.Unmarshal into a String sets its value); only
// encoding masks it, so a value that goes out through an encoder and comes
// back in is lost: never round-trip secrets through an encoder.
type String string

// Reveal returns the secret's value, for the wire only.
func (s String) Reveal() string { return string(s) }

// String is Mask.
func (String) String() string { return Mask }

// GoString is Mask, so that %#v shows no value either.
func (String) GoString() string { return Mask }

// Format prints Mask for every verb and flag (%v %+v %#v %s %q %x %d …).
func (String) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		fmt.Fprint(f, strconv.Quote(Mask))
		return
	}
	fmt.Fprint(f, Mask)
}

// MarshalJSON writes "***".
func (String) MarshalJSON() ([]byte, error) { return []byte(`"` + Mask + `"`), nil }

// MarshalText writes ***.
func (String) MarshalText() ([]byte, error) { return []byte(Mask), nil }

// LogValue is Mask: slog's handlers never see the value.
func (String) LogValue() slog.Value { return slog.StringValue(Mask) }

var (
	_ fmt.Stringer   = String("")
	_ fmt.GoStringer = String("")
	_ fmt.Formatter  = String("")
	_ slog.LogValuer = String("")
)
