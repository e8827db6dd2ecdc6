package imapconn

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
)

// The folder listing goes over our own connection (the Appender's), not
// go-imap's: go-imap's client has no LSUB, which servers without
// LIST-EXTENDED (Courier) need for subscriptions, and one malformed name in
// a LIST answer closes its whole connection. Here each entry is parsed on
// its own: a bad one is reported and the rest is kept.

// Listed is one entry of a LIST or LSUB answer.
type Listed struct {
	Name  string // UTF-8
	Delim rune   // 0 when the server sent NIL
	Attrs []imap.MailboxAttr
}

// BadListed is an entry that could not be read, with why.
type BadListed struct {
	Raw string // the entry as the server sent it, cut to a readable length
	Err string
}

// ListLimits bound what a listing may hold.
type ListLimits struct {
	Entries int // entries, default 10,000
	Name    int // bytes of one name, default 4 KiB
}

// List sends LIST (or LSUB with lsub) "" "*", with RETURN (SUBSCRIBED
// [SPECIAL-USE]) when ret is set (LIST-EXTENDED), and reads every entry.
// More entries than the limit, or a name longer than its limit, fail the
// whole listing (the server may never stop); an entry that cannot be parsed
// is returned in bad.
func (a *Appender) List(ctx context.Context, lsub bool, ret []string, lim ListLimits) (list []Listed, bad []BadListed, err error) {
	stop := context.AfterFunc(ctx, func() { a.conn.Close() })
	defer stop()
	if lim.Entries <= 0 {
		lim.Entries = 10_000
	}
	if lim.Name <= 0 {
		lim.Name = 4 << 10
	}
	verb := "LIST"
	if lsub {
		verb = "LSUB"
	}
	cmd := verb + ` "" "*"`
	if len(ret) > 0 && !lsub {
		cmd += " RETURN (" + strings.Join(ret, " ") + ")"
	}
	tag := a.nextTag()
	a.deadline(0)
	if _, err := fmt.Fprintf(a.bw, "%s %s\r\n", tag, cmd); err != nil {
		return nil, nil, a.listErr(ctx, verb, err)
	}
	if err := a.bw.Flush(); err != nil {
		return nil, nil, a.listErr(ctx, verb, err)
	}
	for {
		a.deadline(0) // per response: a long listing is not a slow one
		line, lits, err := readResponseLiterals(a.br, int64(lim.Name))
		if err != nil {
			return nil, nil, a.listErr(ctx, verb, err)
		}
		switch {
		case strings.HasPrefix(line, "* "):
			rest := line[2:]
			name, args, _ := strings.Cut(rest, " ")
			if !strings.EqualFold(name, verb) {
				a.untagged(rest)
				continue
			}
			if len(list)+len(bad) >= lim.Entries {
				a.conn.Close()
				return nil, nil, &Error{Class: Fatal, Op: strings.ToLower(verb), Err: fmt.Errorf(
					"%w: the server listed more than %d folders", ErrServerLimit, lim.Entries)}
			}
			l, err := parseListed(args, lits, a.utf8Names)
			if err != nil {
				bad = append(bad, BadListed{Raw: shorten(line, 120), Err: err.Error()})
				continue
			}
			list = append(list, l)
		case strings.HasPrefix(line, "+"):
			return nil, nil, &Error{Class: Fatal, Op: strings.ToLower(verb), Err: errors.New("unexpected continuation request")}
		default:
			t, rest, _ := strings.Cut(line, " ")
			if t != tag {
				continue
			}
			if st := parseStatus(rest); st.typ != "OK" {
				return nil, nil, Classify(st.err(), false)
			}
			a.conn.SetDeadline(time.Time{})
			return list, bad, nil
		}
	}
}

func (a *Appender) listErr(ctx context.Context, verb string, err error) error {
	if ctx.Err() != nil {
		err = errors.Join(ctx.Err(), err)
	}
	e := Classify(explainTimeout(err, a.cfg.commandTimeout()), false)
	if e.Op == "" {
		e.Op = strings.ToLower(verb)
	}
	return e
}

func shorten(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// readResponseLiterals reads one response like readResponse, but keeps the
// literals (each at most maxLit bytes: a larger one fails the read, since
// a listing has no business holding it). The returned line holds "{}" where
// each literal was.
func readResponseLiterals(br *bufio.Reader, maxLit int64) (string, [][]byte, error) {
	line, err := readLine(br)
	if err != nil {
		return "", nil, err
	}
	var full strings.Builder
	var lits [][]byte
	for {
		n := literalSuffix(line)
		if n < 0 {
			full.WriteString(line)
			return full.String(), lits, nil
		}
		if n > maxLit {
			return "", nil, fmt.Errorf("%w: a %d-byte literal in a listing (at most %d)", ErrServerLimit, n, maxLit)
		}
		full.WriteString(line[:strings.LastIndexByte(line, '{')])
		full.WriteString("{}")
		lit := make([]byte, n)
		if _, err := io.ReadFull(br, lit); err != nil {
			return "", nil, err
		}
		lits = append(lits, lit)
		if full.Len() > maxLine {
			return "", nil, fmt.Errorf("response line longer than %d bytes", maxLine)
		}
		if line, err = readLine(br); err != nil {
			return "", nil, err
		}
	}
}

// parseListed reads `(attrs) delim name [extended data]` of one LIST or
// LSUB entry; "{}" in args stands for the next of lits.
func parseListed(args string, lits [][]byte, utf8Names bool) (Listed, error) {
	p := &listParser{s: args, lits: lits}
	var l Listed
	if !p.consume('(') {
		return l, errors.New("no attribute list")
	}
	for !p.consume(')') {
		p.space()
		atom := p.atom()
		if atom == "" {
			return l, errors.New("bad attribute list")
		}
		l.Attrs = append(l.Attrs, imap.MailboxAttr(atom))
		p.space()
	}
	if !p.consume(' ') {
		return l, errors.New("no delimiter")
	}
	delim, ok, isNil := p.nstring()
	switch {
	case !ok:
		return l, errors.New("bad delimiter")
	case isNil:
	case len([]rune(delim)) != 1:
		return l, fmt.Errorf("delimiter %q is not one character", delim)
	default:
		l.Delim = []rune(delim)[0]
	}
	if !p.consume(' ') {
		return l, errors.New("no mailbox name")
	}
	raw, ok, isNil := p.nstring()
	if !ok || isNil {
		return l, errors.New("bad mailbox name")
	}
	if raw == "" {
		return l, errors.New("empty mailbox name")
	}
	if strings.ContainsAny(raw, "\x00\r\n") {
		return l, fmt.Errorf("mailbox name %q holds a NUL, CR or LF", raw)
	}
	name := raw
	if !utf8Names {
		var err error
		if name, err = decodeMailbox(raw); err != nil {
			return l, fmt.Errorf("mailbox name %q: %w", raw, err)
		}
	}
	if strings.EqualFold(name, "INBOX") {
		name = "INBOX"
	}
	l.Name = name
	return l, nil // extended data (CHILDINFO, OLDNAME) is not needed
}

type listParser struct {
	s    string
	lits [][]byte
}

func (p *listParser) consume(c byte) bool {
	if len(p.s) > 0 && p.s[0] == c {
		p.s = p.s[1:]
		return true
	}
	return false
}

func (p *listParser) space() {
	for p.consume(' ') {
	}
}

// atom reads an atom, or a flag (`\Noselect`).
func (p *listParser) atom() string {
	i := 0
	for i < len(p.s) && !strings.ContainsRune(" ()\"{", rune(p.s[i])) && p.s[i] > 0x20 && p.s[i] < 0x7f {
		i++
	}
	a := p.s[:i]
	p.s = p.s[i:]
	return a
}

// nstring reads a quoted string, a literal, an atom (an astring name) or
// NIL.
func (p *listParser) nstring() (s string, ok, isNil bool) {
	switch {
	case p.consume('"'):
		var sb strings.Builder
		for i := 0; i < len(p.s); i++ {
			switch c := p.s[i]; c {
			case '\\':
				if i+1 == len(p.s) {
					return "", false, false
				}
				i++
				sb.WriteByte(p.s[i])
			case '"':
				p.s = p.s[i+1:]
				return sb.String(), true, false
			default:
				sb.WriteByte(c)
			}
		}
		return "", false, false
	case strings.HasPrefix(p.s, "{}"):
		if len(p.lits) == 0 {
			return "", false, false
		}
		s, p.lits = string(p.lits[0]), p.lits[1:]
		p.s = p.s[2:]
		return s, true, false
	}
	a := p.atom()
	switch {
	case a == "":
		return "", false, false
	case strings.EqualFold(a, "NIL"):
		return "", true, true
	}
	// An astring may hold ']' and '%' '*' are list wildcards a server may
	// echo in a name; both are atom characters here.
	return a, true, false
}

// ListFolders lists every folder of the account with whether it is
// subscribed: one LIST … RETURN (SUBSCRIBED) with LIST-EXTENDED, else LIST
// and LSUB. An LSUB entry marked \Noselect is the unsubscribed parent of a
// subscribed folder (RFC 3501; Courier lists every unsubscribed \Noselect
// parent so), not a subscription. Subscribed folders are returned with the
// \Subscribed attribute, as LIST-EXTENDED does.
func (a *Appender) ListFolders(ctx context.Context, lim ListLimits) ([]Listed, []BadListed, error) {
	if a.caps["LIST-EXTENDED"] {
		ret := []string{"SUBSCRIBED"}
		if a.caps["SPECIAL-USE"] {
			ret = append(ret, "SPECIAL-USE")
		}
		return a.List(ctx, false, ret, lim)
	}
	list, bad, err := a.List(ctx, false, nil, lim)
	if err != nil {
		return nil, nil, err
	}
	subs, _, err := a.List(ctx, true, nil, lim)
	if err != nil {
		return nil, nil, fmt.Errorf("list subscriptions: %w", err)
	}
	subscribed := make(map[string]bool, len(subs))
	for _, s := range subs {
		if !hasAttr(s.Attrs, `\Noselect`) {
			subscribed[s.Name] = true
		}
	}
	for i := range list {
		if subscribed[list[i].Name] {
			list[i].Attrs = append(list[i].Attrs, imap.MailboxAttrSubscribed)
		}
	}
	return list, bad, nil
}

func hasAttr(attrs []imap.MailboxAttr, want string) bool {
	for _, a := range attrs {
		if strings.EqualFold(string(a), want) {
			return true
		}
	}
	return false
}
