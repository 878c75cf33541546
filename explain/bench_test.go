package explain_test

// Benchmarks of the per-request work of the explain package. Run them with
//
//	go test -run '^$' -bench . -benchmem ./explain
//
// No timing is asserted; the figures are in bench/RESULTS.md.

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/explainerrors/caddy-explain-errors/explain"
)

const benchID = "3f2b6c1e-9a4d-4e8b-b7c2-5d1f0a9e8c47"

var sinkString string

// measureCPU locks the benchmark to its thread and returns a function to
// call after the loop, which reports the thread's CPU time per iteration
// as cpu-ns/op: unlike ns/op, it leaves out the time other processes of a
// shared machine take.
func measureCPU(b *testing.B) (stop func()) {
	runtime.LockOSThread()
	start, ok := threadCPU()
	return func() {
		end, ok2 := threadCPU()
		runtime.UnlockOSThread()
		if ok && ok2 && b.N > 0 {
			b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

// BenchmarkRenderCached is the cost of a replaced page once its status,
// language and format are cached: the cache look-up and the render of the
// request id and time into the cached parts.
func BenchmarkRenderCached(b *testing.B) {
	r, err := explain.NewRenderer(explain.Options{SiteName: "Example Shop", Contact: "ops@example.com"})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, f := range []explain.Format{explain.FormatHTML, explain.FormatJSON, explain.FormatText} {
		b.Run(f.String(), func(b *testing.B) {
			p, err := r.Page(409, 0, f)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(p.Len(benchID)))
			b.ReportAllocs()
			stop := measureCPU(b)
			for b.Loop() {
				p, err := r.Page(409, 0, f)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := p.Render(io.Discard, benchID, now); err != nil {
					b.Fatal(err)
				}
			}
			stop()
		})
	}
}

// BenchmarkRenderFirst is a page's first use: built from the template
// and split, as Renderer.Page does before it caches it. A fresh Renderer
// each time, so nothing is cached.
func BenchmarkRenderFirst(b *testing.B) {
	for _, f := range []explain.Format{explain.FormatHTML, explain.FormatJSON, explain.FormatText} {
		b.Run(f.String(), func(b *testing.B) {
			b.ReportAllocs()
			stop := measureCPU(b)
			for b.Loop() {
				r, err := explain.NewRenderer(explain.Options{})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := r.Page(409, 0, f); err != nil {
					b.Fatal(err)
				}
			}
			stop()
		})
	}
}

var acceptHeaders = []struct{ name, value string }{
	{"firefox", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"},
	{"chrome", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"},
	{"api", "application/problem+json, application/json;q=0.9"},
	{"curl", "*/*"},
	{"empty", ""},
}

func BenchmarkNegotiateFormat(b *testing.B) {
	for _, a := range acceptHeaders {
		b.Run(a.name, func(b *testing.B) {
			b.ReportAllocs()
			var f explain.Format
			stop := measureCPU(b)
			for b.Loop() {
				f = explain.NegotiateFormat(a.value)
			}
			stop()
			sinkString = f.String()
		})
	}
}

var acceptLanguages = []struct{ name, value string }{
	{"en-US", "en-US,en;q=0.9"},
	{"de-DE", "de-DE,de;q=0.9,en-US;q=0.8,en;q=0.7"},
	{"pt-BR", "pt-BR,pt;q=0.9,en-US;q=0.8,en;q=0.7,es;q=0.6"},
	{"zh-TW", "zh-TW,zh;q=0.9,en;q=0.8"},
	{"unknown", "sw-KE,sw;q=0.9"},
	{"empty", ""},
}

func BenchmarkMatchLanguage(b *testing.B) {
	for _, a := range acceptLanguages {
		b.Run(a.name, func(b *testing.B) {
			b.ReportAllocs()
			var l explain.Lang
			stop := measureCPU(b)
			for b.Loop() {
				l = explain.MatchLanguage(a.value)
			}
			stop()
			sinkString = l.String()
		})
	}
}

var stockBodies = []struct {
	name     string
	body     []byte
	complete bool
	want     string
}{
	{"nginx", []byte("<html>\r\n<head><title>409 Conflict</title></head>\r\n<body>\r\n<center><h1>409 Conflict</h1></center>\r\n<hr><center>nginx/1.25.3</center>\r\n</body>\r\n</html>\r\n"), true, "nginx"},
	{"apache", []byte("<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\" \"http://www.w3.org/TR/html4/strict.dtd\">\n<html><head>\n<title>404 Not Found</title>\n</head><body>\n<h1>Not Found</h1>\n<p>The requested URL was not found on this server.</p>\n<hr>\n<address>Apache/2.4.71 (Debian) Server at 127.0.0.1 Port 80</address>\n</body></html>\n"), true, "Apache"},
	// a Tomcat page's first bytes do not decide: a Message may follow
	{"tomcat-prefix", []byte(`<!doctype html><html lang="en"><head><title>HTTP Status 409 – Conflict</title><style type="text/css">body {font-family:Tahoma,Arial,sans-serif;} h1, h2, h3, b {color:white;background-color:#525D76;}`), false, ""},
	{"app-html", []byte("<!doctype html>\n<html><head><title>Edit conflict</title></head><body><h1>Someone else saved this page</h1><p>Your changes were kept; compare them with the latest version below.</p></body></html>\n"), true, ""},
	{"short", []byte("nope"), true, ""},
}

// BenchmarkMayBeStock is the cost of one call as the writer makes it on
// every write while it holds: the prefix held so far, here the whole of
// the longest stock page in the corpus and of a padded nginx page.
func BenchmarkMayBeStock(b *testing.B) {
	for _, name := range []string{"apache-signature-on-status-505-curl", "nginx-409-return-chrome", "tomcat-409-senderror-chrome"} {
		raw, err := os.ReadFile("../testdata/corpus/responses/" + name + ".http")
		if err != nil {
			b.Fatal(err)
		}
		body := raw[bytes.Index(raw, []byte("\r\n\r\n"))+4:]
		b.Run(name, func(b *testing.B) {
			if !explain.MayBeStock(body) {
				b.Fatal("MayBeStock false")
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			ok := false
			for b.Loop() {
				ok = explain.MayBeStock(body)
			}
			sinkString = fmt.Sprint(ok)
		})
	}
}

func BenchmarkStockServer(b *testing.B) {
	for _, s := range stockBodies {
		b.Run(s.name, func(b *testing.B) {
			if got := explain.StockServer(s.body, s.complete); got != s.want {
				b.Fatalf("StockServer = %q, want %q", got, s.want)
			}
			b.ReportAllocs()
			var got string
			stop := measureCPU(b)
			for b.Loop() {
				got = explain.StockServer(s.body, s.complete)
			}
			stop()
			sinkString = got
		})
	}
}

var contentTypes = []struct{ name, value string }{
	{"none", ""},
	{"plain", "text/plain; charset=utf-8"},
	{"html", "text/html; charset=utf-8"},
	{"json", "application/json"},
	{"problem", "application/problem+json"},
}

func BenchmarkKindOf(b *testing.B) {
	for _, c := range contentTypes {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			var k explain.BodyKind
			stop := measureCPU(b)
			for b.Loop() {
				k = explain.KindOf(c.value)
			}
			stop()
			sinkString = strings.Repeat("x", int(k))
		})
	}
}

// BenchmarkRenderEncoded is the English 409 HTML page for one request in
// each coding: "spliced" from its parts compressed once (what the module
// sends), and "scratch", the whole page compressed anew as an encode
// handler in front would (gzip at level 5 with a reused writer, zstd's
// default level with a reused encoder).
func BenchmarkRenderEncoded(b *testing.B) {
	r, err := explain.NewRenderer(explain.Options{SiteName: "Example Shop", Contact: "ops@example.com"})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	p, err := r.Page(409, 0, explain.FormatHTML)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("409 HTML: %d bytes; gzip %d, zstd %d spliced", p.Len(benchID), p.EncodedLen(explain.Gzip, benchID), p.EncodedLen(explain.Zstd, benchID))
	var buf []byte
	for _, e := range []explain.Encoding{explain.Identity, explain.Gzip, explain.Zstd} {
		name := e.String()
		if name == "" {
			name = "identity"
		}
		b.Run("spliced/"+name, func(b *testing.B) {
			b.ReportAllocs()
			stop := measureCPU(b)
			for b.Loop() {
				buf = p.AppendEncoded(buf[:0], e, benchID, now)
			}
			stop()
		})
	}
	b.Run("scratch/gzip", func(b *testing.B) {
		var out bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&out, 5)
		b.ReportAllocs()
		stop := measureCPU(b)
		for b.Loop() {
			buf = p.AppendTo(buf[:0], benchID, now)
			out.Reset()
			zw.Reset(&out)
			_, _ = zw.Write(buf)
			_ = zw.Close()
		}
		stop()
	})
	b.Run("scratch/zstd", func(b *testing.B) {
		enc, _ := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
		var out []byte
		b.ReportAllocs()
		stop := measureCPU(b)
		for b.Loop() {
			buf = p.AppendTo(buf[:0], benchID, now)
			out = enc.EncodeAll(buf, out[:0])
		}
		stop()
	})
}
