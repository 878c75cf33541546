package caddymodule

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/explainerrors/caddy-explain-errors/explain"
)

// Fuzz targets of the module: the Caddyfile directive, and the response
// writer as a state machine driven by any sequence of what a handler can do
// to a ResponseWriter. Seed corpora are in testdata/fuzz/<FuzzName>/;
// .ci/fuzz.sh runs the targets. Every identifier here starts with fuzz, so
// that the other tests of the package can name theirs freely.

// ---------------------------------------------------------------------------
// FuzzCaddyfile

// fuzzTemplates are the template files a fuzzed Caddyfile can name: every
// template or page path is read from a temporary directory holding these,
// by its base name, so the fuzzer never reads files of the machine.
var fuzzTemplates = map[string]string{
	"good.html":  `<!doctype html><p>{{.Code}} {{.Text.Title}} {{.RequestID}} {{.Time}}</p>`,
	"parse.html": `<p>{{.Code</p>`,
	"exec.html":  `<p>{{.Nope}}</p>`,
	"empty.html": ``,
}

var fuzzCaddyfileSeeds = []string{
	`explain_errors`,
	"explain_errors {\n}",
	`explain_errors {
	log 409 412 5xx
	explain 4xx 503
	bare_max 1KiB
	excerpt 0
	stock_pages off
	handler_errors on
	site_name "Demo shop"
	contact mailto:ops@example.com
	template good.html
	page 409 good.html
	page 503 good.html
	log_rate 100/s
	log_rate_interval 30s
}`,
	"explain_errors {\n\tlog off\n\texplain off\n}",
	"explain_errors {\n\tlog off\n\tlog 409\n}",
	"explain_errors {\n\texplain 4XX\n\tbare_max 0\n}",
	"explain_errors {\n\tbare_max 1MiB\n\texcerpt 1MiB\n}",
	"explain_errors {\n\tcontact ops@example.com\n\tsite_name \"<b>Shop</b> & co\"\n}",
	"explain_errors {\n\tcontact https://example.com/help\n}",
	"explain_errors {\n\ttemplate parse.html\n}",
	"explain_errors {\n\tpage 409 exec.html\n}",
	"explain_errors {\n\tpage 418 missing.html\n}",
	"explain_errors {\n\ttemplate empty.html\n}",
	"explain_errors {\n\tcontact ftp://example.com\n}",
	"explain_errors {\n\tcontact \"Ops <ops@example.com>\"\n}",
	"explain_errors {\n\tlog_rate 6000/m\n\tlog_rate_interval 1h\n}",
	// invalid
	"explain_errors extra {\n}",
	"explain_errors {\n\tlog 409 99\n}",
	"explain_errors {\n\texplain 600\n}",
	"explain_errors {\n\tlog 4yy\n}",
	"explain_errors {\n\tlog 409 off\n}",
	"explain_errors {\n\tbare_max -3\n}",
	"explain_errors {\n\tbare_max 2MiB\n}",
	"explain_errors {\n\texcerpt 1 2\n}",
	"explain_errors {\n\tstock_pages maybe\n}",
	"explain_errors {\n\tpage 4xx /x.html\n}",
	"explain_errors {\n\tlog_rate 0/s\n}",
	"explain_errors {\n\tlog_rate 10/d\n}",
	"explain_errors {\n\tlog_rate_interval -1s\n}",
	"explain_errors {\n\tcolour red\n}",
	"explain_errors {\n\tlog 409 {\n\t}\n}",
	"explain_errors {\n\tsite_name `unterminated\n}",
}

// FuzzCaddyfile: any Caddyfile text goes through UnmarshalCaddyfile without
// panicking; what it accepts, compile either accepts or rejects with an
// error that names the module; and the JSON the Caddyfile adapter would
// produce from it compiles to the same working state (Provision runs on
// that JSON, not on the struct the Caddyfile filled).
func FuzzCaddyfile(f *testing.F) {
	for _, s := range fuzzCaddyfileSeeds {
		f.Add(s)
	}
	dir := f.TempDir()
	for name, src := range fuzzTemplates {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			f.Fatal(err)
		}
	}
	f.Fuzz(func(t *testing.T, input string) {
		if strings.Contains(input, "{$") {
			return // environment variables: the input would not be the test's alone
		}
		// NewTestDispenser exits the process on input the lexer rejects;
		// the lexer is Caddy's, not the module's
		if _, err := caddyfile.Tokenize([]byte(input), "Testfile"); err != nil {
			return
		}
		var h Handler
		if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(input)); err != nil {
			return
		}
		fuzzConfine(&h, dir)
		raw, err := json.Marshal(&h)
		if err != nil {
			t.Fatalf("marshalling the handler the Caddyfile made: %v", err)
		}
		h.logger = zap.NewNop()
		cerr := h.compile()
		if cerr != nil {
			if !strings.HasPrefix(cerr.Error(), "explain_errors:") {
				t.Fatalf("compile of an accepted Caddyfile failed with %q, which does not start with \"explain_errors:\"\n%s", cerr, input)
			}
		} else {
			if h.bareMax < 0 || h.bareMax > maxSize || h.excerpt < 0 || h.excerpt > maxSize {
				t.Fatalf("compiled bare_max %d, excerpt %d", h.bareMax, h.excerpt)
			}
			if err := h.Validate(); err != nil {
				t.Fatalf("Validate after compile: %v", err)
			}
		}
		if a, b, ok := fuzzAmbiguousPages(h.Pages); ok {
			// compile keys the pages by code, in map order: which file
			// serves the status, and whether the config is accepted at all,
			// would change from one load to the next
			t.Fatalf("UnmarshalCaddyfile accepted page lines %q and %q for one status; compile picks one at random\n%s", a, b, input)
		}
		var h2 Handler
		if err := json.Unmarshal(raw, &h2); err != nil {
			t.Fatalf("the handler's JSON %s does not unmarshal: %v", raw, err)
		}
		h2.logger = zap.NewNop()
		cerr2 := h2.compile()
		if (cerr == nil) != (cerr2 == nil) {
			t.Fatalf("compile from the Caddyfile: %v; from its JSON %s: %v", cerr, raw, cerr2)
		}
		if cerr == nil {
			got := [...]any{h2.logSet, h2.explainSet, h2.bareMax, h2.excerpt, h2.stockPages, h2.handlerErrors, h2.limit, h2.burst}
			want := [...]any{h.logSet, h.explainSet, h.bareMax, h.excerpt, h.stockPages, h.handlerErrors, h.limit, h.burst}
			if got != want {
				t.Fatalf("compiled from JSON %s:\n got  %v\n want %v", raw, got, want)
			}
		}
	})
}

// fuzzConfine points every template and page file of h into dir.
func fuzzConfine(h *Handler, dir string) {
	if h.Template != "" {
		h.Template = filepath.Join(dir, filepath.Base(h.Template))
	}
	for k, v := range h.Pages {
		h.Pages[k] = filepath.Join(dir, filepath.Base(v))
	}
}

// fuzzAmbiguousPages finds two keys of pages that name one status code,
// such as "409" and "0409".
func fuzzAmbiguousPages(pages map[string]string) (string, string, bool) {
	seen := map[int]string{}
	for k := range pages {
		code, err := strconv.Atoi(k)
		if err != nil {
			continue
		}
		if other, ok := seen[code]; ok {
			return min(k, other), max(k, other), true
		}
		seen[code] = k
	}
	return "", "", false
}

// ---------------------------------------------------------------------------
// FuzzWriter: the input, decoded

// The first three bytes of a FuzzWriter input configure the request and
// the handler; the rest is a sequence of operations, one byte each, most
// followed by one argument byte.
//
//	byte 0: bit 0 HEAD, bits 1-3 Accept, bit 4 Upgrade, bits 5-7 Accept-Language
//	byte 1: bits 0-2 bare_max, bit 3 stock_pages off, bit 4 handler_errors off
//	byte 2: the body source the writes take their bytes from
const (
	fuzzOpContentType  = iota // arg: fuzzContentTypes
	fuzzOpEncoding            // arg: fuzzEncodings
	fuzzOpLength              // arg: Content-Length right, wrong or absent
	fuzzOpOther               // arg: another header that matters
	fuzzOpWriteHeader         // arg: a status, fuzzStatus
	fuzzOpWriteHeader2        // the same, twice as likely
	fuzzOpWrite               // arg: N bytes of the source
	fuzzOpWrite2              // the same
	fuzzOpWrite3              // the same
	fuzzOpFlush               // no arg
	fuzzOpReadFrom            // arg: N bytes of the source, through io.Copy
	fuzzOpWriteRaw            // arg: N, then N bytes of the input itself
	fuzzOpReturn              // arg: nil, a HandlerError or a plain error; ends the sequence
	fuzzOpPanic               // no arg; ends the sequence
	fuzzOpWriteEdge           // arg: a size around bare_max
	fuzzOpWriteLarge          // arg: N*16+256 bytes of the source
	fuzzOps
)

const fuzzMaxOps = 64

var (
	fuzzAcceptValues = []string{
		"",
		"*/*",
		"text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
		"application/json",
		"application/problem+json",
		"text/plain",
		"text/html;q=0,*/*",
		"application/json;q=0.5, text/html;q=0.6",
	}
	fuzzLanguages    = []string{"", "de-DE,de;q=0.9", "ja", "xx", "pt-BR", "*", "zh-Hant", "ru;q=0"}
	fuzzBareMaxes    = []int{64, 64, 64, 0, 1, 16, 255, 512}
	fuzzContentTypes = []string{
		"", // deleted
		"text/plain",
		"text/plain; charset=utf-8",
		"text/html",
		"text/html; charset=utf-8",
		"application/json",
		"application/problem+json",
		"text/event-stream",
		" ", // set, blank
		"text/plain; charset",
	}
	fuzzEncodings = []string{"", "gzip", "GZIP", "identity", "br"}
	fuzzStatuses  = []int{103, 200, 204, 304, 400, 401, 404, 409, 412, 418, 423, 424, 428, 429, 451, 500, 502, 503, 504, 599}
)

// The bodies the writes take their bytes from, in turn and round again:
// servers' stock pages from the corpus of captured responses, an
// application's XHTML page, and others.
var (
	fuzzNginx409  = corpusBody("nginx-409-return-firefox")
	fuzzApache409 = corpusBody("apache-signature-on-409-dav-mkcol-chrome")
	fuzzTomcat409 = corpusBody("tomcat-409-senderror-chrome")
)

const (
	fuzzAppXHTML = "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\" \"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd\">\r\n" +
		"<html xmlns=\"http://www.w3.org/1999/xhtml\">\r\n<head>\r\n<title>404 - Page not found | Acme Shop</title>\r\n</head>\r\n" +
		"<body>\r\n<div id=\"content\">\r\n<h3>We could not find that page</h3>\r\n</div>\r\n</body>\r\n</html>\r\n"
	fuzzAppHTML = `<!doctype html><html><body><h1>Somebody else saved first</h1><p>Reload to see their version.</p></body></html>`
	fuzzProse   = "The document was changed by someone else since you opened it.\n"
)

var fuzzSources = [][]byte{
	[]byte(fuzzProse),
	[]byte(fuzzNginx409),
	[]byte(fuzzApache409),
	[]byte(fuzzTomcat409),
	[]byte(fuzzAppXHTML),
	fuzzGzip([]byte("Conflict\n")),
	fuzzGzip(bytes.Repeat([]byte(fuzzProse), 5)),
	[]byte("version\x00conflict\n"),
	[]byte("conflict \xff\xfe\n"),
	[]byte(`{"error":"version_conflict","current_version":"v7"}`),
	[]byte(fuzzAppHTML),
	[]byte("409 Conflict\n"),
}

func fuzzGzip(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

type fuzzOp struct {
	kind int
	arg  int
	body []byte // the bytes a write or ReadFrom writes
}

type fuzzInput struct {
	method, accept, language string
	upgrade                  bool
	bareMax                  int
	stockPages, handlerErrs  bool
	ops                      []fuzzOp
	// how the sequence ends: with ret returned, or with a panic
	ret       error
	retStatus int // the status Caddy gives ret
	panics    bool
}

// fuzzPanic is what a sequence that panics panics with.
var fuzzPanic = errors.New("fuzz: the handler panics")

func fuzzStatus(b byte) int {
	if b < 128 {
		return fuzzStatuses[int(b)%len(fuzzStatuses)]
	}
	return 400 + int(b-128)*200/128
}

func fuzzDecode(data []byte) fuzzInput {
	next := func() byte {
		if len(data) == 0 {
			return 0
		}
		b := data[0]
		data = data[1:]
		return b
	}
	c0, c1, c2 := next(), next(), next()
	in := fuzzInput{
		method:      http.MethodGet,
		accept:      fuzzAcceptValues[c0>>1&7],
		upgrade:     c0&16 != 0,
		language:    fuzzLanguages[c0>>5&7],
		bareMax:     fuzzBareMaxes[c1&7],
		stockPages:  c1&8 == 0,
		handlerErrs: c1&16 == 0,
	}
	if c0&1 != 0 {
		in.method = http.MethodHead
	}
	src := fuzzSources[int(c2)%len(fuzzSources)]
	off := 0
	take := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = src[off%len(src)]
			off++
		}
		return b
	}
	for len(data) > 0 && len(in.ops) < fuzzMaxOps {
		op := fuzzOp{kind: int(next()) % fuzzOps}
		switch op.kind {
		case fuzzOpFlush:
		case fuzzOpPanic:
			in.panics = true
			return in
		case fuzzOpReturn:
			b := next()
			switch {
			case b < 64:
			case b < 128:
				code := fuzzStatus(b - 64)
				in.ret, in.retStatus = caddyhttp.HandlerError{Err: errors.New("fuzz cause"), StatusCode: code}, code
			case b < 192:
				in.ret, in.retStatus = errors.New("fuzz: a plain error"), http.StatusInternalServerError
			default:
				in.ret, in.retStatus = caddyhttp.HandlerError{Err: errors.New("fuzz cause")}, http.StatusInternalServerError
			}
			return in
		case fuzzOpWrite, fuzzOpWrite2, fuzzOpWrite3, fuzzOpReadFrom:
			op.arg = int(next())
			op.body = take(op.arg)
		case fuzzOpWriteEdge:
			op.arg = max(0, []int{0, 1, in.bareMax - 1, in.bareMax, in.bareMax + 1, 2 * in.bareMax}[int(next())%6])
			op.body = take(op.arg)
		case fuzzOpWriteLarge:
			op.arg = int(next())*16 + 256
			op.body = take(op.arg)
		case fuzzOpWriteRaw:
			n := int(next())
			n = min(n, len(data))
			op.arg, op.body = n, bytes.Clone(data[:n])
			data = data[n:]
		default:
			op.arg = int(next())
		}
		in.ops = append(in.ops, op)
	}
	return in
}

// bodyLen is the number of body bytes the sequence writes: the right
// Content-Length.
func (in *fuzzInput) bodyLen() int {
	n := 0
	for _, op := range in.ops {
		n += len(op.body)
	}
	return n
}

func (in *fuzzInput) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s Accept %q Accept-Language %q upgrade=%v bare_max=%d stock_pages=%v handler_errors=%v\n",
		in.method, in.accept, in.language, in.upgrade, in.bareMax, in.stockPages, in.handlerErrs)
	for i, op := range in.ops {
		fmt.Fprintf(&b, "  %2d %s\n", i, in.describe(op))
	}
	switch {
	case in.panics:
		b.WriteString("  panic\n")
	case in.ret != nil:
		fmt.Fprintf(&b, "  return %v (status %d)\n", in.ret, in.retStatus)
	default:
		b.WriteString("  return nil\n")
	}
	return b.String()
}

func (in *fuzzInput) describe(op fuzzOp) string {
	switch op.kind {
	case fuzzOpContentType:
		return fmt.Sprintf("Content-Type %q", fuzzContentTypes[op.arg%len(fuzzContentTypes)])
	case fuzzOpEncoding:
		return fmt.Sprintf("Content-Encoding %q", fuzzEncodings[op.arg%len(fuzzEncodings)])
	case fuzzOpLength:
		return fmt.Sprintf("Content-Length %q", in.contentLength(op.arg))
	case fuzzOpOther:
		k, v := fuzzOther(op.arg)
		return fmt.Sprintf("%s %q", k, v)
	case fuzzOpWriteHeader, fuzzOpWriteHeader2:
		return fmt.Sprintf("WriteHeader(%d)", fuzzStatus(byte(op.arg)))
	case fuzzOpFlush:
		return "Flush"
	case fuzzOpReadFrom:
		return fmt.Sprintf("ReadFrom %d bytes %.40q", len(op.body), op.body)
	}
	return fmt.Sprintf("Write %d bytes %.40q", len(op.body), op.body)
}

// contentLength is the Content-Length value of a fuzzOpLength, "" to
// delete it.
func (in *fuzzInput) contentLength(arg int) string {
	right := in.bodyLen()
	switch arg % 8 {
	case 0:
		return ""
	case 2:
		return strconv.Itoa(right + 1)
	case 3:
		return strconv.Itoa(max(0, right-1))
	case 4:
		return "0"
	case 5:
		return "abc"
	case 6:
		return "-1"
	}
	return strconv.Itoa(right)
}

func fuzzOther(arg int) (string, string) {
	switch arg % 10 {
	case 8:
		return "Trailer", "X-Checksum"
	case 9:
		return "X-Checksum", "c2f1"
	case 0:
		return "Content-Range", "bytes 0-9/100"
	case 1:
		return "Incremental", "?1"
	case 2:
		return "Etag", `"v7"`
	case 3:
		return "X-App", "kept"
	case 4:
		return "Content-Range", "" // deleted, and Incremental with it
	case 5:
		return "Vary", "Origin"
	case 6:
		return "Last-Modified", "Mon, 06 May 2024 07:08:09 GMT"
	}
	return "Content-Type", "+application/json" // a second value
}

// serve plays the sequence on w, calling after once each operation is done.
func (in *fuzzInput) serve(w http.ResponseWriter, after func(i int)) error {
	for i, op := range in.ops {
		hdr := w.Header()
		switch op.kind {
		case fuzzOpContentType:
			if v := fuzzContentTypes[op.arg%len(fuzzContentTypes)]; v == "" {
				hdr.Del("Content-Type")
			} else {
				hdr.Set("Content-Type", v)
			}
		case fuzzOpEncoding:
			if v := fuzzEncodings[op.arg%len(fuzzEncodings)]; v == "" {
				hdr.Del("Content-Encoding")
			} else {
				hdr.Set("Content-Encoding", v)
			}
		case fuzzOpLength:
			if v := in.contentLength(op.arg); v == "" {
				hdr.Del("Content-Length")
			} else {
				hdr.Set("Content-Length", v)
			}
		case fuzzOpOther:
			switch k, v := fuzzOther(op.arg); {
			case v == "":
				hdr.Del(k)
				hdr.Del("Incremental")
			case strings.HasPrefix(v, "+"):
				hdr.Add(k, v[1:])
			default:
				hdr.Set(k, v)
			}
		case fuzzOpWriteHeader, fuzzOpWriteHeader2:
			w.WriteHeader(fuzzStatus(byte(op.arg)))
		case fuzzOpFlush:
			http.NewResponseController(w).Flush()
		case fuzzOpReadFrom:
			io.Copy(w, fuzzReaderOnly{bytes.NewReader(op.body)})
		default:
			w.Write(op.body)
		}
		after(i)
	}
	if in.panics {
		panic(fuzzPanic)
	}
	return in.ret
}

// fuzzReaderOnly hides bytes.Reader's WriteTo, so io.Copy takes the
// writer's ReadFrom.
type fuzzReaderOnly struct{ io.Reader }

// ---------------------------------------------------------------------------
// FuzzWriter: what reaches the client

// fuzzRecorder is what the client gets, as net/http would send it: 1xx
// responses as they come, the first final status with the header as it was
// then, no body for HEAD, 204 and 304, and later statuses ignored. It does
// not enforce Content-Length.
type fuzzRecorder struct {
	head   bool
	header http.Header

	infos  []fuzzInfo
	status int         // the final status, 0 while there is none
	sent   http.Header // the header sent with it
	finals int         // final WriteHeader calls, superfluous ones too
	// attempted is every body byte written after the final status (for
	// HEAD too); body is what of it the client gets
	attempted, body []byte
	flushes         int
	readFroms       int

	// the module's writer above, whose hold is checked on every write
	mod     *writer
	bareMax int
	t       *testing.T
}

type fuzzInfo struct {
	code   int
	header http.Header
}

func newFuzzRecorder(t *testing.T, method string, bareMax int) *fuzzRecorder {
	return &fuzzRecorder{t: t, head: method == http.MethodHead, header: http.Header{}, bareMax: bareMax}
}

func (r *fuzzRecorder) Header() http.Header { return r.header }

func (r *fuzzRecorder) WriteHeader(code int) {
	if r.status != 0 {
		r.finals++ // net/http logs a superfluous WriteHeader and ignores it
		return
	}
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		r.infos = append(r.infos, fuzzInfo{code, r.header.Clone()})
		return
	}
	r.finals++
	r.status = code
	r.sent = r.header.Clone()
}

func (r *fuzzRecorder) Write(p []byte) (int, error) {
	if r.mod != nil {
		if why := fuzzHeldTooMuch(r.mod); why != "" {
			r.t.Errorf("while writing, %s", why)
		}
	}
	if r.status == 0 {
		r.WriteHeader(http.StatusOK)
	}
	if r.status == http.StatusNoContent || r.status == http.StatusNotModified {
		return 0, http.ErrBodyNotAllowed
	}
	r.attempted = append(r.attempted, p...)
	if !r.head {
		r.body = append(r.body, p...)
	}
	return len(p), nil
}

func (r *fuzzRecorder) FlushError() error {
	if r.status == 0 {
		r.WriteHeader(http.StatusOK)
	}
	r.flushes++
	return nil
}

func (r *fuzzRecorder) Flush() { _ = r.FlushError() }

// ReadFrom commits the status, as Caddy's own response recorder (in front
// of net/http whenever access logs are on) and the module do; net/http's
// response alone would not for an empty source.
func (r *fuzzRecorder) ReadFrom(src io.Reader) (int64, error) {
	r.readFroms++
	if r.status == 0 {
		r.WriteHeader(http.StatusOK)
	}
	return io.Copy(writerOnly{r}, src)
}

// clientStatus is the status the client gets: the final one written, else
// the one Caddy answers a returned error with, else net/http's 200.
func (r *fuzzRecorder) clientStatus(err error, errStatus int) int {
	switch {
	case r.status != 0:
		return r.status
	case err != nil:
		return errStatus
	}
	return http.StatusOK
}

// ---------------------------------------------------------------------------
// FuzzWriter: the handler

type fuzzHandlerKey struct {
	bareMax                 int
	stockPages, handlerErrs bool
}

type fuzzHandler struct {
	h    *Handler
	logs *observer.ObservedLogs
}

var (
	fuzzHandlersMu sync.Mutex
	fuzzHandlers   = map[fuzzHandlerKey]fuzzHandler{}
)

// fuzzHandlerFor builds the handler as Provision does, minus caddy.Context,
// once per configuration; its writers are pooled across inputs, as they
// are across requests.
func fuzzHandlerFor(t *testing.T, k fuzzHandlerKey) fuzzHandler {
	fuzzHandlersMu.Lock()
	defer fuzzHandlersMu.Unlock()
	if fh, ok := fuzzHandlers[k]; ok {
		return fh
	}
	bm, sp, he := k.bareMax, k.stockPages, k.handlerErrs
	h := &Handler{BareMax: &bm, StockPages: &sp, HandlerErrors: &he, SiteName: "Fuzz shop", Contact: "mailto:owner@example.com"}
	core, logs := observer.New(zapcore.DebugLevel)
	h.logger = zap.New(core)
	if err := h.compile(); err != nil {
		t.Fatalf("compile: %v", err)
	}
	h.pool = &sync.Pool{New: func() any { return new(writer) }}
	// the flush timer never fires within an input, so that an input's
	// outcome does not depend on the machine's speed; TestFlushTimer*
	// drive it with a real clock
	h.flushRelease = time.Hour
	fh := fuzzHandler{h, logs}
	fuzzHandlers[k] = fh
	return fh
}

func (in *fuzzInput) request(w http.ResponseWriter) (*http.Request, string) {
	r := httptest.NewRequest(in.method, "http://example.com/docs/report.odt?token=s3cret", nil)
	if in.accept != "" {
		r.Header.Set("Accept", in.accept)
	}
	if in.language != "" {
		r.Header.Set("Accept-Language", in.language)
	}
	if in.upgrade {
		r.Header.Set("Connection", "Upgrade")
		r.Header.Set("Upgrade", "websocket")
	}
	r.Header.Set("If-Match", `"v6"`)
	// as Caddy's server does, so that {http.request.uuid} works
	repl := caddy.NewReplacer()
	r = caddyhttp.PrepareRequest(r, repl, w, &caddyhttp.Server{})
	id, _ := repl.GetString("http.request.uuid")
	return r, id
}

// fuzzRun plays in on rec, through the module when fh is not nil, and
// returns what ServeHTTP (or next) returned, or the value it panicked with.
func fuzzRun(t *testing.T, in *fuzzInput, fh *fuzzHandler, rec *fuzzRecorder, after func(i int)) (err error, panicked any) {
	r, _ := in.request(rec)
	return fuzzRunRequest(t, in, fh, rec, r, after)
}

func fuzzRunRequest(t *testing.T, in *fuzzInput, fh *fuzzHandler, rec *fuzzRecorder, r *http.Request, after func(i int)) (err error, panicked any) {
	defer func() { panicked = recover() }()
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		if fh != nil {
			mod, ok := w.(*writer)
			if !ok {
				t.Fatalf("next got a %T, not the module's writer", w)
			}
			rec.mod = mod
		}
		return in.serve(w, after)
	})
	if fh == nil {
		return next.ServeHTTP(rec, r), nil
	}
	return fh.h.ServeHTTP(rec, r, next), nil
}

// ---------------------------------------------------------------------------
// FuzzWriter

// fuzzSeed builds a FuzzWriter input from its three configuration bytes
// and its operations.
func fuzzSeed(c0, c1, c2 byte, ops ...byte) []byte { return append([]byte{c0, c1, c2}, ops...) }

// Configuration bytes of the seeds.
const (
	fuzzGET       = 0
	fuzzHEAD      = 1
	fuzzBrowser   = 2 << 1
	fuzzJSON      = 3 << 1
	fuzzCurl      = 1 << 1
	fuzzUpgrade   = 16
	fuzzGerman    = 1 << 5
	fuzzBare64    = 0
	fuzzBare0     = 3
	fuzzBare255   = 6
	fuzzBare512   = 7
	fuzzStockOff  = 8
	fuzzErrorsOff = 16
)

// Sources and arguments of the seeds.
const (
	fuzzSrcProse = iota
	fuzzSrcNginx
	fuzzSrcApache
	fuzzSrcTomcat
	fuzzSrcAppXHTML
	fuzzSrcGzipShort
	fuzzSrcGzipLong
	fuzzSrcNUL
	fuzzSrcInvalidUTF8
	fuzzSrcJSON
	fuzzSrcAppHTML
	fuzzSrcShortPlain
)

const (
	fuzzCTNone  = 0
	fuzzCTPlain = 1
	fuzzCTHTML  = 3
	fuzzCTJSON  = 5
	fuzzCLNone  = 0
	fuzzCLRight = 1
	fuzzCLMore  = 2
	fuzzCLLess  = 3
	fuzzCLZero  = 4
	fuzzCLBad   = 5
	// fuzzStatus arguments
	fuzzS103 = 0
	fuzzS200 = 1
	fuzzS204 = 2
	fuzzS304 = 3
	fuzzS404 = 6
	fuzzS409 = 7
	fuzzS412 = 8
	fuzzS502 = 16
	fuzzS599 = 19
	// fuzzOpReturn arguments
	fuzzRetNil   = 0
	fuzzRet409   = 64 + fuzzS409 // a HandlerError of fuzzStatus(arg-64)
	fuzzRetPlain = 128
	fuzzRetZero  = 192
)

var fuzzWriterSeeds = [][]byte{
	// an empty 409, for each kind of client
	fuzzSeed(fuzzGET|fuzzBrowser, fuzzBare64, 0, fuzzOpWriteHeader, fuzzS409, fuzzOpReturn, fuzzRetNil),
	fuzzSeed(fuzzHEAD|fuzzJSON|fuzzGerman, fuzzBare64, 0, fuzzOpLength, fuzzCLZero, fuzzOpWriteHeader, fuzzS409),
	// short plain text, announced
	fuzzSeed(fuzzGET|fuzzCurl, fuzzBare64, fuzzSrcShortPlain, fuzzOpContentType, fuzzCTPlain, fuzzOpLength, fuzzCLRight, fuzzOpWriteHeader, fuzzS409, fuzzOpWrite, 13),
	// plain text that grows past bare_max in the second write
	fuzzSeed(fuzzGET|fuzzBrowser, fuzzBare64, fuzzSrcProse, fuzzOpContentType, fuzzCTPlain, fuzzOpWriteHeader, fuzzS412, fuzzOpWrite, 40, fuzzOpWrite, 40),
	// exactly bare_max, then one more byte
	fuzzSeed(fuzzGET|fuzzJSON, fuzzBare64, fuzzSrcProse, fuzzOpWriteHeader, fuzzS409, fuzzOpWriteEdge, 3),
	fuzzSeed(fuzzGET|fuzzJSON, fuzzBare64, fuzzSrcProse, fuzzOpWriteHeader, fuzzS409, fuzzOpWriteEdge, 3, fuzzOpWriteEdge, 1),
	// stock pages
	fuzzSeed(fuzzGET|fuzzBrowser, fuzzBare255, fuzzSrcNginx, fuzzOpContentType, fuzzCTHTML, fuzzOpWriteHeader, fuzzS409, fuzzOpWrite, 100, fuzzOpWrite, 100),
	fuzzSeed(fuzzGET|fuzzBrowser, fuzzBare512, fuzzSrcApache, fuzzOpContentType, fuzzCTHTML, fuzzOpLength, fuzzCLRight, fuzzOpWriteHeader, fuzzS409, fuzzOpWrite, 255, fuzzOpWrite, 45),
	fuzzSeed(fuzzGET|fuzzCurl, fuzzBare64, fuzzSrcTomcat, fuzzOpContentType, fuzzCTHTML, fuzzOpWriteHeader, fuzzS409, fuzzOpWrite, 30, fuzzOpWrite, 60, fuzzOpWriteLarge, 10),
	fuzzSeed(fuzzHEAD|fuzzBrowser, fuzzBare64, fuzzSrcAppXHTML, fuzzOpContentType, fuzzCTHTML, fuzzOpWriteHeader, fuzzS404, fuzzOpWriteLarge, 5),
	fuzzSeed(fuzzGET|fuzzBrowser, fuzzBare255|fuzzStockOff, fuzzSrcNginx, fuzzOpContentType, fuzzCTHTML, fuzzOpWriteHeader, fuzzS409, fuzzOpWrite, 200),
	// gzip: whole and short, corrupt, long
	fuzzSeed(fuzzGET|fuzzJSON, fuzzBare64, fuzzSrcGzipShort, fuzzOpContentType, fuzzCTPlain, fuzzOpEncoding, 1, fuzzOpWriteHeader, fuzzS409, fuzzOpWrite, byte(len(fuzzSources[fuzzSrcGzipShort]))),
	fuzzSeed(fuzzGET|fuzzJSON, fuzzBare64, fuzzSrcGzipShort, fuzzOpEncoding, 2, fuzzOpWriteHeader, fuzzS409, fuzzOpWrite, 10),
	fuzzSeed(fuzzGET|fuzzBrowser, fuzzBare255, fuzzSrcGzipLong, fuzzOpEncoding, 1, fuzzOpWriteHeader, fuzzS502, fuzzOpWrite, byte(len(fuzzSources[fuzzSrcGzipLong]))),
	// typed bodies, late headers, bodies that are not text
	fuzzSeed(fuzzGET|fuzzBrowser, fuzzBare64, fuzzSrcJSON, fuzzOpContentType, fuzzCTJSON, fuzzOpWriteHeader, fuzzS409, fuzzOpWrite, 51),
	fuzzSeed(fuzzGET|fuzzBrowser, fuzzBare64, fuzzSrcJSON, fuzzOpWriteHeader, fuzzS409, fuzzOpContentType, fuzzCTJSON, fuzzOpOther, 3, fuzzOpWrite, 51),
	fuzzSeed(fuzzGET|fuzzCurl, fuzzBare64, fuzzSrcNUL, fuzzOpWriteHeader, fuzzS409, fuzzOpWrite, 17),
	fuzzSeed(fuzzGET|fuzzCurl, fuzzBare64, fuzzSrcInvalidUTF8, fuzzOpOther, 0, fuzzOpWriteHeader, fuzzS409, fuzzOpWrite, 12),
	// 103 then a conflict; two final statuses; a write before any status
	fuzzSeed(fuzzGET|fuzzBrowser, fuzzBare64, 0, fuzzOpOther, 5, fuzzOpWriteHeader, fuzzS103, fuzzOpWriteHeader, fuzzS409, fuzzOpReturn, fuzzRetNil),
	fuzzSeed(fuzzGET|fuzzBrowser, fuzzBare64, 0, fuzzOpWriteHeader, fuzzS409, fuzzOpWriteHeader, fuzzS200, fuzzOpWrite, 5),
	fuzzSeed(fuzzGET|fuzzBrowser, fuzzBare64, 0, fuzzOpWrite, 5, fuzzOpWriteHeader, fuzzS409),
	// flushes, ReadFrom, 204 and 304 with bodies
	fuzzSeed(fuzzGET|fuzzCurl, fuzzBare64, 0, fuzzOpWriteHeader, fuzzS409, fuzzOpFlush, fuzzOpWrite, 10, fuzzOpFlush, fuzzOpWrite, 100, fuzzOpFlush),
	fuzzSeed(fuzzGET|fuzzCurl, fuzzBare64, 0, fuzzOpLength, fuzzCLRight, fuzzOpWriteHeader, fuzzS200, fuzzOpReadFrom, 200, fuzzOpReadFrom, 0),
	fuzzSeed(fuzzGET|fuzzCurl, fuzzBare64, 0, fuzzOpWriteHeader, fuzzS599, fuzzOpReadFrom, 0, fuzzOpReadFrom, 64, fuzzOpReadFrom, 1),
	fuzzSeed(fuzzGET|fuzzCurl, fuzzBare64, 0, fuzzOpWriteHeader, fuzzS204, fuzzOpWrite, 10, fuzzOpWriteHeader, fuzzS304, fuzzOpWrite, 1),
	// wrong Content-Length
	fuzzSeed(fuzzGET|fuzzCurl, fuzzBare64, 0, fuzzOpLength, fuzzCLMore, fuzzOpWriteHeader, fuzzS409, fuzzOpWrite, 10),
	fuzzSeed(fuzzGET|fuzzCurl, fuzzBare64, fuzzSrcNUL, fuzzOpLength, fuzzCLLess, fuzzOpWriteHeader, fuzzS409, fuzzOpWrite, 30),
	fuzzSeed(fuzzHEAD|fuzzCurl, fuzzBare64, 0, fuzzOpLength, fuzzCLBad, fuzzOpWriteHeader, fuzzS409, fuzzOpWrite, 10),
	// handler errors: with nothing written, after a status, handler_errors off
	fuzzSeed(fuzzGET|fuzzBrowser, fuzzBare64, 0, fuzzOpReturn, fuzzRet409),
	fuzzSeed(fuzzGET|fuzzJSON, fuzzBare64, 0, fuzzOpOther, 3, fuzzOpReturn, fuzzRetPlain),
	fuzzSeed(fuzzGET|fuzzJSON, fuzzBare64, 0, fuzzOpReturn, fuzzRetZero),
	fuzzSeed(fuzzGET|fuzzCurl, fuzzBare64, 0, fuzzOpWriteHeader, fuzzS502, fuzzOpWrite, 5, fuzzOpReturn, fuzzRet409),
	fuzzSeed(fuzzGET|fuzzCurl, fuzzBare64|fuzzErrorsOff, 0, fuzzOpReturn, fuzzRet409),
	fuzzSeed(fuzzGET|fuzzCurl, fuzzBare64, 0, fuzzOpWriteHeader, fuzzS103, fuzzOpReturn, 64+40),
	// panics
	fuzzSeed(fuzzGET|fuzzCurl, fuzzBare64, 0, fuzzOpWriteHeader, fuzzS409, fuzzOpWrite, 4, fuzzOpPanic),
	fuzzSeed(fuzzGET|fuzzCurl, fuzzBare64, 0, fuzzOpPanic),
	// upgrades; bare_max 0
	fuzzSeed(fuzzGET|fuzzBrowser|fuzzUpgrade, fuzzBare64, 0, fuzzOpWriteHeader, fuzzS409, fuzzOpReturn, fuzzRet409),
	fuzzSeed(fuzzGET|fuzzCurl, fuzzBare0, 0, fuzzOpWriteHeader, fuzzS409, fuzzOpWrite, 0, fuzzOpWrite, 1),
	// raw bodies from the input
	fuzzSeed(fuzzGET|fuzzBrowser, fuzzBare64, 0, fuzzOpContentType, fuzzCTHTML, fuzzOpWriteHeader, fuzzS409, fuzzOpWriteRaw, 6, '<', 'h', 't', 'm', 'l', '>'),
}

// FuzzWriter drives the real Handler with a sequence of operations on the
// ResponseWriter it hands to next, and the same sequence on a plain
// recorder without the module, and checks on every input:
//
//   - nothing panics but a sequence that panics, whose panic goes on;
//   - after every operation, the module holds at most bare_max+1 bytes, or,
//     of HTML with stock pages on, up to the stock hold while the (decoded)
//     bytes can still be a stock page; and the client has got either
//     exactly the bytes the sequence wrote so far or nothing, while they
//     may still be bare;
//   - the client gets the status it would get without the module (for a
//     returned error with nothing written, the error's);
//   - the client gets either exactly what it would get without the module
//     (status, header as at WriteHeader, body), or one complete page in the
//     negotiated format with a right Content-Length, and then only for a
//     response the README says may be bare;
//   - the README's promised pages do come: for an empty body of a status in
//     the explain set ("empty ..., whatever its type"; HEAD alike, since a
//     handler inside Caddy writes for HEAD what it writes for GET), but not
//     for an event stream, and for a returned error with nothing written;
//   - declared trailers set after the status reach the client;
//   - the log records: one WARN record when the status is in the log set,
//     saying whether the visitor got a page, and otherwise one record for an
//     error that the module answered with a page, at Caddy's level for it
//     (DEBUG below 500, ERROR from 500), and none else.
//
// The flush timer is set to an hour here, so that no input's outcome
// depends on the machine's speed; TestFlush* drive it with a real clock.
func FuzzWriter(f *testing.F) {
	for _, s := range fuzzWriterSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in := fuzzDecode(data)
		fuzzCheck(t, &in)
	})
}

// fuzzCheck runs in through the module and without it, checks what the
// client got, and says how it ended: "passed", "page" or "panicked".
func fuzzCheck(t *testing.T, in *fuzzInput) string {
	fh := fuzzHandlerFor(t, fuzzHandlerKey{in.bareMax, in.stockPages, in.handlerErrs})
	h := fh.h
	fh.logs.TakeAll()

	// the reference: the same sequence without the module
	ref := newFuzzRecorder(t, in.method, in.bareMax)
	refAttempted := make([]int, len(in.ops))
	refErr, refPanic := fuzzRun(t, in, nil, ref, func(i int) { refAttempted[i] = len(ref.attempted) })
	if refErr != in.ret || (refPanic != nil) != in.panics {
		t.Fatalf("the sequence alone returned %v, panicked %v\n%s", refErr, refPanic, in)
	}

	rec := newFuzzRecorder(t, in.method, in.bareMax)
	r, id := in.request(rec)
	refKind := func() explain.BodyKind { return explain.KindOf(ref.sent.Get("Content-Type")) }
	mayHold := func(att []byte) bool {
		// the module may keep back what the sequence wrote while it is
		// within bare_max, or, for HTML, within the stock hold while its
		// (decoded) bytes can still be a stock page
		if len(att) <= in.bareMax {
			return true
		}
		if refKind() != explain.KindHTML || !in.stockPages || len(att) > h.stockMax() {
			return false
		}
		body := att
		if fuzzGzipped(ref.sent) {
			body = fuzzGunzipPrefix(att, h.stockMax()+1)
		}
		return len(body) <= in.bareMax || len(body) <= h.stockMax() && explain.MayBeStock(body)
	}
	err, panicked := fuzzRunRequest(t, in, &fh, rec, r, func(i int) {
		if why := fuzzHeldTooMuch(rec.mod); why != "" {
			t.Fatalf("after operation %d %s\n%s", i, why, in)
		}
		want := ref.attempted[:refAttempted[i]]
		if !bytes.Equal(rec.attempted, want) && (len(rec.attempted) != 0 || !mayHold(want)) {
			t.Fatalf("after operation %d the client got %d body bytes %.60q, want the %d the sequence wrote %.60q\n%s",
				i, len(rec.attempted), rec.attempted, len(want), want, in)
		}
	})
	es := fh.logs.TakeAll()
	if t.Failed() {
		t.FailNow()
	}
	// the status the module decided on, if any
	status := ref.status
	if status == 0 && in.ret != nil {
		status = in.retStatus
	}

	if in.panics {
		if panicked != fuzzPanic {
			t.Fatalf("ServeHTTP recovered %v; the handler's panic must go on\n%s", panicked, in)
		}
		n := 0
		if ref.status != 0 && h.logSet.has(ref.status) {
			n = 1
		}
		fuzzCheckRecords(t, in, es, n, zapcore.WarnLevel, ref.status, false)
		return "panicked"
	}
	if panicked != nil {
		t.Fatalf("ServeHTTP panicked: %v\n%s", panicked, in)
	}

	if got, want := rec.clientStatus(err, in.retStatus), ref.clientStatus(in.ret, in.retStatus); got != want {
		t.Fatalf("the client got status %d, without the module %d\n%s", got, want, in)
	}
	if !reflect.DeepEqual(rec.infos, ref.infos) {
		t.Fatalf("informational responses %v, without the module %v\n%s", rec.infos, ref.infos, in)
	}
	if rec.flushes > ref.flushes {
		t.Fatalf("%d flushes reached the client, the sequence made %d\n%s", rec.flushes, ref.flushes, in)
	}

	passed := rec.status == ref.status && bytes.Equal(rec.body, ref.body) && reflect.DeepEqual(rec.sent, ref.sent)
	if passed {
		if err != in.ret {
			t.Fatalf("ServeHTTP returned %v, next returned %v\n%s", err, in.ret, in)
		}
		if must, why := fuzzMustExplain(in, h, ref); must {
			t.Fatalf("%s passed unexplained: the client got %d %v %.100q\n%s", why, rec.status, rec.sent, rec.body, in)
		}
		// declared trailers set after the status reach the client as next set them
		for _, d := range ref.sent.Values("Trailer") {
			for name := range strings.SplitSeq(d, ",") {
				name = strings.TrimSpace(name)
				if got, want := rec.header.Values(name), ref.header.Values(name); !reflect.DeepEqual(got, want) {
					t.Fatalf("trailer %s: %q, without the module %q\n%s", name, got, want, in)
				}
			}
		}
	} else {
		fuzzCheckPage(t, in, h, rec, ref, err, status, id)
	}

	switch {
	case status != 0 && h.logSet.has(status):
		fuzzCheckRecords(t, in, es, 1, zapcore.WarnLevel, status, !passed)
	case in.ret != nil && !passed:
		// at the level Caddy logs the error at: DEBUG below 500
		level := zapcore.DebugLevel
		if in.retStatus >= 500 {
			level = zapcore.ErrorLevel
		}
		fuzzCheckRecords(t, in, es, 1, level, status, true)
	default:
		fuzzCheckRecords(t, in, es, 0, 0, 0, false)
	}
	if passed {
		return "passed"
	}
	return "page"
}

// fuzzCheckPage checks that what the client got is one whole page for the
// status, in the negotiated format, in place of a response the module may
// call bare.
func fuzzCheckPage(t *testing.T, in *fuzzInput, h *Handler, rec, ref *fuzzRecorder, err error, status int, id string) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("the client got neither the response next wrote nor a page: "+format+
			"\n--- got %d %v\n%.300q\n--- without the module %d %v\n%.300q\n%s",
			append(args, rec.status, rec.sent, rec.body, ref.status, ref.sent, ref.body, in)...)
	}
	if rec.status != status || rec.finals != 1 {
		fail("status %d (%d final WriteHeader calls), want %d once", rec.status, rec.finals, status)
	}
	if err != nil {
		fail("ServeHTTP returned %v after answering with a page", err)
	}
	if !h.explainSet.has(status) {
		fail("a page for %d, which is not in the explain set", status)
	}
	if in.upgrade {
		fail("a page for a request with Upgrade")
	}
	hdr := rec.sent
	f := explain.NegotiateFormat(in.accept)
	if ct := hdr.Get("Content-Type"); ct != f.ContentType() {
		fail("Content-Type %q, want %q for Accept %q", ct, f.ContentType(), in.accept)
	}
	if v := hdr.Values("Content-Encoding"); len(v) != 0 {
		fail("a page with Content-Encoding %q", v)
	}
	if v := hdr.Values("Content-Length"); len(v) != 1 {
		fail("Content-Length %q", v)
	}
	cl, clErr := strconv.Atoi(hdr.Get("Content-Length"))
	if in.method == http.MethodHead {
		if len(rec.body) != 0 || clErr != nil || cl <= 0 {
			fail("HEAD page with Content-Length %q and a body of %d bytes", hdr.Get("Content-Length"), len(rec.body))
		}
	} else {
		body := rec.body
		if clErr != nil || cl != len(body) {
			fail("Content-Length %q, body %d bytes", hdr.Get("Content-Length"), len(body))
		}
		if !bytes.Contains(body, []byte(id)) || id == "" {
			fail("the page lacks the request id %q", id)
		}
		switch f {
		case explain.FormatJSON:
			var m map[string]any
			if err := json.Unmarshal(body, &m); err != nil || m["status"] != float64(status) {
				fail("problem+json: %v, status %v", err, m["status"])
			}
		case explain.FormatHTML:
			if !bytes.HasPrefix(body, []byte("<!doctype html>")) || !bytes.HasSuffix(body, []byte("</html>\n")) {
				fail("HTML page is not one whole document")
			}
		default:
			if !bytes.HasPrefix(body, []byte(strconv.Itoa(status)+" ")) || !utf8.Valid(body) {
				fail("text page does not start with its status")
			}
		}
	}

	if ref.status == 0 {
		// nothing was written: the page answers the returned error
		if in.ret == nil || !h.handlerErrors {
			fail("a page though next wrote nothing and returned %v (handler_errors %v)", in.ret, h.handlerErrors)
		}
		return
	}
	// what next wrote must have been bare, as far as the README promises
	sent, att := ref.sent, ref.attempted
	_, typed := sent["Content-Type"]
	kind := explain.KindOf(sent.Get("Content-Type"))
	ce := sent.Get("Content-Encoding")
	gzipped := fuzzGzipped(sent)
	switch {
	case sent.Get("Content-Range") != "" || caddyhttp.IsIncremental(sent):
		fail("replaced a partial or incremental body")
	case ce != "" && !strings.EqualFold(ce, "identity") && !gzipped:
		fail("replaced a body with Content-Encoding %q", ce)
	}
	if v := sent.Get("Content-Length"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			fail("replaced a body with Content-Length %q", v)
		}
		budget := int64(h.bareMax)
		if kind == explain.KindOther {
			budget = 0
		}
		if n > budget && (kind != explain.KindHTML || !h.stockPages || n > int64(h.stockMax())) {
			fail("replaced a body announced as %d bytes, which cannot be bare", n)
		}
	}
	if isEventStream(sent.Get("Content-Type")) {
		fail("replaced an event stream")
	}
	if len(att) == 0 {
		// empty is bare, whatever the type; a handler inside Caddy writes
		// for HEAD what it writes for GET, so HEAD is judged alike
		return
	}
	switch kind {
	case explain.KindOther:
		fail("replaced a typed body (%q) of %d bytes", sent.Get("Content-Type"), len(att))
	case explain.KindHTML:
		if !h.stockPages {
			fail("replaced HTML with stock_pages off")
		}
	}
	// HTML may be a stock page up to the stock hold; anything else is
	// bare only within bare_max
	limit := h.bareMax
	if kind == explain.KindHTML {
		limit = h.stockMax()
	}
	if len(att) > limit {
		fail("replaced a body of %d bytes, the most that can be bare is %d", len(att), limit)
	}
	body := att
	if gzipped {
		zr, err := gzip.NewReader(bytes.NewReader(att))
		if err != nil {
			fail("replaced a corrupt gzip body")
		}
		body, err = io.ReadAll(io.LimitReader(zr, int64(limit)+1))
		if err != nil || len(body) > limit {
			fail("replaced a gzip body that does not decode within %d bytes (%v, %d bytes)", limit, err, len(body))
		}
		if len(body) == 0 {
			return
		}
	}
	switch kind {
	case explain.KindPlain:
		if !typed && explain.LooksStructured(body) {
			fail("replaced an untyped body that looks like JSON or markup")
		}
		if len(body) > h.bareMax || !utf8.Valid(body) || bytes.IndexByte(body, 0) >= 0 {
			fail("replaced a plain body that is not short text")
		}
	case explain.KindHTML:
		if explain.StockServer(body, true) == "" {
			fail("replaced HTML that is no stock page")
		}
	}
}

// fuzzMustExplain says whether the README promises a page for what next
// did, whatever the rest of the sequence: an error returned with nothing
// written, or an empty body, of a status in the explain set.
func fuzzMustExplain(in *fuzzInput, h *Handler, ref *fuzzRecorder) (bool, string) {
	if in.upgrade {
		return false, ""
	}
	if ref.status == 0 {
		return in.ret != nil && h.handlerErrors && h.explainSet.has(in.retStatus),
			"an error of a status in the explain set, returned with nothing written"
	}
	sent := ref.sent
	cl := sent.Get("Content-Length")
	if !h.explainSet.has(ref.status) || len(ref.attempted) != 0 || sent.Get("Content-Encoding") != "" ||
		sent.Get("Content-Range") != "" || caddyhttp.IsIncremental(sent) || (cl != "" && cl != "0") {
		return false, ""
	}
	if isEventStream(sent.Get("Content-Type")) {
		return false, ""
	}
	return true, "an empty body (\"empty ..., whatever its type\") of a status in the explain set"
}

// fuzzHeldTooMuch says what is wrong with what the module holds: never
// more than bare_max+1 bytes, but for HTML with stock pages on, up to the
// stock hold while the (decoded) bytes can still be a stock page.
func fuzzHeldTooMuch(w *writer) string {
	n, bm := len(w.held), w.h.bareMax
	if n <= bm+1 {
		return ""
	}
	if !w.h.stockPages || explain.KindOf(w.snapshot.Get("Content-Type")) != explain.KindHTML {
		return fmt.Sprintf("the module holds %d bytes of a body that is no HTML candidate, bare_max is %d", n, bm)
	}
	if n > w.h.stockMax() {
		return fmt.Sprintf("the module holds %d bytes of HTML, the stock hold is %d", n, w.h.stockMax())
	}
	body := w.held
	if fuzzGzipped(w.snapshot) {
		body = fuzzGunzipPrefix(body, w.h.stockMax()+1)
	}
	if len(body) > bm && !explain.MayBeStock(body) {
		return fmt.Sprintf("the module holds %d bytes of HTML past bare_max %d that can be no stock page: %.80q", n, bm, body)
	}
	return ""
}

// fuzzGunzipPrefix decodes what the first bytes of a gzip stream hold, up
// to limit bytes.
func fuzzGunzipPrefix(b []byte, limit int) []byte {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil
	}
	out, _ := io.ReadAll(io.LimitReader(zr, int64(limit)))
	return out
}

func fuzzGzipped(h http.Header) bool { return strings.EqualFold(h.Get("Content-Encoding"), "gzip") }

func fuzzCheckRecords(t *testing.T, in *fuzzInput, es []observer.LoggedEntry, n int, level zapcore.Level, status int, explained bool) {
	t.Helper()
	describe := func() string {
		var b strings.Builder
		for _, e := range es {
			fmt.Fprintf(&b, "\n  %s %q %v", e.Level, e.Message, e.ContextMap())
		}
		return b.String()
	}
	if len(es) != n {
		t.Fatalf("%d log records, want %d:%s\n%s", len(es), n, describe(), in)
	}
	if n == 0 {
		return
	}
	fields := es[0].ContextMap()
	if es[0].Level != level || fields["status"] != int64(status) {
		t.Fatalf("record, want %s for status %d:%s\n%s", level, status, describe(), in)
	}
	if level == zapcore.WarnLevel && fields["explained"] != explained {
		t.Fatalf("record says explained=%v, the visitor got a page: %v%s\n%s", fields["explained"], explained, describe(), in)
	}
}
