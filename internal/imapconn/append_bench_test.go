package imapconn_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/imapmigrate/imapmigrate/internal/imapconn"
	"github.com/imapmigrate/imapmigrate/internal/testenv"
)

// latencyProxy forwards TCP to upstream, delivering every chunk `delay`
// after it was read, in each direction: a link with that one-way latency
// and no bandwidth limit.
func latencyProxy(b testing.TB, upstream string, delay time.Duration) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	pipe := func(dst, src net.Conn) {
		type chunk struct {
			at   time.Time
			data []byte
		}
		ch := make(chan chunk, 4096)
		go func() {
			defer close(ch)
			for {
				buf := make([]byte, 64<<10)
				n, err := src.Read(buf)
				if n > 0 {
					ch <- chunk{time.Now().Add(delay), buf[:n]}
				}
				if err != nil {
					return
				}
			}
		}()
		for c := range ch {
			time.Sleep(time.Until(c.at))
			if _, err := dst.Write(c.data); err != nil {
				break
			}
		}
		dst.Close()
		src.Close()
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", upstream)
			if err != nil {
				c.Close()
				continue
			}
			go pipe(u, c)
			go pipe(c, u)
		}
	}()
	return ln.Addr().String()
}

// BenchmarkAppend compares, on loopback and over a link with 25 ms one-way latency to a
// real Dovecot, go-imap's own APPEND (a synchronizing literal per message:
// one round trip each) with Appender's pipelined APPENDs and MULTIAPPEND.
// Run: go test -run '^$' -bench Append -benchtime 200x ./internal/imapconn
func BenchmarkAppend(b *testing.B) {
	d := testenv.StartDovecot(b, testenv.DovecotOptions{Users: map[string]string{"bench": "pw"}})
	for _, latency := range []time.Duration{0, 25 * time.Millisecond} {
		b.Run(fmt.Sprintf("latency=%v", latency), func(b *testing.B) {
			addr := d.Addr()
			if latency > 0 {
				addr = latencyProxy(b, d.Addr(), latency)
			}
			benchmarkAppend(b, addr)
		})
	}
}

func benchmarkAppend(b *testing.B, addr string) {
	host, port, _ := net.SplitHostPort(addr)
	var p int
	fmt.Sscan(port, &p)
	cfg := &imapconn.Config{Name: "target", Host: host, Port: p, Security: imapconn.SecurityNone, Auth: imapconn.AuthLogin, User: "bench", Password: "pw"}
	rng := rand.New(rand.NewPCG(1, 1))
	body := testenv.GenMessage(rng, 20_000)
	date := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	ctx := context.Background()

	b.Run("go-imap", func(b *testing.B) {
		c, err := imapconn.Connect(ctx, cfg, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		b.SetBytes(int64(len(body)))
		for i := 0; i < b.N; i++ {
			cmd := c.Append("INBOX", int64(len(body)), &imap.AppendOptions{Time: date})
			cmd.Write(body)
			cmd.Close()
			if _, err := cmd.Wait(); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, multi := range []bool{false, true} {
		name := "appender-pipelined"
		if multi {
			name = "appender-multiappend"
		}
		b.Run(name, func(b *testing.B) {
			a, err := imapconn.DialAppender(ctx, cfg, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer a.Close()
			a.NoMultiAppend = !multi // then single APPENDs, all of a chunk in flight at once
			b.SetBytes(int64(len(body)))
			const chunk = 32
			for done := 0; done < b.N; done += chunk {
				n := min(chunk, b.N-done)
				msgs := make([]imapconn.AppendMessage, n)
				for i := range msgs {
					msgs[i] = imapconn.AppendMessage{Date: date, Size: int64(len(body)), Body: func() (io.Reader, error) { return bytes.NewReader(body), nil }}
				}
				res, err := a.Append(ctx, "INBOX", msgs)
				if err != nil {
					b.Fatal(err)
				}
				for _, e := range res.Errs {
					if e != nil {
						b.Fatal(e)
					}
				}
			}
		})
	}
}
