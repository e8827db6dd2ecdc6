package bench

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/imapmigrate/imapmigrate/internal/testenv"
)

// CorpusOptions shapes NewCorpus. The zero value of a field means its default.
type CorpusOptions struct {
	// Seed makes the corpus: the same seed and options give the same
	// folders, sizes, flags, dates and message bytes.
	Seed uint64 `json:"seed"`
	// Users is the number of mailboxes.
	Users int `json:"users"`
	// Messages is the number of ordinary messages over all users; users get
	// uneven shares, as in a real batch. Huge messages come on top.
	Messages int `json:"messages"`
	// HugePerUser messages of exactly HugeSize bytes are added to each user.
	HugePerUser int `json:"huge_per_user"`
	HugeSize    int `json:"huge_size"`
}

// Corpus describes every message of every user; see NewCorpus.
type Corpus struct {
	Users []User
}

// User is one mailbox and its folders, in creation order (parents first).
type User struct {
	Name    string
	Folders []Folder
}

// Folder is one mailbox folder, named as IMAP shows it with '/' as the
// hierarchy delimiter, in UTF-8.
type Folder struct {
	Name     string
	Messages []MessageSpec
}

// MessageSpec is everything needed to generate one message's bytes again.
type MessageSpec struct {
	Size  int
	Flags []imap.Flag
	// Date is both the INTERNALDATE and, a little earlier, the Date header.
	Date time.Time
	// Seed seeds the generator of this message's bytes alone.
	Seed uint64
}

// folderShape is one folder of every user and its share of the user's
// ordinary messages. The names cover what trips migrations: CJK and accented
// names (modified UTF-7 on the wire), nesting with messages in the parent,
// three levels, a space, special-use names.
type folderShape struct {
	name  string
	share float64
	draft bool // messages carry \Draft
}

var folderShapes = []folderShape{
	{"INBOX", 0.38, false},
	{"Sent", 0.12, false},
	{"已发送", 0.05, false},
	{"Skickat", 0.05, false},
	{"Entwürfe", 0.02, true},
	{"Entwürfe/2024", 0.04, true},
	{"Archive", 0.02, false},
	{"Archive/2023", 0.08, false},
	{"Archive/2023/Q4", 0.06, false},
	{"Projekte/Été 2024", 0.06, false},
	{"Работа/Отчёты", 0.05, false},
	{"Trash", 0.04, false},
	{"Junk", 0.03, false},
}

// hugeFolder receives the huge messages.
const hugeFolder = "Archive/2023"

// Size classes of ordinary messages. The bulk is text and small inline
// images; a tail of attachments (office files, photos, scans) follows.
const (
	bulkMin, bulkMax     = 2 << 10, 50 << 10
	bulkMedian           = 9 << 10
	bulkSigma            = 0.75 // of ln(size)
	midMin, midMax       = 50 << 10, 100 << 10
	attachMin, attachMax = 100 << 10, 2 << 20
	largeMin, largeMax   = 2 << 20, 10 << 20

	pLarge  = 0.003 // 2–10 MiB
	pAttach = 0.055 // 100 KiB – 2 MiB
	pMid    = 0.04  // 50–100 KiB; the rest is bulk
)

// drawSize draws the size of an ordinary message.
func drawSize(rng *rand.Rand) int {
	p := rng.Float64()
	switch {
	case p < pLarge:
		return logUniform(rng, largeMin, largeMax)
	case p < pLarge+pAttach:
		return logUniform(rng, attachMin, attachMax)
	case p < pLarge+pAttach+pMid:
		return midMin + rng.IntN(midMax-midMin)
	}
	// Log-normal, redrawn rather than clamped so the edges get no spike.
	for {
		s := int(math.Exp(math.Log(bulkMedian) + bulkSigma*rng.NormFloat64()))
		if s >= bulkMin && s <= bulkMax {
			return s
		}
	}
}

func logUniform(rng *rand.Rand, lo, hi int) int {
	return int(math.Exp(math.Log(float64(lo)) + rng.Float64()*(math.Log(float64(hi))-math.Log(float64(lo)))))
}

// drawFlags gives most messages \Seen and some the other system flags and
// keywords a mail client sets. Never \Deleted: both tools treat pending
// expunges differently, which is not what is measured here.
func drawFlags(rng *rand.Rand, draft bool) []imap.Flag {
	var f []imap.Flag
	if draft {
		f = append(f, imap.FlagDraft)
	} else if rng.Float64() < 0.85 {
		f = append(f, imap.FlagSeen)
	}
	if rng.Float64() < 0.15 {
		f = append(f, imap.FlagAnswered)
	}
	if rng.Float64() < 0.05 {
		f = append(f, imap.FlagFlagged)
	}
	if rng.Float64() < 0.05 {
		f = append(f, imap.FlagForwarded)
	}
	if rng.Float64() < 0.03 {
		f = append(f, "$label1")
	}
	if rng.Float64() < 0.02 {
		f = append(f, "Projekt-Alpha")
	}
	return f
}

var (
	corpusStart = time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)
	corpusEnd   = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
)

// NewCorpus draws a corpus; it depends only on opts.
func NewCorpus(opts CorpusOptions) (*Corpus, error) {
	if opts.Users < 1 {
		return nil, fmt.Errorf("corpus users %d: need at least 1", opts.Users)
	}
	if opts.Messages < 0 || opts.HugePerUser < 0 {
		return nil, fmt.Errorf("corpus messages %d, huge %d: must not be negative", opts.Messages, opts.HugePerUser)
	}
	if opts.HugePerUser > 0 && opts.HugeSize < bulkMin {
		return nil, fmt.Errorf("corpus huge size %d: must be at least %d", opts.HugeSize, bulkMin)
	}
	rng := rand.New(rand.NewPCG(opts.Seed, 0x696d6170)) // "imap"

	// Uneven mailboxes: weights between 0.6 and 1.4.
	weights := make([]float64, opts.Users)
	var sum float64
	for i := range weights {
		weights[i] = 0.6 + 0.8*rng.Float64()
		sum += weights[i]
	}
	c := &Corpus{}
	left := opts.Messages
	for i := range opts.Users {
		n := int(math.Round(float64(opts.Messages) * weights[i] / sum))
		if i == opts.Users-1 {
			n = left
		}
		n = min(n, left)
		left -= n
		c.Users = append(c.Users, newUser(rng, fmt.Sprintf("user%02d", i+1), n, opts.HugePerUser, opts.HugeSize))
	}
	return c, nil
}

// newUser spreads n ordinary messages over folderShapes and adds huge ones
// at a random place in hugeFolder.
func newUser(rng *rand.Rand, name string, n, huge, hugeSize int) User {
	u := User{Name: name}
	left := n
	for i, fs := range folderShapes {
		k := int(math.Round(float64(n) * fs.share))
		if i == len(folderShapes)-1 {
			k = left
		}
		k = min(k, left)
		left -= k
		f := Folder{Name: fs.name}
		for range k {
			f.Messages = append(f.Messages, MessageSpec{Size: drawSize(rng), Flags: drawFlags(rng, fs.draft), Seed: rng.Uint64()})
		}
		if fs.name == hugeFolder {
			for range huge {
				at := rng.IntN(len(f.Messages) + 1)
				m := MessageSpec{Size: hugeSize, Flags: []imap.Flag{imap.FlagSeen}, Seed: rng.Uint64()}
				f.Messages = slices.Insert(f.Messages, at, m)
			}
		}
		assignDates(rng, f.Messages)
		u.Folders = append(u.Folders, f)
	}
	return u
}

// assignDates gives a folder's messages increasing arrival dates, as a
// mailbox that received them over the years would have.
func assignDates(rng *rand.Rand, msgs []MessageSpec) {
	span := corpusEnd.Unix() - corpusStart.Unix()
	secs := make([]int64, len(msgs))
	for i := range secs {
		secs[i] = corpusStart.Unix() + rng.Int64N(span)
	}
	slices.Sort(secs)
	for i := range msgs {
		msgs[i].Date = time.Unix(secs[i], 0).UTC()
	}
}

// BigMessageCorpus is one user, "bigmsg", holding only n messages of size
// bytes, spread over two folders so that two are copied at once by an engine
// that works on two folders in parallel.
func BigMessageCorpus(seed uint64, n, size int) *Corpus {
	rng := rand.New(rand.NewPCG(seed, 0x6269676d)) // "bigm"
	u := User{Name: "bigmsg", Folders: []Folder{{Name: "INBOX"}, {Name: "Archiv/Große Anhänge"}}}
	for i := range n {
		f := &u.Folders[i%2]
		f.Messages = append(f.Messages, MessageSpec{Size: size, Flags: []imap.Flag{imap.FlagSeen}, Seed: rng.Uint64()})
	}
	for i := range u.Folders {
		assignDates(rng, u.Folders[i].Messages)
	}
	return &Corpus{Users: []User{u}}
}

// Body generates the message's bytes: exactly Size bytes of RFC 5322 (see
// testenv.GenMessage), the same every time.
func (m MessageSpec) Body() []byte {
	rng := rand.New(rand.NewPCG(m.Seed, uint64(m.Size)))
	return testenv.GenMessage(rng, m.Size, testenv.WithDate(m.Date.Add(-time.Duration(30+rng.IntN(600))*time.Second)))
}

// Counts returns the number of messages per folder.
func (u User) Counts() map[string]int {
	m := make(map[string]int, len(u.Folders))
	for _, f := range u.Folders {
		m[f.Name] = len(f.Messages)
	}
	return m
}

// CorpusStats summarises a corpus for the report.
type CorpusStats struct {
	Users    int   `json:"users"`
	Folders  int   `json:"folders"`
	Messages int   `json:"messages"`
	Bytes    int64 `json:"bytes"`
	// Largest is the size of the biggest message; Over1MiB counts messages
	// of more than 1 MiB and MedianSize is the median message size.
	Largest    int `json:"largest_bytes"`
	Over1MiB   int `json:"messages_over_1mib"`
	MedianSize int `json:"median_bytes"`
}

// Stats counts the corpus.
func (c *Corpus) Stats() CorpusStats {
	s := CorpusStats{Users: len(c.Users)}
	var sizes []int
	for _, u := range c.Users {
		s.Folders += len(u.Folders)
		for _, f := range u.Folders {
			for _, m := range f.Messages {
				s.Messages++
				s.Bytes += int64(m.Size)
				s.Largest = max(s.Largest, m.Size)
				if m.Size > 1<<20 {
					s.Over1MiB++
				}
				sizes = append(sizes, m.Size)
			}
		}
	}
	if len(sizes) > 0 {
		slices.Sort(sizes)
		s.MedianSize = sizes[len(sizes)/2]
	}
	return s
}
