package integration

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestHandlerErrorsAndRecordsThroughCaddy(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/conflict/{n}", func(w http.ResponseWriter, r *http.Request) {
		code := []int{409, 412, 423, 424, 428}[len(r.PathValue("n"))%5]
		w.WriteHeader(code)
	})
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "fine") })
	mux.HandleFunc("/leaving", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusConflict)
		chunk := []byte(strings.Repeat("z", 32<<10))
		for i := 0; i < 4096; i++ { // 128 MiB at most; the client leaves early
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	up := upstream(t, mux)
	dead := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	in := startCaddy(t, fmt.Sprintf(`
http://127.0.0.1:{PORT} {
	explain_errors {
		explain 409 412 423 424 428 502
	}
	handle /dead {
		reverse_proxy %s
	}
	handle /error409 {
		error "version v1 is stale" 409
	}
	handle /error404 {
		error "no such thing" 404
	}
	reverse_proxy %s
	handle_errors {
		respond "handle_errors saw {err.status_code}" {err.status_code}
	}
}`, dead, up))

	t.Run("DeadUpstream502IsExplained", func(t *testing.T) {
		resp, body := in.do("GET", "/dead", map[string]string{"Accept": "application/json"}, nil)
		if resp.StatusCode != 502 || resp.Header.Get("Content-Type") != "application/problem+json" ||
			!strings.Contains(string(body), `"status":502`) {
			t.Fatalf("got %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	})
	t.Run("HandlerError409IsExplainedAndLoggedAsHandler", func(t *testing.T) {
		before := len(in.records())
		resp, body := in.do("PUT", "/error409", map[string]string{"If-Match": `"v1"`}, strings.NewReader("new text"))
		if resp.StatusCode != 409 || !strings.HasPrefix(string(body), "409 Conflict") {
			t.Fatalf("got %d: %s", resp.StatusCode, body)
		}
		recs := in.waitRecords(before + 1)
		rec := recs[len(recs)-1]
		pre, _ := rec["preconditions"].(map[string]any)
		if rec["source"] != "handler" || rec["explained"] != true || pre["If-Match"] != `"v1"` ||
			!strings.Contains(fmt.Sprint(rec["error"]), "version v1 is stale") {
			t.Fatalf("record: %v", rec)
		}
	})
	t.Run("HandlerErrorOutsideTheExplainSetReachesHandleErrors", func(t *testing.T) {
		resp, body := in.do("GET", "/error404", nil, nil)
		if resp.StatusCode != 404 || string(body) != "handle_errors saw 404" {
			t.Fatalf("got %d %q", resp.StatusCode, body)
		}
	})
	t.Run("ExactlyOneRecordPerConflictResponse", func(t *testing.T) {
		before := len(in.records())
		const n = 2000
		var wg sync.WaitGroup
		ids := make(chan string, n)
		sem := make(chan struct{}, 64)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				path := fmt.Sprintf("/conflict/%s", strings.Repeat("x", 1+i%5))
				resp, body := in.do("GET", path, map[string]string{"Accept": "application/json"}, nil)
				if resp.StatusCode < 409 {
					t.Errorf("status %d", resp.StatusCode)
				}
				id := strings.SplitN(strings.SplitN(string(body), `"instance":"urn:uuid:`, 2)[1], `"`, 2)[0]
				ids <- id
				in.do("GET", "/ok", nil, nil) // a 200 between: no record
			}(i)
		}
		wg.Wait()
		close(ids)
		recs := in.waitRecords(before + n)[before:]
		if len(recs) != n {
			t.Fatalf("%d records for %d conflict responses", len(recs), n)
		}
		seen := map[string]int{}
		for _, r := range recs {
			seen[fmt.Sprint(r["uuid"])]++
		}
		for id := range ids {
			if seen[id] != 1 {
				t.Fatalf("request %s has %d records", id, seen[id])
			}
		}
	})
	t.Run("ClientLeavingMidBodyStillGivesItsRecord", func(t *testing.T) {
		before := len(in.records())
		c, err := net.Dial("tcp", strings.TrimPrefix(in.base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "GET /leaving HTTP/1.1\r\nHost: %s\r\n\r\n", strings.TrimPrefix(in.base, "http://"))
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 100<<10)
		if _, err := io.ReadAtLeast(c, buf, len(buf)); err != nil {
			t.Fatal(err)
		}
		c.Close()
		recs := in.waitRecords(before + 1)
		rec := recs[len(recs)-1]
		if rec["status"] != 409.0 || rec["explained"] != false || rec["body_bytes"].(float64) < 100<<10 {
			t.Fatalf("record: %v", rec)
		}
		time.Sleep(100 * time.Millisecond)
		if got := len(in.records()); got != before+1 {
			t.Fatalf("%d records for one response", got-before)
		}
	})
}

// TestEncodeInFrontRecordsTheUpstreamsResponse: with encode in front of
// the module, the order the directive is registered in, the record
// describes the response the module received: a PUT with If-Match "v7"
// answered 409 with ETag "v7" is recorded with ETag "v7", not encode's
// rewrite, with the upstream's type and an excerpt of its bytes, for a
// long JSON body that passes and for a bare body a browser gets a page for,
// compressed with gzip and with zstd.
func TestEncodeInFrontRecordsTheUpstreamsResponse(t *testing.T) {
	long := `{"error":"conflict","reason":"Document update conflict.","rev":"7","padding":"` + strings.Repeat("x", 900) + `"}`
	up := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-Match") != `"v7"` {
			t.Errorf("If-Match %q reached the upstream", r.Header.Get("If-Match"))
		}
		w.Header().Set("Etag", `"v7"`)
		w.Header().Set("Last-Modified", "Mon, 06 May 2024 07:08:09 GMT")
		if r.URL.Path == "/long" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusConflict)
			io.WriteString(w, long)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusConflict)
		io.WriteString(w, "Conflict\n")
	}))
	in := startCaddy(t, fmt.Sprintf(`
http://127.0.0.1:{PORT} {
	encode gzip zstd
	explain_errors
	reverse_proxy %s
}`, up))
	for _, coding := range []string{"gzip", "zstd"} {
		for _, tc := range []struct {
			path, accept, ctype, excerpt string
			explained                    bool
		}{
			{"/long", "application/json", "application/json", long[:256], false},
			{"/bare", "text/html", "text/plain; charset=utf-8", "Conflict\n", true},
		} {
			t.Run(coding+tc.path, func(t *testing.T) {
				before := len(in.records())
				resp, body := in.do("PUT", tc.path, map[string]string{
					"If-Match": `"v7"`, "Accept": tc.accept, "Accept-Encoding": coding,
				}, strings.NewReader("{}"))
				if resp.StatusCode != 409 || resp.Header.Get("Content-Encoding") != coding {
					t.Fatalf("got %d, Content-Encoding %q: encode did not compress it", resp.StatusCode, resp.Header.Get("Content-Encoding"))
				}
				if len(body) == 0 {
					t.Fatal("empty body")
				}
				recs := in.waitRecords(before + 1)
				rec := recs[len(recs)-1]
				v, _ := rec["validators"].(map[string]any)
				if v["ETag"] != `"v7"` || v["Last-Modified"] != "Mon, 06 May 2024 07:08:09 GMT" {
					t.Errorf("validators %v, want the upstream's", rec["validators"])
				}
				if rec["content_type"] != tc.ctype || rec["body_excerpt"] != tc.excerpt || rec["explained"] != tc.explained {
					t.Errorf("record: content_type %v, body_excerpt %q, explained %v", rec["content_type"], rec["body_excerpt"], rec["explained"])
				}
				if hint, _ := rec["hint"].(string); strings.Contains(hint, "older version") {
					t.Errorf("hint says the client edited an older version, though its If-Match matched: %s", hint)
				}
			})
		}
	}
}

// TestMissingFilesAreDebugRecordsUnderLogRate: on a file_server site
// behind the module, each missing file is a handler error the module
// explains. Caddy logs 4xx handler errors at DEBUG, and so does the
// module: 50 missing files write no ERROR line anywhere, and log_rate caps
// their records, the rest counted in the summary.
func TestMissingFilesAreDebugRecordsUnderLogRate(t *testing.T) {
	root := t.TempDir()
	in := startCaddyWith(t, caddyOptions{explainLevel: "DEBUG"}, fmt.Sprintf(`
http://127.0.0.1:{PORT} {
	explain_errors {
		log_rate 5/h
		log_rate_interval 1s
	}
	root * %s
	file_server
}`, root))
	for i := 0; i < 50; i++ {
		resp, body := in.do("GET", fmt.Sprintf("/missing-%d.php", i), map[string]string{"Accept": "text/html"}, nil)
		if resp.StatusCode != 404 || !strings.Contains(string(body), "<!doctype html>") {
			t.Fatalf("missing file %d: %d %.80q", i, resp.StatusCode, body)
		}
	}
	var debug, suppressed int
	deadline := time.Now().Add(10 * time.Second)
	for {
		debug, suppressed = 0, 0
		for _, r := range in.records() {
			switch {
			case r["level"] == "error":
				t.Fatalf("an ERROR record for a missing file: %v", r)
			case r["msg"] == "handler error explained" && r["level"] == "debug" && r["status"] == 404.0:
				debug++
			case r["msg"] == "records suppressed" && r["status"] == 404.0:
				suppressed += int(r["suppressed"].(float64))
			}
		}
		if debug+suppressed >= 50 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if debug != 5 || suppressed != 45 {
		t.Fatalf("%d DEBUG records and %d suppressed, want 5 under log_rate 5/h and 45", debug, suppressed)
	}
	if strings.Contains(in.stderr.String(), `"level":"error"`) {
		t.Fatalf("Caddy logged an ERROR:\n%s", in.stderr)
	}
}

// TestHeadIsJudgedAsGetThroughCaddy is the GET and HEAD scenario table:
// each response is asked for with GET and with HEAD through Caddy, and
// HEAD gets the status and headers GET gets (but the body), wherever the
// module can know what GET's body is. A proxied HEAD carries no body; the
// module then replaces it only when its headers say the body is empty
// (Content-Length: 0, or neither a length nor a type), and otherwise lets
// it pass, which for a short bare body differs from GET: the one row that
// says so.
func TestHeadIsJudgedAsGetThroughCaddy(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/chunked-long-503", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusServiceUnavailable)
		for i := 0; i < 20; i++ {
			io.WriteString(w, strings.Repeat("maintenance until 14:00 UTC; ", 4)+"\n")
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/empty-409", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusConflict)
	})
	mux.HandleFunc("/status-only-409", func(w http.ResponseWriter, r *http.Request) {
		// net/http announces Content-Length: 0 for GET, nothing for HEAD
		w.WriteHeader(http.StatusConflict)
	})
	mux.HandleFunc("/json-409", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusConflict)
		io.WriteString(w, `{"error":"conflict"}`)
	})
	mux.HandleFunc("/short-409", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", "5")
		w.WriteHeader(http.StatusConflict)
		io.WriteString(w, "Gone\n")
	})
	up := upstream(t, mux)
	in := startCaddy(t, fmt.Sprintf(`
http://127.0.0.1:{PORT} {
	explain_errors
	respond /respond-409 409
	respond /respond-text-423 "Locked" 423
	reverse_proxy %s
}`, up))
	const (
		passes = "passes"
		page   = "page"
	)
	for _, tc := range []struct {
		name, path string
		get, head  string
	}{
		{"ChunkedTextLongerThanBareMaxPassesAlike", "/chunked-long-503", passes, passes},
		{"ProxiedEmptyAnnouncedIsExplainedAlike", "/empty-409", page, page},
		{"ProxiedStatusOnlyIsExplainedAlike", "/status-only-409", page, page},
		{"ProxiedJSONPassesAlike", "/json-409", passes, passes},
		{"CaddysOwnEmptyResponseIsExplainedAlike", "/respond-409", page, page},
		{"CaddysOwnShortTextIsExplainedAlike", "/respond-text-423", page, page},
		// no body to judge: HEAD passes where GET is explained
		{"ProxiedShortTextHeadPassesAsItCame", "/short-409", page, passes},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{"Accept": "text/html"}
			get, getBody := in.do("GET", tc.path, hdr, nil)
			head, headBody := in.do("HEAD", tc.path, hdr, nil)
			outcome := func(r *http.Response) string {
				if r.Header.Get("Cache-Control") == "no-store" && r.Header.Get("X-Content-Type-Options") == "nosniff" {
					return page
				}
				return passes
			}
			if got := outcome(get); got != tc.get {
				t.Fatalf("GET %s, want %s: %d %v %.80q", got, tc.get, get.StatusCode, get.Header, getBody)
			}
			if got := outcome(head); got != tc.head {
				t.Fatalf("HEAD %s, want %s: %d %v", got, tc.head, head.StatusCode, head.Header)
			}
			if get.StatusCode != head.StatusCode || len(headBody) != 0 {
				t.Fatalf("GET %d, HEAD %d with %d body bytes", get.StatusCode, head.StatusCode, len(headBody))
			}
			if tc.get != tc.head {
				return
			}
			for _, k := range []string{"Content-Type", "Content-Language", "Cache-Control", "Vary", "X-Content-Type-Options", "Content-Security-Policy", "Etag"} {
				if g, h := get.Header.Values(k), head.Header.Values(k); strings.Join(g, ",") != strings.Join(h, ",") {
					t.Errorf("%s: GET %q, HEAD %q", k, g, h)
				}
			}
			if tc.get == page && get.Header.Get("Content-Length") != head.Header.Get("Content-Length") {
				t.Errorf("Content-Length of the page: GET %q, HEAD %q", get.Header.Get("Content-Length"), head.Header.Get("Content-Length"))
			}
		})
	}
}
