package demoserver

import (
	"math/rand/v2"
	"sort"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// SeedSample fills a mailbox for a demonstration: folders maps a folder
// name to its message count. Messages are a few KiB, one in 8 a 150–300 KiB
// attachment; half are \Seen, some \Flagged with a keyword; arrival dates
// spread over the last year. It returns how many messages it appended.
func SeedSample(c *imapclient.Client, rng *rand.Rand, folders map[string]int) (int, error) {
	names := make([]string, 0, len(folders))
	for name := range folders {
		names = append(names, name)
	}
	sort.Strings(names) // deterministic for a given rng
	total := 0
	for _, name := range names {
		var msgs []Message
		for i := 0; i < folders[name]; i++ {
			size := 1200 + rng.IntN(20000)
			var opts []GenOption
			if i%8 == 3 {
				size = 150_000 + rng.IntN(150_000)
				opts = append(opts, WithAttachment())
			}
			var flags []imap.Flag
			if i%2 == 0 {
				flags = append(flags, imap.FlagSeen)
			}
			if i%9 == 0 {
				flags = append(flags, imap.FlagFlagged, "$Label1")
			}
			date := time.Now().Add(-time.Duration(rng.IntN(365*24)) * time.Hour).Truncate(time.Second)
			msgs = append(msgs, Message{Body: GenMessage(rng, size, opts...), Flags: flags, InternalDate: date})
		}
		if _, err := Append(c, name, msgs...); err != nil {
			return total, err
		}
		total += len(msgs)
	}
	return total, nil
}
