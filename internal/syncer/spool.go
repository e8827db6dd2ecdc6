package syncer

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/emersion/go-imap/v2"
)

// spooled is one fetched message held until its APPEND is recorded: in
// memory when small, in a temp file when large, so that memory stays
// bounded by chunk size whatever the message sizes.
type spooled struct {
	meta meta
	size int64
	mem  []byte
	file *os.File
	sig  Signature
}

func (s *spooled) body() (io.Reader, error) {
	if s.file != nil {
		return io.NewSectionReader(s.file, 0, s.size), nil
	}
	return bytes.NewReader(s.mem), nil
}

func (s *spooled) release() {
	if s.file != nil {
		s.file.Close()
		s.file = nil
	}
	s.mem = nil
}

// spool reads one literal of the given size.
func spool(r io.Reader, size int64, m meta, memMax int64, dir string) (*spooled, error) {
	s := &spooled{meta: m, size: size}
	if size <= memMax {
		s.mem = make([]byte, size)
		if _, err := io.ReadFull(r, s.mem); err != nil {
			return nil, err
		}
		s.sig = Signature{MessageID: messageID(bufio.NewReader(bytes.NewReader(s.mem))), Date: m.date.Unix(), Size: size, Content: contentOf(s.mem)}
		return s, nil
	}
	f, err := os.CreateTemp(dir, "imapmigrate-spool-*")
	if err != nil {
		return nil, fmt.Errorf("spool message: %w", err)
	}
	// Unlinked at once: the open file keeps the bytes, and a crash or a
	// kill leaves nothing behind.
	os.Remove(f.Name())
	s.file = f
	d := newDigester()
	n, err := io.Copy(io.MultiWriter(f, d), io.LimitReader(r, size))
	if err != nil {
		s.release()
		return nil, err
	}
	if n != size {
		s.release()
		return nil, io.ErrUnexpectedEOF
	}
	s.sig = Signature{MessageID: messageID(bufio.NewReader(io.NewSectionReader(f, 0, size))), Date: m.date.Unix(), Size: size, Content: d.Content()}
	return s, nil
}

// chunk is a run of messages appended together.
type chunk struct {
	msgs    []*spooled
	missing []meta // asked for but not returned: expunged meanwhile
	refused []Skip // sent but refused before they were read
}

func (c *chunk) release() {
	for _, m := range c.msgs {
		m.release()
	}
}

func (c *chunk) uids() []imap.UID {
	out := make([]imap.UID, len(c.msgs))
	for i, m := range c.msgs {
		out[i] = m.meta.uid
	}
	return out
}
