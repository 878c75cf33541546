package integration

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go/http3"
)

// protoClient reaches one Caddy site over one protocol.
type protoClient struct {
	name   string // h1, h2c, h2, h3
	base   string // scheme://host:port
	proto  string // the Proto a response over it must carry
	major  int
	client *http.Client
}

// protoMatrix is one Caddy that serves the same routes over HTTP/1.1 and
// h2c (cleartext, one listener) and over HTTP/2 and HTTP/3 (TLS with
// Caddy's internal CA, one TCP and one UDP listener on the same port).
type protoMatrix struct {
	in     *instance
	protos []protoClient
	ca     *x509.CertPool
}

// startMatrix starts Caddy with routes, a Caddyfile fragment that goes
// into both sites unchanged ({TLSPORT} is the TLS site's port), and
// returns a client per protocol. The CA Caddy issues the TLS site's
// certificate from is read from the instance's own storage and trusted by
// the TLS clients; nothing is installed into the system's trust store.
//
// httpServer holds further options for the cleartext listener's servers
// block; "" keeps Caddy's defaults.
func startMatrix(t testing.TB, httpServer, routes string) *protoMatrix {
	t.Helper()
	tlsPort := freePort(t)
	routes = strings.ReplaceAll(routes, "{TLSPORT}", fmt.Sprint(tlsPort))
	// grace_period: after reverse_proxy aborts a response over HTTP/3,
	// Caddy's shutdown otherwise waits until it is killed, with or without
	// the module
	in := startCaddyWith(t, caddyOptions{https: `auto_https disable_redirects
	skip_install_trust
	grace_period 1s
	servers :{PORT} {
		protocols h1 h2c
		` + httpServer + `
	}`}, fmt.Sprintf(`
(routes) {
%s
}
http://127.0.0.1:{PORT} {
	import routes
}
https://127.0.0.1:%d {
	tls internal
	import routes
}`, routes, tlsPort))
	m := &protoMatrix{in: in}
	tlsBase := fmt.Sprintf("https://127.0.0.1:%d", tlsPort)

	// the root appears once Caddy's local CA is set up, before the site's
	// certificate is issued from it
	root := filepath.Join(in.dir, "caddy", "pki", "authorities", "local", "root.crt")
	deadline := time.Now().Add(20 * time.Second)
	var pemBytes []byte
	for {
		var err error
		if pemBytes, err = os.ReadFile(root); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Caddy's local CA root did not appear at %s: %v", root, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	m.ca = x509.NewCertPool()
	if !m.ca.AppendCertsFromPEM(pemBytes) {
		t.Fatalf("%s holds no PEM certificate", root)
	}
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	h1 := &http.Transport{DisableCompression: true}
	h1.Protocols = new(http.Protocols)
	h1.Protocols.SetHTTP1(true)
	h2c := &http.Transport{DisableCompression: true}
	h2c.Protocols = new(http.Protocols)
	h2c.Protocols.SetUnencryptedHTTP2(true)
	h2 := &http.Transport{DisableCompression: true, TLSClientConfig: &tls.Config{RootCAs: m.ca}}
	h2.Protocols = new(http.Protocols)
	h2.Protocols.SetHTTP2(true)
	h3 := &http3.Transport{DisableCompression: true, TLSClientConfig: &tls.Config{RootCAs: m.ca}}
	t.Cleanup(func() {
		h1.CloseIdleConnections()
		h2c.CloseIdleConnections()
		h2.CloseIdleConnections()
		h3.Close()
	})
	mk := func(rt http.RoundTripper) *http.Client {
		return &http.Client{Transport: rt, Timeout: 30 * time.Second, CheckRedirect: noRedirect}
	}
	m.protos = []protoClient{
		{"h1", in.base, "HTTP/1.1", 1, mk(h1)},
		{"h2c", in.base, "HTTP/2.0", 2, mk(h2c)},
		{"h2", tlsBase, "HTTP/2.0", 2, mk(h2)},
		{"h3", tlsBase, "HTTP/3.0", 3, mk(h3)},
	}

	// the TLS site answers once its certificate is issued
	for _, p := range m.protos[2:] {
		for {
			resp, err := p.client.Get(p.base + "/")
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the TLS site did not answer: %v\n%s", p.name, err, in.stderr)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return m
}

// send sends a request and fails unless the response came over the
// client's protocol. The body is left to the caller.
func (p protoClient) send(t testing.TB, ctx context.Context, method, path string, hdr map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, p.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s over %s: %v", method, path, p.name, err)
	}
	if resp.ProtoMajor != p.major || resp.Proto != p.proto {
		resp.Body.Close()
		t.Fatalf("%s %s: response over %s (major %d), want %s", method, path, resp.Proto, resp.ProtoMajor, p.proto)
	}
	return resp
}

// do sends a request and reads the whole body.
func (p protoClient) do(t testing.TB, method, path string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	resp := p.send(t, context.Background(), method, path, hdr)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s over %s: reading body: %v", method, path, p.name, err)
	}
	return resp, b
}

// recordsFor returns the records whose request URI is uri.
func recordsFor(in *instance, uri string) []map[string]any {
	var out []map[string]any
	for _, r := range in.records() {
		if req, ok := r["request"].(map[string]any); ok && req["uri"] == uri {
			out = append(out, r)
		}
	}
	return out
}

// waitRecordsFor waits for n records of uri, then a little longer to see
// that no more come.
func waitRecordsFor(t testing.TB, in *instance, uri string, n int) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(recordsFor(in, uri)) < n && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	return recordsFor(in, uri)
}

// gates lets an upstream handler wait until the test releases it.
type gates struct {
	mu sync.Mutex
	m  map[string]chan struct{}
}

func (g *gates) get(id string) chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.m == nil {
		g.m = make(map[string]chan struct{})
	}
	if g.m[id] == nil {
		g.m[id] = make(chan struct{})
	}
	return g.m[id]
}

func (g *gates) open(id string) {
	ch := g.get(id)
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-ch:
	default:
		close(ch)
	}
}

// counter counts calls by key.
type counter struct {
	mu sync.Mutex
	m  map[string]int
}

func (c *counter) add(k string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]int)
	}
	c.m[k]++
}

func (c *counter) get(k string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[k]
}

// trickle409 is the first flushed piece of a chunked plain-text 409 that
// then pauses.
const trickle409 = "wait"

// longChunked503 is a chunked plain 503 longer than bare_max: it passes.
var longChunked503 = strings.Repeat("maintenance window: the shop is being restocked. ", 14)

// matrixUpstream is the application behind every protocol's site.
func matrixUpstream(calls *counter, release *gates, cancelled *gates) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", demoUpstream())
	mux.HandleFunc("/trickle409", func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("id")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusConflict)
		io.WriteString(w, trickle409)
		w.(http.Flusher).Flush()
		select {
		case <-release.get(id):
		case <-r.Context().Done():
			cancelled.open(id)
			return
		case <-time.After(20 * time.Second):
		}
		io.WriteString(w, " for it\n")
	})
	mux.HandleFunc("/long503", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusServiceUnavailable)
		// two writes and a flush between: chunked, with no Content-Length
		half := len(longChunked503) / 2
		io.WriteString(w, longChunked503[:half])
		w.(http.Flusher).Flush()
		io.WriteString(w, longChunked503[half:])
	})
	mux.HandleFunc("/breaks409", func(w http.ResponseWriter, r *http.Request) {
		// announces 100 bytes, sends 4, and hangs up
		calls.add(r.URL.RawQuery)
		c, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		defer c.Close()
		buf.WriteString("HTTP/1.1 409 Conflict\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\npart")
		buf.Flush()
	})
	mux.HandleFunc("/stream409", func(w http.ResponseWriter, r *http.Request) {
		// a long plain 409 that streams until the client leaves
		id := r.URL.Query().Get("id")
		calls.add(r.URL.RawQuery)
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusConflict)
		chunk := []byte(strings.Repeat("version 7 is current; ", 745)) // about 16 KiB
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			if _, err := w.Write(chunk); err != nil {
				break
			}
			w.(http.Flusher).Flush()
			if r.Context().Err() != nil {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		<-r.Context().Done()
		cancelled.open(id)
	})
	return mux
}

// TestProtocolMatrix runs the HTTP-shape scenarios of the integration
// suite over HTTP/1.1, h2c, HTTP/2 over TLS and HTTP/3, each against the
// module and, where the scenario says "as plain Caddy would", against the
// same route without it (/plain/...).
func TestProtocolMatrix(t *testing.T) {
	var calls counter
	var release, cancelled gates
	up := upstream(t, matrixUpstream(&calls, &release, &cancelled))
	dead := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	m := startMatrix(t, "", fmt.Sprintf(`
	handle_path /plain/dead* {
		reverse_proxy %[1]s
	}
	handle_path /plain/* {
		reverse_proxy %[2]s
	}
	handle /dead* {
		explain_errors
		reverse_proxy %[1]s
	}
	handle {
		explain_errors {
			site_name "Demo shop"
		}
		reverse_proxy %[2]s
	}`, dead, up))
	in := m.in

	formats := []struct {
		name, accept, ctype, must string
	}{
		{"HTML", browserAccept, "text/html; charset=utf-8", "<h1>" + headingHTML(409, 0) + "</h1>"},
		{"ProblemJSON", "application/json", "application/problem+json", `"status":409`},
		{"Text", "*/*", "text/plain; charset=utf-8", "409 Conflict"},
	}

	type scenario struct {
		name string
		run  func(t *testing.T, p protoClient)
	}
	scenarios := []scenario{}
	for _, f := range formats {
		scenarios = append(scenarios, scenario{"Bare409Explained" + f.name, func(t *testing.T, p protoClient) {
			resp, body := p.do(t, "GET", "/bare409", map[string]string{"Accept": f.accept})
			if resp.StatusCode != 409 || resp.Header.Get("Content-Type") != f.ctype || !bytes.Contains(body, []byte(f.must)) {
				t.Fatalf("got %d %q, want 409 %q with %q:\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), f.ctype, f.must, body)
			}
			if resp.ContentLength != int64(len(body)) || resp.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("Content-Length %d for %d bytes, Cache-Control %q", resp.ContentLength, len(body), resp.Header.Get("Cache-Control"))
			}
			if f.name == "ProblemJSON" {
				var pj map[string]any
				if err := json.Unmarshal(body, &pj); err != nil || pj["status"] != 409.0 {
					t.Fatalf("problem+json: %v: %s", err, body)
				}
			}
		}})
	}
	scenarios = append(scenarios,
		scenario{"JSON409PassesByteIdentical", func(t *testing.T, p protoClient) {
			resp, body := p.do(t, "GET", "/json409", map[string]string{"Accept": "application/json"})
			if resp.StatusCode != 409 || string(body) != jsonConflict || resp.Header.Get("ETag") != `"v2"` ||
				resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("got %d %v %q", resp.StatusCode, resp.Header, body)
			}
		}},
		scenario{"OK200PassesByteIdentical", func(t *testing.T, p protoClient) {
			resp, body := p.do(t, "GET", "/ok", nil)
			if resp.StatusCode != 200 || !bytes.Equal(body, binaryBody) || resp.Header.Get("ETag") != `"ok1"` {
				t.Fatalf("got %d, %d bytes, ETag %q", resp.StatusCode, len(body), resp.Header.Get("ETag"))
			}
		}},
		scenario{"FlushedTrickling409ReachesTheClientSoon", func(t *testing.T, p protoClient) {
			// plain Caddy sends the status and the flushed bytes at once;
			// the module must within its documented bound (250 ms), and the
			// test allows far more
			const soon = 3 * time.Second
			for _, prefix := range []string{"/plain", ""} {
				id := p.name + prefix
				ctx, cancel := context.WithCancel(context.Background())
				got := make(chan *http.Response, 1)
				go func() {
					req, _ := http.NewRequestWithContext(ctx, "GET", p.base+prefix+"/trickle409?id="+id, nil)
					resp, err := p.client.Do(req)
					if err == nil {
						got <- resp
					}
				}()
				var resp *http.Response
				select {
				case resp = <-got:
				case <-time.After(soon):
				}
				if resp == nil {
					release.open(id)
					cancel()
					t.Fatalf("%s: no status within %v of the upstream's flush", prefix+"/trickle409", soon)
				}
				first, err := readWithin(resp.Body, len(trickle409), soon)
				release.open(id)
				if err != nil || first != trickle409 || resp.StatusCode != 409 {
					resp.Body.Close()
					cancel()
					t.Fatalf("%s: status %d, first bytes %q, %v", prefix+"/trickle409", resp.StatusCode, first, err)
				}
				rest, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				cancel()
				if err != nil || string(rest) != " for it\n" {
					t.Fatalf("%s: rest %q, %v", prefix+"/trickle409", rest, err)
				}
			}
		}},
		scenario{"HeadIsJudgedAsGet", func(t *testing.T, p protoClient) {
			for _, path := range []string{"/bare409", "/json409", "/long503"} {
				hdr := map[string]string{"Accept": browserAccept}
				get, body := p.do(t, "GET", path, hdr)
				head, hbody := p.do(t, "HEAD", path, hdr)
				if len(hbody) != 0 {
					t.Fatalf("HEAD %s: %d body bytes", path, len(hbody))
				}
				if head.StatusCode != get.StatusCode {
					t.Fatalf("HEAD %s: status %d, GET %d", path, head.StatusCode, get.StatusCode)
				}
				for _, k := range []string{"Content-Type", "Cache-Control", "Content-Language", "Content-Security-Policy", "Etag", "Vary"} {
					if g, h := strings.Join(get.Header.Values(k), ", "), strings.Join(head.Header.Values(k), ", "); g != h {
						t.Errorf("HEAD %s: %s %q, GET has %q", path, k, h, g)
					}
				}
				// a length HEAD announces is the length GET sends, with one
				// exception of the transport's: quic-go's server announces
				// Content-Length 0 for a HEAD whose header was not flushed
				// before the handler returned and that set no length. For a
				// streamed GET (no Content-Length) whether that happens is a
				// race in reverse_proxy itself, with or without the module:
				// copyResponse's first flush is a time.AfterFunc(-1) that
				// may or may not run before an empty HEAD body ends (CI saw
				// plain Caddy give -1 while the module gave 0).
				if head.ContentLength >= 0 && head.ContentLength != int64(len(body)) {
					streamed := get.Header.Get("Content-Length") == ""
					if p.name != "h3" || !streamed || head.ContentLength != 0 {
						plainHead, _ := p.do(t, "HEAD", "/plain"+path, hdr)
						t.Errorf("HEAD %s: Content-Length %d, GET sent %d bytes (plain Caddy's HEAD: %d)", path, head.ContentLength, len(body), plainHead.ContentLength)
					}
				}
				if path == "/long503" && string(body) != longChunked503 {
					t.Errorf("GET %s: the long 503 changed: %q", path, body)
				}
			}
		}},
		scenario{"DeadUpstream502Explained", func(t *testing.T, p protoClient) {
			plain, _ := p.do(t, "GET", "/plain/dead", nil)
			resp, body := p.do(t, "GET", "/dead", map[string]string{"Accept": "application/json"})
			if plain.StatusCode != 502 || resp.StatusCode != 502 || resp.Header.Get("Content-Type") != "application/problem+json" ||
				!bytes.Contains(body, []byte(`"status":502`)) || resp.ContentLength != int64(len(body)) {
				t.Fatalf("plain Caddy %d; module %d %q: %s", plain.StatusCode, resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
		}},
		scenario{"UpstreamBreakingOffMidBodyGivesWhatPlainCaddyGives", func(t *testing.T, p protoClient) {
			type seen struct {
				status int
				body   string
				err    error
			}
			get := func(path string) seen {
				// a request before keeps the connection alive, so that a
				// client that gets nothing back would be tempted to resend
				p.do(t, "GET", "/ok", nil)
				req, _ := http.NewRequest("GET", p.base+path, nil)
				resp, err := p.client.Do(req)
				if err != nil {
					return seen{err: err}
				}
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				return seen{resp.StatusCode, string(b), err}
			}
			plainQ, moduleQ := "id="+p.name+"-plain", "id="+p.name+"-module"
			plain := get("/plain/breaks409?" + plainQ)
			got := get("/breaks409?" + moduleQ)
			switch {
			case p.name == "h3":
				// Over QUIC, a flush followed by an abort is a race of the
				// transport's: quic-go's server resets the stream the moment
				// the handler panics (CancelWrite in http3's server_conn.go)
				// and drops what its send loop has not yet packed, so plain
				// Caddy gives either the status and the 4 bytes then the
				// error, or the error alone, from one run to the next; CI
				// saw each of the two sides of it lose while the other won.
				// What holds for both, every time: never a whole response,
				// and if a status came, the 4 bytes with it.
				for _, s := range []struct {
					who string
					got seen
				}{{"plain Caddy", plain}, {"the module", got}} {
					if s.got.err == nil || s.got.status != 0 && (s.got.status != 409 || s.got.body != "part") {
						t.Errorf("%s gave %d %q, %v: want an error, after at most the 409 and its 4 bytes", s.who, s.got.status, s.got.body, s.got.err)
					}
				}
				t.Logf("module: %d %q, %v", got.status, got.body, got.err)
			case plain.status != 409 || plain.body != "part" || plain.err == nil:
				t.Fatalf("plain Caddy gave %d %q, %v: the scenario assumes 409, the 4 bytes, then an error", plain.status, plain.body, plain.err)
			case got.status != plain.status || got.body != plain.body || got.err == nil:
				t.Errorf("module gave %d %q, %v; plain Caddy gave %d %q, %v", got.status, got.body, got.err, plain.status, plain.body, plain.err)
			}
			t.Logf("plain Caddy: %d %q, %v", plain.status, plain.body, plain.err)
			if n := calls.get(moduleQ); n != 1 {
				t.Errorf("the upstream was called %d times for one request through the module (plain Caddy: %d)", n, calls.get(plainQ))
			}
			if recs := waitRecordsFor(t, in, "/breaks409?"+moduleQ, 1); len(recs) != 1 {
				t.Errorf("%d records for one response", len(recs))
			}
		}},
		scenario{"ClientCancellingWhileTheBodyMayBeHeld", func(t *testing.T, p protoClient) {
			// the client leaves 300 ms after asking, whether or not the
			// status has come: the upstream must hear of it, and the
			// response gets one record
			id := p.name + "-leaves"
			uri := "/trickle409?id=" + id
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				defer close(done)
				req, _ := http.NewRequestWithContext(ctx, "GET", p.base+uri, nil)
				if resp, err := p.client.Do(req); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}()
			time.Sleep(300 * time.Millisecond)
			cancel()
			<-done
			select {
			case <-cancelled.get(id):
			case <-time.After(10 * time.Second):
				release.open(id)
				t.Fatal("the upstream did not see the client leave")
			}
			if recs := waitRecordsFor(t, in, uri, 1); len(recs) != 1 || recs[0]["status"] != 409.0 {
				t.Fatalf("%d records: %v", len(recs), recs)
			}
		}},
		scenario{"ClientCancellingMidResponse", func(t *testing.T, p protoClient) {
			id := p.name
			uri := "/stream409?id=" + id
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			resp := p.send(t, ctx, "GET", uri, nil)
			buf := make([]byte, 64<<10)
			_, err := io.ReadFull(resp.Body, buf)
			if err != nil || resp.StatusCode != 409 || !bytes.HasPrefix(buf, []byte("version 7 is current; version 7")) {
				t.Fatalf("status %d, first bytes %q, %v", resp.StatusCode, buf[:40], err)
			}
			cancel()
			resp.Body.Close()
			select {
			case <-cancelled.get(id):
			case <-time.After(10 * time.Second):
				t.Fatal("the upstream did not see the client leave")
			}
			recs := waitRecordsFor(t, in, uri, 1)
			if len(recs) != 1 || recs[0]["status"] != 409.0 || recs[0]["explained"] != false {
				t.Fatalf("records: %v", recs)
			}
			if n := calls.get("id=" + id); n != 1 {
				t.Fatalf("the upstream was called %d times", n)
			}
			// and the site still answers on the same client
			if r, body := p.do(t, "GET", "/json409", nil); r.StatusCode != 409 || string(body) != jsonConflict {
				t.Fatalf("after the cancellation: %d %q", r.StatusCode, body)
			}
		}},
	)

	start := time.Now()
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			for _, p := range m.protos {
				t.Run(p.name, func(t *testing.T) { s.run(t, p) })
			}
		})
	}
	t.Logf("%d scenarios × %d protocols in %v", len(scenarios), len(m.protos), time.Since(start).Round(time.Millisecond))
}
