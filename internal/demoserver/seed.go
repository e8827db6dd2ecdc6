package demoserver

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// Message is one message to seed: its bytes, flags (system flags and
// keywords) and INTERNALDATE (zero: the server's clock).
type Message struct {
	Body         []byte
	Flags        []imap.Flag
	InternalDate time.Time
}

// Append creates mailbox and its parents if missing (see CreateMailbox) and
// appends msgs with pipelined APPEND commands, in order. It returns the UIDs
// from APPENDUID (zero where the server sent none).
func Append(c *imapclient.Client, mailbox string, msgs ...Message) ([]imap.UID, error) {
	if err := CreateMailbox(c, mailbox); err != nil {
		return nil, err
	}
	cmds := make([]*imapclient.AppendCommand, 0, len(msgs))
	for i, m := range msgs {
		cmd := c.Append(mailbox, int64(len(m.Body)), &imap.AppendOptions{Flags: m.Flags, Time: m.InternalDate})
		_, err := cmd.Write(m.Body)
		if cerr := cmd.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("append message %d to %q: %w", i, mailbox, err)
		}
		cmds = append(cmds, cmd)
	}
	uids := make([]imap.UID, len(cmds))
	var errs []error
	for i, cmd := range cmds {
		data, err := cmd.Wait()
		if err != nil {
			errs = append(errs, fmt.Errorf("append message %d to %q: %w", i, mailbox, err))
			continue
		}
		uids[i] = data.UID
	}
	return uids, errors.Join(errs...)
}

// CreateMailbox creates mailbox and each missing parent, one CREATE per
// level, splitting on the server's hierarchy delimiter. Existing mailboxes
// ([ALREADYEXISTS], or a failed CREATE of a name LIST then shows) and INBOX
// are left alone; nothing is subscribed.
func CreateMailbox(c *imapclient.Client, mailbox string) error {
	if strings.EqualFold(mailbox, "INBOX") {
		return nil
	}
	delim, err := Delimiter(c)
	if err != nil {
		return err
	}
	parts := []string{mailbox}
	if delim != 0 {
		parts = strings.Split(mailbox, string(delim))
	}
	for i := range parts {
		name := strings.Join(parts[:i+1], string(delim))
		if strings.EqualFold(name, "INBOX") {
			continue
		}
		err := c.Create(name, nil).Wait()
		var ierr *imap.Error
		if errors.As(err, &ierr) && ierr.Code == imap.ResponseCodeAlreadyExists {
			continue
		}
		if err != nil {
			// Cyrus says "NO Mailbox already exists" without the code.
			if exists, lerr := MailboxExists(c, name); lerr == nil && exists {
				continue
			}
			return fmt.Errorf("create %q: %w", name, err)
		}
	}
	return nil
}

// MailboxExists says whether LIST "" name lists name itself.
func MailboxExists(c *imapclient.Client, name string) (bool, error) {
	l, err := c.List("", name, nil).Collect()
	if err != nil {
		return false, err
	}
	for _, mb := range l {
		if mb.Mailbox == name && !slices.Contains(mb.Attrs, imap.MailboxAttrNonExistent) {
			return true, nil
		}
	}
	return false, nil
}

// Delimiter returns the server's hierarchy delimiter (LIST "" ""); 0 means a
// flat namespace.
func Delimiter(c *imapclient.Client) (rune, error) {
	l, err := c.List("", "", nil).Collect()
	if err != nil {
		return 0, fmt.Errorf("list delimiter: %w", err)
	}
	if len(l) == 0 {
		return 0, errors.New("list delimiter: empty answer")
	}
	return l[0].Delim, nil
}
