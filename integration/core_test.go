package integration

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// demoUpstream is an application that answers with the kinds of error
// bodies the module must tell apart.
func demoUpstream() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("ETag", `"ok1"`)
		w.Write(binaryBody)
	})
	mux.HandleFunc("/bare409", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v2"`)
		w.WriteHeader(http.StatusConflict)
	})
	mux.HandleFunc("/text409", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "Conflict", http.StatusConflict)
	})
	mux.HandleFunc("/json409", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("ETag", `"v2"`)
		w.WriteHeader(http.StatusConflict)
		io.WriteString(w, jsonConflict)
	})
	mux.HandleFunc("/html409", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusConflict)
		io.WriteString(w, appHTML)
	})
	mux.HandleFunc("/nginx409", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusConflict)
		io.WriteString(w, nginx409)
	})
	mux.HandleFunc("/412", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v2"`)
		w.WriteHeader(http.StatusPreconditionFailed)
	})
	mux.HandleFunc("/401", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Basic realm="shop"`)
		w.WriteHeader(http.StatusUnauthorized)
	})
	mux.HandleFunc("/503", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "120")
		w.Header().Set("Set-Cookie", "maint=1; Path=/")
		http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
	})
	mux.HandleFunc("/204", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-App", "yes")
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("/304", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		w.WriteHeader(http.StatusNotModified)
	})
	mux.HandleFunc("/chunked409", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusConflict)
		io.WriteString(w, "version ")
		w.(http.Flusher).Flush()
		io.WriteString(w, "conflict\n")
	})
	mux.HandleFunc("/chunkedempty409", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusConflict)
		w.(http.Flusher).Flush()
	})
	mux.HandleFunc("/gzip409", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Encoding", "gzip")
		w.WriteHeader(http.StatusConflict)
		w.Write(gzipped("Conflict\n"))
	})
	mux.HandleFunc("/gziplong409", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Encoding", "gzip")
		w.WriteHeader(http.StatusConflict)
		w.Write(gzipped(longText))
	})
	mux.HandleFunc("/long409", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusConflict)
		io.WriteString(w, longText)
	})
	return mux
}

var (
	binaryBody   = bytes.Repeat([]byte{0, 1, 2, 0xff, 'x'}, 3000)
	jsonConflict = `{"error":"version_conflict","current":"v2"}`
	appHTML      = `<!doctype html><html><body><h1>Somebody else saved first</h1><p>Reload to see their version.</p></body></html>`
	nginx409     = "<html>\r\n<head><title>409 Conflict</title></head>\r\n<body>\r\n<center><h1>409 Conflict</h1></center>\r\n<hr><center>nginx/1.25.3</center>\r\n</body>\r\n</html>\r\n"
	longText     = strings.Repeat("this body explains the conflict in the application's own words. ", 20)
)

func gzipped(s string) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(s))
	zw.Close()
	return b.Bytes()
}

const browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"

func TestCoreThroughCaddy(t *testing.T) {
	up := upstream(t, demoUpstream())
	in := startCaddy(t, fmt.Sprintf(`
http://127.0.0.1:{PORT} {
	explain_errors {
		site_name "Demo shop"
	}
	reverse_proxy %s
}`, up))

	t.Run("PassThrough200IsByteIdentical", func(t *testing.T) {
		resp, body := in.do("GET", "/ok", nil, nil)
		if resp.StatusCode != 200 || !bytes.Equal(body, binaryBody) {
			t.Fatalf("status %d, body %d bytes (sha %x), want 200 and the upstream's %d bytes",
				resp.StatusCode, len(body), sha256.Sum256(body), len(binaryBody))
		}
		if resp.Header.Get("ETag") != `"ok1"` || resp.Header.Get("Content-Type") != "application/octet-stream" {
			t.Fatalf("headers changed: %v", resp.Header)
		}
	})

	formats := []struct {
		name, accept, ctype, must string
	}{
		{"HTML", browserAccept, "text/html; charset=utf-8", "<h1>" + headingHTML(409, 0) + "</h1>"},
		{"ProblemJSON", "application/json", "application/problem+json", `"status":409`},
		{"Text", "*/*", "text/plain; charset=utf-8", "409 Conflict"},
		{"NoAccept", "", "text/plain; charset=utf-8", "409 Conflict"},
	}
	for _, path := range []string{"/bare409", "/text409", "/nginx409", "/chunked409", "/chunkedempty409"} {
		for _, f := range formats {
			t.Run("Bare409Explained"+f.name+strings.ReplaceAll(path, "/", "_"), func(t *testing.T) {
				hdr := map[string]string{}
				if f.accept != "" {
					hdr["Accept"] = f.accept
				}
				resp, body := in.do("GET", path, hdr, nil)
				if resp.StatusCode != 409 {
					t.Fatalf("status %d, want 409", resp.StatusCode)
				}
				if got := resp.Header.Get("Content-Type"); got != f.ctype {
					t.Fatalf("Content-Type %q, want %q; body %s", got, f.ctype, body)
				}
				if !bytes.Contains(body, []byte(f.must)) {
					t.Fatalf("body lacks %q:\n%s", f.must, body)
				}
				if resp.ContentLength != int64(len(body)) {
					t.Fatalf("Content-Length %d, body %d bytes", resp.ContentLength, len(body))
				}
				for k, v := range map[string]string{
					"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
					"Vary": "Accept, Accept-Language", "Content-Language": "en",
				} {
					if got := strings.Join(resp.Header.Values(k), ", "); !strings.Contains(got, v) {
						t.Errorf("%s: %q, want %q", k, got, v)
					}
				}
				if resp.Header.Get("ETag") != "" {
					t.Errorf("the old body's ETag survived: %q", resp.Header.Get("ETag"))
				}
				csp := resp.Header.Get("Content-Security-Policy")
				if f.name == "HTML" && !strings.Contains(csp, "default-src 'none'") {
					t.Errorf("HTML page without a restrictive CSP: %q", csp)
				}
				if f.name == "ProblemJSON" {
					var p map[string]any
					if err := json.Unmarshal(body, &p); err != nil {
						t.Fatalf("problem+json does not parse: %v\n%s", err, body)
					}
					for _, k := range []string{"type", "title", "status", "detail", "instance"} {
						if p[k] == nil || p[k] == "" {
							t.Errorf("problem member %q missing: %s", k, body)
						}
					}
					if !strings.HasPrefix(p["instance"].(string), "urn:uuid:") || len(p["instance"].(string)) != len("urn:uuid:")+36 {
						t.Errorf("instance %q is not urn:uuid:<uuid>", p["instance"])
					}
				}
			})
		}
	}

	untouched := []struct {
		name, path, accept string
		status             int
		body               string
		header, value      string
	}{
		{"JSON409PassesByteIdentical", "/json409", "application/json", 409, jsonConflict, "ETag", `"v2"`},
		{"AppHTML409PassesByteIdentical", "/html409", browserAccept, 409, appHTML, "Content-Type", "text/html; charset=utf-8"},
		{"Long409PassesByteIdentical", "/long409", browserAccept, 409, longText, "Content-Type", "text/plain; charset=utf-8"},
		{"NoContent204Untouched", "/204", browserAccept, 204, "", "X-App", "yes"},
		{"NotModified304Untouched", "/304", browserAccept, 304, "", "ETag", `"v1"`},
	}
	for _, c := range untouched {
		t.Run(c.name, func(t *testing.T) {
			resp, body := in.do("GET", c.path, map[string]string{"Accept": c.accept}, nil)
			if resp.StatusCode != c.status || string(body) != c.body {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, body, c.status, c.body)
			}
			if got := resp.Header.Get(c.header); got != c.value {
				t.Fatalf("%s: %q, want %q", c.header, got, c.value)
			}
			if resp.Header.Get("Cache-Control") == "no-store" || resp.Header.Get("Content-Security-Policy") != "" {
				t.Fatalf("page headers on an untouched response: %v", resp.Header)
			}
		})
	}

	t.Run("GzipBareBodyIsJudgedDecodedAndReplacedWithoutItsEncoding", func(t *testing.T) {
		// the page comes in the client's coding, its own gzip, not the
		// upstream's: it decodes to the page
		resp, body := in.do("GET", "/gzip409", map[string]string{"Accept": "*/*", "Accept-Encoding": "gzip"}, nil)
		if resp.StatusCode != 409 || resp.Header.Get("Content-Encoding") != "gzip" || resp.ContentLength != int64(len(body)) {
			t.Fatalf("got %d, Content-Encoding %q, Content-Length %d for %d bytes", resp.StatusCode, resp.Header.Get("Content-Encoding"), resp.ContentLength, len(body))
		}
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		page, err := io.ReadAll(zr)
		if err != nil || !bytes.HasPrefix(page, []byte("409 Conflict")) {
			t.Fatalf("decoded page %q, %v", page, err)
		}
		resp, body = in.do("GET", "/gzip409", map[string]string{"Accept": "*/*"}, nil)
		if resp.StatusCode != 409 || resp.Header.Get("Content-Encoding") != "" || !bytes.HasPrefix(body, []byte("409 Conflict")) {
			t.Fatalf("without Accept-Encoding: got %d, Content-Encoding %q: %q", resp.StatusCode, resp.Header.Get("Content-Encoding"), body)
		}
	})
	t.Run("GzipLongBodyPassesWithItsEncoding", func(t *testing.T) {
		resp, body := in.do("GET", "/gziplong409", map[string]string{"Accept": "*/*", "Accept-Encoding": "gzip"}, nil)
		if resp.StatusCode != 409 || resp.Header.Get("Content-Encoding") != "gzip" || !bytes.Equal(body, gzipped(longText)) {
			t.Fatalf("got %d, Content-Encoding %q, %d bytes", resp.StatusCode, resp.Header.Get("Content-Encoding"), len(body))
		}
	})
	t.Run("Unauthorized401KeepsWWWAuthenticate", func(t *testing.T) {
		resp, body := in.do("GET", "/401", map[string]string{"Accept": browserAccept}, nil)
		if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != `Basic realm="shop"` {
			t.Fatalf("status %d, WWW-Authenticate %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
		if !bytes.Contains(body, []byte("401")) || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
			t.Fatalf("401 not explained: %s", body)
		}
	})
	t.Run("Unavailable503KeepsRetryAfterAndCookie", func(t *testing.T) {
		resp, body := in.do("GET", "/503", map[string]string{"Accept": "*/*"}, nil)
		if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "120" || resp.Header.Get("Set-Cookie") != "maint=1; Path=/" {
			t.Fatalf("status %d, headers %v", resp.StatusCode, resp.Header)
		}
		if !bytes.HasPrefix(body, []byte("503 ")) {
			t.Fatalf("503 not explained as text: %s", body)
		}
	})
	t.Run("HeadGetsHeadersOnly", func(t *testing.T) {
		_, getBody := in.do("GET", "/bare409", map[string]string{"Accept": browserAccept}, nil)
		resp, body := in.do("HEAD", "/bare409", map[string]string{"Accept": browserAccept}, nil)
		if resp.StatusCode != 409 || len(body) != 0 {
			t.Fatalf("HEAD: status %d, %d body bytes", resp.StatusCode, len(body))
		}
		if resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
			t.Fatalf("HEAD: Content-Type %q", resp.Header.Get("Content-Type"))
		}
		// the page carries a request id of the same length every time, so
		// HEAD announces exactly the length GET sends
		if resp.ContentLength != int64(len(getBody)) {
			t.Fatalf("HEAD Content-Length %d, GET sent %d bytes", resp.ContentLength, len(getBody))
		}
	})
	t.Run("PageShowsTheAccessLogsRequestID", func(t *testing.T) {
		before := len(in.records())
		resp, body := in.do("GET", "/412", map[string]string{"Accept": "application/problem+json", "If-Match": `"v1"`}, nil)
		if resp.StatusCode != 412 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		var p struct {
			Instance string
		}
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatal(err)
		}
		recs := in.waitRecords(before + 1)
		rec := recs[len(recs)-1]
		if "urn:uuid:"+fmt.Sprint(rec["uuid"]) != p.Instance {
			t.Fatalf("record uuid %v, instance %q", rec["uuid"], p.Instance)
		}
		if rec["explained"] != true || rec["status"] != 412.0 || !strings.Contains(rec["hint"].(string), `"v1"`) {
			t.Fatalf("record: %v", rec)
		}
	})
}
