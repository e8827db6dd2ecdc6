package csvfile

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
)

// decoded is a migration file turned into text.
type decoded struct {
	text     string
	encoding string // for display: "UTF-8 with BOM", "GBK", …
	notices  []string
	// badFix says how to fix a cell that holds U+FFFD: where the chosen or
	// detected encoding met bytes it cannot decode.
	badFix string
}

// byte-order marks Excel writes: "CSV UTF-8" and "Unicode text".
var boms = []struct {
	bom  []byte
	name string // htmlindex name
}{
	{[]byte{0xEF, 0xBB, 0xBF}, "utf-8"},
	{[]byte{0xFF, 0xFE}, "utf-16le"},
	{[]byte{0xFE, 0xFF}, "utf-16be"},
}

// lookupEncoding resolves an Options.Encoding: "" or "auto" detect (nil),
// anything else is a WHATWG label (utf-8, utf-16le, windows-1252, latin1,
// gbk, gb18030, big5, shift_jis, …).
func lookupEncoding(label string) (encoding.Encoding, string, error) {
	if label == "" || strings.EqualFold(label, "auto") {
		return nil, "", nil
	}
	enc, err := htmlindex.Get(label)
	if err != nil {
		return nil, "", fmt.Errorf("encoding %q is unknown: use auto, utf-8, utf-16le, utf-16be, windows-1252, gbk, big5 or another WHATWG encoding label", label)
	}
	name, err := htmlindex.Name(enc)
	if err != nil {
		return nil, "", fmt.Errorf("encoding %q: %w", label, err)
	}
	return enc, name, nil
}

// decode turns raw file bytes into text. A byte-order mark decides the
// encoding (whatever label says, with a notice when they differ); without
// one, label decides, and "auto" means UTF-8, or UTF-16 when the first two
// bytes are an ASCII character and a NUL (an Excel "Unicode text" file that
// lost its mark). Bytes that are not valid in the encoding become U+FFFD:
// the caller reports them per cell, with badFix.
func decode(raw []byte, label string) (decoded, error) {
	enc, name, err := lookupEncoding(label)
	if err != nil {
		return decoded{}, err
	}
	var d decoded
	bom := false
	for _, b := range boms {
		if bytes.HasPrefix(raw, b.bom) {
			if enc != nil && name != b.name {
				d.notices = append(d.notices, fmt.Sprintf("the file starts with a %s byte-order mark, so it was read as %s, not %s", displayName(b.name), displayName(b.name), displayName(name)))
			}
			raw, name, bom = raw[len(b.bom):], b.name, true
			enc, _ = htmlindex.Get(name)
			break
		}
	}
	if !bom && enc == nil {
		name = "utf-8"
		if len(raw) >= 2 && raw[0] != 0 && raw[1] == 0 {
			name = "utf-16le"
		} else if len(raw) >= 2 && raw[0] == 0 && raw[1] != 0 {
			name = "utf-16be"
		}
		if name != "utf-8" {
			d.notices = append(d.notices, fmt.Sprintf("the file has no byte-order mark but its bytes are %s, so it was read as %s", displayName(name), displayName(name)))
		}
		enc, _ = htmlindex.Get(name)
	}

	if name == "utf-8" {
		d.text = string(raw)
		if !utf8.ValidString(d.text) {
			d.text = strings.ToValidUTF8(d.text, "\uFFFD")
		}
	} else {
		out, err := enc.NewDecoder().Bytes(raw)
		if err != nil {
			return decoded{}, fmt.Errorf("decode as %s: %w", displayName(name), err)
		}
		d.text = string(out)
	}

	d.encoding = displayName(name)
	if bom {
		d.encoding += " with BOM"
	}
	if label == "" || strings.EqualFold(label, "auto") {
		d.badFix = fmt.Sprintf(`the file is not %s: give its encoding (--csv-encoding windows-1252 for Western Europe, gbk for Simplified Chinese, big5 for Traditional Chinese), or save it from Excel as "CSV UTF-8"`, displayName(name))
	} else {
		d.badFix = fmt.Sprintf(`the file is not %s: give its real encoding with --csv-encoding, or save it from Excel as "CSV UTF-8"`, displayName(name))
	}
	return d, nil
}

// displayName is how an encoding is named to admins.
func displayName(name string) string {
	switch name {
	case "utf-8":
		return "UTF-8"
	case "utf-16le":
		return "UTF-16LE"
	case "utf-16be":
		return "UTF-16BE"
	case "gbk":
		return "GBK"
	case "gb18030":
		return "GB18030"
	case "big5":
		return "Big5"
	}
	return name
}
