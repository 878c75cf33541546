package caddymodule

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/klauspost/compress/zstd"

	"github.com/explainerrors/caddy-explain-errors/explain"
)

// bare answers status with no body, and the given headers.
func bare(status int, hdr ...string) caddyhttp.Handler {
	return caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		for i := 0; i+1 < len(hdr); i += 2 {
			w.Header().Set(hdr[i], hdr[i+1])
		}
		w.WriteHeader(status)
		return nil
	})
}

// serve runs one request through h with the given request headers.
func serve(t *testing.T, h *Handler, next caddyhttp.Handler, method string, hdr ...string) (*testRecorder, string) {
	t.Helper()
	rec := newRecorder()
	r, id := newRequest(t, method, "", rec)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	if err := h.ServeHTTP(rec, r, next); err != nil {
		t.Fatalf("ServeHTTP: %v", err)
	}
	return rec, id
}

func decode(t *testing.T, coding string, b []byte) []byte {
	t.Helper()
	switch coding {
	case "":
		return b
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("gzip: %v", err)
		}
		out, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("gzip: %v", err)
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
			t.Fatalf("zstd: %v", err)
		}
		return out
	}
	t.Fatalf("unknown coding %q", coding)
	return nil
}

// TestPageSentInTheCodingAsked: the page goes out in the client's coding,
// with a Content-Length of the encoded body, Vary naming Accept-Encoding
// beside the upstream's own Vary, HEAD with GET's headers, and decodes to
// the page.
func TestPageSentInTheCodingAsked(t *testing.T) {
	h, _ := newTestHandler(t, &Handler{})
	for _, tc := range []struct{ ae, coding string }{
		{"", ""},
		{"gzip", "gzip"},
		{"gzip, deflate, br, zstd", "zstd"},
		{"zstd;q=0.5, gzip", "gzip"},
		{"br", ""},
		{"*;q=0", ""},
		{"identity", ""},
	} {
		for _, f := range []explain.Format{explain.FormatHTML, explain.FormatJSON, explain.FormatText} {
			next := bare(409, "Vary", "Cookie")
			get, id := serve(t, h, next, "GET", "Accept", acceptFor(f), "Accept-Encoding", tc.ae)
			res := get.Result()
			name := f.String() + "/" + tc.ae
			coding := tc.coding
			if p, _ := h.renderer.Page(409, 0, f); coding != "" {
				// a page that compression would not make smaller goes as it is
				e := explain.NegotiateEncoding(tc.ae)
				if p.EncodedLen(e, id) >= p.Len(id) {
					coding = ""
				}
				if f == explain.FormatHTML && coding == "" {
					t.Errorf("%s: the HTML page is not smaller in %s (%d against %d bytes)", name, e, p.EncodedLen(e, id), p.Len(id))
				}
			}
			if got := res.Header.Get("Content-Encoding"); got != coding {
				t.Errorf("%s: Content-Encoding %q, want %q", name, got, coding)
			}
			if cl := res.Header.Get("Content-Length"); cl != strconv.Itoa(get.Body.Len()) {
				t.Errorf("%s: Content-Length %s, body %d bytes", name, cl, get.Body.Len())
			}
			vary := strings.Join(res.Header.Values("Vary"), ", ")
			for _, v := range []string{"Cookie", "Accept", "Accept-Language", "Accept-Encoding"} {
				if !strings.Contains(vary, v) {
					t.Errorf("%s: Vary %q lacks %s", name, vary, v)
				}
			}
			want := maskTime(expectedPage(t, h, 409, f, id, http.MethodGet))
			if got := maskTime(decode(t, coding, get.Body.Bytes())); !bytes.Equal(got, want) {
				t.Errorf("%s: decoded body is not the page:\n%s", name, got)
			}
			head, _ := serve(t, h, next, "HEAD", "Accept", acceptFor(f), "Accept-Encoding", tc.ae)
			hr := head.Result()
			for _, k := range []string{"Content-Encoding", "Content-Length", "Content-Type", "Vary"} {
				if g, w := strings.Join(hr.Header.Values(k), ","), strings.Join(res.Header.Values(k), ","); g != w {
					t.Errorf("%s: HEAD %s %q, GET %q", name, k, g, w)
				}
			}
			if head.Body.Len() != 0 {
				t.Errorf("%s: HEAD has a body", name)
			}
		}
	}
}

func acceptFor(f explain.Format) string {
	switch f {
	case explain.FormatHTML:
		return browserAccept
	case explain.FormatJSON:
		return "application/json"
	}
	return "*/*"
}

// TestPageVariantsFollowTheResponse: a 503 to a GET offers to try again
// and shows the upstream's Retry-After; a 502 to a POST does neither.
func TestPageVariantsFollowTheResponse(t *testing.T) {
	ui := explain.UIFor(0)
	saved := *ui
	t.Cleanup(func() { *ui = saved })
	if ui.TryAgain == "" {
		ui.TryAgain = "Try again"
	}
	if ui.Home == "" {
		ui.Home = "Go to the home page"
	}
	if ui.RetryAfter == "" {
		ui.RetryAfter = "Please wait {wait} before you try again."
	}
	h, _ := newTestHandler(t, &Handler{Home: "/shop/"})
	rec, _ := serve(t, h, bare(503, "Retry-After", "120"), "GET", "Accept", browserAccept)
	page := rec.Body.String()
	if !strings.Contains(page, `href="">`+ui.TryAgain+`</a>`) || !strings.Contains(page, "2 min") {
		t.Errorf("503 to GET with Retry-After 120: no try again or no wait:\n%s", page)
	}
	if rec.Header().Get("Retry-After") != "120" {
		t.Errorf("Retry-After %q, want it kept", rec.Header().Get("Retry-After"))
	}
	rec, _ = serve(t, h, bare(502), "POST", "Accept", browserAccept)
	page = rec.Body.String()
	if strings.Contains(page, ui.TryAgain) || !strings.Contains(page, `href="/shop/">`+ui.Home+`</a>`) {
		t.Errorf("502 to POST: want the home link, not try again:\n%s", page)
	}
}

// TestUnusableTemplateOutputFallsBackToTheBuiltInPage: a template that
// renders nothing, too much or invalid UTF-8 for a real request gives the
// visitor the whole built-in page, with its Content-Length, and the owner
// one error record.
func TestUnusableTemplateOutputFallsBackToTheBuiltInPage(t *testing.T) {
	dir := t.TempDir()
	const tried = `{{if eq .RequestID "00000000-0000-0000-0000-000000000000"}}<p>ok</p>{{else}}`
	for name, src := range map[string]string{
		"empty":   tried + `{{end}}`,
		"huge":    tried + `{{range .Text.Owner}}{{range $.Text.Owner}}{{range $.Text.Owner}}{{range $.Text.Owner}}{{range $.Text.Owner}}{{$.Text.What}}{{end}}{{end}}{{end}}{{end}}{{end}}{{end}}`,
		"invalid": tried + "<p>\xff</p>{{end}}",
	} {
		file := filepath.Join(dir, name+".html")
		if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		h, logs := newTestHandler(t, &Handler{Template: file, LogOff: true})
		for _, ae := range []string{"", "gzip"} {
			rec, id := serve(t, h, bare(409), "GET", "Accept", browserAccept, "Accept-Encoding", ae)
			res := rec.Result()
			if cl := res.Header.Get("Content-Length"); cl != strconv.Itoa(rec.Body.Len()) {
				t.Errorf("%s: Content-Length %s, body %d bytes", name, cl, rec.Body.Len())
			}
			p, err := h.renderer.Builtin(409, 0, explain.FormatHTML, explain.Variant{})
			if err != nil {
				t.Fatal(err)
			}
			var want bytes.Buffer
			if _, err := p.Render(&want, id, time.Now()); err != nil {
				t.Fatal(err)
			}
			if got := decode(t, res.Header.Get("Content-Encoding"), rec.Body.Bytes()); !bytes.Equal(maskTime(got), maskTime(want.Bytes())) {
				t.Errorf("%s: not the built-in page:\n%.300s", name, got)
			}
			es := records(logs)
			if len(es) != 1 || es[0].Level.String() != "error" || !strings.Contains(es[0].ContextMap()["error"].(string), file) {
				t.Errorf("%s: want one error record naming the template:%s", name, describe(es))
			}
		}
	}
}
