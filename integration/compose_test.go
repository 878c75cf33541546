package integration

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// v7JSON is an API's own 409, long enough (past encode's 512-byte
// minimum) that encode compresses it.
var v7JSON = `{"error":"version_conflict","message":"Order 42 was changed by someone else while you edited it.",` +
	`"current_version":"v7","your_version":"v6","changed_fields":[` +
	strings.Repeat(`{"field":"shipping_address","by":"staff@example.com"},`, 12) +
	`{"field":"note","by":"staff@example.com"}]}`

const v7LastModified = "Tue, 01 Dec 2026 10:00:00 GMT"

// composeUpstream is the application behind the composition sites.
func composeUpstream() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", demoUpstream())
	mux.HandleFunc("/v7conflict", func(w http.ResponseWriter, r *http.Request) {
		// a PUT that met version v7: the current ETag comes with the 409
		w.Header().Set("ETag", `"v7"`)
		w.Header().Set("Last-Modified", v7LastModified)
		if r.URL.Query().Get("json") != "" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusConflict)
			io.WriteString(w, v7JSON)
			return
		}
		http.Error(w, "Version conflict", http.StatusConflict)
	})
	mux.HandleFunc("/teapot", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	})
	mux.HandleFunc("/gone", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusGone)
		io.WriteString(w, "withdrawn")
	})
	mux.HandleFunc("/tplhtml409", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusConflict)
		io.WriteString(w, tplAppPage)
	})
	mux.HandleFunc("/tplempty409", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusConflict)
		io.WriteString(w, `{{/* this application's template renders nothing for a conflict */}}`)
	})
	mux.HandleFunc("/style.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css")
		io.WriteString(w, "body{margin:0}")
	})
	return mux
}

// tplAppPage is an application's own 409 page with template actions for
// Caddy's templates to execute.
const tplAppPage = `<!doctype html><html><body><h1>Order 42 changed</h1>` +
	`<p>Your {{.Req.Method}} was made against {{.Req.Header.Get "If-Match"}}; version 7 is current.</p></body></html>`

// phpScripts answer as a PHP application does.
var phpScripts = map[string]string{
	"bare409.php": "<?php\nhttp_response_code(409);\n",
	"json409.php": "<?php\nheader('Content-Type: application/json');\nhttp_response_code(409);\necho '" + jsonConflict + "';\n",
}

// TestCompositionWithCaddysHandlers puts explain_errors among Caddy's own
// handlers, in the order the Caddyfile gives them (header, encode,
// explain_errors, push, intercept, templates, then the responders), and
// checks what the client receives and what the record says.
func TestCompositionWithCaddysHandlers(t *testing.T) {
	up := upstream(t, composeUpstream())
	dead := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	files := t.TempDir()
	big := make([]byte, 8<<20) // far past any buffer: io.Copy goes to ReadFrom
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	for name, b := range map[string][]byte{
		"big.bin": big, "version.json": []byte(jsonConflict), "empty.txt": nil,
	} {
		if err := os.WriteFile(filepath.Join(files, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	phpDir := t.TempDir()
	for name, src := range phpScripts {
		if err := os.WriteFile(filepath.Join(phpDir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	phpSock := filepath.Join(phpDir, "php-fpm.sock")

	// Caddy's write_idle timeout (on by default) hands ReadFrom 64 KiB
	// io.LimitedReaders around http.ServeContent's own, which net's
	// sendfile path does not unwrap: off on the cleartext listener, a file
	// goes out by sendfile, with the module as without it
	m := startMatrix(t, "timeouts {\n\t\t\twrite_idle -1s\n\t\t}", strings.NewReplacer("{UP}", up, "{DEAD}", dead, "{FILES}", files,
		"{PHPDIR}", phpDir, "{PHPSOCK}", phpSock).Replace(`
	handle_path /m/* {
		explain_errors
		reverse_proxy {UP}
	}
	handle_path /gzip/* {
		encode gzip
		explain_errors
		reverse_proxy {UP}
	}
	handle_path /zstd/* {
		encode zstd
		explain_errors
		reverse_proxy {UP}
	}
	handle_path /hdr/* {
		header X-Immediate now
		header >X-Deferred later
		header -Last-Modified
		header {
			defer
			X-Defer-Block later
		}
		explain_errors
		reverse_proxy {UP}
	}
	handle_path /push/* {
		push * /style.css
		explain_errors
		reverse_proxy {UP}
	}
	handle_path /plainpush/* {
		push * /style.css
		reverse_proxy {UP}
	}
	handle_path /icpt/* {
		explain_errors
		intercept {
			@conflict status 409
			replace_status @conflict 409
			@teapot status 418
			replace_status @teapot 409
			@gone status 410
			handle_response @gone {
				respond 410
			}
		}
		reverse_proxy {UP}
	}
	handle_path /tpl/* {
		explain_errors
		templates
		reverse_proxy {UP}
	}
	handle_path /plaintpl/* {
		templates
		reverse_proxy {UP}
	}
	handle_path /tplaround/* {
		route {
			templates
			explain_errors
			reverse_proxy {UP}
		}
	}
	handle_path /errs/* {
		explain_errors {
			explain 409 502
		}
		handle /forbidden {
			error "the owner says no" 403
		}
		handle /stale {
			error "version v1 is stale" 409
		}
		handle /dead {
			reverse_proxy {DEAD}
		}
	}
	handle_path /files/* {
		explain_errors
		root * {FILES}
		file_server
	}
	handle_path /plainfiles/* {
		root * {FILES}
		file_server
	}
	handle_path /conflictfiles/* {
		explain_errors
		root * {FILES}
		file_server {
			status 409
		}
	}
	handle_path /php/* {
		explain_errors
		root * {PHPDIR}
		php_fastcgi unix/{PHPSOCK}
	}
	handle_errors {
		respond "handle_errors saw {err.status_code}" {err.status_code}
	}`))
	in := m.in
	h1, h2 := m.protos[0], m.protos[2]

	for _, enc := range []string{"gzip", "zstd"} {
		t.Run("Encode"+enc, func(t *testing.T) {
			prefix := "/" + enc
			for _, f := range []struct{ name, accept, must string }{
				{"HTML", browserAccept, "<h1>" + headingHTML(409, 0) + "</h1>"},
				{"Text", "*/*", "409 Conflict"},
				{"ProblemJSON", "application/json", `"status":409`},
			} {
				t.Run("Bare409PageDecodesWhole"+f.name, func(t *testing.T) {
					resp, raw := h1.do(t, "GET", prefix+"/bare409", map[string]string{"Accept": f.accept, "Accept-Encoding": enc})
					body := decodeResponse(t, resp, raw)
					if resp.StatusCode != 409 || !bytes.Contains(body, []byte(f.must)) {
						t.Fatalf("got %d, %d bytes (%q): %.300s", resp.StatusCode, len(body), resp.Header.Get("Content-Encoding"), body)
					}
					if resp.ContentLength >= 0 && resp.ContentLength != int64(len(raw)) {
						t.Fatalf("Content-Length %d for %d bytes sent", resp.ContentLength, len(raw))
					}
					wholePage(t, f.name, body)
					t.Logf("%s page: %d bytes sent, %d decoded, Content-Encoding %q", f.name, len(raw), len(body), resp.Header.Get("Content-Encoding"))
				})
			}
			t.Run("JSON409PassesByteIdenticalAfterDecoding", func(t *testing.T) {
				for path, want := range map[string]string{"/json409": jsonConflict, "/v7conflict?json=1": v7JSON} {
					resp, raw := h1.do(t, "GET", prefix+path, map[string]string{"Accept": "application/json", "Accept-Encoding": enc})
					if body := decodeResponse(t, resp, raw); resp.StatusCode != 409 || string(body) != want {
						t.Fatalf("%s: got %d %q", path, resp.StatusCode, body)
					}
				}
			})
			t.Run("RecordDescribesTheUpstreamsResponse", func(t *testing.T) {
				for _, c := range []struct {
					name, query, accept, excerpt string
					explained                    bool
				}{
					{"Passed", "?json=1&c=" + enc, "application/json", v7JSON[:256], false},
					{"Explained", "?c=" + enc, browserAccept, "Version conflict\n", true},
				} {
					t.Run(c.name, func(t *testing.T) {
						uri := "/v7conflict" + c.query
						resp, raw := h1.do(t, "PUT", prefix+uri, map[string]string{
							"Accept": c.accept, "Accept-Encoding": enc, "If-Match": `"v7"`})
						if resp.StatusCode != 409 || resp.Header.Get("Content-Encoding") != enc {
							t.Fatalf("the scenario needs encode to compress the response: %d, Content-Encoding %q", resp.StatusCode, resp.Header.Get("Content-Encoding"))
						}
						decodeResponse(t, resp, raw)
						if !c.explained && resp.Header.Get("ETag") != `"v7-`+enc+`"` {
							t.Fatalf("encode was expected to mark the ETag: %q", resp.Header.Get("ETag"))
						}
						// handle_path strips the prefix before the module sees the request
						recs := waitRecordsFor(t, in, uri, 1)
						if len(recs) != 1 {
							t.Fatalf("%d records", len(recs))
						}
						rec := recs[0]
						val, _ := rec["validators"].(map[string]any)
						if val["ETag"] != `"v7"` || val["Last-Modified"] != v7LastModified {
							t.Errorf("validators %v, want the upstream's ETag \"v7\" and Last-Modified", val)
						}
						if rec["body_excerpt"] != c.excerpt {
							t.Errorf("body_excerpt %q, want %q", rec["body_excerpt"], c.excerpt)
						}
						if rec["explained"] != c.explained || strings.Contains(fmt.Sprint(rec["hint"]), "-"+enc) {
							t.Errorf("explained %v, hint %q", rec["explained"], rec["hint"])
						}
					})
				}
			})
		})
	}

	t.Run("Header", func(t *testing.T) {
		t.Run("ImmediateAndDeferredReachTheExplainedPage", func(t *testing.T) {
			resp, body := h1.do(t, "GET", "/hdr/bare409", map[string]string{"Accept": browserAccept})
			if resp.StatusCode != 409 || !bytes.Contains(body, []byte("<h1>"+headingHTML(409, 0)+"</h1>")) {
				t.Fatalf("got %d: %.200s", resp.StatusCode, body)
			}
			if resp.Header.Get("X-Immediate") != "now" || resp.Header.Get("X-Deferred") != "later" || resp.Header.Get("X-Defer-Block") != "later" {
				t.Fatalf("headers: %v", resp.Header)
			}
		})
		t.Run("ImmediateAndDeferredReachAPassedResponse", func(t *testing.T) {
			resp, body := h1.do(t, "GET", "/hdr/ok", nil)
			if resp.StatusCode != 200 || !bytes.Equal(body, binaryBody) ||
				resp.Header.Get("X-Immediate") != "now" || resp.Header.Get("X-Deferred") != "later" || resp.Header.Get("X-Defer-Block") != "later" {
				t.Fatalf("got %d, %d bytes, headers %v", resp.StatusCode, len(body), resp.Header)
			}
		})
		t.Run("DeferredDeletionDoesNotReachTheRecord", func(t *testing.T) {
			uri := "/v7conflict?json=1&c=hdr"
			resp, body := h1.do(t, "PUT", "/hdr"+uri, map[string]string{"Accept": "application/json", "If-Match": `"v7"`})
			if resp.StatusCode != 409 || string(body) != v7JSON || resp.Header.Get("Last-Modified") != "" {
				t.Fatalf("the owner's deferred -Last-Modified should reach the client: %d %v", resp.StatusCode, resp.Header)
			}
			recs := waitRecordsFor(t, in, uri, 1)
			if len(recs) != 1 {
				t.Fatalf("%d records", len(recs))
			}
			val, _ := recs[0]["validators"].(map[string]any)
			if val["ETag"] != `"v7"` || val["Last-Modified"] != v7LastModified {
				t.Errorf("validators %v, want the upstream's", val)
			}
		})
	})

	t.Run("PushReachesThroughTheModule", func(t *testing.T) {
		for _, c := range []struct{ path, status string }{
			{"/plainpush/ok", "200"}, {"/push/ok", "200"}, {"/push/bare409", "409"},
		} {
			t.Run(strings.ReplaceAll(c.path[1:], "/", "_"), func(t *testing.T) {
				status, pushed := h2PushPromises(t, m, c.path)
				if status != c.status {
					t.Fatalf("status %q, want %s", status, c.status)
				}
				if len(pushed) != 1 || pushed[0] != "/style.css" {
					t.Fatalf("PUSH_PROMISE for %v, want [/style.css]", pushed)
				}
			})
		}
	})

	t.Run("Intercept", func(t *testing.T) {
		for _, c := range []struct {
			name, path, accept string
			status             int
			want               string // the body, or "" for an explanation page
		}{
			{"BufferedBare409IsExplained", "/bare409", "*/*", 409, ""},
			{"BufferedJSON409PassesByteIdentical", "/json409", "application/json", 409, jsonConflict},
			{"BufferedLong409PassesByteIdentical", "/long409", "*/*", 409, longText},
			{"ReplacedStatusIsJudgedByTheNewStatus", "/teapot", "*/*", 409, ""},
			{"HandleResponseWithoutBodyIsExplained", "/gone", "*/*", 410, ""},
		} {
			t.Run(c.name, func(t *testing.T) {
				resp, body := h1.do(t, "GET", "/icpt"+c.path, map[string]string{"Accept": c.accept})
				if resp.StatusCode != c.status {
					t.Fatalf("status %d, want %d: %q", resp.StatusCode, c.status, body)
				}
				if c.want != "" {
					if string(body) != c.want {
						t.Fatalf("body changed: %q", body)
					}
					return
				}
				want := fmt.Sprintf("%d %s", c.status, http.StatusText(c.status))
				if !bytes.HasPrefix(body, []byte(want)) || resp.ContentLength != int64(len(body)) {
					t.Fatalf("not explained: Content-Length %d, %q", resp.ContentLength, body)
				}
			})
		}
	})

	t.Run("HandleErrors", func(t *testing.T) {
		t.Run("StatusOutsideTheExplainSetReachesHandleErrors", func(t *testing.T) {
			resp, body := h1.do(t, "GET", "/errs/forbidden", nil)
			if resp.StatusCode != 403 || string(body) != "handle_errors saw 403" {
				t.Fatalf("got %d %q", resp.StatusCode, body)
			}
		})
		t.Run("ErrorDirectiveInTheExplainSetIsExplained", func(t *testing.T) {
			resp, body := h1.do(t, "PUT", "/errs/stale", map[string]string{"If-Match": `"v1"`})
			if resp.StatusCode != 409 || !bytes.HasPrefix(body, []byte("409 Conflict")) {
				t.Fatalf("got %d %q", resp.StatusCode, body)
			}
			recs := waitRecordsFor(t, in, "/stale", 1)
			if len(recs) != 1 || recs[0]["source"] != "handler" || !strings.Contains(fmt.Sprint(recs[0]["error"]), "version v1 is stale") {
				t.Fatalf("records: %v", recs)
			}
		})
		t.Run("DeadUpstreamIsExplainedNotHandleErrors", func(t *testing.T) {
			resp, body := h1.do(t, "GET", "/errs/dead", map[string]string{"Accept": "application/json"})
			if resp.StatusCode != 502 || resp.Header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("got %d %q", resp.StatusCode, body)
			}
		})
	})

	t.Run("Templates", func(t *testing.T) {
		t.Run("TemplatedAppPagePassesAsPlainCaddyRendersIt", func(t *testing.T) {
			hdr := map[string]string{"Accept": browserAccept, "If-Match": `"v6"`}
			_, want := h1.do(t, "PUT", "/plaintpl/tplhtml409", hdr)
			resp, body := h1.do(t, "PUT", "/tpl/tplhtml409", hdr)
			if !bytes.Contains(want, []byte(`Your PUT was made against &#34;v6&#34;`)) && !bytes.Contains(want, []byte(`Your PUT was made against "v6"`)) {
				t.Fatalf("plain Caddy did not execute the template: %s", want)
			}
			if resp.StatusCode != 409 || !bytes.Equal(body, want) {
				t.Fatalf("got %d %q, plain Caddy sends %q", resp.StatusCode, body, want)
			}
		})
		t.Run("TemplateRenderingNothingIsExplained", func(t *testing.T) {
			resp, body := h1.do(t, "GET", "/tpl/tplempty409", map[string]string{"Accept": browserAccept})
			if resp.StatusCode != 409 || !bytes.Contains(body, []byte("<h1>"+headingHTML(409, 0)+"</h1>")) || resp.ContentLength != int64(len(body)) {
				t.Fatalf("got %d, Content-Length %d: %.200q", resp.StatusCode, resp.ContentLength, body)
			}
			wholePage(t, "HTML", body)
		})
		t.Run("TemplatesAroundTheModuleLeaveThePageWholeAndTheRecordExact", func(t *testing.T) {
			uri := "/v7conflict?c=tplaround"
			hdr := map[string]string{"Accept": browserAccept, "If-Match": `"v7"`}
			resp, body := h1.do(t, "PUT", "/tplaround"+uri, hdr)
			_, ref := h1.do(t, "PUT", "/m"+uri+"-ref", hdr)
			if resp.StatusCode != 409 || resp.ContentLength != int64(len(body)) {
				t.Fatalf("got %d, Content-Length %d for %d bytes", resp.StatusCode, resp.ContentLength, len(body))
			}
			wholePage(t, "HTML", body)
			if normalizePage(body) != normalizePage(ref) {
				t.Fatalf("templates changed the page:\n%s\nwithout templates:\n%s", body, ref)
			}
			recs := waitRecordsFor(t, in, uri, 1)
			if len(recs) != 1 {
				t.Fatalf("%d records", len(recs))
			}
			val, _ := recs[0]["validators"].(map[string]any)
			if val["ETag"] != `"v7"` || recs[0]["explained"] != true {
				t.Fatalf("record: %v", recs[0])
			}
		})
	})

	t.Run("FileServer", func(t *testing.T) {
		for _, p := range []protoClient{h1, h2} {
			t.Run("LargeFilePassesByteIdentical/"+p.name, func(t *testing.T) {
				resp, body := p.do(t, "GET", "/files/big.bin", nil)
				if resp.StatusCode != 200 || resp.ContentLength != int64(len(big)) || sha256.Sum256(body) != sha256.Sum256(big) {
					t.Fatalf("got %d, Content-Length %d, %d bytes (want %d, identical)", resp.StatusCode, resp.ContentLength, len(body), len(big))
				}
			})
		}
		t.Run("LargeFileGoesBySendfileAsWithoutTheModule", func(t *testing.T) {
			// sendfile moves the file in a few system calls; a copy through
			// a 32 KiB buffer needs one write per 32 KiB (256 for this file)
			writes := func(path string) int64 {
				before := syscw(t, in.cmd.Process.Pid)
				resp, body := h1.do(t, "GET", path, nil)
				after := syscw(t, in.cmd.Process.Pid)
				if resp.StatusCode != 200 || sha256.Sum256(body) != sha256.Sum256(big) {
					t.Fatalf("%s: got %d, %d bytes", path, resp.StatusCode, len(body))
				}
				return after - before
			}
			plain, module := writes("/plainfiles/big.bin"), writes("/files/big.bin")
			t.Logf("write system calls for %d MiB: %d without the module, %d with it", len(big)>>20, plain, module)
			if plain >= 64 {
				t.Fatalf("plain Caddy made %d write calls: the scenario assumes sendfile", plain)
			}
			if module >= 64 {
				t.Fatalf("through the module Caddy made %d write calls (plain Caddy %d): the file was copied, not sent", module, plain)
			}
		})
		t.Run("MissingFile404IsExplained", func(t *testing.T) {
			resp, body := h1.do(t, "GET", "/files/missing.txt", map[string]string{"Accept": browserAccept})
			if resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" ||
				!bytes.Contains(body, []byte("404")) || resp.ContentLength != int64(len(body)) {
				t.Fatalf("got %d %q: %.200s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
			wholePage(t, "HTML", body)
		})
		t.Run("JSONFileServedAs409PassesByteIdentical", func(t *testing.T) {
			resp, body := h1.do(t, "GET", "/conflictfiles/version.json", map[string]string{"Accept": "application/json"})
			if resp.StatusCode != 409 || string(body) != jsonConflict || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("got %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
		})
		t.Run("EmptyFileServedAs409IsExplained", func(t *testing.T) {
			resp, body := h1.do(t, "GET", "/conflictfiles/empty.txt", map[string]string{"Accept": "*/*"})
			if resp.StatusCode != 409 || !bytes.HasPrefix(body, []byte("409 Conflict")) {
				t.Fatalf("got %d %q", resp.StatusCode, body)
			}
		})
	})

	t.Run("PHPFastCGI", func(t *testing.T) {
		startPHPFPMIn(t, phpDir, phpSock)
		t.Run("BarePHP409IsExplained", func(t *testing.T) {
			resp, body := h1.do(t, "GET", "/php/bare409.php", map[string]string{"Accept": browserAccept})
			if resp.StatusCode != 409 || !bytes.Contains(body, []byte("<h1>"+headingHTML(409, 0)+"</h1>")) || resp.ContentLength != int64(len(body)) {
				t.Fatalf("got %d %q: %.300s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
		})
		t.Run("JSONPHP409PassesByteIdentical", func(t *testing.T) {
			resp, body := h1.do(t, "GET", "/php/json409.php", map[string]string{"Accept": "application/json"})
			if resp.StatusCode != 409 || string(body) != jsonConflict || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("got %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
		})
	})
}

// decodeBody undoes the Content-Encoding encode chose, if any.
func decodeResponse(t *testing.T, resp *http.Response, raw []byte) []byte {
	t.Helper()
	switch ce := resp.Header.Get("Content-Encoding"); ce {
	case "":
		return raw
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("gzip: %v", err)
		}
		b, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("gzip body does not decode whole: %v", err)
		}
		return b
	case "zstd":
		zr, err := zstd.NewReader(nil)
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		b, err := zr.DecodeAll(raw, nil)
		if err != nil {
			t.Fatalf("zstd body does not decode whole: %v", err)
		}
		return b
	default:
		t.Fatalf("unexpected Content-Encoding %q", ce)
		return nil
	}
}

// wholePage fails unless body is a whole explanation page of its format.
func wholePage(t *testing.T, format string, body []byte) {
	t.Helper()
	switch format {
	case "HTML":
		if !bytes.HasPrefix(body, []byte("<!doctype html>")) && !bytes.HasPrefix(body, []byte("<!DOCTYPE html>")) ||
			!bytes.HasSuffix(bytes.TrimSpace(body), []byte("</html>")) {
			t.Fatalf("not a whole HTML page: %.80q ... %q", body, body[max(0, len(body)-40):])
		}
	case "ProblemJSON":
		var p map[string]any
		if err := json.Unmarshal(body, &p); err != nil || p["instance"] == nil {
			t.Fatalf("not a whole problem+json: %v: %s", err, body)
		}
	case "Text":
		if !bytes.Contains(body, []byte("Request ID: ")) {
			t.Fatalf("not a whole text page: %s", body)
		}
	}
}

var (
	uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	timeRE = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`)
)

// normalizePage blanks a page's per-request values: its request id and time.
func normalizePage(b []byte) string {
	return timeRE.ReplaceAllString(uuidRE.ReplaceAllString(string(b), "ID"), "TIME")
}

// h2PushPromises sends GET path over a raw HTTP/2 connection to the
// matrix's TLS site, with server push enabled (the default of SETTINGS),
// and returns the response's :status and the paths of the PUSH_PROMISE
// frames that came on its stream. Go's HTTP/2 client refuses pushes, so
// the frames are read here with x/net/http2's Framer.
func h2PushPromises(t *testing.T, m *protoMatrix, path string) (status string, pushed []string) {
	t.Helper()
	host := strings.TrimPrefix(m.protos[2].base, "https://")
	conn, err := tls.Dial("tcp", host, &tls.Config{RootCAs: m.ca, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if p := conn.ConnectionState().NegotiatedProtocol; p != "h2" {
		t.Fatalf("ALPN chose %q", p)
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(conn, conn)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", host}, {":path", path}} {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndStream: true, EndHeaders: true}); err != nil {
		t.Fatal(err)
	}
	// one decoder for every header block: they share the dynamic table
	var fields []hpack.HeaderField
	dec := hpack.NewDecoder(4096, func(f hpack.HeaderField) { fields = append(fields, f) })
	decode := func(block []byte) map[string]string {
		fields = fields[:0]
		if _, err := dec.Write(block); err != nil {
			t.Fatalf("hpack: %v", err)
		}
		out := map[string]string{}
		for _, f := range fields {
			out[f.Name] = f.Value
		}
		return out
	}
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("reading frames: %v (status %q, pushed %v)", err, status, pushed)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				fr.WriteSettingsAck()
			}
		case *http2.PushPromiseFrame:
			if !f.HeadersEnded() {
				t.Fatal("PUSH_PROMISE with CONTINUATION: not handled here")
			}
			if f.StreamID == 1 {
				pushed = append(pushed, decode(f.HeaderBlockFragment())[":path"])
			} else {
				decode(f.HeaderBlockFragment())
			}
		case *http2.HeadersFrame:
			if !f.HeadersEnded() {
				t.Fatal("HEADERS with CONTINUATION: not handled here")
			}
			h := decode(f.HeaderBlockFragment())
			if f.StreamID == 1 {
				status = h[":status"]
				if f.StreamEnded() {
					return status, pushed
				}
			}
		case *http2.DataFrame:
			if f.StreamID == 1 && f.StreamEnded() {
				return status, pushed
			}
		case *http2.RSTStreamFrame:
			if f.StreamID == 1 {
				t.Fatalf("stream reset: %v", f.ErrCode)
			}
		case *http2.GoAwayFrame:
			t.Fatalf("GOAWAY: %v", f.ErrCode)
		}
	}
}

// phpFPM is Debian's PHP FastCGI process manager, which
// .ci/install.d/25-php.sh installs.
// phpFPM is Debian's php-fpm binary, whichever PHP version the release
// ships (php-fpm8.2 on bookworm).
var phpFPM = findPHPFPM()

func findPHPFPM() string {
	if m, _ := filepath.Glob("/usr/sbin/php-fpm[0-9]*"); len(m) > 0 {
		return m[len(m)-1]
	}
	return "/usr/sbin/php-fpm"
}

// startPHPFPMIn runs php-fpm in the foreground with a configuration of its
// own, listening on sock, until the test ends.
func startPHPFPMIn(t *testing.T, dir, sock string) {
	t.Helper()
	if _, err := os.Stat(phpFPM); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but %s is missing (%v): install Debian's php-fpm package", phpFPM, err)
		}
		t.Skipf("php_fastcgi tests need %s (Debian's php-fpm package): %v", phpFPM, err)
	}
	pool := ""
	args := []string{"--nodaemonize", "--fpm-config", filepath.Join(dir, "php-fpm.conf"), "--php-ini", filepath.Join(dir, "php.ini")}
	if os.Getuid() == 0 {
		// php-fpm refuses to run a pool as root unless told to
		pool = "user = root\ngroup = root\n"
		args = append(args, "--allow-to-run-as-root")
	}
	conf := fmt.Sprintf(`[global]
pid = %[1]s/php-fpm.pid
error_log = %[1]s/php-fpm.log
daemonize = no
[app]
%[2]slisten = %[3]s
pm = static
pm.max_children = 2
`, dir, pool, sock)
	if err := os.WriteFile(filepath.Join(dir, "php-fpm.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "php.ini"), []byte("display_errors = Off\nexpose_php = Off\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(phpFPM, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "php-fpm.log"))
			t.Logf("php-fpm output:\n%s%s", out.String(), log)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(sock); err == nil {
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "php-fpm.log"))
			t.Fatalf("php-fpm did not listen on %s:\n%s%s", sock, out.String(), log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// syscw is a process's count of write system calls so far (sendfile
// included), from /proc/<pid>/io.
func syscw(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		t.Skipf("no /proc/<pid>/io here: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "syscw:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no syscw in /proc/<pid>/io")
	return 0
}
