package demoserver

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"mime"
	"strings"
	"time"
	"unicode/utf8"
)

// GenOption adjusts GenMessage.
type GenOption func(*genConfig)

type genConfig struct {
	messageID   string
	noMessageID bool
	date        time.Time
	subject     string
	attachment  bool
}

// WithMessageID uses id (with or without angle brackets) as the Message-ID,
// e.g. to make a duplicate of another message's.
func WithMessageID(id string) GenOption {
	return func(c *genConfig) { c.messageID = strings.Trim(id, "<>") }
}

// WithoutMessageID leaves the Message-ID header out, as some old or broken
// mailers do.
func WithoutMessageID() GenOption {
	return func(c *genConfig) { c.noMessageID = true }
}

// WithDate sets the Date header (handy to match an INTERNALDATE).
func WithDate(t time.Time) GenOption {
	return func(c *genConfig) { c.date = t }
}

// WithSubject sets the subject; non-ASCII is RFC 2047-encoded.
func WithSubject(s string) GenOption {
	return func(c *genConfig) { c.subject = s }
}

// WithAttachment adds a base64 attachment even to a small message.
func WithAttachment() GenOption {
	return func(c *genConfig) { c.attachment = true }
}

// attachmentThreshold is the size above which GenMessage fills a message
// with an attachment rather than with text.
const attachmentThreshold = 16 << 10

// minTextLen is the shortest text body GenMessage writes.
const minTextLen = 40

// GenMessage returns a valid RFC 5322 message with CRLF line endings,
// realistic headers (Received, Date, From, To, Subject, Message-ID,
// MIME-Version, …), subjects and names in several scripts (RFC 2047), and a
// UTF-8 text body; above 16 KiB, or WithAttachment, it is multipart/mixed
// with a base64 attachment of random bytes. The result is exactly size bytes
// unless size is below the headers' length plus a short text (about 1 KiB);
// size <= 0 picks a size between 1 and 16 KiB. The Message-ID is random
// (unique) unless an option says otherwise. The output depends only on rng's
// state, size and opts.
func GenMessage(rng *rand.Rand, size int, opts ...GenOption) []byte {
	var cfg genConfig
	for _, o := range opts {
		o(&cfg)
	}
	if size <= 0 {
		size = 1024 + rng.IntN(15<<10)
	}
	from := people[rng.IntN(len(people))]
	to := people[rng.IntN(len(people))]
	if to == from {
		to = people[(rng.IntN(len(people)-1)+1+indexOf(from))%len(people)]
	}
	date := cfg.date
	if date.IsZero() {
		date = randomDate(rng)
	}
	subject := cfg.subject
	if subject == "" {
		subject = subjects[rng.IntN(len(subjects))]
	}
	msgID := cfg.messageID
	if msgID == "" && !cfg.noMessageID {
		msgID = fmt.Sprintf("%016x.%08x@%s", rng.Uint64(), rng.Uint32(), domainOf(from.addr))
	}
	attach := cfg.attachment || size > attachmentThreshold

	var h bytes.Buffer
	writeHeader(&h, "Return-Path", "<"+from.addr+">")
	writeHeader(&h, "Received", fmt.Sprintf("from mx%d.%s (mx%d.%s [192.0.2.%d])\r\n\tby mail.%s (Postfix) with ESMTPS id %X\r\n\tfor <%s>; %s",
		rng.IntN(4)+1, domainOf(from.addr), rng.IntN(4)+1, domainOf(from.addr), rng.IntN(254)+1,
		domainOf(to.addr), rng.Uint64()&0xffffffffff, to.addr, date.Add(time.Duration(rng.IntN(90))*time.Second).Format(time.RFC1123Z)))
	writeHeader(&h, "Date", date.Format(time.RFC1123Z))
	writeHeader(&h, "From", from.header())
	writeHeader(&h, "To", to.header())
	if rng.IntN(4) == 0 {
		cc := people[rng.IntN(len(people))]
		writeHeader(&h, "Cc", cc.header())
	}
	writeHeader(&h, "Subject", encodeWords(subject))
	if msgID != "" {
		writeHeader(&h, "Message-ID", "<"+msgID+">")
	}
	if rng.IntN(3) == 0 {
		parent := fmt.Sprintf("<%016x@%s>", rng.Uint64(), domainOf(to.addr))
		writeHeader(&h, "In-Reply-To", parent)
		writeHeader(&h, "References", parent)
	}
	writeHeader(&h, "MIME-Version", "1.0")
	writeHeader(&h, "X-Mailer", mailers[rng.IntN(len(mailers))])

	textHeader := "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
	if !attach {
		h.WriteString(textHeader)
		h.WriteString("\r\n")
		n := max(size-h.Len(), minTextLen)
		out := bytes.NewBuffer(make([]byte, 0, h.Len()+n))
		out.Write(h.Bytes())
		writeText(out, rng, n)
		return out.Bytes()
	}

	boundary := fmt.Sprintf("=_part_%016x", rng.Uint64())
	name := attachmentNames[rng.IntN(len(attachmentNames))]
	writeHeader(&h, "Content-Type", `multipart/mixed; boundary="`+boundary+`"`)
	h.WriteString("\r\nThis is a multi-part message in MIME format.\r\n\r\n--" + boundary + "\r\n" + textHeader + "\r\n")
	mid := "--" + boundary + "\r\n" +
		"Content-Type: application/octet-stream; name=\"" + name + "\"\r\n" +
		"Content-Transfer-Encoding: base64\r\n" +
		"Content-Disposition: attachment; filename=\"" + name + "\"\r\n\r\n"
	tail := "--" + boundary + "--\r\n"

	budget := size - h.Len() - len(mid) - len(tail)
	textLen := min(max(budget/8, minTextLen), minTextLen+rng.IntN(1500))
	raw := base64RawFor(max(budget-textLen, 0))
	textLen = max(budget-base64Len(raw), minTextLen)

	out := bytes.NewBuffer(make([]byte, 0, h.Len()+textLen+len(mid)+base64Len(raw)+len(tail)))
	out.Write(h.Bytes())
	writeText(out, rng, textLen)
	out.WriteString(mid)
	writeBase64(out, rng, raw)
	out.WriteString(tail)
	return out.Bytes()
}

// writeHeader writes one header field; value may hold folded lines.
func writeHeader(b *bytes.Buffer, name, value string) {
	b.WriteString(name)
	b.WriteString(": ")
	b.WriteString(value)
	b.WriteString("\r\n")
}

// encodeWords RFC 2047-encodes s when it is not ASCII, folding between
// encoded words so no line exceeds 78 characters.
func encodeWords(s string) string {
	if isASCII(s) {
		return s
	}
	enc := mime.BEncoding.Encode("utf-8", s)
	return strings.ReplaceAll(enc, "?= =?", "?=\r\n =?")
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// lineWidth is the longest text line GenMessage writes, in bytes, before CRLF.
const lineWidth = 72

// writeText writes exactly n bytes (n >= 3) of UTF-8 text lines ending in
// CRLF, with an empty line between paragraphs now and then.
func writeText(b *bytes.Buffer, rng *rand.Rand, n int) {
	for n > 0 {
		if n <= lineWidth+2 {
			writeLine(b, rng, n-2)
			return
		}
		if rng.IntN(8) == 0 && n-2 >= lineWidth+2 {
			b.WriteString("\r\n") // paragraph break
			n -= 2
			continue
		}
		l := lineWidth/2 + rng.IntN(lineWidth/2+1)
		if rest := n - (l + 2); rest < 3 {
			l -= 3 - rest // leave room for one more, non-empty line
		}
		writeLine(b, rng, l)
		n -= l + 2
	}
}

// writeLine writes words making exactly l bytes, then CRLF.
func writeLine(b *bytes.Buffer, rng *rand.Rand, l int) {
	start := b.Len()
	for {
		w := words[rng.IntN(len(words))]
		used := b.Len() - start
		sep := 0
		if used > 0 {
			sep = 1
		}
		if used+sep+len(w) > l {
			break
		}
		if sep == 1 {
			b.WriteByte(' ')
		}
		b.WriteString(w)
	}
	// Finish with short ASCII words of the exact lengths left, which cannot
	// split a UTF-8 sequence.
	for {
		used := b.Len() - start
		rem := l - used
		if rem <= 0 {
			break
		}
		if rem == 1 {
			b.WriteByte('.')
			break
		}
		need := rem
		if used > 0 {
			b.WriteByte(' ')
			need--
		}
		if need <= len(fillers)-1 {
			b.WriteString(fillers[need])
		} else {
			b.WriteString(fillers[min(len(fillers)-1, need-2)])
		}
	}
	b.WriteString("\r\n")
}

// fillers[n] is an n-byte word.
var fillers = []string{"", "I", "ok", "yes", "done", "today"}

// base64 attachment geometry: 57 raw bytes make a 76-character line.
const (
	b64RawPerLine = 57
	b64LineLen    = 76
)

// base64Len is the encoded size, CRLFs included, of raw bytes.
func base64Len(raw int) int {
	if raw <= 0 {
		return 0
	}
	chars := base64.StdEncoding.EncodedLen(raw)
	lines := (chars + b64LineLen - 1) / b64LineLen
	return chars + 2*lines
}

// base64RawFor returns the largest raw size whose encoding fits in n bytes.
func base64RawFor(n int) int {
	raw := n / (b64LineLen + 2) * b64RawPerLine
	for base64Len(raw+1) <= n {
		raw++
	}
	for raw > 0 && base64Len(raw) > n {
		raw--
	}
	return raw
}

// writeBase64 writes raw random bytes, base64-encoded in 76-character lines.
func writeBase64(b *bytes.Buffer, rng *rand.Rand, raw int) {
	var in [b64RawPerLine]byte
	var line [b64LineLen]byte
	for raw > 0 {
		k := min(raw, b64RawPerLine)
		for i := 0; i < k; i += 8 {
			v := rng.Uint64()
			for j := i; j < min(i+8, k); j++ {
				in[j] = byte(v)
				v >>= 8
			}
		}
		m := base64.StdEncoding.EncodedLen(k)
		base64.StdEncoding.Encode(line[:m], in[:k])
		b.Write(line[:m])
		b.WriteString("\r\n")
		raw -= k
	}
}

// randomDate is a date between 2015 and 2025 in one of a few zones, to the
// second.
func randomDate(rng *rand.Rand) time.Time {
	start := time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	end := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	z := zones[rng.IntN(len(zones))]
	return time.Unix(start+rng.Int64N(end-start), 0).In(time.FixedZone("", z))
}

var zones = []int{0, 3600, 7200, -5 * 3600, -8 * 3600, 9 * 3600, 5*3600 + 1800}

type person struct{ name, addr string }

func (p person) header() string {
	if p.name == "" {
		return p.addr
	}
	if isASCII(p.name) {
		return `"` + p.name + `" <` + p.addr + ">"
	}
	return mime.QEncoding.Encode("utf-8", p.name) + " <" + p.addr + ">"
}

func indexOf(p person) int {
	for i, q := range people {
		if q == p {
			return i
		}
	}
	return 0
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[i+1:]
	}
	return "example.org"
}

var people = []person{
	{"Terry Adams", "terry.adams@example.com"},
	{"Ana Trujillo", "ana.trujillo@example.org"},
	{"Jürgen Müller", "juergen.mueller@example.de"},
	{"Françoise Lefèvre", "f.lefevre@example.fr"},
	{"Søren Kierkegaard", "soren@example.dk"},
	{"Иван Петров", "ivan.petrov@example.ru"},
	{"山田太郎", "taro.yamada@example.jp"},
	{"王小明", "xiaoming.wang@example.cn"},
	{"", "noreply@notifications.example.net"},
	{"Åsa Lindqvist", "asa.lindqvist@example.se"},
	{"José Álvarez", "jose.alvarez@example.es"},
	{"Zoë O'Neill", "zoe.oneill@example.ie"},
}

var subjects = []string{
	"Quarterly report",
	"Re: Meeting tomorrow at 10:00",
	"Fwd: Invoice #2024-0117",
	"Grüße aus München",
	"Réunion de l'équipe — ordre du jour",
	"Привет! Как дела?",
	"会議の議事録について",
	"关于下周的项目计划",
	"Skickat från min iPhone",
	"¿Nos vemos el sábado?",
	"🎉 Launch day: everything you need to know",
	"Re: Re: Re: budget (final_v3_REALLY_final.xlsx)",
	"Your order has shipped",
	"Ελληνικά: δοκιμή",
}

var words = []string{
	"the", "project", "meeting", "please", "find", "attached", "report", "we",
	"will", "review", "numbers", "before", "Friday", "thanks", "regards",
	"schedule", "budget", "update", "team", "customer", "mailbox", "server",
	"migration", "folder", "invoice", "agenda", "call", "tomorrow", "and", "or",
	"Grüße", "café", "naïve", "déjà", "vu", "Straße", "smörgåsbord", "año",
	"привет", "спасибо", "日本語", "テスト", "中文", "测试", "ευχαριστώ",
}

var mailers = []string{
	"Microsoft Outlook 16.0",
	"Apple Mail (2.3774.500.171.1.1)",
	"Mozilla Thunderbird 115.8.1",
	"Roundcube Webmail/1.6.6",
	"K-9 Mail for Android",
}

var attachmentNames = []string{"scan.pdf", "photo.jpg", "report.xlsx", "archive.zip", "data.bin", "slides.pptx"}
