package caddymodule

// Benchmarks of the handler on its own, driven through Handler.ServeHTTP
// with a cheap reusable ResponseWriter. Run them with
//
//	go test -run '^$' -bench . -benchmem ./caddymodule
//
// Every case has a "without" twin that runs the same "next" handler with
// the same request and writer but without the module; the module's cost
// is the difference. No timing is asserted: the figures and the budgets
// they are read against are in bench/RESULTS.md.

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// measureCPU locks the benchmark to its thread and returns a function to
// call after the loop, which reports the thread's CPU time per iteration
// as cpu-ns/op: unlike ns/op, it leaves out the time other processes of a
// shared machine take. Garbage collection by other threads is not in it;
// GC assists are.
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

// benchRW is a ResponseWriter that allocates nothing: it keeps its header
// map (cleared between requests) and counts what is written.
type benchRW struct {
	hdr    http.Header
	status int
	n      int64
}

func newBenchRW() *benchRW { return &benchRW{hdr: make(http.Header, 16)} }

func (w *benchRW) Header() http.Header { return w.hdr }

func (w *benchRW) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *benchRW) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.n += int64(len(p))
	return len(p), nil
}

func (w *benchRW) WriteString(s string) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.n += int64(len(s))
	return len(s), nil
}

// reset readies the writer for the next request without allocating.
func (w *benchRW) reset() {
	clear(w.hdr)
	w.status, w.n = 0, 0
}

// newBenchHandler builds the handler the way Provision does, without a
// caddy.Context (and so without log_rate's flood limiter, which is off by
// default).
func newBenchHandler(tb testing.TB, logger *zap.Logger) *Handler {
	tb.Helper()
	h := new(Handler)
	if err := h.compile(); err != nil {
		tb.Fatal(err)
	}
	h.logger = logger
	h.pool = &sync.Pool{New: func() any { return new(writer) }}
	// Provision registers the Prometheus collectors; unregistered ones
	// count the same
	m, err := newMetrics(nil)
	if err != nil {
		tb.Fatal(err)
	}
	h.metrics = m
	return h
}

// benchJSONLogger is a production-like JSON logger that writes to
// io.Discard, so that a record is built and encoded in full.
func benchJSONLogger() *zap.Logger {
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	return zap.New(zapcore.NewCore(enc, zapcore.AddSync(io.Discard), zapcore.DebugLevel))
}

// benchRequest returns a request prepared the way Caddy's server prepares
// every request (replacer, vars, extra log fields, server), so that
// {http.request.uuid} and the record's request fields work.
func benchRequest(tb testing.TB, method, target string, hdr map[string]string, rw http.ResponseWriter) *http.Request {
	tb.Helper()
	r := httptest.NewRequest(method, target, nil)
	r.RemoteAddr = "127.0.0.1:50000"
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	return caddyhttp.PrepareRequest(r, caddy.NewReplacer(), rw, &caddyhttp.Server{})
}

// benchForgetUUID drops the request id the previous iteration generated, so
// that each iteration pays for its own, as each real request does.
func benchForgetUUID(r *http.Request) {
	if vars, ok := r.Context().Value(caddyhttp.VarsCtxKey).(map[string]any); ok {
		delete(vars, "uuid")
	}
}

var (
	benchBody1K     = bytes.Repeat([]byte("0123456789abcdef"), 64) // 1 KiB
	benchBody32K    = bytes.Repeat([]byte("conflict detail\n"), 2048)
	benchHdrText    = []string{"text/plain; charset=utf-8"}
	benchHdrLen1K   = []string{"1024"}
	benchHdrLenZero = []string{"0"}
)

// benchNext200 writes a 1 KiB 200, setting its headers without allocating.
var benchNext200 = caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
	h := w.Header()
	h["Content-Type"] = benchHdrText
	h["Content-Length"] = benchHdrLen1K
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(benchBody1K)
	return err
})

// benchNextBare409 writes an empty 409, as a reverse-proxied application does
// that says no more than the status.
var benchNextBare409 = caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
	w.Header()["Content-Length"] = benchHdrLenZero
	w.WriteHeader(http.StatusConflict)
	return nil
})

// benchNextStream409 writes a 64 KiB text 409 of unknown length in two 32 KiB
// writes: it is held, released at the first write and streamed on.
var benchNextStream409 = caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
	w.Header()["Content-Type"] = benchHdrText
	w.WriteHeader(http.StatusConflict)
	for range 2 {
		if _, err := w.Write(benchBody32K); err != nil {
			return err
		}
	}
	return nil
})

// benchBrowserHeaders and benchAPIHeaders are typical request headers.
var (
	benchBrowserHeaders = map[string]string{
		"Accept":          "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
		"Accept-Language": "en-US,en;q=0.9",
		"User-Agent":      "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
	}
	benchAPIHeaders = map[string]string{
		"Accept":     "application/problem+json, application/json;q=0.9",
		"User-Agent": "api-client/1.0",
		"If-Match":   `"v41"`,
	}
)

// benchRun serves b.N requests, with the module when h is not nil.
func benchRun(b *testing.B, h *Handler, next caddyhttp.Handler, r *http.Request, rw *benchRW) {
	b.Helper()
	b.ReportAllocs()
	defer measureCPU(b)()
	for b.Loop() {
		rw.reset()
		benchForgetUUID(r)
		var err error
		if h != nil {
			err = h.ServeHTTP(rw, r, next)
		} else {
			err = next.ServeHTTP(rw, r)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

// benchCheck serves one request and fails the benchmark unless the response is
// what the case claims to measure.
func benchCheck(b *testing.B, h *Handler, next caddyhttp.Handler, r *http.Request, rw *benchRW, status int, ctPrefix string, minBytes int64) {
	b.Helper()
	rw.reset()
	var err error
	if h != nil {
		err = h.ServeHTTP(rw, r, next)
	} else {
		err = next.ServeHTTP(rw, r)
	}
	if err != nil {
		b.Fatal(err)
	}
	if rw.status != status || !strings.HasPrefix(rw.hdr.Get("Content-Type"), ctPrefix) || rw.n < minBytes {
		b.Fatalf("got %d %q, %d bytes; want %d %q, at least %d bytes",
			rw.status, rw.hdr.Get("Content-Type"), rw.n, status, ctPrefix, minBytes)
	}
}

// BenchmarkPass200 is the common case: a 200 of 1 KiB passes through
// untouched. The module must add no allocation and next to no time.
func BenchmarkPass200(b *testing.B) {
	for _, withModule := range []bool{false, true} {
		name := "without"
		if withModule {
			name = "with"
		}
		b.Run(name, func(b *testing.B) {
			rw := newBenchRW()
			r := benchRequest(b, http.MethodGet, "http://example.com/ok", benchBrowserHeaders, rw)
			var h *Handler
			if withModule {
				h = newBenchHandler(b, zap.NewNop())
			}
			benchCheck(b, h, benchNext200, r, rw, 200, "text/plain", 1024)
			b.SetBytes(int64(len(benchBody1K)))
			benchRun(b, h, benchNext200, r, rw)
		})
	}
}

// BenchmarkPass200Prepared is BenchmarkPass200 with the per-request set-up
// Caddy's server does anyway (caddyhttp.PrepareRequest) inside the loop:
// the module's share of a lighter-than-real request.
func BenchmarkPass200Prepared(b *testing.B) {
	for _, withModule := range []bool{false, true} {
		name := "without"
		if withModule {
			name = "with"
		}
		b.Run(name, func(b *testing.B) {
			rw := newBenchRW()
			base := httptest.NewRequest(http.MethodGet, "http://example.com/ok", nil)
			base.RemoteAddr = "127.0.0.1:50000"
			for k, v := range benchBrowserHeaders {
				base.Header.Set(k, v)
			}
			srv := &caddyhttp.Server{}
			var h *Handler
			if withModule {
				h = newBenchHandler(b, zap.NewNop())
			}
			b.SetBytes(int64(len(benchBody1K)))
			b.ReportAllocs()
			stop := measureCPU(b)
			for b.Loop() {
				rw.reset()
				r := caddyhttp.PrepareRequest(base, caddy.NewReplacer(), rw, srv)
				var err error
				if h != nil {
					err = h.ServeHTTP(rw, r, benchNext200)
				} else {
					err = benchNext200.ServeHTTP(rw, r)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			stop()
		})
	}
}

// BenchmarkBare409 is the error path: an empty 409 replaced by the cached
// page, negotiated as HTML for a browser and as problem+json for an API
// client, with its WARN record. With zap.NewNop() the record is built but
// not encoded, which is the module's own cost; with a JSON logger writing
// to io.Discard the record is encoded too. "without" is the empty 409
// leaving the chain as it is.
func BenchmarkBare409(b *testing.B) {
	formats := []struct {
		name   string
		hdr    map[string]string
		ct     string
		minLen int64
	}{
		{"html", benchBrowserHeaders, "text/html", 1000},
		{"json", benchAPIHeaders, "application/problem+json", 100},
	}
	loggers := []struct {
		name string
		new  func() *zap.Logger
	}{
		{"nop", zap.NewNop},
		{"jsonlog", benchJSONLogger},
	}
	for _, f := range formats {
		b.Run(f.name+"/without", func(b *testing.B) {
			rw := newBenchRW()
			r := benchRequest(b, http.MethodPut, "http://example.com/conflict", f.hdr, rw)
			benchCheck(b, nil, benchNextBare409, r, rw, 409, "", 0)
			benchRun(b, nil, benchNextBare409, r, rw)
		})
		for _, lg := range loggers {
			b.Run(f.name+"/with/"+lg.name, func(b *testing.B) {
				rw := newBenchRW()
				r := benchRequest(b, http.MethodPut, "http://example.com/conflict", f.hdr, rw)
				h := newBenchHandler(b, lg.new())
				benchCheck(b, h, benchNextBare409, r, rw, 409, f.ct, f.minLen)
				benchRun(b, h, benchNextBare409, r, rw)
			})
		}
	}
}

// BenchmarkStream409 is a 409 that is not bare: 64 KiB of text of unknown
// length in 32 KiB writes. The module holds it until the first write shows
// it is too long, then streams it on, keeping an excerpt for the record.
func BenchmarkStream409(b *testing.B) {
	cases := []struct {
		name   string
		module bool
		logger func() *zap.Logger
	}{
		{"without", false, nil},
		{"with/nop", true, zap.NewNop},
		{"with/jsonlog", true, benchJSONLogger},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			rw := newBenchRW()
			r := benchRequest(b, http.MethodPut, "http://example.com/conflict", benchAPIHeaders, rw)
			var h *Handler
			if c.module {
				h = newBenchHandler(b, c.logger())
			}
			benchCheck(b, h, benchNextStream409, r, rw, 409, "text/plain", 2*int64(len(benchBody32K)))
			b.SetBytes(2 * int64(len(benchBody32K)))
			benchRun(b, h, benchNextStream409, r, rw)
		})
	}
}

// BenchmarkBare409Encoded is BenchmarkBare409's HTML page for a browser
// that accepts compressed bodies: the page is spliced from its parts
// compressed once, in zstd or gzip, with the request id and time as raw
// blocks. "identity" is the same request with no Accept-Encoding.
func BenchmarkBare409Encoded(b *testing.B) {
	for _, c := range []struct{ name, ae, ce string }{
		{"identity", "", ""},
		{"gzip", "gzip", "gzip"},
		{"zstd", "gzip, deflate, br, zstd", "zstd"},
	} {
		b.Run(c.name, func(b *testing.B) {
			hdr := map[string]string{}
			for k, v := range benchBrowserHeaders {
				hdr[k] = v
			}
			if c.ae != "" {
				hdr["Accept-Encoding"] = c.ae
			}
			rw := newBenchRW()
			r := benchRequest(b, http.MethodPut, "http://example.com/conflict", hdr, rw)
			h := newBenchHandler(b, zap.NewNop())
			benchCheck(b, h, benchNextBare409, r, rw, 409, "text/html", 500)
			if got := rw.hdr.Get("Content-Encoding"); got != c.ce {
				b.Fatalf("Content-Encoding %q, want %q", got, c.ce)
			}
			benchRun(b, h, benchNextBare409, r, rw)
		})
	}
}
