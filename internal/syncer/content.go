package syncer

import (
	"bytes"
	"crypto/sha256"
	"hash"
)

// Content identifies a message's bytes the way a target may store them.
// Servers do not all keep an appended message verbatim: Courier appends a
// CRLF to a message that does not end in one; Dovecot stores bare LF line
// ends and serves them as CRLF, and counts RFC822.SIZE that way. So the
// digest is taken over a normal form — CRs left out, every LF written CRLF,
// and the CR and LF bytes at the very end left out — that every such copy
// of a message shares, and that two messages differing in anything else
// (but a CR without its LF, which RFC 5322 does not allow anyway) do not.
type Content struct {
	// Sum is the SHA-256 of the normal form; all zero when not known.
	Sum [sha256.Size]byte
	// Norm is the length of the normal form; CRLF the largest size a
	// server makes of the message by writing line ends CRLF (every bare LF
	// made CRLF, or the normal form with its final line ends). A stored
	// copy is between these sizes, give or take a final CRLF (see fits).
	Norm, CRLF int64
}

// Known reports whether the digest was computed.
func (c Content) Known() bool { return c.Sum != [sha256.Size]byte{} }

// fits reports whether a target message of size n can be a normalised copy
// of a message of exact size exact and content c: at least the smaller of
// the original and the normal form, at most the CRLF form plus a final
// CRLF that the server added.
func (c Content) fits(exact, n int64) bool {
	if !c.Known() {
		return n == exact
	}
	return n >= min(exact, c.Norm) && n <= max(exact, c.CRLF)+2
}

// digester computes a Content from a message streamed through Write. The
// CR and LF bytes after the last other byte are held: they are the
// message's end unless more content follows.
type digester struct {
	h      hash.Hash
	n      int64 // bytes written
	norm   int64
	bareLF int64  // LFs without their CR, in the runs released
	held   []byte // the current run of CR and LF bytes
}

// maxHeld bounds the held run: a longer one is written out as content (no
// real message ends in 64 KiB of empty lines).
const maxHeld = 64 << 10

func newDigester() *digester { return &digester{h: sha256.New()} }

func (d *digester) Write(p []byte) (int, error) {
	n := len(p)
	d.n += int64(n)
	for len(p) > 0 {
		i := indexContent(p)
		if i < 0 {
			i = len(p)
		}
		d.held = append(d.held, p[:i]...)
		p = p[i:]
		if len(p) == 0 && len(d.held) <= maxHeld {
			break
		}
		// Content follows (or the run is absurdly long): the run is content.
		d.release()
		j := indexLineByte(p)
		if j < 0 {
			j = len(p)
		}
		d.h.Write(p[:j])
		d.norm += int64(j)
		p = p[j:]
	}
	return n, nil
}

// release writes the held run in normal form: "\r\n" and a bare "\n" are
// one line end, written CRLF; a CR that no LF follows is itself.
func (d *digester) release() {
	out := normalRun(d.held)
	d.bareLF += bareLFs(d.held)
	d.h.Write(out)
	d.norm += int64(len(out))
	d.held = d.held[:0]
}

// normalRun writes a run of CR and LF bytes in normal form.
func normalRun(run []byte) []byte {
	n := bytes.Count(run, []byte{'\n'})
	return bytes.Repeat(crlf, n)
}

var crlf = []byte("\r\n")

// bareLFs counts the LFs of a run that no CR precedes (a run follows a
// byte of content, never a CR).
func bareLFs(run []byte) int64 {
	var n int64
	for i, b := range run {
		if b == '\n' && (i == 0 || run[i-1] != '\r') {
			n++
		}
	}
	return n
}

// indexContent returns the index of the first byte of p that is neither
// CR nor LF, or -1.
func indexContent(p []byte) int {
	for i, b := range p {
		if b != '\r' && b != '\n' {
			return i
		}
	}
	return -1
}

// indexLineByte returns the index of the first CR or LF in p, or -1.
func indexLineByte(p []byte) int {
	i := bytes.IndexByte(p, '\n')
	if i < 0 {
		i = len(p)
	}
	if j := bytes.IndexByte(p[:i], '\r'); j >= 0 {
		return j
	}
	if i == len(p) {
		return -1
	}
	return i
}

// Content ends the stream: the held run is the message's end, left out of
// the normal form.
func (d *digester) Content() Content {
	// The largest form a server may store: every bare LF made CRLF, or the
	// normal form with its final line ends.
	c := Content{Norm: d.norm, CRLF: max(d.n+d.bareLF+bareLFs(d.held), d.norm+int64(len(normalRun(d.held))))}
	copy(c.Sum[:], d.h.Sum(nil))
	return c
}

// contentOf digests a message held in memory.
func contentOf(b []byte) Content {
	d := newDigester()
	d.Write(b)
	return d.Content()
}
