package testenv

import (
	"math/rand/v2"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/imapmigrate/imapmigrate/internal/demoserver"
)

// SeedSample fills a mailbox for a demonstration: folders maps a folder
// name to its message count (demoserver.SeedSample). It returns how many
// messages it appended.
func SeedSample(c *imapclient.Client, rng *rand.Rand, folders map[string]int) (int, error) {
	return demoserver.SeedSample(c, rng, folders)
}
