package integration

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// corpusEntry is one line of testdata/corpus/manifest.json.
type corpusEntry struct {
	Name    string `json:"name"`
	File    string `json:"file"`
	Server  string `json:"server"`
	Version string `json:"version"`
	Request struct {
		Method    string      `json:"method"`
		Path      string      `json:"path"`
		Headers   [][2]string `json:"headers"`
		BodyBytes int         `json:"body_bytes"`
	} `json:"request"`
	Status          int    `json:"status"`
	ContentType     string `json:"content_type"`
	ContentEncoding string `json:"content_encoding,omitempty"`
	// WireBytes is the body as sent (after chunking is undone, before
	// any Content-Encoding is); Bytes the decoded body
	WireBytes int `json:"wire_bytes"`
	Bytes     int `json:"bytes"`
	Expected  struct {
		Bare    bool   `json:"bare"`
		Reason  string `json:"reason"`
		Message string `json:"message,omitempty"`
	} `json:"expected"`
}

var serverNames = map[string]string{
	"nginx": "nginx", "apache": "Apache httpd", "tomcat": "Apache Tomcat", "lighttpd": "lighttpd",
	"haproxy": "HAProxy", "varnish": "Varnish", "python": "Python http.server", "node": "Node.js",
	"go": "Go net/http", "caddy": "Caddy",
}

// rawRequest sends one request over a new connection with Connection:
// close and returns every byte the server answered.
func rawRequest(t testing.TB, addr string, c corpusCase) []byte {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("%s: %v", c.name, err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", c.method, c.path, addr)
	for _, h := range c.header {
		fmt.Fprintf(&b, "%s: %s\r\n", h[0], h[1])
	}
	if c.body != "" || c.method == "PUT" || c.method == "POST" {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(c.body))
	}
	b.WriteString("Connection: close\r\n\r\n")
	b.WriteString(c.body)
	if _, err := conn.Write(b.Bytes()); err != nil && !strings.Contains(err.Error(), "reset") {
		t.Fatalf("%s: writing: %v", c.name, err)
	}
	raw, err := io.ReadAll(conn)
	if err != nil && len(raw) == 0 {
		t.Fatalf("%s: reading: %v", c.name, err)
	}
	return raw
}

// corpusTarget starts what a case needs and returns the address its
// request goes to.
func corpusTarget(t *testing.T, c corpusCase) (addr, version string) {
	t.Helper()
	switch c.server {
	case "go":
		return goUpstream(t), runtime.Version()
	case "caddy":
		return corpusCaddy(t, false).addr, caddyVersion()
	}
	s := needServer(t, c.server)
	return s.addrs[c.listener], s.version
}

var goUpstreamAddr string

// goUpstream is the corpus's net/http application, one per test binary.
func goUpstream(t testing.TB) string {
	realMu.Lock()
	defer realMu.Unlock()
	if goUpstreamAddr == "" {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() { _ = (&http.Server{Handler: goCorpusHandler}).Serve(l) }()
		goUpstreamAddr = l.Addr().String()
	}
	return goUpstreamAddr
}

type corpusCaddyInstance struct {
	*instance
	addr string
}

// corpusCaddy is a Caddy with the corpus's own site (Caddy's responses and
// PHP through php_fastcgi), with explain_errors or without, one each per
// test.
func corpusCaddy(t *testing.T, module bool) corpusCaddyInstance {
	t.Helper()
	fastcgi := "127.0.0.1:1"
	if _, skip := lookProgram(phpFPM, ""); skip == "" || os.Getenv("CI") != "" {
		fastcgi = needServer(t, "phpfpm").addrs["fastcgi"]
	}
	in := startCaddy(t, caddyCorpusSite("http://127.0.0.1:{PORT}", module, fastcgi))
	return corpusCaddyInstance{in, strings.TrimPrefix(in.base, "http://")}
}

// TestCorpusCapture records the corpus: each case's raw response from the
// real server, and the manifest. It runs only when CORPUS_CAPTURE names
// the directory to write (testdata/corpus/capture.sh sets it).
func TestCorpusCapture(t *testing.T) {
	out := os.Getenv("CORPUS_CAPTURE")
	if out == "" {
		t.Skip("CORPUS_CAPTURE is not set: testdata/corpus/capture.sh records the corpus")
	}
	respDir := filepath.Join(out, "responses")
	if err := os.RemoveAll(respDir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(respDir, 0o755); err != nil {
		t.Fatal(err)
	}
	var caddySite corpusCaddyInstance
	var manifest []corpusEntry
	for _, c := range corpusCases() {
		var addr, version string
		if c.server == "caddy" {
			if caddySite.instance == nil {
				caddySite = corpusCaddy(t, false)
			}
			addr, version = caddySite.addr, caddyVersion()
			if strings.HasPrefix(c.path, "/php/") {
				version = needServer(t, "phpfpm").version + " (PHP-FPM) behind Caddy " + version
			}
		} else {
			addr, version = corpusTarget(t, c)
		}
		if c.setup != nil {
			c.setup(t, "http://"+addr)
		}
		raw := rawRequest(t, addr, c)
		e := corpusEntry{Name: c.name, File: "responses/" + c.name + ".http", Server: serverNames[c.server], Version: version}
		if strings.HasPrefix(c.path, "/php/") {
			e.Server = "PHP-FPM"
		}
		e.Request.Method, e.Request.Path, e.Request.Headers, e.Request.BodyBytes = c.method, c.path, c.header, len(c.body)
		e.Expected.Bare, e.Expected.Reason, e.Expected.Message = c.bare, c.why, c.message
		req, _ := http.NewRequest(c.method, "http://"+addr+c.path, nil)
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), req)
		if err != nil {
			t.Fatalf("%s: the response does not parse: %v\n%q", c.name, err, raw)
		}
		wire, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("%s: body: %v", c.name, err)
		}
		e.Status, e.ContentType, e.ContentEncoding = resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Encoding")
		e.WireBytes = len(wire)
		decoded, err := decodeBody(wire, e.ContentEncoding)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		e.Bytes = len(decoded)
		if c.message != "" && !bytes.Contains(decoded, []byte(c.message)) {
			t.Errorf("%s: the body does not carry %q: %q", c.name, c.message, decoded)
		}
		if resp.StatusCode < 400 {
			t.Errorf("%s: status %d, not an error: %q", c.name, resp.StatusCode, raw)
		}
		if err := os.WriteFile(filepath.Join(out, e.File), raw, 0o644); err != nil {
			t.Fatal(err)
		}
		manifest = append(manifest, e)
	}
	var b bytes.Buffer
	b.WriteString("[\n")
	for i, e := range manifest {
		line, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(line)
		if i < len(manifest)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("]\n")
	if err := os.WriteFile(filepath.Join(out, "manifest.json"), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d responses in %s", len(manifest), out)
}

// decodeBody undoes a gzip Content-Encoding; other codings are not in the
// corpus.
func decodeBody(wire []byte, coding string) ([]byte, error) {
	switch strings.ToLower(coding) {
	case "", "identity":
		return wire, nil
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(wire))
		if err != nil {
			return nil, err
		}
		return io.ReadAll(zr)
	}
	return nil, fmt.Errorf("content coding %q is not in the corpus", coding)
}
