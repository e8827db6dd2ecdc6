package testenv

import (
	"math/rand/v2"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/demoserver"
)

// The message generator lives in demoserver (the demo seeds with it); these
// forward to it.

// GenOption adjusts GenMessage.
type GenOption = demoserver.GenOption

// WithMessageID uses id (with or without angle brackets) as the Message-ID,
// e.g. to make a duplicate of another message's.
func WithMessageID(id string) GenOption { return demoserver.WithMessageID(id) }

// WithoutMessageID leaves the Message-ID header out, as some old or broken
// mailers do.
func WithoutMessageID() GenOption { return demoserver.WithoutMessageID() }

// WithDate sets the Date header (handy to match an INTERNALDATE).
func WithDate(t time.Time) GenOption { return demoserver.WithDate(t) }

// WithSubject sets the subject; non-ASCII is RFC 2047-encoded.
func WithSubject(s string) GenOption { return demoserver.WithSubject(s) }

// WithAttachment adds a base64 attachment even to a small message.
func WithAttachment() GenOption { return demoserver.WithAttachment() }

// GenMessage returns a valid RFC 5322 message of exactly size bytes (size <=
// 0: 1–16 KiB) that depends only on rng's state, size and opts; see
// demoserver.GenMessage.
func GenMessage(rng *rand.Rand, size int, opts ...GenOption) []byte {
	return demoserver.GenMessage(rng, size, opts...)
}
