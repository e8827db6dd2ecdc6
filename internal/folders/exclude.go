package folders

import (
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-imap/v2"
)

// tokens are Exchange Online's well-known folder names for exclusion
// patterns. useInbox stands for INBOX, which is not a special use.
var tokens = []struct {
	name string
	use  imap.MailboxAttr
}{
	{"Inbox", useInbox},
	{"SentItems", imap.MailboxAttrSent},
	{"Drafts", imap.MailboxAttrDrafts},
	{"DeletedItems", imap.MailboxAttrTrash},
	{"JunkEmail", imap.MailboxAttrJunk},
	{"Archive", imap.MailboxAttrArchive},
}

// useInbox is the anchor of the #Inbox# token.
const useInbox imap.MailboxAttr = "INBOX"

// pattern is one parsed exclusion pattern.
type pattern struct {
	raw     string           // as the administrator wrote it: the reason shown in Mapping.Excluded
	anchor  imap.MailboxAttr // "": the mailbox root; useInbox or a special use: a #token#
	segs    []string         // literal levels below the anchor
	subtree bool             // ended in "/*": the folder and everything under it
}

// ValidateExclude reports whether pattern is a valid exclusion pattern (see
// the package documentation), so that a batch can be refused before it runs.
func ValidateExclude(pattern string) error {
	_, err := parsePattern(pattern)
	return err
}

// patternLevel is one '/'-separated level of a pattern while it is parsed.
type patternLevel struct {
	text  strings.Builder
	runes int
	hash  [2]bool // the first / the last rune was an unescaped '#'
	star  bool    // the level held an unescaped '*'
}

func parsePattern(raw string) (pattern, error) {
	p := pattern{raw: raw}
	bad := func(why string) (pattern, error) {
		return pattern{}, fmt.Errorf("exclude folder %q: %s", raw, why)
	}
	s := strings.TrimPrefix(raw, "/") // "relative to the root" with or without the slash
	if s == "" {
		return bad("empty pattern")
	}
	var levels []*patternLevel
	cur := &patternLevel{}
	add := func(r rune, escaped bool) {
		cur.hash[0] = cur.hash[0] || (cur.runes == 0 && r == '#' && !escaped)
		cur.hash[1] = r == '#' && !escaped
		cur.star = cur.star || (r == '*' && !escaped)
		cur.text.WriteRune(r)
		cur.runes++
	}
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		switch r := rs[i]; {
		case r == '\\' && i+1 < len(rs) && strings.ContainsRune(`#\/*`, rs[i+1]):
			i++
			add(rs[i], true)
		case r == '/':
			levels = append(levels, cur)
			cur = &patternLevel{}
		default:
			add(r, false)
		}
	}
	levels = append(levels, cur)

	last := len(levels) - 1
	if l := levels[last]; l.star && l.text.String() == "*" {
		if last == 0 {
			return bad(`"*" alone would exclude every folder`)
		}
		p.subtree = true
		levels = levels[:last]
	}
	for i, l := range levels {
		text := l.text.String()
		switch {
		case l.runes == 0:
			return bad("empty folder name level (use Name/* for a folder and its subfolders)")
		case l.star:
			return bad(`"*" is only allowed as a whole last level ("Name/*"); write \* for a literal *`)
		case l.runes >= 2 && l.hash[0] && l.hash[1]:
			if i > 0 {
				return bad(fmt.Sprintf(`well-known folder %s can only come first; write \# for a literal #`, text))
			}
			if p.anchor = tokenUse(text[1 : len(text)-1]); p.anchor == "" {
				return bad(fmt.Sprintf(`unknown well-known folder %s (known: #Inbox#, #SentItems#, #Drafts#, #DeletedItems#, #JunkEmail#, #Archive#); write \# for a literal #`, text))
			}
		default:
			p.segs = append(p.segs, text)
		}
	}
	return p, nil
}

func tokenUse(name string) imap.MailboxAttr {
	for _, t := range tokens {
		if strings.EqualFold(name, t.name) {
			return t.use
		}
	}
	return ""
}

// parsePatterns parses every pattern and reports every bad one at once.
func parsePatterns(raws []string) ([]pattern, error) {
	var ps []pattern
	var errs []error
	for _, raw := range raws {
		p, err := parsePattern(raw)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ps = append(ps, p)
	}
	return ps, errors.Join(errs...)
}

// matches reports whether the folder at path (levels below the mailbox root,
// INBOX spelt "INBOX") is excluded by p. anchors holds the paths of the source
// folders p.anchor stands for.
func (p pattern) matches(path []string, anchors [][]string) bool {
	for _, a := range anchors {
		full := append(append([]string(nil), a...), p.segs...)
		if len(path) < len(full) || (!p.subtree && len(path) != len(full)) {
			continue
		}
		if equalFoldPath(path[:len(full)], full) {
			return true
		}
	}
	return false
}

func equalFoldPath(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !strings.EqualFold(a[i], b[i]) {
			return false
		}
	}
	return true
}
