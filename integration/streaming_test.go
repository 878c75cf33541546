package integration

import (
	"bufio"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/websocket"
)

func TestStreamsAndUpgradesThroughCaddy(t *testing.T) {
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/hints", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload; as=style")
		w.WriteHeader(http.StatusEarlyHints)
		w.WriteHeader(http.StatusConflict)
	})
	mux.HandleFunc("/events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "data: first\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
		io.WriteString(w, "data: last\n\n")
	})
	mux.HandleFunc("/slow409", func(w http.ResponseWriter, r *http.Request) {
		// an error body that trickles: it must not wait for its end
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusConflict)
		io.WriteString(w, strings.Repeat("a conflict explained slowly. ", 40))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
		io.WriteString(w, "the end\n")
	})
	mux.HandleFunc("/big409", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusConflict)
		chunk := []byte(strings.Repeat("0123456789abcdef", 2048)) // 32 KiB
		for sent := 0; sent < n; sent += len(chunk) {
			if _, err := w.Write(chunk[:min(len(chunk), n-sent)]); err != nil {
				return
			}
		}
	})
	mux.Handle("/ws", websocket.Handler(func(c *websocket.Conn) { io.Copy(c, c) }))
	up := upstream(t, mux)
	in := startCaddy(t, fmt.Sprintf(`
http://127.0.0.1:{PORT} {
	explain_errors
	reverse_proxy %s
}`, up))

	t.Run("EarlyHintsPassThenConflictIsExplained", func(t *testing.T) {
		var got1xx []int
		var link string
		trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
			got1xx = append(got1xx, code)
			link = h.Get("Link")
			return nil
		}}
		req, _ := http.NewRequest("GET", in.base+"/hints", nil)
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if len(got1xx) != 1 || got1xx[0] != 103 || !strings.Contains(link, "style.css") {
			t.Fatalf("1xx seen: %v, Link %q", got1xx, link)
		}
		if resp.StatusCode != 409 || !strings.HasPrefix(string(body), "409 Conflict") {
			t.Fatalf("final: %d %q", resp.StatusCode, body)
		}
	})

	t.Run("ServerSentEventsArriveBeforeTheUpstreamFinishes", func(t *testing.T) {
		resp, err := client.Get(in.base + "/events")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		line, err := readLineWithin(resp.Body, 5*time.Second)
		if err != nil || line != "data: first" {
			t.Fatalf("first event: %q, %v", line, err)
		}
		release <- struct{}{}
		rest, _ := io.ReadAll(resp.Body)
		if !strings.Contains(string(rest), "data: last") {
			t.Fatalf("rest: %q", rest)
		}
	})

	t.Run("SlowErrorBodyIsNotHeldUntilItsEnd", func(t *testing.T) {
		resp, err := client.Get(in.base + "/slow409")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		first, err := readWithin(resp.Body, 600, 5*time.Second)
		if err != nil || !strings.HasPrefix(first, "a conflict explained slowly.") {
			t.Fatalf("first bytes: %q, %v", first, err)
		}
		release <- struct{}{}
		rest, _ := io.ReadAll(resp.Body)
		if !strings.HasSuffix(string(rest), "the end\n") || resp.StatusCode != 409 {
			t.Fatalf("status %d, rest %q", resp.StatusCode, rest)
		}
	})

	t.Run("WebSocketUpgradeEchoes", func(t *testing.T) {
		ws, err := websocket.Dial(strings.Replace(in.base, "http", "ws", 1)+"/ws", "", in.base)
		if err != nil {
			t.Fatal(err)
		}
		defer ws.Close()
		for _, msg := range []string{"hello", "through explain_errors", strings.Repeat("x", 4000)} {
			if err := websocket.Message.Send(ws, msg); err != nil {
				t.Fatal(err)
			}
			var got string
			ws.SetReadDeadline(time.Now().Add(5 * time.Second))
			if err := websocket.Message.Receive(ws, &got); err != nil || got != msg {
				t.Fatalf("echo of %d bytes: got %d bytes, %v", len(msg), len(got), err)
			}
		}
	})

	t.Run("Huge409BodyStreamsWholeWithBoundedMemory", func(t *testing.T) {
		const n = 64 << 20
		before := peakRSS(t, in.cmd.Process.Pid)
		resp, err := client.Get(in.base + "/big409?n=" + strconv.Itoa(n))
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		got, err := io.Copy(h, resp.Body)
		resp.Body.Close()
		if err != nil || got != n || resp.StatusCode != 409 {
			t.Fatalf("status %d, read %d of %d bytes: %v", resp.StatusCode, got, n, err)
		}
		want := sha256.New()
		chunk := []byte(strings.Repeat("0123456789abcdef", 2048))
		for sent := 0; sent < n; sent += len(chunk) {
			want.Write(chunk)
		}
		if string(h.Sum(nil)) != string(want.Sum(nil)) {
			t.Fatal("the 64 MiB body changed on the way")
		}
		after := peakRSS(t, in.cmd.Process.Pid)
		// holding the body would need 64 MiB and more; streaming needs
		// Caddy's copy buffers
		if grew := after - before; grew > 24<<20 {
			t.Fatalf("Caddy's peak RSS grew by %d MiB while streaming 64 MiB", grew>>20)
		}
		t.Logf("peak RSS %d MiB before, %d MiB after", before>>20, after>>20)
	})
}

// readLineWithin reads one line from r, failing after d.
func readLineWithin(r io.Reader, d time.Duration) (string, error) {
	type result struct {
		s   string
		err error
	}
	ch := make(chan result, 1)
	go func() {
		s, err := bufio.NewReader(r).ReadString('\n')
		ch <- result{strings.TrimRight(s, "\n"), err}
	}()
	select {
	case res := <-ch:
		return res.s, res.err
	case <-time.After(d):
		return "", fmt.Errorf("nothing within %v", d)
	}
}

// readWithin reads n bytes from r, failing after d.
func readWithin(r io.Reader, n int, d time.Duration) (string, error) {
	ch := make(chan error, 1)
	buf := make([]byte, n)
	go func() {
		_, err := io.ReadFull(r, buf)
		ch <- err
	}()
	select {
	case err := <-ch:
		return string(buf), err
	case <-time.After(d):
		return "", fmt.Errorf("not %d bytes within %v", n, d)
	}
}

// peakRSS returns a process's peak resident set size (VmHWM) in bytes.
func peakRSS(t testing.TB, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM")
	return 0
}

// h2cClient speaks HTTP/2 without TLS (prior knowledge), as Caddy's
// `protocols h1 h2c` accepts it, and asks for no compression.
func h2cClient() *http.Client {
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	return &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{Protocols: p, DisableCompression: true},
	}
}

// h1Client speaks HTTP/1.1 with keep-alive, on connections of its own.
func h1Client() *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableCompression: true}}
}

type protocolClient struct {
	name   string
	client *http.Client
}

// protocolClients are the protocols the held-body tests run over, each
// with connections of its own.
func protocolClients() []protocolClient {
	return []protocolClient{{"HTTP1", h1Client()}, {"H2C", h2cClient()}}
}

// h2cGlobal enables h2c on Caddy's servers.
const h2cGlobal = "\tservers {\n\t\tprotocols h1 h2c\n\t}"

// TestHeldBodiesFlowThroughCaddy: what must flow is never kept back. A
// bare-looking 409 that writes a few bytes, flushes and pauses; an event
// stream with an error status whose first event comes late; and, over
// h2c, a bidirectional stream whose client waits for the status before it
// sends. reverse_proxy flushes each of them at once; through the module
// the status and bytes reach the client within the documented 250 ms
// (checked with a generous 3 s against an upstream that pauses for 10 s),
// as they came.
func TestHeldBodiesFlowThroughCaddy(t *testing.T) {
	release := make(chan struct{})
	var releaseOnce sync.Once
	t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) })
	pause := func(r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/trickle", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusConflict)
		io.WriteString(w, "abc")
		w.(http.Flusher).Flush()
		pause(r)
		io.WriteString(w, "def")
	})
	mux.HandleFunc("/events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusServiceUnavailable)
		w.(http.Flusher).Flush()
		pause(r)
		io.WriteString(w, "data: late\n\n")
	})
	mux.HandleFunc("/duplex", func(w http.ResponseWriter, r *http.Request) {
		// a short plain body that would look bare if it ended, while the
		// stream stays open for the client
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusConflict)
		io.WriteString(w, "ready\n")
		w.(http.Flusher).Flush()
		pause(r)
	})
	p := new(http.Protocols)
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux, Protocols: p}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })

	port2 := freePort(t)
	in := startCaddyWith(t, caddyOptions{global: h2cGlobal}, fmt.Sprintf(`
http://127.0.0.1:{PORT} {
	explain_errors
	reverse_proxy h2c://%s
}
# the same without the module, to compare with by hand
http://127.0.0.1:%d {
	reverse_proxy h2c://%s
}`, l.Addr(), port2, l.Addr()))
	base := in.base
	if os.Getenv("EXPLAIN_ERRORS_PLAIN") != "" {
		base = fmt.Sprintf("http://127.0.0.1:%d", port2)
	}

	const soon = 3 * time.Second
	// do sends req and waits soon for the status
	do := func(t *testing.T, c *http.Client, req *http.Request) *http.Response {
		t.Helper()
		type result struct {
			resp *http.Response
			err  error
		}
		ch := make(chan result, 1)
		go func() {
			resp, err := c.Do(req)
			ch <- result{resp, err}
		}()
		select {
		case res := <-ch:
			if res.err != nil {
				t.Fatal(res.err)
			}
			t.Cleanup(func() { res.resp.Body.Close() })
			return res.resp
		case <-time.After(soon):
			t.Fatalf("no status within %v of the upstream's flush", soon)
		}
		return nil
	}
	for _, pc := range protocolClients() {
		t.Run(pc.name, func(t *testing.T) {
			for _, tc := range []struct {
				path, first string
				status      int
			}{
				{"/trickle", "abc", 409},
				{"/events", "", 503},
			} {
				t.Run(strings.TrimPrefix(tc.path, "/"), func(t *testing.T) {
					ctx, cancel := context.WithCancel(context.Background())
					defer cancel()
					req, _ := http.NewRequestWithContext(ctx, "GET", base+tc.path, nil)
					req.Header.Set("Accept", "text/html")
					start := time.Now()
					resp := do(t, pc.client, req)
					if resp.StatusCode != tc.status || resp.Header.Get("Cache-Control") == "no-store" {
						t.Fatalf("got %d %v, want the upstream's %d as it came", resp.StatusCode, resp.Header, tc.status)
					}
					if tc.first != "" {
						got, err := readWithin(resp.Body, len(tc.first), soon)
						if err != nil || got != tc.first {
							t.Fatalf("flushed bytes: %q, %v", got, err)
						}
					}
					t.Logf("%s %s: status and flushed bytes after %v", pc.name, tc.path, time.Since(start).Round(time.Millisecond))
				})
			}
		})
	}

	t.Run("H2C/Bidirectional", func(t *testing.T) {
		pr, pw := io.Pipe()
		defer pw.Close()
		req, _ := http.NewRequest("POST", base+"/duplex", pr)
		resp := do(t, h2cClient(), req)
		if resp.ProtoMajor != 2 || resp.StatusCode != 409 {
			t.Fatalf("got %s %d", resp.Proto, resp.StatusCode)
		}
		// the status and the first bytes come before the client sends
		// anything
		got, err := readWithin(resp.Body, len("ready\n"), soon)
		if err != nil || got != "ready\n" {
			t.Fatalf("first bytes: %q, %v", got, err)
		}
		// (how the stream ends, once the client closes its half, is
		// Caddy's h2c transport's business, with or without the module)
	})
}
