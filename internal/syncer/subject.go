package syncer

import (
	"context"
	"io"
	"mime"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-message/charset"
)

// subjectSection is the Subject header field of a message, read without
// setting \Seen.
var subjectSection = &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"Subject"}, Peek: true}

const (
	// maxSubjectHeader bounds how much of the Subject field is read; the
	// rest of a longer literal is discarded unread into memory.
	maxSubjectHeader = 16 << 10
	// maxHeaderScan bounds how much of a whole message is read looking
	// for its Subject.
	maxHeaderScan = 256 << 10
	// maxSubjectRunes bounds a subject as recorded and reported.
	maxSubjectRunes = 255
)

// fillSubjects sets the Subject of the skips that have none, with one UID
// FETCH of their Subject header fields. It is best effort, for the report:
// a message the server does not answer for, or a failed command, leaves
// the subject empty and the folder goes on. The literals are read bounded
// and never abort the connection.
func (f *folderRun) fillSubjects(ctx context.Context, skips []Skip) {
	byUID := make(map[imap.UID][]int, len(skips))
	var uids []imap.UID
	for i, s := range skips {
		if s.Subject != "" || s.Reason == SkipVanished {
			continue
		}
		if _, ok := byUID[s.SourceUID]; !ok {
			uids = append(uids, s.SourceUID)
		}
		byUID[s.SourceUID] = append(byUID[s.SourceUID], i)
	}
	if len(uids) == 0 || ctx.Err() != nil {
		return
	}
	cmd := f.w.src.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{subjectSection}})
	for {
		msg := cmd.Next()
		if msg == nil {
			break
		}
		var uid imap.UID
		var subject string
		for {
			item := msg.Next()
			if item == nil {
				break
			}
			switch it := item.(type) {
			case imapclient.FetchItemDataUID:
				uid = it.UID
			case imapclient.FetchItemDataBodySection:
				if it.Literal != nil {
					subject = subjectOf(io.LimitReader(it.Literal, maxSubjectHeader))
					io.Copy(io.Discard, it.Literal)
				}
			}
		}
		for _, i := range byUID[uid] {
			skips[i].Subject = subject
		}
	}
	if err := cmd.Close(); err != nil {
		f.w.r.s.Log.Debug("fetch the subjects of skipped messages", "mailbox", f.m.Source.Name, "err", err)
	}
}

// subjectOf returns the Subject of the header that r starts with (a whole
// message, or the answer to BODY[HEADER.FIELDS (SUBJECT)]), unfolded and
// decoded (RFC 2047, in any charset go-message knows), as valid UTF-8
// without control characters, at most maxSubjectRunes long; "" when there
// is none. It reads at most maxHeaderScan bytes of r.
func subjectOf(r io.Reader) string {
	// A header cut short, or with no blank line after it, still parses.
	msg, err := mail.ReadMessage(io.MultiReader(io.LimitReader(r, maxHeaderScan), strings.NewReader("\r\n\r\n")))
	if err != nil {
		return ""
	}
	raw := msg.Header.Get("Subject")
	dec := mime.WordDecoder{CharsetReader: charset.Reader}
	s, err := dec.DecodeHeader(raw)
	if err != nil {
		s = raw
	}
	return cleanText(s, maxSubjectRunes)
}

// spooledSubject is the Subject of a fetched message.
func spooledSubject(sp *spooled) string {
	body, err := sp.body()
	if err != nil {
		return ""
	}
	return subjectOf(body)
}

// cleanText makes s valid UTF-8, turns control characters and runs of
// white space into one space, and cuts it to at most n runes ("…" ending
// one that was cut).
func cleanText(s string, n int) string {
	s = strings.Join(strings.FieldsFunc(strings.ToValidUTF8(s, "\uFFFD"), func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r)
	}), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)[:n-1]
	return strings.TrimRight(string(r), " ") + "…"
}
