package explain

import (
	"bytes"
	"compress/gzip"
	"io"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/klauspost/compress/zstd"
)

// FuzzNegotiateEncoding: any Accept-Encoding gives one of the codings, and
// one that names neither gzip, x-gzip, zstd nor * gives Identity.
func FuzzNegotiateEncoding(f *testing.F) {
	for _, s := range []string{"", "gzip", "gzip, deflate, br, zstd", "*;q=0", "zstd;q=0.5, gzip;q=0.6", "identity", "x-gzip;q=1.0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ae string) {
		e := NegotiateEncoding(ae)
		if e >= numEncodings {
			t.Fatalf("coding %d", e)
		}
		low := strings.ToLower(ae)
		if !strings.Contains(low, "gzip") && !strings.Contains(low, "zstd") && !strings.Contains(ae, "*") && e != Identity {
			t.Fatalf("%q gives %v", ae, e)
		}
	})
}

// FuzzMakeVariant: any status, method and Retry-After give a variant in
// range that only applies where it may: try again on 5xx to GET and HEAD,
// a wait on 429 and 503.
func FuzzMakeVariant(f *testing.F) {
	f.Add(uint16(503), "GET", "120")
	f.Add(uint16(429), "POST", "Wed, 02 Dec 2026 05:31:00 GMT")
	f.Add(uint16(502), "HEAD", "-1")
	now := time.Date(2026, 12, 2, 5, 30, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, code uint16, method, ra string) {
		v := MakeVariant(int(code), method, ra, now)
		if int(v.Wait) >= len(waitBuckets) {
			t.Fatalf("wait bucket %d", v.Wait)
		}
		if v.Wait != 0 && code != 429 && code != 503 {
			t.Fatalf("a wait on %d", code)
		}
		if v.Retry && (code < 500 || code > 599 || (method != "GET" && method != "HEAD")) {
			t.Fatalf("try again on %d %s", code, method)
		}
		if v != v.normalize(int(code)) {
			t.Fatalf("variant %+v not normal for %d", v, code)
		}
	})
}

// FuzzWrap: any text wraps into lines of at most the width, unless a line
// is one piece that cannot break, and loses nothing but spaces.
func FuzzWrap(f *testing.F) {
	f.Add("Before anything else, copy your changes somewhere safe.", uint8(20))
	f.Add("変更は保存されませんでした。（別のタブで）", uint8(10))
	f.Add("변경 내용이 저장되지 않았습니다.", uint8(8))
	f.Fuzz(func(t *testing.T, s string, w uint8) {
		if !utf8.ValidString(s) || strings.ContainsAny(s, "\n\r") {
			return
		}
		width := int(w%100) + 8
		out := wrap(s, width, "  - ", "    ")
		if !strings.HasSuffix(out, "\n") {
			t.Fatalf("no final newline: %q", out)
		}
		for _, ln := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
			body := strings.TrimPrefix(strings.TrimPrefix(ln, "  - "), "    ")
			if displayWidth(ln) > width && len(atoms(body)) > 1 {
				t.Fatalf("line of %d columns, width %d: %q", displayWidth(ln), width, ln)
			}
		}
		strip := func(s string) string { return strings.Join(strings.Fields(s), "") }
		if got := strip(strings.ReplaceAll(out, "  - ", "")); got != strip(s) {
			t.Fatalf("text changed: %q from %q", got, s)
		}
	})
}

// FuzzEncodedPage: for any request id, the spliced gzip and zstd bodies
// decode to the page, at the length announced.
func FuzzEncodedPage(f *testing.F) {
	f.Add("0f8fad5b-d9cb-469f-a165-70867728950e", uint8(0), int64(0))
	f.Add("", uint8(1), int64(1<<40))
	f.Add(strings.Repeat("f", 64), uint8(2), int64(-1))
	r, err := NewRenderer(Options{SiteName: "Demo", Contact: "ops@example.com"})
	if err != nil {
		f.Fatal(err)
	}
	zd, err := zstd.NewReader(nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, id string, which uint8, sec int64) {
		codes := []int{409, 503, 502, 404}
		f := Format(which % 3)
		code := codes[int(which/3)%len(codes)]
		p, err := r.PageFor(code, Lang(int(which)%len(langs)), f, MakeVariant(code, "GET", "60", time.Unix(0, 0)))
		if err != nil {
			t.Fatal(err)
		}
		now := time.Unix(sec%(1<<35), 0)
		plain := p.AppendTo(nil, id, now)
		gz := p.AppendEncoded(nil, Gzip, id, now)
		zr, err := gzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(got, plain) || len(gz) != p.EncodedLen(Gzip, id) {
			t.Fatalf("gzip: %v, %d bytes for %d; length %d, announced %d", err, len(got), len(plain), len(gz), p.EncodedLen(Gzip, id))
		}
		zs := p.AppendEncoded(nil, Zstd, id, now)
		got, err = zd.DecodeAll(zs, nil)
		if err != nil || !bytes.Equal(got, plain) || len(zs) != p.EncodedLen(Zstd, id) {
			t.Fatalf("zstd: %v, %d bytes for %d; length %d, announced %d", err, len(got), len(plain), len(zs), p.EncodedLen(Zstd, id))
		}
	})
}
