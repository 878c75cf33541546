// Package integration tests explain_errors end to end: the Caddy binary
// built from cmd/caddy, started with a Caddyfile in front of real upstream
// servers, driven by real HTTP clients.
package integration

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// caddyBin is the binary built from ../cmd/caddy by TestMain.
var caddyBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "explain-errors-it")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	caddyBin = filepath.Join(dir, "caddy")
	build := exec.Command("go", "build", "-o", caddyBin, "../cmd/caddy")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building caddy:", err)
		os.Exit(1)
	}
	code := m.Run()
	stopRealServers() // realservers_start_test.go
	os.RemoveAll(dir)
	os.Exit(code)
}

// freePort returns a loopback port nobody listens on right now.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// instance is one running Caddy.
type instance struct {
	t       testing.TB
	cmd     *exec.Cmd
	dir     string
	admin   string
	port    int    // the port of the first site, {PORT} in the Caddyfile
	base    string // http://127.0.0.1:port
	logFile string // explain_errors' records, one JSON object a line
	stderr  *syncBuffer
}

// startCaddy runs Caddy with sites, a Caddyfile fragment in which {PORT},
// {PORT2} and {PORT3} stand for free ports. The global options send
// explain_errors' records, in JSON, to a file of their own.
func startCaddy(t testing.TB, sites string) *instance {
	t.Helper()
	return startCaddyWith(t, caddyOptions{}, sites)
}

// caddyOptions are additions to startCaddy's global options; the port
// placeholders work in them too.
type caddyOptions struct {
	// https replaces "auto_https off", e.g. for sites with tls internal
	https string
	// global is put inside the global options block, e.g. servers { ... }
	global string
	// explainLevel is the level of the explain_errors log; default INFO
	explainLevel string
}

// startCaddyWith is startCaddy with global options of the test's own.
func startCaddyWith(t testing.TB, opts caddyOptions, sites string) *instance {
	t.Helper()
	if opts.explainLevel == "" {
		opts.explainLevel = "INFO"
	}
	if opts.https == "" {
		opts.https = "auto_https off"
	}
	dir := t.TempDir()
	in := &instance{t: t, dir: dir, logFile: filepath.Join(dir, "explain.log"), stderr: new(syncBuffer)}
	in.admin = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	in.port = freePort(t)
	in.base = fmt.Sprintf("http://127.0.0.1:%d", in.port)
	cfg := fmt.Sprintf(`{
	admin %s
	%s
	persist_config off
	log explain {
		output file %s
		format json
		level %s
		include http.handlers.explain_errors
	}
	log default {
		output stderr
		exclude http.handlers.explain_errors
		level WARN
	}
%s
}
%s
`, in.admin, opts.https, in.logFile, opts.explainLevel, opts.global, sites)
	cfg = strings.ReplaceAll(cfg, "{PORT}", fmt.Sprint(in.port))
	cfg = strings.ReplaceAll(cfg, "{PORT2}", fmt.Sprint(freePort(t)))
	cfg = strings.ReplaceAll(cfg, "{PORT3}", fmt.Sprint(freePort(t)))
	file := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	in.cmd = exec.Command(caddyBin, "run", "--config", file, "--adapter", "caddyfile")
	in.cmd.Stdout = in.stderr
	in.cmd.Stderr = in.stderr
	in.cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
	if err := in.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(in.stop)
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + in.admin + "/config/")
		if err == nil {
			resp.Body.Close()
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", in.port))
			if err == nil {
				c.Close()
				return in
			}
		}
		if time.Now().After(deadline) || in.cmd.ProcessState != nil {
			t.Fatalf("caddy did not start: %v\n%s", err, in.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (in *instance) stop() {
	if in.cmd.Process == nil {
		return
	}
	_ = in.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = in.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = in.cmd.Process.Kill()
		<-done
	}
	if in.t.Failed() {
		in.t.Logf("caddy output:\n%s", in.stderr)
	}
}

// records returns explain_errors' records so far.
func (in *instance) records() []map[string]any {
	in.t.Helper()
	f, err := os.Open(in.logFile)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		in.t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			in.t.Fatalf("log line is not JSON: %v: %s", err, sc.Bytes())
		}
		out = append(out, m)
	}
	return out
}

// waitRecords waits until at least n records are written, then waits a
// little longer to see that no more come, and returns them all.
func (in *instance) waitRecords(n int) []map[string]any {
	in.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		recs := in.records()
		if len(recs) >= n {
			time.Sleep(200 * time.Millisecond)
			return in.records()
		}
		if time.Now().After(deadline) {
			in.t.Fatalf("want %d records, have %d: %v", n, len(recs), recs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// do sends a request to the first site and returns the response with its
// whole body.
func (in *instance) do(method, path string, hdr map[string]string, body io.Reader) (*http.Response, []byte) {
	in.t.Helper()
	return doURL(in.t, method, in.base+path, hdr, body)
}

func doURL(t testing.TB, method, url string, hdr map[string]string, body io.Reader) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	return resp, b
}

// client neither follows redirects nor asks for gzip, so what a test sees
// is what Caddy sent.
var client = &http.Client{
	Timeout: 30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
	Transport: &http.Transport{DisableCompression: true},
}

// upstream starts a real HTTP server on loopback and returns its host:port.
func upstream(t testing.TB, h http.Handler) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String()
}

// syncBuffer is Caddy's output: written by the process's copying
// goroutine while a test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
