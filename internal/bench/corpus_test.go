package bench

import (
	"bytes"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/emersion/go-imap/v2"
)

func TestNewCorpusDeterministic(t *testing.T) {
	opts := CorpusOptions{Seed: 7, Users: 3, Messages: 500, HugePerUser: 1, HugeSize: 3 << 20}
	a, err := NewCorpus(opts)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewCorpus(opts)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same options gave two corpora")
	}
	opts.Seed = 8
	c, _ := NewCorpus(opts)
	if reflect.DeepEqual(a, c) {
		t.Fatal("another seed gave the same corpus")
	}
	m := a.Users[1].Folders[0].Messages[3]
	if !bytes.Equal(m.Body(), m.Body()) {
		t.Fatal("Body is not deterministic")
	}
}

func TestNewCorpusShape(t *testing.T) {
	const users, msgs, huge, hugeSize = 4, 3000, 1, 5 << 20
	c, err := NewCorpus(CorpusOptions{Seed: 1, Users: users, Messages: msgs, HugePerUser: huge, HugeSize: hugeSize})
	if err != nil {
		t.Fatal(err)
	}
	s := c.Stats()
	if s.Users != users || s.Messages != msgs+users*huge {
		t.Fatalf("stats %+v: want %d users, %d messages", s, users, msgs+users*huge)
	}
	var sizes []int
	hugeSeen := 0
	perUser := map[int]bool{}
	for _, u := range c.Users {
		names := map[string]bool{}
		n := 0
		for _, f := range u.Folders {
			names[f.Name] = true
			for _, m := range f.Messages {
				n++
				if m.Size == hugeSize {
					hugeSeen++
					if f.Name != hugeFolder {
						t.Errorf("%s: huge message in %q", u.Name, f.Name)
					}
					continue
				}
				sizes = append(sizes, m.Size)
				if slices.Contains(m.Flags, imap.FlagDeleted) {
					t.Errorf("%s/%s: message flagged \\Deleted", u.Name, f.Name)
				}
			}
			for i := 1; i < len(f.Messages); i++ {
				if f.Messages[i].Date.Before(f.Messages[i-1].Date) {
					t.Errorf("%s/%s: dates not increasing at %d", u.Name, f.Name, i)
					break
				}
			}
		}
		perUser[n] = true
		for _, want := range []string{"INBOX", "已发送", "Skickat", "Entwürfe", "Entwürfe/2024", "Archive/2023/Q4", "Работа/Отчёты"} {
			if !names[want] {
				t.Errorf("%s: no folder %q", u.Name, want)
			}
		}
	}
	if hugeSeen != users*huge {
		t.Errorf("%d huge messages, want %d", hugeSeen, users*huge)
	}
	if len(perUser) < 2 {
		t.Errorf("every user has the same number of messages; want uneven mailboxes")
	}

	// The long tail: most messages are 2–50 KiB, some are attachments of
	// 100 KiB – 2 MiB, few are larger, none is below 2 KiB.
	slices.Sort(sizes)
	count := func(lo, hi int) float64 {
		n := 0
		for _, s := range sizes {
			if s >= lo && s <= hi {
				n++
			}
		}
		return float64(n) / float64(len(sizes))
	}
	if sizes[0] < bulkMin || sizes[len(sizes)-1] > largeMax {
		t.Errorf("sizes from %d to %d, want within [%d, %d]", sizes[0], sizes[len(sizes)-1], bulkMin, largeMax)
	}
	if f := count(bulkMin, bulkMax); f < 0.85 || f > 0.93 {
		t.Errorf("%.3f of messages are 2–50 KiB, want about 0.90", f)
	}
	if f := count(attachMin, attachMax); f < 0.03 || f > 0.08 {
		t.Errorf("%.3f of messages are 100 KiB – 2 MiB, want about 0.055", f)
	}
	if med := sizes[len(sizes)/2]; med < 6<<10 || med > 14<<10 {
		t.Errorf("median size %d, want about %d", med, bulkMedian)
	}
}

func TestNewCorpusErrors(t *testing.T) {
	for _, opts := range []CorpusOptions{
		{Users: 0, Messages: 10},
		{Users: 1, Messages: -1},
		{Users: 1, HugePerUser: 1, HugeSize: 10},
	} {
		if _, err := NewCorpus(opts); err == nil {
			t.Errorf("NewCorpus(%+v) succeeded", opts)
		}
	}
}

// TestBodySize checks that generated messages have exactly the size the
// corpus promises, down to the smallest, so byte totals compare.
func TestBodySize(t *testing.T) {
	c, err := NewCorpus(CorpusOptions{Seed: 3, Users: 1, Messages: 300})
	if err != nil {
		t.Fatal(err)
	}
	specs := []MessageSpec{{Size: bulkMin, Seed: 1}, {Size: bulkMin + 1, Seed: 2}, {Size: 1 << 20, Seed: 3}}
	for _, f := range c.Users[0].Folders {
		specs = append(specs, f.Messages...)
	}
	for _, m := range specs {
		b := m.Body()
		if len(b) != m.Size {
			t.Fatalf("Body of size %d has %d bytes", m.Size, len(b))
		}
		if !utf8.Valid(b) || !bytes.Contains(b, []byte("\r\n\r\n")) {
			t.Fatalf("Body of size %d is not a UTF-8 message with a header", m.Size)
		}
		if strings.Contains(string(b), "\n\n") {
			t.Fatalf("Body of size %d has a bare LF", m.Size)
		}
	}
}

func TestBigMessageCorpus(t *testing.T) {
	c := BigMessageCorpus(1, 3, 1<<20)
	s := c.Stats()
	if s.Users != 1 || s.Messages != 3 || s.Bytes != 3<<20 || s.Folders != 2 {
		t.Fatalf("stats %+v", s)
	}
	counts := c.Users[0].Counts()
	if counts["INBOX"] != 2 || counts["Archiv/Große Anhänge"] != 1 {
		t.Errorf("counts %v", counts)
	}
}
