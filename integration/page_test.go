package integration

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/explainerrors/caddy-explain-errors/explain"
)

func decodePage(t *testing.T, coding string, b []byte) []byte {
	t.Helper()
	switch coding {
	case "":
		return b
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		out, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		return out
	case "zstd":
		zd, err := zstd.NewReader(nil)
		if err != nil {
			t.Fatal(err)
		}
		defer zd.Close()
		out, err := zd.DecodeAll(b, nil)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	t.Fatalf("coding %q", coding)
	return nil
}

// TestPageBehindEncodeIsTheModulesOwnCoding: behind `encode gzip zstd`,
// the page arrives in the module's own coding (encode leaves it alone: one
// Content-Encoding, the encoded length), with Vary naming Accept-Encoding
// once, HEAD with GET's headers, and decodes to the whole page.
func TestPageBehindEncodeIsTheModulesOwnCoding(t *testing.T) {
	up := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "90")
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	in := startCaddy(t, fmt.Sprintf(`
http://127.0.0.1:{PORT} {
	encode gzip zstd
	explain_errors {
		home /shop/
	}
	reverse_proxy %s
}`, up))
	for _, tc := range []struct{ ae, coding string }{
		{"gzip, deflate, br, zstd", "zstd"},
		{"gzip", "gzip"},
		{"", ""},
	} {
		hdr := map[string]string{"Accept": browserAccept, "Accept-Language": "de"}
		if tc.ae != "" {
			hdr["Accept-Encoding"] = tc.ae
		}
		resp, body := in.do("GET", "/x", hdr, nil)
		if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "90" {
			t.Fatalf("%s: status %d, Retry-After %q", tc.ae, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		if ce := resp.Header.Values("Content-Encoding"); strings.Join(ce, ",") != tc.coding {
			t.Errorf("%s: Content-Encoding %q, want %q", tc.ae, ce, tc.coding)
		}
		if resp.ContentLength != int64(len(body)) {
			t.Errorf("%s: Content-Length %d, body %d bytes", tc.ae, resp.ContentLength, len(body))
		}
		vary := strings.Join(resp.Header.Values("Vary"), ", ")
		if strings.Count(vary, "Accept-Encoding") != 1 {
			t.Errorf("%s: Vary %q: want Accept-Encoding once", tc.ae, vary)
		}
		page := string(decodePage(t, tc.coding, body))
		de, _ := explain.ParseLang("de")
		if !strings.Contains(page, "<h1>"+headingHTML(503, de)+"</h1>") || !strings.HasSuffix(page, "</html>\n") {
			t.Errorf("%s: not the whole German 503 page:\n%.400s", tc.ae, page)
		}
		// a 503 to a GET offers to try again, not the way home
		if explain.UIFor(de).TryAgain != "" && !strings.Contains(page, `<a class="b" href="">`) {
			t.Errorf("%s: no try-again link on a 503 to GET", tc.ae)
		}
		head, hb := in.do("HEAD", "/x", hdr, nil)
		for _, k := range []string{"Content-Encoding", "Content-Length", "Content-Type", "Vary"} {
			if g, w := strings.Join(head.Header.Values(k), ","), strings.Join(resp.Header.Values(k), ","); g != w {
				t.Errorf("%s: HEAD %s %q, GET %q", tc.ae, k, g, w)
			}
		}
		if len(hb) != 0 {
			t.Errorf("%s: HEAD has a body", tc.ae)
		}
	}
}

// TestUnusableTemplateOutputGetsTheBuiltInPage: through a real Caddy, a
// template that renders nothing, more than the cap, or invalid UTF-8 for a
// real request gives the visitor the whole built-in page with a right
// Content-Length, and the owner one error record.
func TestUnusableTemplateOutputGetsTheBuiltInPage(t *testing.T) {
	dir := t.TempDir()
	const tried = `{{if eq .RequestID "00000000-0000-0000-0000-000000000000"}}<p>ok</p>{{else}}`
	up := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusConflict) }))
	for name, src := range map[string]string{
		"empty":   tried + `{{end}}`,
		"huge":    tried + `{{range .Text.Owner}}{{range $.Text.Owner}}{{range $.Text.Owner}}{{range $.Text.Owner}}{{range $.Text.Owner}}{{$.Text.What}}{{end}}{{end}}{{end}}{{end}}{{end}}{{end}}`,
		"invalid": tried + "<p>\xff</p>{{end}}",
	} {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(dir, name+".html")
			if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
				t.Fatal(err)
			}
			in := startCaddy(t, fmt.Sprintf(`
http://127.0.0.1:{PORT} {
	explain_errors {
		template %s
		log off
	}
	reverse_proxy %s
}`, file, up))
			for _, ae := range []string{"", "gzip"} {
				hdr := map[string]string{"Accept": browserAccept}
				if ae != "" {
					hdr["Accept-Encoding"] = ae
				}
				resp, body := in.do("GET", "/x", hdr, nil)
				if resp.StatusCode != 409 || resp.ContentLength != int64(len(body)) {
					t.Fatalf("status %d, Content-Length %d for %d bytes", resp.StatusCode, resp.ContentLength, len(body))
				}
				page := string(decodePage(t, resp.Header.Get("Content-Encoding"), body))
				if !strings.HasPrefix(page, "<!doctype html>") || !strings.Contains(page, "<h1>"+headingHTML(409, 0)+"</h1>") || !strings.HasSuffix(page, "</html>\n") {
					t.Fatalf("not the whole built-in page:\n%.300s", page)
				}
			}
			recs := in.waitRecords(2)
			n := 0
			for _, r := range recs {
				if r["level"] == "error" && strings.Contains(fmt.Sprint(r["error"]), file) {
					n++
				}
			}
			if n != 2 {
				t.Fatalf("want one error record per request naming %s, got %d: %v", file, n, recs)
			}
		})
	}
}
