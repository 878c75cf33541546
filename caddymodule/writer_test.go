package caddymodule

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/explainerrors/caddy-explain-errors/explain"
)

// ---------------------------------------------------------------------------
// harness

// newTestHandler does what Provision does, minus the caddy.Context: the
// logger is an observer, so tests can count records.
func newTestHandler(t testing.TB, h *Handler) (*Handler, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	h.logger = zap.New(core)
	if err := h.compile(); err != nil {
		t.Fatalf("compile: %v", err)
	}
	h.pool = &sync.Pool{New: func() any { return new(writer) }}
	// unregistered collectors: counted, not exported
	var err error
	if h.metrics, err = newMetrics(nil); err != nil {
		t.Fatalf("metrics: %v", err)
	}
	if h.LogRate != "" {
		interval := time.Duration(h.LogRateInterval)
		if interval <= 0 {
			interval = 10 * time.Second
		}
		// the caller calls h.Cleanup, as Caddy does, to stop it
		h.flood = newFlood(h.limit, h.burst, interval, h.logger)
	}
	if err := h.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	return h, logs
}

// testRecorder is an httptest.ResponseRecorder that treats 1xx the way
// net/http does (sent, not final) and counts the final WriteHeader calls
// that reach it.
type testRecorder struct {
	*httptest.ResponseRecorder
	informational []informational
	finals        int
}

type informational struct {
	code   int
	header http.Header
}

func newRecorder() *testRecorder {
	return &testRecorder{ResponseRecorder: httptest.NewRecorder()}
}

func (r *testRecorder) WriteHeader(code int) {
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		r.informational = append(r.informational, informational{code, r.Header().Clone()})
		return
	}
	r.finals++
	r.ResponseRecorder.WriteHeader(code)
}

// newRequest builds a request the way Caddy's server does, so that the
// replacer, vars and extra log fields are there and {http.request.uuid}
// works. It returns the request's id.
func newRequest(t testing.TB, method, accept string, w http.ResponseWriter) (*http.Request, string) {
	t.Helper()
	r := httptest.NewRequest(method, "http://example.com/docs/report.odt", nil)
	if accept != "" {
		r.Header.Set("Accept", accept)
	}
	repl := caddy.NewReplacer()
	r = caddyhttp.PrepareRequest(r, repl, w, &caddyhttp.Server{})
	id, _ := repl.GetString("http.request.uuid")
	if id == "" {
		t.Fatal("no request id")
	}
	return r, id
}

// records returns the module's log records so far and forgets them.
func records(logs *observer.ObservedLogs) []observer.LoggedEntry { return logs.TakeAll() }

func describe(es []observer.LoggedEntry) string {
	var b strings.Builder
	for _, e := range es {
		fmt.Fprintf(&b, "\n  %s %q %v", e.Level, e.Message, e.ContextMap())
	}
	return b.String()
}

// the machine-readable time (RFC 3339) and the readable one (ISO 8601, UTC)
var timeRE = regexp.MustCompile(`\d{4}-\d\d-\d\d(T\d\d:\d\d:\d\dZ| \d\d:\d\d UTC)`)

// expectedPage renders the page the handler should have written, with the
// time masked.
func expectedPage(t testing.TB, h *Handler, status int, f explain.Format, id string, method string) []byte {
	t.Helper()
	// a 5xx to GET or HEAD offers "try again": the page's variant
	v := explain.MakeVariant(status, method, "", time.Now())
	p, err := h.renderer.PageFor(status, explain.MatchLanguage(""), f, v)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := p.Render(&buf, id, time.Now()); err != nil {
		t.Fatal(err)
	}
	if p.Len(id) != buf.Len() {
		t.Fatalf("page Len %d, rendered %d", p.Len(id), buf.Len())
	}
	return buf.Bytes()
}

func maskTime(b []byte) []byte { return timeRE.ReplaceAll(b, []byte("TIME")) }

// checkPage asserts that rec holds exactly one complete page of format f
// for status (no body for HEAD), with the page headers, and without the
// old body's.
func checkPage(t *testing.T, h *Handler, rec *testRecorder, method string, status int, f explain.Format, id string) {
	t.Helper()
	res := rec.Result()
	body := rec.Body.Bytes()
	if res.StatusCode != status || rec.finals != 1 {
		t.Errorf("status %d (%d final WriteHeader calls), want %d once", res.StatusCode, rec.finals, status)
	}
	want := expectedPage(t, h, status, f, id, method)
	if method == http.MethodHead {
		if len(body) != 0 {
			t.Errorf("HEAD page has a body of %d bytes", len(body))
		}
	} else if !bytes.Equal(maskTime(body), maskTime(want)) {
		t.Errorf("body is not the %s page for %d:\n--- got (%d bytes)\n%.600s\n--- want (%d bytes)\n%.600s", f, status, len(body), body, len(want), want)
	}
	if cl := res.Header.Get("Content-Length"); cl != strconv.Itoa(len(want)) {
		t.Errorf("Content-Length %q, want %d (the page's length)", cl, len(want))
	}
	hdr := res.Header
	for k, v := range map[string]string{
		"Content-Type":           f.ContentType(),
		"Content-Language":       "en",
		"Cache-Control":          "no-store",
		"X-Content-Type-Options": "nosniff",
		"X-App":                  "kept",
	} {
		if got := hdr.Get(k); got != v {
			t.Errorf("page header %s: %q, want %q", k, got, v)
		}
	}
	if !strings.Contains(strings.Join(hdr.Values("Vary"), ", "), "Accept, Accept-Language") {
		t.Errorf("page Vary %q lacks Accept, Accept-Language", hdr.Values("Vary"))
	}
	if csp := hdr.Get("Content-Security-Policy"); (csp != "") != (f == explain.FormatHTML) {
		t.Errorf("Content-Security-Policy %q on a %s page", csp, f)
	}
	for _, k := range []string{"Content-Encoding", "Etag", "Last-Modified", "Content-Range", "Transfer-Encoding"} {
		if v := hdr.Values(k); len(v) > 0 {
			t.Errorf("page keeps the old body's %s: %q", k, v)
		}
	}
	if method != http.MethodHead {
		switch f {
		case explain.FormatHTML:
			if !bytes.HasPrefix(body, []byte("<!doctype html>")) || !bytes.HasSuffix(body, []byte("</html>\n")) {
				t.Errorf("HTML page is not one whole document")
			}
		case explain.FormatJSON:
			var m map[string]any
			if err := json.Unmarshal(body, &m); err != nil || m["status"] != float64(status) || m["instance"] != "urn:uuid:"+id {
				t.Errorf("problem+json: %v, %v", err, m)
			}
		case explain.FormatText:
			if !bytes.HasPrefix(body, []byte(strconv.Itoa(status)+" ")) {
				t.Errorf("text page starts %.40q", body)
			}
		}
		if !bytes.Contains(body, []byte(id)) {
			t.Errorf("page lacks the request id %s", id)
		}
	}
}

// checkPassed asserts that rec got exactly what base (the same next without
// the module) got: status, headers as sent, body.
func checkPassed(t *testing.T, rec, base *testRecorder) {
	t.Helper()
	res, want := rec.Result(), base.Result()
	if res.StatusCode != want.StatusCode || rec.finals != base.finals {
		t.Errorf("status %d (%d final WriteHeader calls), want %d (%d)", res.StatusCode, rec.finals, want.StatusCode, base.finals)
	}
	if !bytes.Equal(rec.Body.Bytes(), base.Body.Bytes()) {
		t.Errorf("body changed: %d bytes (sha %x), want %d bytes (sha %x)\n%.200q",
			rec.Body.Len(), sha256.Sum256(rec.Body.Bytes()), base.Body.Len(), sha256.Sum256(base.Body.Bytes()), rec.Body.Bytes())
	}
	if !reflect.DeepEqual(res.Header, want.Header) {
		t.Errorf("headers changed:\n got  %v\n want %v", res.Header, want.Header)
	}
	if len(rec.informational) != len(base.informational) {
		t.Errorf("%d informational responses, want %d", len(rec.informational), len(base.informational))
	}
}

// ---------------------------------------------------------------------------
// bodies

var textLine = []byte("The document was changed by someone else since you opened it.\n")

// text returns n bytes of plain ASCII prose.
func text(n int) []byte {
	b := bytes.Repeat(textLine, n/len(textLine)+1)[:n]
	if n > 0 {
		b[n-1] = '\n'
	}
	return b
}

// jsonOf returns a JSON object of exactly n bytes (n >= 32).
func jsonOf(n int) []byte {
	head := `{"error":"version_conflict","pad":"`
	tail := `"}`
	return []byte(head + strings.Repeat("x", max(0, n-len(head)-len(tail))) + tail)
}

// noise returns n bytes of incompressible text.
func noise(n int) []byte {
	rnd := rand.New(rand.NewSource(int64(n)))
	b := make([]byte, n)
	const abc = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 \n"
	for i := range b {
		b[i] = abc[rnd.Intn(len(abc))]
	}
	return b
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// Stock pages as the servers write them: bodies from the corpus of
// captured responses (testdata/corpus).
var (
	apache409 = corpusBody("apache-signature-on-409-dav-mkcol-chrome")
	tomcat409 = corpusBody("tomcat-409-senderror-chrome")
	nginx409  = corpusBody("nginx-409-return-firefox")
)

// corpusBody is the body of a captured response of testdata/corpus.
func corpusBody(name string) string {
	raw, err := os.ReadFile(filepath.Join("..", "testdata", "corpus", "responses", name+".http"))
	if err != nil {
		panic(err)
	}
	_, body, ok := bytes.Cut(raw, []byte("\r\n\r\n"))
	if !ok {
		panic(name + ": no end of header")
	}
	return string(body)
}

const (
	appHTML = `<!doctype html><html><body><h1>Somebody else saved first</h1><p>Reload to see their version.</p></body></html>`
)

// ---------------------------------------------------------------------------
// the scenario table

type outcome int

const (
	passes    outcome = iota // the response goes out as next wrote it
	explained                // one complete page replaces it
)

func (o outcome) String() string {
	if o == explained {
		return "explained"
	}
	return "passes"
}

// writeMode is how next writes its body. Every mode calls WriteHeader
// first, as a proxied response does.
type writeMode struct {
	name string
	// announces says the mode sets Content-Length before WriteHeader
	announces bool
	write     func(t *testing.T, w http.ResponseWriter, status int, body []byte) error
}

func flush(t *testing.T, w http.ResponseWriter) {
	if err := http.NewResponseController(w).Flush(); err != nil {
		t.Errorf("Flush: %v", err)
	}
}

// readerOnly hides bytes.Reader's WriteTo, so io.Copy takes the writer's
// ReadFrom.
type readerOnly struct{ io.Reader }

var writeModes = []writeMode{
	{"OneWrite", true, func(t *testing.T, w http.ResponseWriter, status int, body []byte) error {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(status)
		if len(body) == 0 {
			return nil
		}
		n, err := w.Write(body)
		if err == nil && n != len(body) {
			err = io.ErrShortWrite
		}
		return err
	}},
	{"OneWriteNoLength", false, func(t *testing.T, w http.ResponseWriter, status int, body []byte) error {
		w.WriteHeader(status)
		if len(body) == 0 {
			return nil
		}
		_, err := w.Write(body)
		return err
	}},
	{"ChunkedWithFlushes", false, func(t *testing.T, w http.ResponseWriter, status int, body []byte) error {
		w.WriteHeader(status)
		flush(t, w)
		for len(body) > 0 {
			n := min(61, len(body))
			if _, err := w.Write(body[:n]); err != nil {
				return err
			}
			flush(t, w)
			body = body[n:]
		}
		return nil
	}},
	{"ReadFrom", true, func(t *testing.T, w http.ResponseWriter, status int, body []byte) error {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(status)
		if _, isModule := w.(*writer); isModule {
			if _, ok := w.(io.ReaderFrom); !ok {
				t.Fatalf("%T does not implement io.ReaderFrom", w)
			}
		}
		if len(body) == 0 {
			return nil
		}
		n, err := io.Copy(w, readerOnly{bytes.NewReader(body)})
		if err == nil && n != int64(len(body)) {
			err = io.ErrShortWrite
		}
		return err
	}},
}

const (
	browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
	bareMax       = DefaultBareMax
	large         = 200 << 10
)

var accepts = []struct {
	name, accept string
	format       explain.Format
}{
	{"Browser", browserAccept, explain.FormatHTML},
	{"JSONClient", "application/json", explain.FormatJSON},
	{"Curl", "*/*", explain.FormatText},
}

type scenario struct {
	name   string
	status int
	header map[string]string // set by next before WriteHeader
	body   []byte
	// the outcome for GET and for HEAD (next writes the body for HEAD too,
	// as http.Error does)
	get, head outcome
	// the outcome for HEAD when no Content-Length announces the body, where
	// it differs from head
	headUnannounced *outcome
}

func outcomeP(o outcome) *outcome { return &o }

// the default log set
var conflictStatus = map[int]bool{409: true, 412: true, 423: true, 424: true, 428: true}

func ct(v string) map[string]string { return map[string]string{"Content-Type": v} }

var scenarios = []scenario{
	// untyped bodies are bare when short
	{"EmptyUntypedConflictExplained", 409, nil, nil, explained, explained, nil},
	{"ShortUntypedConflictExplained", 409, nil, text(20), explained, explained, nil},
	{"UntypedShortJSONLikeBodyPassesByteIdentical", 409, nil, []byte(`{"error":"conflict"}`), passes, passes, nil},
	{"UntypedConflictOfExactlyBareMaxExplained", 409, nil, text(bareMax), explained, explained, nil},
	{"UntypedConflictOfBareMaxPlusOnePassesByteIdentical", 409, nil, text(bareMax + 1), passes, passes, nil},
	{"LargeUntypedConflictPassesByteIdentical", 409, nil, text(large), passes, passes, nil},

	// text/plain: the same
	{"EmptyTextPlainConflictExplained", 409, ct("text/plain; charset=utf-8"), nil, explained, explained, nil},
	{"ShortTextPlainConflictExplained", 409, ct("text/plain; charset=utf-8"), text(20), explained, explained, nil},
	{"TextPlainConflictOfExactlyBareMaxExplained", 409, ct("text/plain; charset=utf-8"), text(bareMax), explained, explained, nil},
	{"TextPlainConflictOfBareMaxPlusOnePassesByteIdentical", 409, ct("text/plain; charset=utf-8"), text(bareMax + 1), passes, passes, nil},
	{"LargeTextPlainConflictPassesByteIdentical", 409, ct("text/plain; charset=utf-8"), noise(large), passes, passes, nil},
	// a handler that writes a body for HEAD too (as http.Error does) gets
	// it judged like GET's; without one, the headers decide
	{"TextPlainWithNULIsNotBare", 409, ct("text/plain"), []byte("version\x00conflict"), passes, passes, nil},
	{"TextPlainWithInvalidUTF8IsNotBare", 409, ct("text/plain"), []byte("conflict \xff\xfe"), passes, passes, nil},

	// a typed body is the application's
	{"JSONConflictBodyPassesByteIdentical", 409, ct("application/json"), jsonOf(60), passes, passes, nil},
	{"EmptyJSONConflictExplained", 409, ct("application/json"), nil, explained, explained, nil},
	{"JSONConflictOfBareMaxPassesByteIdentical", 409, ct("application/json"), jsonOf(bareMax), passes, passes, nil},
	{"LargeJSONConflictPassesByteIdentical", 409, ct("application/json"), jsonOf(large), passes, passes, nil},
	{"ProblemJSONConflictPassesByteIdentical", 409, ct("application/problem+json"), jsonOf(80), passes, passes, nil},
	{"ImageConflictPassesByteIdentical", 409, ct("image/png"), []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), passes, passes, nil},
	{"EventStreamConflictPassesByteIdentical", 409, ct("text/event-stream"), []byte("data: conflict\n\n"), passes, passes, nil},
	{"UnreadableContentTypePassesByteIdentical", 409, ct("text/plain; charset"), text(20), passes, passes, nil},
	{"IncrementalConflictPassesByteIdentical", 409, map[string]string{"Content-Type": "text/plain", "Incremental": "?1"}, text(20), passes, passes, nil},
	{"ContentRangeConflictPassesByteIdentical", 409, map[string]string{"Content-Type": "text/plain", "Content-Range": "bytes 0-19/100"}, text(20), passes, passes, nil},

	// HTML: bare only when it is a stock page
	{"AppHTMLConflictPassesByteIdentical", 409, ct("text/html; charset=utf-8"), []byte(appHTML), passes, passes, nil},
	{"LargeAppHTMLConflictPassesByteIdentical", 409, ct("text/html; charset=utf-8"), append([]byte("<!doctype html><html><body>"), text(large)...), passes, passes, nil},
	{"NginxStockConflictPageExplained", 409, ct("text/html"), []byte(nginx409), explained, explained, nil},
	{"ApacheStockConflictPageExplained", 409, ct("text/html; charset=iso-8859-1"), []byte(apache409), explained, explained, nil},
	{"TomcatStockPagePastBareMaxExplained", 409, ct("text/html;charset=utf-8"), []byte(tomcat409), explained, explained, nil},
	// a handler inside Caddy writes for HEAD what it writes for GET, so
	// nothing written is an empty body for HEAD too (a proxied HEAD is
	// another matter: see TestHeadIsJudgedAsGetThroughCaddy)
	{"EmptyHTMLConflictExplained", 409, ct("text/html"), nil, explained, explained, nil},

	// gzip is judged on the decoded bytes
	{"GzipShortTextConflictExplainedWithoutContentEncoding", 409, map[string]string{"Content-Type": "text/plain", "Content-Encoding": "gzip"}, gz([]byte("Conflict\n")), explained, explained, nil},
	{"GzipDecodingPastBareMaxPassesByteIdentical", 409, map[string]string{"Content-Type": "text/plain", "Content-Encoding": "gzip"}, gz(text(4 * bareMax)), passes, passes, nil},
	{"CorruptGzipConflictPassesByteIdentical", 409, map[string]string{"Content-Type": "text/plain", "Content-Encoding": "gzip"}, []byte("this is not gzip at all"), passes, passes, nil},
	{"LargeGzipConflictPassesByteIdentical", 409, map[string]string{"Content-Type": "text/plain", "Content-Encoding": "gzip"}, gz(noise(large)), passes, passes, nil},
	{"GzipNginxPageExplained", 409, map[string]string{"Content-Type": "text/html", "Content-Encoding": "gzip"}, gz([]byte(nginx409)), explained, explained, nil},
	// the stock hold applies to the decoded bytes: a gzip stock page that
	// decodes past bare_max is judged whole
	{"GzipTomcatPagePastBareMaxExplained", 409, map[string]string{"Content-Type": "text/html;charset=utf-8", "Content-Encoding": "gzip"}, gz([]byte(tomcat409)), explained, explained, nil},
	{"GzipAppHTMLPastBareMaxPassesByteIdentical", 409, map[string]string{"Content-Type": "text/html", "Content-Encoding": "gzip"}, gz(append([]byte("<!doctype html><html><body>"), text(3000)...)), passes, passes, nil},
	{"BrotliConflictPassesByteIdentical", 409, map[string]string{"Content-Type": "text/plain", "Content-Encoding": "br"}, []byte("\x0b\x02\x80Conflict\x03"), passes, passes, nil},

	// other statuses of the explain set, outside the log set
	{"NotFoundPlainExplainedWithoutRecord", 404, ct("text/plain; charset=utf-8"), []byte("404 page not found\n"), explained, explained, nil},
	{"BadGatewayEmptyExplainedWithoutRecord", 502, nil, nil, explained, explained, nil},
	{"ServiceUnavailableTextExplainedWithoutRecord", 503, ct("text/plain"), []byte("Service Unavailable\n"), explained, explained, nil},
	{"ServerErrorJSONPassesWithoutRecord", 500, ct("application/json"), jsonOf(50), passes, passes, nil},
	// the rest of the log set
	{"EmptyPreconditionFailedExplainedDropsETag", 412, nil, nil, explained, explained, nil},
	{"ShortLockedExplained", 423, ct("text/plain"), []byte("Locked\n"), explained, explained, nil},
	{"PreconditionRequiredJSONPasses", 428, ct("application/json"), jsonOf(40), passes, passes, nil},

	// successes and redirects are never touched nor logged
	{"OKPassesByteIdenticalWithoutRecord", 200, ct("text/plain"), text(20), passes, passes, nil},
	{"EmptyOKPassesWithoutRecord", 200, nil, nil, passes, passes, nil},
	{"LargeBinaryOKPassesByteIdentical", 200, ct("application/octet-stream"), noise(large), passes, passes, nil},
	{"NoContentPasses", 204, nil, nil, passes, passes, nil},
	{"NotModifiedPasses", 304, nil, nil, passes, passes, nil},
	{"RedirectPasses", 302, map[string]string{"Location": "/elsewhere", "Content-Type": "text/html"}, []byte(`<a href="/elsewhere">Found</a>.`), passes, passes, nil},
}

// TestScenarios runs every scenario in every write mode, for GET and HEAD
// and three kinds of clients, through one handler (so pooled writers are
// reused across very different responses). Every response either passes
// exactly as next wrote it, or is one whole page in the negotiated format.
func TestScenarios(t *testing.T) {
	h, logs := newTestHandler(t, &Handler{})
	for _, sc := range scenarios {
		for _, mode := range writeModes {
			for _, method := range []string{http.MethodGet, http.MethodHead} {
				for _, acc := range accepts {
					name := fmt.Sprintf("%s/%s/%s/%s", sc.name, mode.name, method, acc.name)
					t.Run(name, func(t *testing.T) {
						runScenario(t, h, logs, sc, mode, method, acc.accept, acc.format)
					})
				}
			}
		}
	}
}

func runScenario(t *testing.T, h *Handler, logs *observer.ObservedLogs, sc scenario, mode writeMode, method, accept string, f explain.Format) {
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		hdr := w.Header()
		hdr.Set("Etag", `"v2"`)
		hdr.Set("Last-Modified", "Mon, 06 May 2024 07:08:09 GMT")
		hdr.Set("X-App", "kept")
		for k, v := range sc.header {
			hdr.Set(k, v)
		}
		return mode.write(t, w, sc.status, sc.body)
	})
	want := sc.get
	if method == http.MethodHead {
		want = sc.head
		if !mode.announces && sc.headUnannounced != nil {
			want = *sc.headUnannounced
		}
	}

	base := newRecorder()
	br, _ := newRequest(t, method, accept, base)
	if err := next.ServeHTTP(base, br); err != nil {
		t.Fatalf("next alone: %v", err)
	}

	records(logs)
	rec := newRecorder()
	r, id := newRequest(t, method, accept, rec)
	if err := h.ServeHTTP(rec, r, next); err != nil {
		t.Fatalf("ServeHTTP: %v", err)
	}

	if want == explained {
		checkPage(t, h, rec, method, sc.status, f, id)
	} else {
		checkPassed(t, rec, base)
	}
	if cl := rec.Result().Header.Get("Content-Length"); cl != "" && method == http.MethodGet && cl != strconv.Itoa(rec.Body.Len()) {
		t.Errorf("Content-Length %s, body %d bytes", cl, rec.Body.Len())
	}

	es := records(logs)
	if !conflictStatus[sc.status] {
		if len(es) != 0 {
			t.Errorf("%d records for a %d, want none:%s", len(es), sc.status, describe(es))
		}
		return
	}
	if len(es) != 1 {
		t.Fatalf("%d records, want exactly one:%s", len(es), describe(es))
	}
	e := es[0]
	fields := e.ContextMap()
	if e.Level != zapcore.WarnLevel || e.Message != "conflict response" {
		t.Errorf("record %s %q, want WARN conflict response", e.Level, e.Message)
	}
	wantType := sc.header["Content-Type"]
	for k, v := range map[string]any{
		"status":       int64(sc.status),
		"source":       "upstream",
		"explained":    want == explained,
		"body_bytes":   int64(len(sc.body)),
		"content_type": wantType,
		"uuid":         id,
	} {
		if fields[k] != v {
			t.Errorf("record %s = %#v, want %#v", k, fields[k], v)
		}
	}
	if fields["hint"] == "" || fields["hint"] == nil {
		t.Error("record without a hint")
	}
	if v, ok := fields["validators"].(map[string]any); !ok || v["ETag"] != `"v2"` {
		t.Errorf("record validators %v, want the old body's ETag", fields["validators"])
	}
	// the excerpt: the first bytes of a readable body as next wrote it,
	// decoded if gzip (issue 9.1); never of another encoding, which the
	// record says instead
	ex, hasEx := fields["body_excerpt"]
	body := sc.body
	coding := sc.header["Content-Encoding"]
	if strings.EqualFold(coding, "gzip") {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err == nil {
			body, _ = io.ReadAll(io.LimitReader(zr, DefaultExcerpt))
		} else {
			body = nil
		}
	}
	switch {
	case !explain.IsTextual(wantType) || len(sc.body) == 0:
		if hasEx {
			t.Errorf("record has an excerpt %q of a binary or empty body", ex)
		}
	case coding != "" && !strings.EqualFold(coding, "gzip") || len(body) == 0:
		if hasEx || fields["body_excerpt_omitted"] == nil {
			t.Errorf("record of a body encoded as %q that does not decode: excerpt %q, omitted %v", coding, ex, fields["body_excerpt_omitted"])
		}
	case isASCII(body):
		w := strings.ReplaceAll(string(body[:min(len(body), DefaultExcerpt)]), "\r", " ")
		if ex != w {
			t.Errorf("record body_excerpt %q, want %q", ex, w)
		}
	}
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x7f || (c < 0x20 && c != '\n' && c != '\r' && c != '\t') {
			return false
		}
	}
	return true
}

// ---------------------------------------------------------------------------
// what the module holds

// countingWriter is a ResponseWriter that keeps nothing but a count and a
// hash, and checks on every write that the module above it holds no more
// than bare_max+1 bytes.
type countingWriter struct {
	t       *testing.T
	header  http.Header
	status  int
	n       int64
	sum     hash.Hash
	mod     *writer // the module's writer, once next saw it
	bareMax int
}

func (c *countingWriter) Header() http.Header { return c.header }
func (c *countingWriter) WriteHeader(code int) {
	if c.status == 0 {
		c.status = code
	}
}
func (c *countingWriter) Write(p []byte) (int, error) {
	if c.status == 0 {
		c.status = 200
	}
	if c.mod != nil && len(c.mod.held) > c.bareMax+1 {
		c.t.Errorf("module holds %d bytes while writing, bare_max is %d", len(c.mod.held), c.bareMax)
	}
	c.n += int64(len(p))
	c.sum.Write(p)
	return len(p), nil
}
func (c *countingWriter) Flush() {}

// TestHoldsAtMostBareMaxPlusOne streams big error bodies and checks, after
// every write of next, that the module holds at most bare_max+1 bytes and
// that every byte past bare_max has already reached the writer below.
func TestHoldsAtMostBareMaxPlusOne(t *testing.T) {
	for _, tc := range []struct {
		name          string
		bareMax       int
		header        map[string]string
		total, chunk  int
		wantHeldFirst bool // small writes are held until bare_max
	}{
		{"TextPlain64MiBIn32KiBWrites", 512, ct("text/plain"), 64 << 20, 32 << 10, false},
		{"Untyped64MiBIn32KiBWrites", 512, nil, 64 << 20, 32 << 10, false},
		{"AppHTML64MiBIn32KiBWrites", 512, ct("text/html"), 64 << 20, 32 << 10, false},
		{"TextPlain1MiBIn100ByteWrites", 512, ct("text/plain"), 1 << 20, 100, true},
		{"AppHTML1MiBIn100ByteWrites", 512, ct("text/html"), 1 << 20, 100, true},
		{"Gzip1MiBIn100ByteWrites", 512, map[string]string{"Content-Type": "text/plain", "Content-Encoding": "gzip"}, 1 << 20, 100, true},
		{"BareMax64KiB8MiBIn1000ByteWrites", 64 << 10, ct("text/plain"), 8 << 20, 1000, true},
		{"BareMaxZero1MiBIn7ByteWrites", 0, ct("text/plain"), 1 << 20, 7, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bm := tc.bareMax
			h, logs := newTestHandler(t, &Handler{BareMax: &bm})
			cw := &countingWriter{t: t, header: http.Header{}, sum: sha256.New(), bareMax: bm}
			chunk := bytes.Repeat([]byte("0123456789abcdef"), tc.chunk/16+1)[:tc.chunk]
			wantSum := sha256.New()
			written := 0
			next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
				mod, ok := w.(*writer)
				if !ok {
					t.Fatalf("next got a %T, not the module's writer", w)
				}
				cw.mod = mod
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(http.StatusConflict)
				for written < tc.total {
					n, err := w.Write(chunk)
					if err != nil || n != len(chunk) {
						t.Fatalf("Write: %d, %v", n, err)
					}
					wantSum.Write(chunk)
					written += n
					if len(mod.held) > bm+1 {
						t.Fatalf("after %d bytes the module holds %d, bare_max is %d", written, len(mod.held), bm)
					}
					switch {
					case written > bm && cw.n != int64(written):
						t.Fatalf("after %d bytes (past bare_max %d) only %d reached the client", written, bm, cw.n)
					case written <= bm && tc.wantHeldFirst && cw.n != 0:
						t.Fatalf("after %d bytes (within bare_max %d) %d already went out", written, bm, cw.n)
					}
				}
				return nil
			})
			rec := newRecorder() // only for PrepareRequest
			r, _ := newRequest(t, http.MethodGet, browserAccept, rec)
			if err := h.ServeHTTP(cw, r, next); err != nil {
				t.Fatal(err)
			}
			if cw.status != http.StatusConflict || cw.n != int64(written) || !bytes.Equal(cw.sum.Sum(nil), wantSum.Sum(nil)) {
				t.Fatalf("the writer below got status %d and %d bytes (same bytes: %v), want 409 and %d",
					cw.status, cw.n, bytes.Equal(cw.sum.Sum(nil), wantSum.Sum(nil)), written)
			}
			es := records(logs)
			if len(es) != 1 || es[0].ContextMap()["body_bytes"] != int64(written) || es[0].ContextMap()["explained"] != false {
				t.Fatalf("records:%s", describe(es))
			}
		})
	}
}

// ---------------------------------------------------------------------------
// informational responses

func TestEarlyHintsThenConflict(t *testing.T) {
	h, logs := newTestHandler(t, &Handler{})
	for _, tc := range []struct {
		name   string
		header map[string]string
		status int
		body   []byte
		want   outcome
	}{
		{"EarlyHintsThenBareConflictExplained", ct("text/plain"), 409, nil, explained},
		{"EarlyHintsThenJSONConflictPasses", ct("application/json"), 409, jsonOf(60), passes},
		{"EarlyHintsThenOKPasses", ct("text/html"), 200, []byte(appHTML), passes},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
				w.Header().Set("Link", "</app.css>; rel=preload; as=style")
				w.WriteHeader(http.StatusEarlyHints)
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.Header().Set("X-App", "kept")
				w.WriteHeader(tc.status)
				if len(tc.body) > 0 {
					w.Write(tc.body)
				}
				return nil
			})
			base := newRecorder()
			br, _ := newRequest(t, http.MethodGet, "*/*", base)
			next.ServeHTTP(base, br)
			records(logs)

			rec := newRecorder()
			r, id := newRequest(t, http.MethodGet, "*/*", rec)
			if err := h.ServeHTTP(rec, r, next); err != nil {
				t.Fatal(err)
			}
			if len(rec.informational) != 1 || rec.informational[0].code != 103 ||
				rec.informational[0].header.Get("Link") != "</app.css>; rel=preload; as=style" {
				t.Fatalf("informational responses %v, want one 103 with its Link", rec.informational)
			}
			if tc.want == explained {
				checkPage(t, h, rec, http.MethodGet, tc.status, explain.FormatText, id)
			} else {
				checkPassed(t, rec, base)
			}
			n := 0
			if conflictStatus[tc.status] {
				n = 1
			}
			if es := records(logs); len(es) != n {
				t.Errorf("%d records, want %d:%s", len(es), n, describe(es))
			}
		})
	}
}

// ---------------------------------------------------------------------------
// errors returned by the handlers

func TestHandlerErrorWithNothingWrittenIsExplained(t *testing.T) {
	h, logs := newTestHandler(t, &Handler{})
	cause := errors.New("version conflict on /docs/report.odt")
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("X-App", "kept")
		return caddyhttp.Error(http.StatusConflict, cause)
	})
	rec := newRecorder()
	r, id := newRequest(t, http.MethodGet, "application/json", rec)
	if err := h.ServeHTTP(rec, r, next); err != nil {
		t.Fatalf("ServeHTTP returned %v, want nil: the visitor got a page", err)
	}
	checkPage(t, h, rec, http.MethodGet, 409, explain.FormatJSON, id)
	es := records(logs)
	if len(es) != 1 {
		t.Fatalf("%d records, want one:%s", len(es), describe(es))
	}
	f := es[0].ContextMap()
	if f["source"] != "handler" || f["status"] != int64(409) || f["explained"] != true ||
		!strings.Contains(fmt.Sprint(f["error"]), cause.Error()) || f["uuid"] != id {
		t.Errorf("record:%s", describe(es))
	}
}

func TestHandlerErrorOutsideLogSetExplainedAndRecordedOnce(t *testing.T) {
	h, logs := newTestHandler(t, &Handler{})
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		return caddyhttp.Error(http.StatusBadGateway, errors.New("dial tcp 127.0.0.1:9: connect: connection refused"))
	})
	rec := newRecorder()
	r, id := newRequest(t, http.MethodGet, browserAccept, rec)
	if err := h.ServeHTTP(rec, r, next); err != nil {
		t.Fatalf("ServeHTTP returned %v, want nil", err)
	}
	res := rec.Result()
	if res.StatusCode != 502 || res.Header.Get("Content-Type") != explain.FormatHTML.ContentType() || !bytes.Contains(rec.Body.Bytes(), []byte(id)) {
		t.Fatalf("got %d %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	// Caddy would have logged the error; the module must not lose it
	es := records(logs)
	if len(es) != 1 || !strings.Contains(fmt.Sprint(es[0].ContextMap()["error"]), "connection refused") {
		t.Fatalf("records, want exactly one carrying the error:%s", describe(es))
	}
}

func TestPlainErrorIsExplainedAs500(t *testing.T) {
	h, _ := newTestHandler(t, &Handler{})
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		return errors.New("template: index.html:3: unexpected EOF")
	})
	rec := newRecorder()
	r, id := newRequest(t, http.MethodGet, "*/*", rec)
	if err := h.ServeHTTP(rec, r, next); err != nil {
		t.Fatalf("ServeHTTP returned %v, want nil", err)
	}
	checkPageLoose(t, rec, 500, explain.FormatText, id)
}

// checkPageLoose is checkPage for pages whose headers next did not set up.
func checkPageLoose(t *testing.T, rec *testRecorder, status int, f explain.Format, id string) {
	t.Helper()
	res := rec.Result()
	if res.StatusCode != status || res.Header.Get("Content-Type") != f.ContentType() ||
		res.Header.Get("Content-Length") != strconv.Itoa(rec.Body.Len()) || !bytes.Contains(rec.Body.Bytes(), []byte(id)) {
		t.Errorf("got %d %v\n%s", res.StatusCode, res.Header, rec.Body.Bytes())
	}
}

func TestHandlerErrorOutsideExplainSetReturnedUnchanged(t *testing.T) {
	h, logs := newTestHandler(t, &Handler{Explain: []string{"409"}})
	herr := caddyhttp.Error(http.StatusNotFound, errors.New("no such file"))
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error { return herr })
	rec := newRecorder()
	r, _ := newRequest(t, http.MethodGet, browserAccept, rec)
	err := h.ServeHTTP(rec, r, next)
	if err != error(herr) {
		t.Fatalf("ServeHTTP returned %#v, want the handler's error unchanged %#v", err, herr)
	}
	checkNothingWritten(t, rec)
	if es := records(logs); len(es) != 0 {
		t.Errorf("records for a 404 outside the log set:%s", describe(es))
	}
}

func checkNothingWritten(t *testing.T, rec *testRecorder) {
	t.Helper()
	if rec.finals != 0 || len(rec.informational) != 0 || rec.Body.Len() != 0 || len(rec.Header()) != 0 {
		t.Errorf("the module wrote a response (%d final, %d informational, %d body bytes, header %v); handle_errors must write it",
			rec.finals, len(rec.informational), rec.Body.Len(), rec.Header())
	}
}

func TestHandlerErrorsOffReturnsErrorsButLogsThem(t *testing.T) {
	off := false
	h, logs := newTestHandler(t, &Handler{HandlerErrors: &off})
	for _, tc := range []struct {
		status  int
		records int
	}{{409, 1}, {412, 1}, {404, 0}, {502, 0}} {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			herr := caddyhttp.Error(tc.status, errors.New("cause"))
			next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error { return herr })
			rec := newRecorder()
			r, id := newRequest(t, http.MethodGet, browserAccept, rec)
			if err := h.ServeHTTP(rec, r, next); err != error(herr) {
				t.Fatalf("ServeHTTP returned %v, want the handler's error unchanged", err)
			}
			checkNothingWritten(t, rec)
			es := records(logs)
			if len(es) != tc.records {
				t.Fatalf("%d records, want %d:%s", len(es), tc.records, describe(es))
			}
			if tc.records == 1 {
				f := es[0].ContextMap()
				if f["source"] != "handler" || f["explained"] != false || f["status"] != int64(tc.status) || f["uuid"] != id {
					t.Errorf("record:%s", describe(es))
				}
			}
		})
	}
}

func TestHandlerErrorOfCanceledRequestReturnedUnchanged(t *testing.T) {
	h, _ := newTestHandler(t, &Handler{})
	herr := caddyhttp.Error(http.StatusBadGateway, context.Canceled)
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error { return herr })
	rec := newRecorder()
	r, _ := newRequest(t, http.MethodGet, browserAccept, rec)
	ctx, cancel := context.WithCancel(r.Context())
	cancel()
	if err := h.ServeHTTP(rec, r.WithContext(ctx), next); err != error(herr) {
		t.Fatalf("ServeHTTP returned %v, want the error unchanged: nobody is there to read a page", err)
	}
	checkNothingWritten(t, rec)
}

// ---------------------------------------------------------------------------
// panics

func TestPanicPropagatesAndIsRecordedOnce(t *testing.T) {
	for _, tc := range []struct {
		name   string
		header map[string]string
		body   []byte
		value  any
	}{
		{"WhileHoldingBareConflict", ct("text/plain"), []byte("half"), "boom"},
		{"WhileStreamingJSONConflict", ct("application/json"), jsonOf(100), "boom"},
		{"AbortHandlerWhileHolding", nil, nil, http.ErrAbortHandler},
		{"PastBareMax", ct("text/plain"), text(bareMax + 100), "boom"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, logs := newTestHandler(t, &Handler{})
			next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(http.StatusConflict)
				if len(tc.body) > 0 {
					w.Write(tc.body)
				}
				panic(tc.value)
			})
			rec := newRecorder()
			r, _ := newRequest(t, http.MethodGet, browserAccept, rec)
			func() {
				defer func() {
					if got := recover(); got != tc.value {
						t.Errorf("recovered %#v, want the handler's panic %#v", got, tc.value)
					}
				}()
				h.ServeHTTP(rec, r, next)
				t.Error("ServeHTTP returned; the panic must go on to Caddy")
			}()
			es := records(logs)
			if len(es) != 1 || es[0].ContextMap()["status"] != int64(409) {
				t.Fatalf("%d records, want exactly one for the 409:%s", len(es), describe(es))
			}
			// what was held goes out before the panic goes on, flushed, as
			// it would without the module (reverse_proxy flushes, then
			// aborts): the status, the headers and the bytes
			held := strings.HasPrefix(tc.name, "WhileHolding") || strings.HasPrefix(tc.name, "AbortHandler")
			if rec.finals != 1 || rec.Code != http.StatusConflict || held && !rec.Flushed {
				t.Fatalf("the client got %d final statuses, %d, flushed %v; want the 409 once, flushed", rec.finals, rec.Code, rec.Flushed)
			}
			if !bytes.Equal(rec.Body.Bytes(), tc.body) {
				t.Fatalf("the client got %q, the handler wrote %q", rec.Body.Bytes(), tc.body)
			}
			for k, v := range tc.header {
				if got := rec.Header().Get(k); got != v {
					t.Fatalf("header %s: %q, want %q", k, got, v)
				}
			}
		})
	}
}

// ---------------------------------------------------------------------------
// smaller rules

// TestPassReadFromReachesTheWriterBelow: a passing response keeps the
// writer's own ReadFrom (sendfile for file_server).
func TestPassReadFromReachesTheWriterBelow(t *testing.T) {
	h, _ := newTestHandler(t, &Handler{})
	body := noise(100 << 10)
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.WriteHeader(200)
		_, err := io.Copy(w, readerOnly{bytes.NewReader(body)})
		return err
	})
	rec := &readFromRecorder{testRecorder: newRecorder()}
	r, _ := newRequest(t, http.MethodGet, browserAccept, rec)
	if err := h.ServeHTTP(rec, r, next); err != nil {
		t.Fatal(err)
	}
	if rec.readFroms != 1 || !bytes.Equal(rec.Body.Bytes(), body) {
		t.Errorf("ReadFrom below called %d times, body %d bytes; want 1 and the %d bytes", rec.readFroms, rec.Body.Len(), len(body))
	}
}

type readFromRecorder struct {
	*testRecorder
	readFroms int
}

func (r *readFromRecorder) ReadFrom(src io.Reader) (int64, error) {
	r.readFroms++
	return io.Copy(struct{ io.Writer }{r.testRecorder}, src)
}

// TestLateHeaderOfReleasedBodyNotSent: net/http ignores header changes
// after WriteHeader. A held body that is released must go out with the
// headers as they were at WriteHeader, or the response is not the one next
// wrote.
func TestLateHeaderOfReleasedBodyNotSent(t *testing.T) {
	h, _ := newTestHandler(t, &Handler{})
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusConflict)
		w.Header().Set("X-Set-Too-Late", "1")
		_, err := w.Write(text(bareMax + 1))
		return err
	})
	base := newRecorder()
	br, _ := newRequest(t, http.MethodGet, browserAccept, base)
	next.ServeHTTP(base, br)
	rec := newRecorder()
	r, _ := newRequest(t, http.MethodGet, browserAccept, rec)
	if err := h.ServeHTTP(rec, r, next); err != nil {
		t.Fatal(err)
	}
	checkPassed(t, rec, base)
}

// TestHeadOfEmptyHTMLMatchesGet: RFC 9110, 9.3.2: HEAD should get the
// headers GET would. With Content-Length: 0 the module knows the body GET
// would carry is empty, so both must be explained alike.
func TestHeadOfEmptyHTMLMatchesGet(t *testing.T) {
	h, _ := newTestHandler(t, &Handler{})
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusConflict)
		return nil
	})
	types := map[string]string{}
	for _, m := range []string{http.MethodGet, http.MethodHead} {
		rec := newRecorder()
		r, _ := newRequest(t, m, browserAccept, rec)
		if err := h.ServeHTTP(rec, r, next); err != nil {
			t.Fatal(err)
		}
		types[m] = rec.Result().Header.Get("Content-Type")
	}
	if types[http.MethodGet] != types[http.MethodHead] {
		t.Errorf("GET gets Content-Type %q, HEAD %q", types[http.MethodGet], types[http.MethodHead])
	}
}

func TestExplainOffOnlyLogs(t *testing.T) {
	h, logs := newTestHandler(t, &Handler{ExplainOff: true})
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		w.WriteHeader(http.StatusConflict)
		return nil
	})
	rec := newRecorder()
	r, _ := newRequest(t, http.MethodGet, browserAccept, rec)
	if err := h.ServeHTTP(rec, r, next); err != nil {
		t.Fatal(err)
	}
	if rec.Code != 409 || rec.Body.Len() != 0 || rec.Result().Header.Get("Cache-Control") != "" {
		t.Errorf("explain off: got %d %v %q", rec.Code, rec.Result().Header, rec.Body.Bytes())
	}
	if es := records(logs); len(es) != 1 || es[0].ContextMap()["explained"] != false {
		t.Errorf("records:%s", describe(es))
	}
}

func TestLogOffWritesNoRecord(t *testing.T) {
	h, logs := newTestHandler(t, &Handler{LogOff: true})
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		w.WriteHeader(http.StatusConflict)
		return nil
	})
	rec := newRecorder()
	r, id := newRequest(t, http.MethodGet, "*/*", rec)
	if err := h.ServeHTTP(rec, r, next); err != nil {
		t.Fatal(err)
	}
	checkPageLoose(t, rec, 409, explain.FormatText, id)
	if es := records(logs); len(es) != 0 {
		t.Errorf("records with log off:%s", describe(es))
	}
}

func TestStockPagesOffPassesStockHTML(t *testing.T) {
	off := false
	h, _ := newTestHandler(t, &Handler{StockPages: &off})
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusConflict)
		_, err := io.WriteString(w, nginx409)
		return err
	})
	rec := newRecorder()
	r, _ := newRequest(t, http.MethodGet, browserAccept, rec)
	if err := h.ServeHTTP(rec, r, next); err != nil {
		t.Fatal(err)
	}
	if rec.Body.String() != nginx409 || rec.Result().Header.Get("Content-Type") != "text/html" {
		t.Errorf("stock_pages off: nginx page replaced: %q", rec.Body.String())
	}
}

// TestConcurrentResponsesDoNotMix drives one handler from many goroutines
// with responses of every kind, so pooled writers go from one kind to the
// next; run with -race.
func TestConcurrentResponsesDoNotMix(t *testing.T) {
	h, logs := newTestHandler(t, &Handler{})
	picks := []scenario{}
	for _, sc := range scenarios {
		switch sc.name {
		case "ShortTextPlainConflictExplained", "LargeTextPlainConflictPassesByteIdentical",
			"JSONConflictBodyPassesByteIdentical", "NginxStockConflictPageExplained",
			"TomcatStockPagePastBareMaxExplained", "LargeBinaryOKPassesByteIdentical",
			"GzipShortTextConflictExplainedWithoutContentEncoding", "NotFoundPlainExplainedWithoutRecord":
			picks = append(picks, sc)
		}
	}
	if len(picks) != 8 {
		t.Fatalf("picked %d scenarios", len(picks))
	}
	const workers, rounds = 16, 40
	var wg sync.WaitGroup
	wantRecords := 0
	for i := 0; i < workers; i++ {
		for j := 0; j < rounds; j++ {
			if conflictStatus[picks[(i+j)%len(picks)].status] {
				wantRecords++
			}
		}
	}
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < rounds; j++ {
				sc := picks[(i+j)%len(picks)]
				mode := writeModes[(i+j)%len(writeModes)]
				next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
					for k, v := range sc.header {
						w.Header().Set(k, v)
					}
					return mode.write(t, w, sc.status, sc.body)
				})
				rec := newRecorder()
				r, id := newRequest(t, http.MethodGet, "application/json", rec)
				if err := h.ServeHTTP(rec, r, next); err != nil {
					t.Errorf("%s: %v", sc.name, err)
					return
				}
				if rec.Code != sc.status {
					t.Errorf("%s: status %d", sc.name, rec.Code)
				}
				if sc.get == passes && !bytes.Equal(rec.Body.Bytes(), sc.body) {
					t.Errorf("%s/%s: body changed (%d bytes, want %d)", sc.name, mode.name, rec.Body.Len(), len(sc.body))
				}
				if sc.get == explained {
					var m map[string]any
					if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil || m["instance"] != "urn:uuid:"+id {
						t.Errorf("%s/%s: not this request's page: %v %v", sc.name, mode.name, err, m["instance"])
					}
				}
			}
		}(i)
	}
	wg.Wait()
	if n := logs.Len(); n != wantRecords {
		t.Errorf("%d records, want %d", n, wantRecords)
	}
}

// ---------------------------------------------------------------------------
// through net/http

// moduleServer serves next through the module on a real net/http server,
// and baseServer serves next alone. lastID returns the id of the module's
// last request.
func moduleServer(t *testing.T, h *Handler, next caddyhttp.Handler) (srv *httptest.Server, lastID func() string) {
	var mu sync.Mutex
	var id string
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		repl := caddy.NewReplacer()
		r = caddyhttp.PrepareRequest(r, repl, w, &caddyhttp.Server{})
		rid, _ := repl.GetString("http.request.uuid")
		mu.Lock()
		id = rid
		mu.Unlock()
		if err := h.ServeHTTP(w, r, next); err != nil {
			t.Errorf("ServeHTTP: %v", err)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, func() string { mu.Lock(); defer mu.Unlock(); return id }
}

func baseServer(t *testing.T, next caddyhttp.Handler) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = caddyhttp.PrepareRequest(r, caddy.NewReplacer(), w, &caddyhttp.Server{})
		if err := next.ServeHTTP(w, r); err != nil {
			t.Errorf("next: %v", err)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

type wireResponse struct {
	status  int
	header  http.Header
	trailer http.Header
	body    []byte
	length  int64
}

func fetch(t *testing.T, method, url, accept string) wireResponse {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	req.Header.Set("Accept", accept)
	// no transparent gzip: the bytes as sent
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	resp.Header.Del("Date")
	return wireResponse{resp.StatusCode, resp.Header, resp.Trailer, body, resp.ContentLength}
}

// TestScenariosThroughNetHTTP runs the table on real connections: what
// net/http sends with the module must be what it sends without (framing
// aside), or one whole page whose Content-Length is right.
func TestScenariosThroughNetHTTP(t *testing.T) {
	h, _ := newTestHandler(t, &Handler{})
	for _, sc := range scenarios {
		for _, mode := range writeModes {
			next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
				hdr := w.Header()
				hdr.Set("Etag", `"v2"`)
				hdr.Set("X-App", "kept")
				for k, v := range sc.header {
					hdr.Set(k, v)
				}
				return mode.write(t, w, sc.status, sc.body)
			})
			mod, lastID := moduleServer(t, h, next)
			base := baseServer(t, next)
			for _, method := range []string{http.MethodGet, http.MethodHead} {
				t.Run(sc.name+"/"+mode.name+"/"+method, func(t *testing.T) {
					want := sc.get
					if method == http.MethodHead {
						want = sc.head
						if !mode.announces && sc.headUnannounced != nil {
							want = *sc.headUnannounced
						}
					}
					got := fetch(t, method, mod.URL, browserAccept)
					if want == passes {
						exp := fetch(t, method, base.URL, browserAccept)
						if !mode.announces {
							// whether net/http counts a short body or chunks it
							// depends on when it is written: framing, not content
							got.header.Del("Content-Length")
							exp.header.Del("Content-Length")
						}
						if got.status != exp.status || !bytes.Equal(got.body, exp.body) ||
							!reflect.DeepEqual(got.header, exp.header) || !reflect.DeepEqual(got.trailer, exp.trailer) {
							t.Errorf("response changed:\n got  %d %v trailer %v body %d bytes\n want %d %v trailer %v body %d bytes",
								got.status, got.header, got.trailer, len(got.body), exp.status, exp.header, exp.trailer, len(exp.body))
						}
						return
					}
					page := expectedPage(t, h, sc.status, explain.FormatHTML, lastID(), method)
					if got.status != sc.status || got.header.Get("Content-Type") != explain.FormatHTML.ContentType() ||
						got.header.Get("Content-Length") != strconv.Itoa(len(page)) {
						t.Errorf("got %d %v, want %d and the %d-byte page", got.status, got.header, sc.status, len(page))
					}
					if method == http.MethodGet && !bytes.Equal(maskTime(got.body), maskTime(page)) {
						t.Errorf("body is not the page:\n%.300s", got.body)
					}
				})
			}
		}
	}
}

// TestTrailersOfReleasedBodyStayTrailers: a trailer set while the body is
// held must go out as a trailer only, as it does without the module.
func TestTrailersOfReleasedBodyStayTrailers(t *testing.T) {
	h, _ := newTestHandler(t, &Handler{})
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Trailer", "X-Checksum")
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusConflict)
		// not bare (a NUL byte), so released when next returns
		if _, err := w.Write([]byte("conflict\x00")); err != nil {
			return err
		}
		w.Header().Set("X-Checksum", "abc")
		w.Header().Set(http.TrailerPrefix+"X-Undeclared", "def")
		return nil
	})
	mod, _ := moduleServer(t, h, next)
	base := baseServer(t, next)
	got := fetch(t, http.MethodGet, mod.URL, "*/*")
	exp := fetch(t, http.MethodGet, base.URL, "*/*")
	if !reflect.DeepEqual(got.header, exp.header) || !reflect.DeepEqual(got.trailer, exp.trailer) || !bytes.Equal(got.body, exp.body) {
		t.Errorf("got header %v trailer %v, want header %v trailer %v", got.header, got.trailer, exp.header, exp.trailer)
	}
}

// TestLogRateCapsRecords: past log_rate, records are counted, not written,
// and one summary per status says how many were left out.
func TestLogRateCapsRecords(t *testing.T) {
	h, logs := newTestHandler(t, &Handler{LogRate: "3/h", LogRateInterval: caddy.Duration(time.Hour)})
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		w.WriteHeader(http.StatusConflict)
		return nil
	})
	for i := 0; i < 10; i++ {
		rec := newRecorder()
		r, id := newRequest(t, http.MethodGet, "*/*", rec)
		if err := h.ServeHTTP(rec, r, next); err != nil {
			t.Fatal(err)
		}
		// the page does not depend on the log
		checkPageLoose(t, rec, 409, explain.FormatText, id)
	}
	if es := records(logs); len(es) != 3 {
		t.Fatalf("%d records under log_rate 3/h, want 3:%s", len(es), describe(es))
	}
	if err := h.Cleanup(); err != nil {
		t.Fatal(err)
	}
	es := records(logs)
	if len(es) != 1 || es[0].ContextMap()["suppressed"] != int64(7) || es[0].ContextMap()["status"] != int64(409) {
		t.Fatalf("summary records:%s", describe(es))
	}
}

// ---------------------------------------------------------------------------
// what must flow (issue 8.3)

// syncRecorder is a ResponseWriter below the module that tells, on a
// channel, each time something reaches it, and can say whether anything
// reached it after the response ended. It is deliberately not safe for
// concurrent use: the race detector must see any call the module makes
// from its timer unsynchronised with the handler's.
type syncRecorder struct {
	header  http.Header
	status  int
	body    []byte
	flushes int
	// flushedBytes is how many body bytes there were at the last flush
	flushedBytes int
	events       chan string
	ended        *atomicBool
	late         *atomicBool
}

type atomicBool struct {
	mu sync.Mutex
	v  bool
}

func (b *atomicBool) set() { b.mu.Lock(); b.v = true; b.mu.Unlock() }
func (b *atomicBool) get() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.v
}

func newSyncRecorder() *syncRecorder {
	return &syncRecorder{header: http.Header{}, events: make(chan string, 64), ended: new(atomicBool), late: new(atomicBool)}
}

func (r *syncRecorder) note(ev string) {
	if r.ended.get() {
		r.late.set()
	}
	select {
	case r.events <- ev:
	default:
	}
}
func (r *syncRecorder) Header() http.Header { return r.header }
func (r *syncRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.note("status")
}
func (r *syncRecorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = 200
	}
	r.body = append(r.body, p...)
	r.note("body")
	return len(p), nil
}
func (r *syncRecorder) Flush() {
	r.flushes++
	r.flushedBytes = len(r.body)
	r.note("flush " + strconv.Itoa(len(r.body)))
}

// waitFor waits, up to a generous bound, for the event ev to reach the
// recorder, and says whether it did.
func (r *syncRecorder) waitFor(ev string, within time.Duration) bool {
	deadline := time.After(within)
	for {
		select {
		case got := <-r.events:
			if got == ev {
				return true
			}
		case <-deadline:
			return false
		}
	}
}

// TestFlushWhileHoldingReleasesSoon: a handler that writes a few bytes of
// a bare-looking 409, flushes and then writes nothing more has its status
// and bytes at the client, flushed, soon (DefaultFlushRelease, with a real
// clock and a generous bound), not at its next write; also when it flushed
// the status before the bytes too, as reverse_proxy's first flush may.
func TestFlushWhileHoldingReleasesSoon(t *testing.T) {
	h, logs := newTestHandler(t, &Handler{})
	for _, early := range []bool{false, true} {
		rec := newSyncRecorder()
		r, _ := newRequest(t, http.MethodGet, browserAccept, rec)
		arrived := false
		next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusConflict)
			if early {
				w.(http.Flusher).Flush()
			}
			w.Write([]byte("abc"))
			w.(http.Flusher).Flush()
			// nothing more until the client has had the bytes, flushed
			arrived = rec.waitFor("flush 3", 5*time.Second)
			w.Write([]byte("def"))
			return nil
		})
		if err := h.ServeHTTP(rec, r, next); err != nil {
			t.Fatal(err)
		}
		if !arrived {
			t.Fatalf("early flush %v: a flushed, held 409 did not reach the client within 5 s of the flush", early)
		}
		if rec.status != 409 || string(rec.body) != "abcdef" || rec.flushes > 2 {
			t.Fatalf("the client got %d %q after %d flushes, want 409 \"abcdef\" as written", rec.status, rec.body, rec.flushes)
		}
		es := records(logs)
		if len(es) != 1 || es[0].ContextMap()["explained"] != false || es[0].ContextMap()["body_excerpt"] != "abcdef" {
			t.Fatalf("records:%s", describe(es))
		}
	}
}

// TestFlushTimerNeverWritesAfterTheHandlerReturned drives the timer hard:
// it fires within microseconds, while the handler writes, flushes and
// returns. Nothing may reach the writer below after ServeHTTP returned, and
// (under -race) nothing concurrently with the handler's own calls; every
// response is either what the handler wrote or one page.
func TestFlushTimerNeverWritesAfterTheHandlerReturned(t *testing.T) {
	h, logs := newTestHandler(t, &Handler{})
	var all []*syncRecorder
	for _, d := range []time.Duration{time.Nanosecond, 20 * time.Microsecond, 200 * time.Microsecond} {
		h.flushRelease = d
		for i := 0; i < 300; i++ {
			rec := newSyncRecorder()
			all = append(all, rec)
			r, _ := newRequest(t, http.MethodGet, "*/*", rec)
			chunks := i % 5
			next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
				w.Header().Set("Content-Type", "text/plain")
				w.WriteHeader(http.StatusConflict)
				for j := 0; j < chunks; j++ {
					w.Write([]byte("x"))
					w.(http.Flusher).Flush()
				}
				if chunks == 0 {
					w.(http.Flusher).Flush()
				}
				return nil
			})
			if err := h.ServeHTTP(rec, r, next); err != nil {
				t.Fatal(err)
			}
			rec.ended.set()
			want := strings.Repeat("x", chunks)
			page := rec.header.Get("Cache-Control") == "no-store"
			if rec.status != 409 || !page && string(rec.body) != want || page && !bytes.HasPrefix(rec.body, []byte("409 ")) {
				t.Fatalf("flush release %v, %d chunks: the client got %d %q", d, chunks, rec.status, rec.body)
			}
			if n := len(records(logs)); n != 1 {
				t.Fatalf("%d records, want 1", n)
			}
		}
	}
	// give any stray timer the time to write, and look
	time.Sleep(20 * time.Millisecond)
	for i, rec := range all {
		if rec.late.get() {
			t.Fatalf("response %d: the module wrote after ServeHTTP returned", i)
		}
	}
}

// TestEventStreamIsNeverHeld: an event stream's status goes out at
// WriteHeader, so a flush reaches the client at once, even for a 409.
func TestEventStreamIsNeverHeld(t *testing.T) {
	h, _ := newTestHandler(t, &Handler{})
	for _, ctype := range []string{"text/event-stream", "Text/Event-Stream; charset=utf-8"} {
		rec := newSyncRecorder()
		r, _ := newRequest(t, http.MethodGet, browserAccept, rec)
		next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
			w.Header().Set("Content-Type", ctype)
			w.WriteHeader(http.StatusConflict)
			if rec.status != 409 {
				t.Errorf("%s: the status is held", ctype)
			}
			w.(http.Flusher).Flush()
			if rec.flushes != 1 {
				t.Errorf("%s: the flush is held", ctype)
			}
			return nil
		})
		if err := h.ServeHTTP(rec, r, next); err != nil {
			t.Fatal(err)
		}
		if len(rec.body) != 0 || rec.header.Get("Cache-Control") != "" {
			t.Fatalf("%s: an empty event stream was replaced: %q", ctype, rec.body)
		}
	}
}

// TestBidirectionalStreamIsNeverHeld: an HTTP/2 request with an open body,
// no Accept-Encoding and a response of no announced length is what
// reverse_proxy streams both ways; its status goes out at WriteHeader. The
// same response to a client that asks for gzip is held as usual.
func TestBidirectionalStreamIsNeverHeld(t *testing.T) {
	h, _ := newTestHandler(t, &Handler{})
	for _, tc := range []struct {
		name, ae string
		cl       int64
		held     bool
	}{
		{"NoAcceptEncoding", "", -1, false},
		{"Identity", "identity", -1, false},
		{"BodyOfKnownLength", "", 10, false},
		{"AsksForGzip", "gzip", -1, true},
		{"NoRequestBody", "", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newSyncRecorder()
			r, _ := newRequest(t, http.MethodPost, "*/*", rec)
			r.ProtoMajor, r.ProtoMinor, r.Proto = 2, 0, "HTTP/2.0"
			r.ContentLength = tc.cl
			if tc.ae != "" {
				r.Header.Set("Accept-Encoding", tc.ae)
			}
			next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
				w.Header().Set("Content-Type", "text/plain")
				w.WriteHeader(http.StatusConflict)
				if held := rec.status == 0; held != tc.held {
					t.Errorf("held %v, want %v", held, tc.held)
				}
				w.Write([]byte("pong\n"))
				return nil
			})
			if err := h.ServeHTTP(rec, r, next); err != nil {
				t.Fatal(err)
			}
			if page := rec.header.Get("Cache-Control") == "no-store"; page != tc.held {
				t.Fatalf("replaced %v, want %v: %q", page, tc.held, rec.body)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// composition (issue 8.6): Push reaches through

type pushRecorder struct {
	*httptest.ResponseRecorder
	pushed []string
}

func (p *pushRecorder) Push(target string, _ *http.PushOptions) error {
	p.pushed = append(p.pushed, target)
	return nil
}

func TestPushReachesTheWriterBelow(t *testing.T) {
	h, _ := newTestHandler(t, &Handler{})
	rec := &pushRecorder{ResponseRecorder: httptest.NewRecorder()}
	r, _ := newRequest(t, http.MethodGet, "*/*", rec)
	var pushErr error
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		p, ok := w.(http.Pusher)
		if !ok {
			t.Fatalf("%T is no http.Pusher", w)
		}
		pushErr = p.Push("/style.css", nil)
		w.WriteHeader(http.StatusOK)
		return nil
	})
	if err := h.ServeHTTP(rec, r, next); err != nil {
		t.Fatal(err)
	}
	if pushErr != nil || len(rec.pushed) != 1 || rec.pushed[0] != "/style.css" {
		t.Fatalf("push: %v, pushed %v", pushErr, rec.pushed)
	}
	// without a Pusher below, the handler learns so
	plain := newRecorder()
	r, _ = newRequest(t, http.MethodGet, "*/*", plain)
	next = caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		pushErr = w.(http.Pusher).Push("/style.css", nil)
		return nil
	})
	if err := h.ServeHTTP(plain, r, next); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(pushErr, http.ErrNotSupported) {
		t.Fatalf("push without a Pusher below: %v, want http.ErrNotSupported", pushErr)
	}
}

// ---------------------------------------------------------------------------
// the stock hold (issue 8.2)

// TestStockHoldPastBareMax: HTML is held past bare_max only while it can
// still be a stock page, and no further than explain.StockHoldMax; a
// Content-Length within the stock hold no longer lets an HTML body pass
// unjudged.
func TestStockHoldPastBareMax(t *testing.T) {
	h, _ := newTestHandler(t, &Handler{})
	appPage := append([]byte("<!doctype html><html><body><h1>Order 42 changed</h1><p>"), text(3000)...)
	for _, tc := range []struct {
		name string
		body []byte
		// cl announces the length; heldPast says the module may hold past
		// bare_max
		cl       bool
		heldPast bool
	}{
		{"AppHTMLReleasedAtBareMax", appPage, false, false},
		{"AppHTMLWithLengthReleasedAtBareMax", appPage, true, false},
		{"TomcatPageHeldToItsEnd", []byte(tomcat409), false, true},
		{"TomcatPageWithLengthHeldToItsEnd", []byte(tomcat409), true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.heldPast && explain.MayBeStock(tc.body[:bareMax+1]) {
				t.Fatal("the application's page looks like a stock page's start")
			}
			rec := newSyncRecorder()
			r, _ := newRequest(t, http.MethodGet, browserAccept, rec)
			var maxHeld int
			next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				if tc.cl {
					w.Header().Set("Content-Length", strconv.Itoa(len(tc.body)))
				}
				w.WriteHeader(http.StatusConflict)
				for b := tc.body; len(b) > 0; b = b[min(50, len(b)):] {
					w.Write(b[:min(50, len(b))])
					held := len(tc.body) - len(b) + min(50, len(b)) - len(rec.body)
					maxHeld = max(maxHeld, held)
				}
				return nil
			})
			if err := h.ServeHTTP(rec, r, next); err != nil {
				t.Fatal(err)
			}
			if tc.heldPast {
				if maxHeld <= bareMax || maxHeld > explain.StockHoldMax {
					t.Fatalf("held at most %d bytes of a stock page of %d, want past bare_max %d, within %d", maxHeld, len(tc.body), bareMax, explain.StockHoldMax)
				}
				return
			}
			if maxHeld > bareMax+50 {
				t.Fatalf("held %d bytes of the application's page; it is no stock page past bare_max %d", maxHeld, bareMax)
			}
			if !bytes.Equal(rec.body, tc.body) {
				t.Fatal("the application's page did not pass byte-identical")
			}
		})
	}
	// past the stock hold an announced length is not held at all
	rec := newSyncRecorder()
	r, _ := newRequest(t, http.MethodGet, browserAccept, rec)
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Length", strconv.Itoa(explain.StockHoldMax+1))
		w.WriteHeader(http.StatusConflict)
		if rec.status != 409 {
			t.Error("an HTML body announced past the stock hold is held")
		}
		return nil
	})
	if err := h.ServeHTTP(rec, r, next); err != nil {
		t.Fatal(err)
	}
}

// ---------------------------------------------------------------------------
// the record (issue 9)

// headerRewriter stands for an outer handler such as encode or a deferred
// header: at the status it rewrites the header the module shares with it.
type headerRewriter struct{ *testRecorder }

func (h headerRewriter) WriteHeader(code int) {
	hdr := h.Header()
	hdr.Set("Content-Encoding", "gzip")
	hdr.Set("Etag", `"v7-gzip"`)
	hdr.Set("Content-Type", "application/octet-stream")
	hdr.Set("Last-Modified", "Thu, 01 Jan 2026 00:00:00 GMT")
	h.testRecorder.WriteHeader(code)
}

// TestRecordFactsAreThoseTheModuleReceived: whatever an outer handler
// does to the header once the module passes the status on, the record
// describes the response as the module received it: type, ETag,
// Last-Modified and an excerpt of the bytes, for a page and for a body
// that passed.
func TestRecordFactsAreThoseTheModuleReceived(t *testing.T) {
	h, logs := newTestHandler(t, &Handler{})
	for _, tc := range []struct {
		name      string
		ctype     string
		body      []byte
		explained bool
	}{
		{"Explained", "text/plain; charset=utf-8", []byte("Conflict\n"), true},
		{"PassedLong", "text/plain; charset=utf-8", text(600), false},
		{"PassedJSON", "application/json", jsonOf(700), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := headerRewriter{newRecorder()}
			r, _ := newRequest(t, http.MethodPut, browserAccept, rec)
			r.Header.Set("If-Match", `"v7"`)
			next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
				w.Header().Set("Content-Type", tc.ctype)
				w.Header().Set("Etag", `"v7"`)
				w.Header().Set("Last-Modified", "Mon, 06 May 2024 07:08:09 GMT")
				w.WriteHeader(http.StatusConflict)
				_, err := w.Write(tc.body)
				return err
			})
			if err := h.ServeHTTP(rec, r, next); err != nil {
				t.Fatal(err)
			}
			es := records(logs)
			if len(es) != 1 {
				t.Fatalf("records:%s", describe(es))
			}
			f := es[0].ContextMap()
			v, _ := f["validators"].(map[string]any)
			wantEx := string(tc.body[:min(len(tc.body), DefaultExcerpt)])
			if v["ETag"] != `"v7"` || v["Last-Modified"] != "Mon, 06 May 2024 07:08:09 GMT" ||
				f["content_type"] != tc.ctype || f["body_excerpt"] != wantEx || f["explained"] != tc.explained ||
				f["body_bytes"] != int64(len(tc.body)) {
				t.Fatalf("record describes the rewritten response:%s", describe(es))
			}
		})
	}
}

// TestGzipExcerptIsDecoded: a gzip body's excerpt is of its decoded bytes;
// another coding's is left out, and the record says why.
func TestGzipExcerptIsDecoded(t *testing.T) {
	h, logs := newTestHandler(t, &Handler{})
	long := text(3000)
	for _, tc := range []struct {
		name, coding string
		body         []byte
		excerpt      string
	}{
		{"Gzip", "gzip", gz(long), string(long[:DefaultExcerpt])},
		{"Zstd", "zstd", []byte("\x28\xb5\x2f\xfd not really zstd, never read"), ""},
	} {
		rec := newRecorder()
		r, _ := newRequest(t, http.MethodGet, "*/*", rec)
		next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
			w.Header().Set("Content-Type", "text/plain")
			w.Header().Set("Content-Encoding", tc.coding)
			w.WriteHeader(http.StatusConflict)
			_, err := w.Write(tc.body)
			return err
		})
		if err := h.ServeHTTP(rec, r, next); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(rec.Body.Bytes(), tc.body) {
			t.Fatalf("%s: the body did not pass byte-identical", tc.name)
		}
		es := records(logs)
		f := es[0].ContextMap()
		if tc.excerpt != "" && f["body_excerpt"] != tc.excerpt {
			t.Fatalf("%s: excerpt %q, want %q", tc.name, f["body_excerpt"], tc.excerpt)
		}
		if tc.excerpt == "" && (f["body_excerpt"] != nil || f["body_excerpt_omitted"] == nil) {
			t.Fatalf("%s: record:%s", tc.name, describe(es))
		}
	}
}

// TestHandlerErrorsAtCaddysLevelUnderLogRate: an explained handler error
// is logged where Caddy's server would log it, DEBUG below 500 and ERROR
// from 500 (server.go, errLogValues), and log_rate caps those records as it
// caps conflict records, counting the rest in the summary and the metric.
func TestHandlerErrorsAtCaddysLevelUnderLogRate(t *testing.T) {
	h, logs := newTestHandler(t, &Handler{LogRate: "3/h", LogRateInterval: caddy.Duration(time.Hour)})
	serve := func(status int) {
		rec := newRecorder()
		r, id := newRequest(t, http.MethodGet, "*/*", rec)
		next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
			return caddyhttp.Error(status, errors.New("no such file"))
		})
		if err := h.ServeHTTP(rec, r, next); err != nil {
			t.Fatal(err)
		}
		checkPageLoose(t, rec, status, explain.FormatText, id)
	}
	for i := 0; i < 10; i++ {
		serve(http.StatusNotFound)
	}
	serve(http.StatusBadGateway)
	es := records(logs)
	var debug404, error502 int
	for _, e := range es {
		switch {
		case e.Level == zapcore.DebugLevel && e.ContextMap()["status"] == int64(404):
			debug404++
		case e.Level == zapcore.ErrorLevel && e.ContextMap()["status"] == int64(502):
			error502++
		default:
			t.Errorf("unexpected record %s %q %v", e.Level, e.Message, e.ContextMap())
		}
	}
	if debug404 != 3 || error502 != 1 {
		t.Fatalf("%d DEBUG records of 404 (want 3 under log_rate 3/h), %d ERROR of 502 (want 1)", debug404, error502)
	}
	if err := h.Cleanup(); err != nil {
		t.Fatal(err)
	}
	es = records(logs)
	if len(es) != 1 || es[0].Message != "records suppressed" || es[0].ContextMap()["suppressed"] != int64(7) || es[0].ContextMap()["status"] != int64(404) {
		t.Fatalf("summary records:%s", describe(es))
	}
	if got := testutilCount(t, h.metrics.suppressed); got != 7 {
		t.Fatalf("suppressed metric %v, want 7", got)
	}
}

// testutilCount sums a counter vector over all its labels.
func testutilCount(t *testing.T, c *prometheus.CounterVec) float64 {
	t.Helper()
	ch := make(chan prometheus.Metric, 64)
	c.Collect(ch)
	close(ch)
	var sum float64
	for m := range ch {
		var d dto.Metric
		if err := m.Write(&d); err != nil {
			t.Fatal(err)
		}
		sum += d.GetCounter().GetValue()
	}
	return sum
}
