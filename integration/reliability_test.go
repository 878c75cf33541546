package integration

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestFloodControlKeepsMetricsExact sends a storm of 409s to a site with
// log_rate: the records are capped, a summary counts the rest, and the
// metrics count every response.
func TestFloodControlKeepsMetricsExact(t *testing.T) {
	up := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusConflict)
	}))
	in := startCaddy(t, fmt.Sprintf(`
http://127.0.0.1:{PORT} {
	metrics /metrics
	explain_errors {
		log_rate 20/m
		log_rate_interval 1s
	}
	reverse_proxy %s
}`, up))
	const n = 500
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			resp, _ := in.do("GET", "/storm", map[string]string{"Accept": "application/json"}, nil)
			if resp.StatusCode != 409 {
				t.Errorf("status %d", resp.StatusCode)
			}
		}()
	}
	wg.Wait()

	// wait for the summary of this interval
	deadline := time.Now().Add(10 * time.Second)
	var written, suppressed int
	for {
		written, suppressed = 0, 0
		for _, r := range in.records() {
			switch r["msg"] {
			case "conflict response":
				written++
			case "conflict records suppressed":
				suppressed += int(r["suppressed"].(float64))
			}
		}
		if written+suppressed == n || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if written != 20 || written+suppressed != n {
		t.Fatalf("%d records written and %d reported suppressed, want 20 and %d", written, suppressed, n-20)
	}

	_, body := in.do("GET", "/metrics", nil, nil)
	metrics := string(body)
	for name, want := range map[string]int{
		`caddy_explain_errors_responses_total{server="srv0",source="upstream",status="409"}`: n,
		`caddy_explain_errors_pages_total{format="json",server="srv0",status="409"}`:         n,
		`caddy_explain_errors_records_suppressed_total{server="srv0",status="409"}`:          n - 20,
	} {
		if got := metricValue(metrics, name); got != want {
			t.Errorf("%s = %d, want %d", name, got, want)
		}
	}
}

func metricValue(text, name string) int {
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return int(f)
		}
	}
	return -1
}

// TestReloadKeepsServingAndLeavesNoGoroutine reloads the config through
// the admin API while requests keep coming, and compares Caddy's goroutine
// count before and after.
func TestReloadKeepsServingAndLeavesNoGoroutine(t *testing.T) {
	up := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// no keep-alive: each config's reverse_proxy transport would
		// otherwise keep idle upstream connections (two goroutines each)
		// until their idle timeout, and blur the count
		w.Header().Set("Connection", "close")
		if r.URL.Path == "/ok" {
			io.WriteString(w, "ok")
			return
		}
		w.WriteHeader(http.StatusConflict)
	}))
	site := func(rate string) string {
		return fmt.Sprintf(`
http://127.0.0.1:{PORT} {
	explain_errors {
		log_rate %s
		log_rate_interval 1s
	}
	reverse_proxy %s
}`, rate, up)
	}
	in := startCaddy(t, site("100/s"))
	cfg := func(rate string) string {
		// the same global options startCaddy wrote, with a new site
		return fmt.Sprintf("{\n\tadmin %s\n\tauto_https off\n\tpersist_config off\n}\n%s",
			in.admin, strings.ReplaceAll(site(rate), "{PORT}", strconv.Itoa(in.port)))
	}
	// goroutines returns Caddy's goroutine count, and how many of them run
	// this module's code
	goroutines := func() (total, ours int) {
		client.CloseIdleConnections()
		time.Sleep(300 * time.Millisecond)
		_, b := doURL(t, "GET", "http://"+in.admin+"/debug/pprof/goroutine?debug=2", nil, nil)
		stacks := strings.Split(string(b), "\n\n")
		for _, s := range stacks {
			if strings.HasPrefix(s, "goroutine ") {
				total++
				if strings.Contains(s, "caddy-explain-errors/caddymodule") {
					ours++
				}
			}
		}
		if total == 0 {
			t.Fatalf("no goroutines in: %.200s", b)
		}
		return total, ours
	}
	traffic := func() {
		for i := 0; i < 20; i++ {
			if resp, _ := in.do("GET", "/ok", nil, nil); resp.StatusCode != 200 {
				t.Fatalf("status %d while reloading", resp.StatusCode)
			}
			if resp, _ := in.do("GET", "/c", nil, nil); resp.StatusCode != 409 {
				t.Fatalf("status %d while reloading", resp.StatusCode)
			}
		}
	}
	traffic()
	before, oursBefore := goroutines()
	for i := 0; i < 10; i++ {
		req, _ := http.NewRequest("POST", "http://"+in.admin+"/load", strings.NewReader(cfg(fmt.Sprintf("%d/s", 100+i))))
		req.Header.Set("Content-Type", "text/caddyfile")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("reload %d: %d %s", i, resp.StatusCode, b)
		}
		// the old server closes its idle connections as it goes
		client.CloseIdleConnections()
		traffic()
	}
	after, oursAfter := goroutines()
	// one summary goroutine for the one handler of the running config
	if oursBefore != 1 || oursAfter != 1 {
		t.Fatalf("goroutines in explain_errors' code: %d before ten reloads, %d after; want 1", oursBefore, oursAfter)
	}
	// ten reloads that each leaked a goroutine would add ten
	if after > before+3 {
		_, b := doURL(t, "GET", "http://"+in.admin+"/debug/pprof/goroutine?debug=1", nil, nil)
		t.Fatalf("goroutines: %d before ten reloads, %d after:\n%s", before, after, b)
	}
	t.Logf("goroutines: %d before ten reloads, %d after", before, after)
}

// TestNothingFromTheRequestIsReflectedUnescaped probes the pages and the
// record with script and attribute payloads in the path, the query and
// headers.
func TestNothingFromTheRequestIsReflectedUnescaped(t *testing.T) {
	up := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusConflict)
		io.WriteString(w, "bad\x1b[31m input\u202e <b>")
	}))
	in := startCaddy(t, fmt.Sprintf(`
http://127.0.0.1:{PORT} {
	explain_errors {
		excerpt 64
	}
	reverse_proxy %s
}`, up))
	payload := `"><script>alert(1)</script><img src=x onerror=alert(2)>`
	path := "/x%22%3E%3Cscript%3Ealert(1)%3C/script%3E?q=" + strings.ReplaceAll(payload, " ", "%20") + "&api_token=s3cr3t&page=2"
	for _, accept := range []string{browserAccept, "application/json", "*/*"} {
		resp, body := in.do("GET", path, map[string]string{
			"Accept":          accept,
			"Accept-Language": `de"><script>x</script>`,
			"User-Agent":      payload,
			"Referer":         payload,
			"X-Request-Id":    payload,
		}, nil)
		if resp.StatusCode != 409 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		for _, bad := range []string{"<script>alert", "onerror=", "alert(1)", "s3cr3t"} {
			if strings.Contains(string(body), bad) {
				t.Fatalf("%s page reflects %q:\n%s", accept, bad, body)
			}
		}
		for k, vs := range resp.Header {
			for _, v := range vs {
				if strings.Contains(v, "script") || strings.Contains(v, "alert") {
					t.Fatalf("response header %s carries request input: %q", k, v)
				}
			}
		}
	}
	recs := in.waitRecords(3)
	for _, r := range recs {
		req := r["request"].(map[string]any)
		uri := req["uri"].(string)
		if strings.Contains(uri, "s3cr3t") || !strings.Contains(uri, "api_token=REDACTED") || !strings.Contains(uri, "page=2") {
			t.Fatalf("uri not redacted as it should be: %s", uri)
		}
		ex := r["body_excerpt"].(string)
		if strings.ContainsAny(ex, "\x1b\u202e") || !strings.Contains(ex, "bad") {
			t.Fatalf("body_excerpt keeps control characters: %q", ex)
		}
	}
}

// TestUpstreamThatLiesOrBreaksOff checks the defined behaviour for an
// upstream that closes mid-body, and for absurd statuses.
func TestUpstreamThatLiesOrBreaksOff(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				buf := make([]byte, 4096)
				n, _ := c.Read(buf)
				req := string(buf[:n])
				switch {
				case strings.Contains(req, "/short-bare"):
					// promises 100 bytes of a bare 409, sends 8, leaves
					io.WriteString(c, "HTTP/1.1 409 Conflict\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nConflict")
				case strings.Contains(req, "/short-long"):
					// promises 4000 bytes of a JSON 409, sends 1000, leaves
					io.WriteString(c, "HTTP/1.1 409 Conflict\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n"+strings.Repeat(" ", 1000))
				case strings.Contains(req, "/weird"):
					io.WriteString(c, "HTTP/1.1 599 Whatever\r\nContent-Length: 0\r\n\r\n")
				}
			}(c)
		}
	}()
	in := startCaddy(t, fmt.Sprintf(`
http://127.0.0.1:{PORT} {
	explain_errors {
		explain 4xx
	}
	reverse_proxy %s
}`, l.Addr()))

	t.Run("BareBodyCutShortAbortsAsCaddyDoesAndIsLogged", func(t *testing.T) {
		// reverse_proxy aborts the response (http.ErrAbortHandler) when the
		// upstream breaks off; the module does not swallow that, so the
		// client sees a broken response, never a page or body labelled
		// complete, and the record is still written
		before := len(in.records())
		resp, err := client.Get(in.base + "/short-bare")
		if err == nil {
			b, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if rerr == nil {
				t.Fatalf("a complete %d response of %d bytes: %q", resp.StatusCode, len(b), b)
			}
		}
		recs := in.waitRecords(before + 1)
		rec := recs[len(recs)-1]
		if rec["status"] != 409.0 || rec["explained"] != false || rec["error"] == nil {
			t.Fatalf("record: %v", rec)
		}
	})
	t.Run("LongBodyCutShortIsNotLabelledComplete", func(t *testing.T) {
		req, _ := http.NewRequest("GET", in.base+"/short-long", nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err == nil {
			t.Fatalf("read %d of 4000 promised bytes without an error", len(b))
		}
	})
	t.Run("UnknownStatusOutsideTheSetsPasses", func(t *testing.T) {
		resp, body := in.do("GET", "/weird", nil, nil)
		if resp.StatusCode != 599 || len(body) != 0 {
			t.Fatalf("got %d %q", resp.StatusCode, body)
		}
	})
}

// TestBreakOffWhileHeldGivesWhatPlainCaddyGives: an upstream that promises
// a bare-looking 409 of 100 bytes and breaks off after 4 makes
// reverse_proxy flush and abort. Through the module the client gets what
// it gets from the same Caddy site without the module: the status, the
// headers and the 4 bytes, then a broken body; the upstream is called
// once (no client resends a request it got an answer to), over HTTP/1.1
// with a kept-alive connection and over h2c; and the module writes exactly
// one record.
func TestBreakOffWhileHeldGivesWhatPlainCaddyGives(t *testing.T) {
	var calls sync.Map // path → *int64 calls
	count := func(path string) *int64 {
		v, _ := calls.LoadOrStore(path, new(int64))
		return v.(*int64)
	}
	up := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		atomic.AddInt64(count(r.URL.Path), 1)
		if r.URL.Path == "/ok" {
			io.WriteString(w, "ok")
			return
		}
		c, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		buf.WriteString("HTTP/1.1 409 Conflict\r\nContent-Type: text/plain\r\nContent-Length: 100\r\nX-Upstream: yes\r\n\r\nConf")
		buf.Flush()
	}))
	port2 := freePort(t)
	in := startCaddyWith(t, caddyOptions{global: h2cGlobal}, fmt.Sprintf(`
http://127.0.0.1:{PORT} {
	explain_errors
	reverse_proxy %s
}
http://127.0.0.1:%d {
	reverse_proxy %s
}`, up, port2, up))
	sites := []struct{ name, base string }{
		{"Module", in.base},
		{"Plain", fmt.Sprintf("http://127.0.0.1:%d", port2)},
	}
	type got struct {
		status       int
		header, body string
		broken       bool
		calls        int64
	}
	for _, pc := range protocolClients() {
		t.Run(pc.name, func(t *testing.T) {
			var results [2]got
			for i, site := range sites {
				// warm the connection, so a resend on it would be possible
				resp, err := pc.client.Get(site.base + "/ok")
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()

				path := "/broken-" + pc.name + "-" + site.name
				req, _ := http.NewRequest("GET", site.base+path, nil)
				req.Header.Set("Accept", "text/html")
				resp, err = pc.client.Do(req)
				if err != nil {
					t.Fatalf("%s: no response at all: %v", site.name, err)
				}
				b, rerr := io.ReadAll(resp.Body)
				resp.Body.Close()
				results[i] = got{resp.StatusCode, resp.Header.Get("Content-Type") + "|" + resp.Header.Get("X-Upstream"),
					string(b), rerr != nil, atomic.LoadInt64(count(path))}
			}
			if results[0] != results[1] {
				t.Fatalf("through the module %+v, without it %+v", results[0], results[1])
			}
			if r := results[0]; r.status != 409 || r.body != "Conf" || !r.broken || r.calls != 1 {
				t.Fatalf("got %+v, want the 409 with its 4 bytes, broken off, from one upstream call", r)
			}
		})
	}
	recs := in.waitRecords(2)
	n := 0
	for _, rec := range recs {
		if rec["status"] == 409.0 {
			n++
			if rec["explained"] != false || rec["error"] == nil {
				t.Errorf("record: %v", rec)
			}
		}
	}
	if n != 2 {
		t.Fatalf("%d records of the two broken 409s, want one each: %v", n, recs)
	}
}
