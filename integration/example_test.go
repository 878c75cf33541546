package integration

import (
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestCaddyfileExampleRunsAsTheREADMESays starts caddyfile.example as it
// is and checks the answers the README shows.
func TestCaddyfileExampleRunsAsTheREADMESays(t *testing.T) {
	for _, addr := range []string{"localhost:8080", "localhost:8081", "localhost:9081", "localhost:2019"} {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			t.Fatalf("%s is taken; the example needs it", addr)
		}
	}
	cmd := exec.Command(caddyBin, "run", "--config", "../caddyfile.example", "--adapter", "caddyfile")
	dir := t.TempDir()
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("caddy output:\n%s", out.String())
		}
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if c, err := net.Dial("tcp", "localhost:8081"); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the example did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}

	cases := []struct {
		url, accept string
		status      int
		ctype, has  string
	}{
		{"http://localhost:8080/bare-conflict", "*/*", 409, "text/plain; charset=utf-8", "409 Conflict · Demo shop"},
		{"http://localhost:8080/bare-conflict", browserAccept, 409, "text/html; charset=utf-8", "<h1>" + headingHTML(409, 0) + "</h1>"},
		{"http://localhost:8080/text-conflict", "application/json", 409, "application/problem+json", `"status":409`},
		{"http://localhost:8080/json-conflict", "*/*", 409, "application/json", `{"error":"version_conflict","current_version":"v7"}`},
		{"http://localhost:8080/precondition", "*/*", 412, "text/plain; charset=utf-8", "412 Precondition Failed"},
		{"http://localhost:8080/down", "*/*", 502, "text/plain; charset=utf-8", "502 Bad Gateway"},
		{"http://localhost:8080/hello", "*/*", 200, "text/plain; charset=utf-8", "Hello from the application"},
		{"http://localhost:8081/bare-conflict", "*/*", 409, "", ""},
	}
	for _, c := range cases {
		resp, body := doURL(t, "GET", c.url, map[string]string{"Accept": c.accept}, nil)
		if resp.StatusCode != c.status || resp.Header.Get("Content-Type") != c.ctype || !strings.Contains(string(body), c.has) {
			t.Errorf("%s (Accept %s): %d %q\n%s", c.url, c.accept, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		if c.has == "" && len(body) != 0 {
			t.Errorf("%s: the log-only site changed the body: %q", c.url, body)
		}
	}
}
