package imapconn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
)

// MultiAppend reports whether the server takes several messages in one
// APPEND (RFC 3502).
func (a *Appender) MultiAppend() bool { return a.caps["MULTIAPPEND"] && !a.NoMultiAppend }

// nonSync reports whether a literal of size n may be sent without waiting.
func (a *Appender) nonSync(n int64) bool {
	switch {
	case a.caps["LITERAL+"]:
		return n <= a.NonSyncMax
	case a.caps["LITERAL-"]:
		return n <= 4096
	}
	return false
}

// Append appends msgs to mailbox, in order. With MULTIAPPEND, up to
// MaxBatch messages go in one command (Dovecot stores them in one
// transaction); if the server rejects such a batch, the messages are sent
// again one by one so that only the faulty ones are rejected. Without it,
// single APPENDs are pipelined.
//
// A returned error means the outcome of some message is unknown (the
// connection broke, or the server answered in a way that says nothing of
// the messages): the caller must look at the mailbox before appending those
// messages again. Rejections of single messages are in AppendResult.Errs.
func (a *Appender) Append(ctx context.Context, mailbox string, msgs []AppendMessage) (*AppendResult, error) {
	stop := context.AfterFunc(ctx, func() { a.conn.Close() })
	defer stop()
	res := &AppendResult{UIDs: make([]imap.UID, len(msgs)), Errs: make([]error, len(msgs))}
	if len(msgs) > 1 && a.MultiAppend() {
		for start := 0; start < len(msgs); start += a.batch() {
			end := min(start+a.batch(), len(msgs))
			if err := a.multi(mailbox, msgs[start:end], res, start); err != nil {
				return res, a.wrap(ctx, mailbox, err)
			}
		}
		return res, nil
	}
	if err := a.singles(mailbox, msgs, res, 0); err != nil {
		return res, a.wrap(ctx, mailbox, err)
	}
	return res, nil
}

func (a *Appender) batch() int {
	if a.MaxBatch > 0 {
		return a.MaxBatch
	}
	return 32
}

func (a *Appender) wrap(ctx context.Context, mailbox string, err error) error {
	if ctx.Err() != nil {
		err = errors.Join(ctx.Err(), err)
	}
	e := Classify(explainTimeout(err, a.cfg.commandTimeout()), false)
	if e.Op == "" {
		e.Op = fmt.Sprintf("append to %q", mailbox)
	}
	return e
}

// multi sends one MULTIAPPEND. A NO for the whole batch falls back to
// singles; a transient NO or BAD is returned.
func (a *Appender) multi(mailbox string, msgs []AppendMessage, res *AppendResult, offset int) error {
	tag := a.nextTag()
	var size int64
	for _, m := range msgs {
		size += m.Size
	}
	a.deadline(transferAllowance(size))
	fmt.Fprintf(a.bw, "%s APPEND %s", tag, a.mailboxArg(mailbox))
	for _, m := range msgs {
		a.bw.WriteByte(' ')
		st, rejected, err := a.writeMessage(tag, m)
		if err != nil {
			return err
		}
		if rejected {
			return a.batchRejected(mailbox, msgs, res, offset, st)
		}
	}
	a.bw.WriteString("\r\n")
	if err := a.bw.Flush(); err != nil {
		return err
	}
	st, _, err := a.readUntil(tag, false)
	if err != nil {
		return err
	}
	if st.typ != "OK" {
		return a.batchRejected(mailbox, msgs, res, offset, st)
	}
	uv, uids := parseAppendUID(st.code, len(msgs))
	if len(uids) == len(msgs) {
		res.UIDValidity = uv
		copy(res.UIDs[offset:], uids)
	}
	return nil
}

// batchRejected handles a NO to a whole MULTIAPPEND: RFC 3502 makes the
// command atomic, so nothing was appended; retry one by one unless the
// server's answer concerns the connection rather than the messages.
func (a *Appender) batchRejected(mailbox string, msgs []AppendMessage, res *AppendResult, offset int, st status) error {
	if class := classifyStatus(st.typ, st.code, st.text, true); class != Item {
		return st.err()
	}
	return a.singles(mailbox, msgs, res, offset)
}

// singles pipelines one APPEND per message and then collects the answers.
func (a *Appender) singles(mailbox string, msgs []AppendMessage, res *AppendResult, offset int) error {
	a.early = make(map[string]status)
	defer func() { a.early = nil }()
	tags := make([]string, len(msgs))
	answered := make([]bool, len(msgs))
	for i, m := range msgs {
		tags[i] = a.nextTag()
		a.deadline(transferAllowance(m.Size))
		fmt.Fprintf(a.bw, "%s APPEND %s ", tags[i], a.mailboxArg(mailbox))
		st, rejected, err := a.writeMessage(tags[i], m)
		if err != nil {
			return err
		}
		if rejected {
			answered[i] = true
			a.record(res, offset+i, st)
			continue
		}
		a.bw.WriteString("\r\n")
	}
	if err := a.bw.Flush(); err != nil {
		return err
	}
	for i, tag := range tags {
		if answered[i] {
			continue
		}
		st, ok := a.early[tag]
		if !ok {
			a.deadline(0)
			var err error
			if st, _, err = a.readUntil(tag, false); err != nil {
				return err
			}
		}
		if st.typ != "OK" && classifyStatus(st.typ, st.code, st.text, true) != Item {
			return st.err()
		}
		a.record(res, offset+i, st)
	}
	return nil
}

func (a *Appender) record(res *AppendResult, i int, st status) {
	if st.typ != "OK" {
		res.Errs[i] = &Error{Class: Item, Op: "append", Err: st.err()}
		return
	}
	if uv, uids := parseAppendUID(st.code, 1); len(uids) == 1 {
		res.UIDValidity = uv
		res.UIDs[i] = uids[0]
	}
}

// writeMessage writes "(flags) "date" {n}" and the message bytes. For a
// synchronizing literal it flushes and waits for the go-ahead; a tagged
// answer instead means the server refused the message (rejected).
func (a *Appender) writeMessage(tag string, m AppendMessage) (st status, rejected bool, err error) {
	a.bw.WriteByte('(')
	for i, f := range m.Flags {
		if i > 0 {
			a.bw.WriteByte(' ')
		}
		a.bw.WriteString(string(f))
	}
	a.bw.WriteString(") ")
	if !m.Date.IsZero() {
		a.bw.WriteString(`"` + m.Date.Format("02-Jan-2006 15:04:05 -0700") + `" `)
	}
	if a.nonSync(m.Size) {
		fmt.Fprintf(a.bw, "{%d+}\r\n", m.Size)
	} else {
		fmt.Fprintf(a.bw, "{%d}\r\n", m.Size)
		if err := a.bw.Flush(); err != nil {
			return status{}, false, err
		}
		st, cont, err := a.readUntil(tag, true)
		if err != nil {
			return status{}, false, err
		}
		if !cont {
			return st, true, nil
		}
	}
	body, err := m.Body()
	if err != nil {
		return status{}, false, &Error{Class: Fatal, Op: "read spooled message", Err: err}
	}
	n, err := io.Copy(a.bw, io.LimitReader(body, m.Size))
	if err != nil {
		return status{}, false, err
	}
	if n != m.Size {
		return status{}, false, &Error{Class: Fatal, Op: "read spooled message", Err: fmt.Errorf("got %d of %d bytes", n, m.Size)}
	}
	return status{}, false, nil
}

func (a *Appender) mailboxArg(name string) string {
	if a.utf8Names {
		return quoteUTF8(name)
	}
	q, _ := quote(encodeMailbox(name))
	return q
}

// transferAllowance is extra time for sending n bytes at a slow 256 KiB/s.
func transferAllowance(n int64) time.Duration {
	return time.Duration(n/(256<<10)) * time.Second
}

// parseAppendUID reads "APPENDUID <uidvalidity> <uid-set>" (RFC 4315); the
// set lists the UIDs in the order the messages were appended. A set of
// more than want UIDs (the messages of the command), a UIDVALIDITY or UID
// of 0, or a descending range is not an answer to trust: nil.
func parseAppendUID(code string, want int) (uint32, []imap.UID) {
	f := strings.Fields(code)
	if len(f) != 3 || !strings.EqualFold(f[0], "APPENDUID") {
		return 0, nil
	}
	uv, err := strconv.ParseUint(f[1], 10, 32)
	if err != nil || uv == 0 {
		return 0, nil
	}
	var uids []imap.UID
	for _, part := range strings.Split(f[2], ",") {
		lo, hi, isRange := strings.Cut(part, ":")
		a, err1 := strconv.ParseUint(lo, 10, 32)
		b := a
		var err2 error
		if isRange {
			b, err2 = strconv.ParseUint(hi, 10, 32)
		}
		if err1 != nil || err2 != nil || a == 0 || b < a || b-a >= uint64(want-len(uids)) {
			return 0, nil
		}
		for u := a; u <= b; u++ {
			uids = append(uids, imap.UID(u))
		}
	}
	return uint32(uv), uids
}
