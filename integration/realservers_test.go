package integration

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestRealServersThroughCaddy puts the project's Caddy in front of each
// real server of the corpus (started as the capture starts it, with the
// same config), twice: a site with explain_errors and a plain one without.
// Every request of the corpus goes to both. A stock page (bare in the
// corpus) is replaced with the explanation page for every client (Chrome,
// Firefox, curl); any other body reaches the client byte for byte, with
// the headers plain Caddy gives; and the upstream is called once per
// request, as its access log counts.
func TestRealServersThroughCaddy(t *testing.T) {
	cases := corpusCases()
	if only := os.Getenv("REALSERVERS_ONLY"); only != "" {
		// a server's cases alone, for working on one server
		cases = slices.DeleteFunc(cases, func(c corpusCase) bool { return c.server != only })
	}
	// start the servers the cases need; a missing one skips its cases
	// locally and fails in CI
	type target struct {
		srv           *realServer
		plain, module string // the two sites' base URLs
	}
	targets := map[string]*target{}
	var sites strings.Builder
	first := true
	site := func(module bool, body string) string {
		addr := "http://:{PORT}"
		if !first {
			addr = fmt.Sprintf("http://:%d", freePort(t))
		}
		first = false
		mod := ""
		if module {
			mod = "explain_errors"
		}
		fmt.Fprintf(&sites, "%s {\n\t%s\n\t%s\n}\n", addr, mod, body)
		return addr
	}
	var goCalls atomic.Int64
	goAddr := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		goCalls.Add(1)
		goCorpusHandler(w, r)
	}))
	var fastcgi string
	var skipped []string
	for _, c := range cases {
		key := c.server + "/" + c.listener
		if _, ok := targets[key]; ok {
			continue
		}
		tg := &target{}
		switch c.server {
		case "go":
			tg.plain, tg.module = site(false, "reverse_proxy "+goAddr), site(true, "reverse_proxy "+goAddr)
		case "caddy":
			if !serverAvailable(t, "phpfpm", &skipped) {
				continue
			}
			tg.srv = needServer(t, "phpfpm")
			fastcgi = tg.srv.addrs["fastcgi"]
			for _, module := range []bool{false, true} {
				addr := fmt.Sprintf("http://:%d", freePort(t))
				if first {
					addr, first = "http://:{PORT}", false
				}
				sites.WriteString(caddyCorpusSite(addr, module, fastcgi) + "\n")
				if module {
					tg.module = addr
				} else {
					tg.plain = addr
				}
			}
		default:
			if !serverAvailable(t, c.server, &skipped) {
				continue
			}
			tg.srv = needServer(t, c.server)
			up := tg.srv.addrs[c.listener]
			// the upstream sees the client's Host, the same for both sites
			tg.plain, tg.module = site(false, "reverse_proxy "+up), site(true, "reverse_proxy "+up)
		}
		targets[key] = tg
	}
	if len(skipped) > 0 {
		t.Logf("skipped (not installed): %s", strings.Join(skipped, "; "))
	}
	if len(targets) == 0 {
		t.Skip("no real server is installed")
	}
	in := startCaddy(t, sites.String())
	url := func(addr string) string {
		if addr == "http://:{PORT}" {
			return in.base
		}
		return "http://127.0.0.1" + strings.TrimPrefix(addr, "http://")
	}

	// each setup once, before the counting starts
	done := map[string]bool{}
	for _, c := range cases {
		tg := targets[c.server+"/"+c.listener]
		if tg == nil || c.setup == nil || done[c.server] {
			continue
		}
		// each server has one setup (davSetup, couchSetup)
		c.setup(t, "http://"+tg.srv.addrs[c.listener])
		done[c.server] = true
	}
	before := map[*realServer]int{}
	for _, tg := range targets {
		if tg.srv != nil && tg.srv.access != "" {
			before[tg.srv] = settledLines(t, tg.srv.access)
		}
	}
	sent := map[*realServer]int{}
	var goSent int64

	for _, c := range cases {
		tg := targets[c.server+"/"+c.listener]
		if tg == nil {
			continue
		}
		clients := [][][2]string{c.header}
		if c.bare {
			// a stock page is replaced for every client
			clients = nil
			for _, cl := range browsers {
				h := slices.DeleteFunc(slices.Clone(c.header), func(h [2]string) bool { return h[0] == "User-Agent" || h[0] == "Accept" })
				clients = append(clients, append(slices.Clone(cl.header), h...))
			}
		}
		for i, hdr := range clients {
			name := c.name
			if c.bare {
				name += "/as-" + browsers[i].name
			}
			t.Run(name, func(t *testing.T) {
				send := func(base string) (*http.Response, []byte) {
					h := map[string]string{"Host": "corpus.test"}
					for _, kv := range hdr {
						h[kv[0]] = kv[1]
					}
					return doURL(t, c.method, url(base)+c.path, h, strings.NewReader(c.body))
				}
				plainResp, plainBody := send(tg.plain)
				resp, body := send(tg.module)
				switch {
				case tg.srv != nil && tg.srv.access != "" && (c.server != "caddy" || strings.HasPrefix(c.path, "/php/")):
					sent[tg.srv] += 2
				case c.server == "go":
					goSent += 2
				}
				if resp.StatusCode != plainResp.StatusCode {
					t.Fatalf("status %d, plain Caddy %d", resp.StatusCode, plainResp.StatusCode)
				}
				replaced := resp.Header.Get("Cache-Control") == "no-store" && strings.Contains(resp.Header.Get("Vary"), "Accept-Language") &&
					resp.Header.Get("Content-Language") != ""
				if c.bare {
					if !replaced || bytes.Equal(body, plainBody) {
						t.Fatalf("%s's stock page (%d bytes, %s) reached the client unchanged: %v\n%.200q",
							c.server, len(plainBody), plainResp.Header.Get("Content-Type"), resp.Header, body)
					}
					// a client that accepts gzip or zstd gets the page in
					// the module's own coding
					page := decodePage(t, resp.Header.Get("Content-Encoding"), body)
					if !bytes.Contains(page, []byte(fmt.Sprint(resp.StatusCode))) {
						t.Fatalf("the page does not name the status: %.200q", page)
					}
					return
				}
				if replaced {
					t.Fatalf("replaced, but it %s: plain Caddy gave %.300q", c.why, plainBody)
				}
				if !bytes.Equal(maskVolatile(body), maskVolatile(plainBody)) {
					t.Fatalf("the body differs from plain Caddy's:\n%.300q\n%.300q", body, plainBody)
				}
				if c.message != "" && !bytes.Contains(body, []byte(c.message)) {
					t.Fatalf("the application's words %q did not reach the client: %.300q", c.message, body)
				}
				volatileBody := !bytes.Equal(body, plainBody)
				if volatileBody {
					// Varnish's XID differs in length from one response to
					// the next: each length must be its own body's
					for _, r := range []struct {
						h http.Header
						b []byte
					}{{resp.Header, body}, {plainResp.Header, plainBody}} {
						if cl := r.h.Get("Content-Length"); cl != "" && cl != fmt.Sprint(len(r.b)) {
							t.Fatalf("Content-Length %s, body %d bytes", cl, len(r.b))
						}
					}
				}
				if a, b := headerLines(resp.Header, volatileBody), headerLines(plainResp.Header, volatileBody); a != b {
					t.Fatalf("headers differ from plain Caddy's:\n%s\n---\n%s", a, b)
				}
			})
		}
	}

	// every request reached its upstream once: the access logs have one
	// line for each, no more
	for srv, want := range sent {
		deadline := time.Now().Add(10 * time.Second)
		got := 0
		for {
			got = accessLines(t, srv.access) - before[srv]
			if got >= want || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond)
		if got = accessLines(t, srv.access) - before[srv]; got != want {
			t.Errorf("%s's access log has %d requests, %d were sent", srv.name, got, want)
		}
	}
	if got := goCalls.Load(); got != goSent {
		t.Errorf("the net/http upstream was called %d times, %d requests were sent", got, goSent)
	}
}

// serverAvailable reports whether a real server's program is installed;
// when it is not, it notes it, and in CI fails the test.
func serverAvailable(t *testing.T, name string, skipped *[]string) bool {
	t.Helper()
	realMu.Lock()
	o := realStarted[name]
	realMu.Unlock()
	if o != nil && o.srv != nil {
		return true
	}
	skip := false
	passed := t.Run("start-"+name, func(t *testing.T) {
		defer func() {
			if t.Skipped() {
				skip = true
				*skipped = append(*skipped, name)
			}
		}()
		needServer(t, name)
	})
	return passed && !skip
}

// settledLines counts the lines of an access log once no more come: a
// server may log a request a moment after its response.
func settledLines(t testing.TB, path string) int {
	n := accessLines(t, path)
	for {
		time.Sleep(200 * time.Millisecond)
		m := accessLines(t, path)
		if m == n {
			return n
		}
		n = m
	}
}

// accessLines counts the lines of an access log.
func accessLines(t testing.TB, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n++
	}
	return n
}

// volatile are the parts of a response that differ from one request to
// the next whoever is in front: Varnish's transaction id.
var volatile = regexp.MustCompile(`XID: [0-9]+`)

func maskVolatile(b []byte) []byte { return volatile.ReplaceAll(b, []byte("XID: N")) }

// headerLines is a header as sorted lines, without the fields that change
// from one response to the next.
func headerLines(h http.Header, volatileBody bool) string {
	var lines []string
	for k, vs := range h {
		switch {
		case k == "Date", k == "X-Varnish", k == "Age", k == "Content-Length" && volatileBody:
			continue
		}
		for _, v := range vs {
			lines = append(lines, k+": "+v)
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}
