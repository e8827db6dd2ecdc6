package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// urlWriter collects serve's log and hands over the URL it logs at start.
type urlWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	url  chan string
	sent bool
}

var urlRE = regexp.MustCompile(`url=(http\S+)`)

func (w *urlWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if m := urlRE.FindSubmatch(w.buf.Bytes()); m != nil && !w.sent {
		w.sent = true
		w.url <- string(m[1])
	}
	return len(p), nil
}

func (w *urlWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestServeAnswersHTTP runs serve on a free port: it logs where it
// listens, answers /healthz and /readyz, and stops on its context's end.
func TestServeAnswersHTTP(t *testing.T) {
	data := []string{"--data-dir", filepath.Join(t.TempDir(), "data")}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := &urlWriter{url: make(chan string, 1)}
	exit := make(chan int, 1)
	go func() {
		exit <- Execute(ctx, append(data, "serve", "--listen", "127.0.0.1:0", "--log-level", "info"), strings.NewReader(""), &bytes.Buffer{}, w)
	}()
	var base string
	select {
	case base = <-w.url:
	case code := <-exit:
		t.Fatalf("serve exited %d before listening:\n%s", code, w.String())
	}
	for path, want := range map[string]string{"/healthz": "Healthy", "/readyz": "Ready"} {
		res, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Status string }
		err = json.NewDecoder(res.Body).Decode(&body)
		res.Body.Close()
		if err != nil || res.StatusCode != 200 || body.Status != want {
			t.Errorf("GET %s: %d %+v %v", path, res.StatusCode, body, err)
		}
	}
	// The API wants a token, the dashboard a login; metrics are open.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for path, want := range map[string]int{"/api/v1/batches": 401, "/batches": 303, "/metrics": 200} {
		res, err := noRedirect.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, res.StatusCode, want)
		}
	}
	if !strings.Contains(w.String(), "admin add") {
		t.Errorf("serve without a dashboard account does not say how to create one:\n%s", w.String())
	}
	cancel()
	if code := <-exit; code != 0 {
		t.Fatalf("serve exit %d:\n%s", code, w.String())
	}
	if !strings.Contains(w.String(), "serve stopped") {
		t.Errorf("no stop line:\n%s", w.String())
	}
}

// TestServeBadHTTPSettings: bad --listen, --tls-cert without --tls-key,
// and a port in use are refused before any work starts, naming the flag.
func TestServeBadHTTPSettings(t *testing.T) {
	data := []string{"--data-dir", filepath.Join(t.TempDir(), "data")}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--listen", "8080"}, "--listen 8080: write HOST:PORT"},
		{[]string{"--listen", "127.0.0.1:0", "--tls-cert", "c.pem"}, "--tls-key: give both"},
		{[]string{"--listen", "127.0.0.1:0", "--tls-cert", "/nonexistent/c.pem", "--tls-key", "/nonexistent/k.pem"}, "--tls-cert /nonexistent/c.pem"},
	} {
		var stderr bytes.Buffer
		code := Execute(context.Background(), append(append(data, "serve"), tc.args...), strings.NewReader(""), &bytes.Buffer{}, &stderr)
		if code == 0 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("serve %v: exit %d, want %q in:\n%s", tc.args, code, tc.want, stderr.String())
		}
	}
}
