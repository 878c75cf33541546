package caddymodule

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/explainerrors/caddy-explain-errors/explain"
)

// state is where a response stands. It moves one way only:
// undecided → pass | watch | hold → (hold only) watch | replace.
type state uint8

const (
	// no final status yet
	undecided state = iota
	// passing through, unobserved: neither logged nor explained
	pass
	// passing through, counted and excerpted for the log record
	watch
	// holding the body while deciding whether it is bare
	hold
	// the body is bare: it is dropped and a page goes out at the end
	replace
)

// holdWindow bounds how long a body may trickle in while it is held: a
// write or flush that comes later releases it, so a slow stream is never
// kept from the client until its end.
const holdWindow = time.Second

// DefaultFlushRelease is how long a held response may wait after the chain
// flushed it: then the timer sends the status and the held bytes, even if
// the chain writes nothing more. With the timer's own latency the client
// has them within 250 ms of the flush.
const DefaultFlushRelease = 200 * time.Millisecond

// writer is the response writer of one request. It is pooled; reset
// prepares it for the next.
type writer struct {
	http.ResponseWriter
	h *Handler
	r *http.Request

	// mu serialises the chain's calls with the flush timer, the one
	// thing that may write from another goroutine. The timer exists only
	// after a flush while holding; ended, set by finish and abandon under
	// mu, tells it the response is no longer its to send. fired says its
	// function ran to its end; a writer whose timer may still run is not
	// pooled.
	mu    sync.Mutex
	timer *time.Timer
	ended bool
	fired bool
	// poolable is false when the timer may still run after the response
	poolable bool

	state  state
	status int
	// logged is the status's membership in the log set; kind is what the
	// Content-Type says about a held body, gzipped whether it is gzip.
	logged    bool
	kind      explain.BodyKind
	gzipped   bool
	holdStart time.Time

	held []byte // the body while holding; kept across pool uses
	// the header as it was at the held status: net/http sends the header
	// at WriteHeader, so later changes must not reach the client
	snapshot  http.Header
	excerpt   []byte // the first bytes of a watched body; kept too
	bodyBytes int64  // body bytes the chain wrote
	stock     string // the server whose stock page the body is
	message   string // the application's words inside a stock page
	// words is a copy of the first bytes of a released page in a server's
	// layout that carries someone else's words, kept (up to
	// explain.StockHoldMax) until the words are whole, for the record
	words     []byte
	wordsOpen bool
	explained bool
	// fromError says the response is a handler's returned error, not
	// something it wrote
	fromError bool
	// flushedEarly says the handler flushed its held status before any
	// body byte; flushedLen is how many held bytes there were at its last
	// flush after some (0 for none)
	flushedEarly bool
	flushedLen   int

	// facts of the response as the module received it, for the record:
	// frozen at the final status, whatever outer handlers do later
	facts facts

	// the replaced body's headers, set by writePage
	oldType, oldETag, oldLastModified string

	id      string
	idDone  bool
	pagebuf []byte
	obs     explain.Observation

	// gzip decoding of held bodies, kept across pool uses
	zr      *gzip.Reader
	br      bytes.Reader
	decoded []byte
}

// facts are the header values the record reports.
type facts struct {
	contentType, encoding, etag, lastModified string
}

func (f *facts) take(hdr http.Header) {
	f.contentType, f.encoding = hdr.Get("Content-Type"), hdr.Get("Content-Encoding")
	f.etag, f.lastModified = hdr.Get("Etag"), hdr.Get("Last-Modified")
}

// requestID is the request's id, asked of Caddy once per response.
func (w *writer) requestID() string {
	if !w.idDone {
		w.id, w.idDone = requestID(w.r), true
	}
	return w.id
}

func (w *writer) reset(h *Handler, rw http.ResponseWriter, r *http.Request) {
	w.ResponseWriter, w.h, w.r = rw, h, r
	w.timer, w.ended, w.fired, w.poolable = nil, false, false, true
	w.state, w.status, w.logged, w.kind, w.gzipped = undecided, 0, false, 0, false
	w.holdStart = time.Time{}
	w.held, w.excerpt, w.pagebuf, w.words = w.held[:0], w.excerpt[:0], w.pagebuf[:0], w.words[:0]
	w.wordsOpen = false
	w.snapshot, w.bodyBytes, w.stock, w.message = nil, 0, "", ""
	w.explained, w.fromError, w.flushedEarly, w.flushedLen = false, false, false, 0
	w.facts = facts{}
	w.oldType, w.oldETag, w.oldLastModified = "", "", ""
	w.id, w.idDone = "", false
	w.obs = explain.Observation{}
	w.decoded = w.decoded[:0]
}

// release drops the references of a finished response before the writer
// goes back to the pool.
func (w *writer) release() {
	most := w.h.stockMax() + 1
	if cap(w.held) > most || cap(w.excerpt) > max(w.h.excerpt, w.excerptCap()) {
		w.held, w.excerpt = nil, nil
	}
	if cap(w.decoded) > most {
		w.decoded = nil
	}
	if cap(w.words) > most {
		w.words = nil
	}
	if cap(w.pagebuf) > 64<<10 {
		w.pagebuf = nil
	}
	w.br.Reset(nil)
	w.ResponseWriter, w.r, w.h, w.snapshot = nil, nil, nil, nil
}

// stockMax is the most bytes of an HTML body held while it can still be a
// stock page.
func (h *Handler) stockMax() int { return max(h.bareMax, explain.StockHoldMax) }

// Unwrap lets http.ResponseController reach the writer below, for
// Hijack, SetReadDeadline and the like.
func (w *writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Push lets Caddy's push handler, and any handler after this one, push
// through the module, as caddyhttp.ResponseWriterWrapper does.
func (w *writer) Push(target string, opts *http.PushOptions) error {
	if p, ok := w.ResponseWriter.(http.Pusher); ok {
		return p.Push(target, opts)
	}
	return http.ErrNotSupported
}

// WriteHeader decides, once, at the final status.
func (w *writer) WriteHeader(code int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writeHeader(code)
}

func (w *writer) writeHeader(code int) {
	if w.state != undecided {
		// a second final status is ignored, as net/http ignores it
		return
	}
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		// 1xx such as 103 Early Hints are not the response
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.status = code
	w.logged = w.h.logSet.has(code)
	if w.logged {
		w.facts.take(w.Header())
		w.gzipped = strings.EqualFold(w.facts.encoding, "gzip")
	}
	if w.explainable(code) {
		w.state = hold
		w.holdStart = time.Now()
		w.snapshot = w.Header().Clone()
		return
	}
	if w.logged {
		w.state = watch
	} else {
		w.state = pass
	}
	w.ResponseWriter.WriteHeader(code)
}

// explainable says whether the body of a response with this status and
// the headers now set might be bare, so that it must be held.
func (w *writer) explainable(code int) bool {
	if !w.h.explainSet.has(code) || !w.upgradeless() {
		return false
	}
	hdr := w.Header()
	if caddyhttp.IsIncremental(hdr) || hdr.Get("Content-Range") != "" {
		return false
	}
	ct := hdr.Get("Content-Type")
	if isEventStream(ct) || w.bidirectional(hdr) {
		// must flow: reverse_proxy flushes these at once
		return false
	}
	// a typed body is held too, with a budget of no bytes (see budget): it
	// is bare only when empty, and goes out at its first byte
	w.kind = explain.KindOf(ct)
	w.gzipped = false
	switch ce := hdr.Get("Content-Encoding"); {
	case ce == "" || strings.EqualFold(ce, "identity"):
	case strings.EqualFold(ce, "gzip"):
		w.gzipped = true
	default:
		return false // an encoding we do not read is left alone
	}
	if cl := hdr.Get("Content-Length"); cl != "" {
		n, err := strconv.ParseInt(cl, 10, 64)
		if err != nil || n < 0 {
			return false // not ours to repair
		}
		// an HTML stock page may be longer than bare_max, up to the
		// stock hold; a longer plain body cannot be bare
		if n > int64(w.budget()) && (!w.stockCandidate() || n > int64(w.h.stockMax())) {
			return false
		}
	}
	return true
}

// isEventStream says whether a Content-Type is text/event-stream, with or
// without parameters.
func isEventStream(ct string) bool {
	mt, _, _ := strings.Cut(ct, ";")
	return strings.EqualFold(strings.TrimSpace(mt), "text/event-stream")
}

// bidirectional says whether the response may be one half of a
// bidirectional HTTP/2 stream, as reverse_proxy's isBidirectionalStream
// tells them: an HTTP/2 request with a body still open, a response of no
// announced length, and no content coding asked for. reverse_proxy also
// requires the upstream to answer over HTTP/2, which a handler's writer
// cannot see, so this says yes to a few more.
func (w *writer) bidirectional(hdr http.Header) bool {
	if w.r.ProtoMajor != 2 || w.r.ContentLength == 0 || hdr.Get("Content-Length") != "" {
		return false
	}
	ae := w.r.Header.Get("Accept-Encoding")
	return ae == "" || ae == "identity"
}

// budget is how many body bytes may be held: bare_max, or none for a
// typed body (HTML too, when stock pages are off), which is bare only when
// empty. An HTML body may be held past it while it can be a stock page.
func (w *writer) budget() int {
	if w.kind == explain.KindOther || w.kind == explain.KindHTML && !w.h.stockPages {
		return 0
	}
	return w.h.bareMax
}

// stockCandidate says whether the held body may be a stock page, and so
// be held past bare_max.
func (w *writer) stockCandidate() bool {
	return w.kind == explain.KindHTML && w.h.stockPages
}

// upgradeless says the request is neither a CONNECT nor a protocol
// upgrade, whose responses belong to the tunnel and are never rewritten.
func (w *writer) upgradeless() bool {
	return w.r.Method != http.MethodConnect && w.r.Header.Get("Upgrade") == ""
}

// Write sends, counts, holds or drops p, as the state says.
func (w *writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.write(p)
}

func (w *writer) write(p []byte) (int, error) {
	if w.state == undecided {
		w.writeHeader(http.StatusOK)
	}
	switch w.state {
	case pass:
		return w.ResponseWriter.Write(p)
	case watch:
		w.observe(p)
		return w.ResponseWriter.Write(p)
	case replace:
		w.bodyBytes += int64(len(p))
		return len(p), nil
	}
	// hold
	if time.Since(w.holdStart) < holdWindow && w.keep(p) {
		w.bodyBytes += int64(len(p))
		return len(p), nil
	}
	if err := w.releaseHeld(); err != nil {
		return 0, err
	}
	w.observe(p)
	return w.ResponseWriter.Write(p)
}

// keep holds p when the body may still be bare with it: within the
// budget, or, for HTML, within the stock hold while the bytes so far can
// still be a stock page.
func (w *writer) keep(p []byte) bool {
	n := len(w.held) + len(p)
	if n <= w.budget() {
		w.held = append(w.held, p...)
		return true
	}
	if !w.stockCandidate() || n > w.h.stockMax() {
		return false
	}
	w.held = append(w.held, p...)
	if w.mayBeStock() {
		return true
	}
	// a server's page with someone else's words in it: the words go into
	// the record, the page to the client as it came
	w.noteWords(len(p))
	w.held = w.held[:n-len(p)]
	return false
}

// noteWords keeps the application's words of the held HTML, decoded if
// gzip, when it is a known server's page that carries them. The words may
// go on past the bytes held so far: for a body that is not gzip, a copy of
// what follows is kept (see observe) up to explain.StockHoldMax and read
// again for the record (see upstreamMessage).
//
// The last last bytes of w.held are the write that is being refused: they
// are copied by observe once they pass.
func (w *writer) noteWords(last int) {
	body := w.held
	if w.gzipped {
		var ok bool
		if body, ok = w.gunzip(w.held, w.h.stockMax(), false); !ok {
			return
		}
	}
	if _, words := explain.StockWords(body); words != "" {
		w.message = words
	}
	if !w.gzipped && w.logged {
		// the words may still be to come (nginx's layout is only known
		// at its end): the record reads the page again
		w.words = append(w.words[:0], body[:len(body)-last]...)
		w.wordsOpen = true
	}
}

// upstreamMessage is the application's words for the record: read again
// from the copy of the page's first bytes when one was kept.
func (w *writer) upstreamMessage() string {
	if w.wordsOpen {
		if _, words := explain.StockWords(w.words); words != "" {
			return words
		}
	}
	return w.message
}

// mayBeStock says whether the held HTML, decoded if gzip, is within
// bare_max or can still grow into a stock page.
func (w *writer) mayBeStock() bool {
	body := w.held
	if w.gzipped {
		var ok bool
		if body, ok = w.gunzip(w.held, w.h.stockMax(), false); !ok || len(body) > w.h.stockMax() {
			return false
		}
	}
	return len(body) <= w.h.bareMax || explain.MayBeStock(body)
}

// excerptCap is how many bytes of a watched body are kept: the excerpt,
// or for a gzip body enough of its encoded bytes to decode one.
func (w *writer) excerptCap() int {
	if w.gzipped && w.h.excerpt > 0 {
		return min(4*w.h.excerpt+64, maxSize)
	}
	return w.h.excerpt
}

// observe counts p and keeps the excerpt's bytes of it.
func (w *writer) observe(p []byte) {
	if c := w.excerptCap(); w.logged && len(w.excerpt) < c {
		w.excerpt = append(w.excerpt, p[:min(len(p), c-len(w.excerpt))]...)
	}
	if w.wordsOpen && len(w.words) < explain.StockHoldMax {
		w.words = append(w.words, p[:min(len(p), explain.StockHoldMax-len(w.words))]...)
	}
	w.bodyBytes += int64(len(p))
}

// releaseHeld gives up holding: the status and what was held go out as
// they came, and the rest streams on. The chain's flushes while holding
// are made now: one before the held bytes if it flushed before any, one
// after them if it flushed after some.
func (w *writer) releaseHeld() error {
	w.state = watch
	if c := w.excerptCap(); w.logged && len(w.excerpt) == 0 {
		w.excerpt = append(w.excerpt, w.held[:min(len(w.held), c)]...)
	}
	trailers := w.restoreHeader()
	w.ResponseWriter.WriteHeader(w.status)
	if w.flushedEarly {
		// the handler flushed its status before any byte: without this
		// module net/http would have sent the header then, unsniffed
		_ = http.NewResponseController(w.ResponseWriter).Flush()
	}
	var err error
	if len(w.held) > 0 {
		_, err = w.ResponseWriter.Write(w.held)
	}
	if w.flushedLen > 0 && err == nil {
		err = http.NewResponseController(w.ResponseWriter).Flush()
	}
	// set after the status, declared trailers go out as trailers
	maps.Copy(w.Header(), trailers)
	return err
}

// restoreHeader puts the header back as it was at the held status, and
// returns the declared trailers set since: they must go back only once the
// status is written, or net/http would send them as headers too.
func (w *writer) restoreHeader() (trailers http.Header) {
	if w.snapshot == nil {
		return nil
	}
	hdr := w.Header()
	declared := w.snapshot["Trailer"]
	for k, v := range hdr {
		if _, ok := w.snapshot[k]; ok || strings.HasPrefix(k, http.TrailerPrefix) {
			continue
		}
		if isDeclaredTrailer(declared, k) {
			if trailers == nil {
				trailers = make(http.Header)
			}
			trailers[k] = v
		}
		delete(hdr, k)
	}
	maps.Copy(hdr, w.snapshot)
	return trailers
}

func isDeclaredTrailer(declared []string, k string) bool {
	for _, d := range declared {
		for name := range strings.SplitSeq(d, ",") {
			if http.CanonicalHeaderKey(strings.TrimSpace(name)) == k {
				return true
			}
		}
	}
	return false
}

// ReadFrom keeps io.Copy (file_server, reverse_proxy's buffered bodies)
// from going around the decision: once the response passes, it goes to the
// writer below, whose own ReadFrom may use sendfile.
func (w *writer) ReadFrom(src io.Reader) (int64, error) {
	w.mu.Lock()
	if w.state == undecided {
		// as Write would; net/http still sniffs the Content-Type from the
		// first bytes, since the header goes out with them
		w.writeHeader(http.StatusOK)
	}
	st := w.state
	w.mu.Unlock()
	// pass is final, and no timer exists for it
	if st == pass {
		if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
			return rf.ReadFrom(src)
		}
	}
	return io.Copy(writerOnly{w}, src)
}

// writerOnly hides ReadFrom from io.Copy, which would call it again.
type writerOnly struct{ io.Writer }

// FlushError flushes what has passed. A held body is not flushed at once:
// the flush starts the timer that sends it within DefaultFlushRelease
// unless the body is decided sooner. A flush more than holdWindow after
// the status releases it at once.
func (w *writer) FlushError() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch w.state {
	case undecided:
		// flushing commits the status, as it would without this module
		w.writeHeader(http.StatusOK)
		if w.state == hold {
			return w.flushHeld()
		}
	case hold:
		if time.Since(w.holdStart) < holdWindow {
			return w.flushHeld()
		}
		w.flushedLen = 0 // flushed below
		if err := w.releaseHeld(); err != nil {
			return err
		}
	case replace:
		return nil
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// flushHeld notes a flush while holding and starts the release timer.
func (w *writer) flushHeld() error {
	if len(w.held) == 0 {
		w.flushedEarly = true
	} else {
		w.flushedLen = len(w.held)
	}
	if w.timer == nil {
		w.timer = time.AfterFunc(w.h.flushRelease, w.flushTimeout)
	}
	return nil
}

// flushTimeout runs on the timer's goroutine: the chain flushed and the
// body is still held, so it goes out as it came.
func (w *writer) flushTimeout() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.ended && w.state == hold {
		_ = w.releaseHeld()
	}
	w.fired = true
}

// stopTimer makes sure the timer writes nothing from now on; mu is held.
func (w *writer) stopTimer() {
	w.ended = true
	if w.timer != nil && !w.timer.Stop() && !w.fired {
		// the timer's function is waiting for mu: it will see ended, but
		// the writer must not be reused before it has
		w.poolable = false
	}
}

// Flush is FlushError for callers that use http.Flusher.
func (w *writer) Flush() { _ = w.FlushError() }

// Hijack hands the connection over, for protocol upgrades.
func (w *writer) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// finish ends the response after the chain returned err: it replaces or
// releases a held body, answers a handler error with a page where it
// should, writes the log record and returns the error the chain above
// must see.
func (w *writer) finish(err error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopTimer()
	if err != nil && w.state == undecided {
		// nothing was written: the error is the response
		w.fromError = true
		w.status = errorStatus(err)
		w.logged = w.h.logSet.has(w.status)
		w.facts.take(w.Header())
		if w.h.handlerErrors && w.h.explainSet.has(w.status) && w.upgradeless() && w.r.Context().Err() == nil {
			// the error's own body would be empty: explain it
			w.writePage()
			w.record(err)
			return nil
		}
		w.record(err)
		return err
	}
	// err, from here on, is a handler's error after it wrote a status:
	// most often an upstream that broke off mid-body
	switch w.state {
	case hold:
		if w.bare(err == nil) {
			w.writePage()
		} else if rerr := w.releaseHeld(); rerr != nil && err == nil {
			err = rerr
		}
	case replace:
		w.writePage()
	case undecided:
		// the chain wrote nothing at all: net/http will send 200 with an
		// empty body, and so do we
	}
	w.record(err)
	if err != nil && w.explained {
		// the visitor got a whole page; the record keeps the error
		return nil
	}
	return err
}

// abandon ends a response whose handler panicked (http.ErrAbortHandler
// included), while the panic goes on to Caddy: a held body goes out as it
// came, flushed, as reverse_proxy flushes before it aborts, so the client
// gets what it would get without the module; then the record is written.
func (w *writer) abandon() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopTimer()
	if w.state == undecided {
		return // nothing was decided; Caddy will log the panic
	}
	if w.state == hold {
		if err := w.releaseHeld(); err == nil {
			_ = http.NewResponseController(w.ResponseWriter).Flush()
		}
	}
	w.record(errors.New("the handler panicked or aborted the response"))
}

// errorStatus is the status Caddy gives a handler error.
func errorStatus(err error) int {
	var he caddyhttp.HandlerError
	if errors.As(err, &he) && he.StatusCode >= 100 && he.StatusCode <= 999 {
		return he.StatusCode
	}
	return http.StatusInternalServerError
}

// bare reports whether the held body, now known whole (or cut short when
// complete is false), says no more than the status line.
func (w *writer) bare(complete bool) bool {
	body := w.held
	if w.r.Method == http.MethodHead && len(body) == 0 {
		// No body came. Caddy's own handlers write for HEAD what they
		// would for GET (net/http drops it), so nothing means an empty
		// body, judged below as GET's. A proxied HEAD carries no body
		// even when GET's has one: it is known bare when it announces an
		// empty body, or announces neither a length nor a type (servers
		// type the bodies they send; Go's net/http answers HEAD of an
		// empty 409 so), and anything else passes as it came.
		cl := w.snapshot.Get("Content-Length")
		if cl == "0" {
			return true
		}
		if upstream(w.r) != "" {
			_, typed := w.snapshot["Content-Type"]
			return cl == "" && !typed
		}
	}
	if w.gzipped {
		if !complete {
			return false
		}
		limit := w.h.bareMax
		if w.stockCandidate() {
			limit = w.h.stockMax()
		}
		decoded, ok := w.gunzip(body, limit, true)
		if !ok {
			return false
		}
		body = decoded
	}
	_, typed := w.snapshot["Content-Type"]
	v := explain.Judge(explain.JudgeInput{
		Kind: w.kind, Typed: typed, Body: body, Complete: complete,
		BareMax: w.h.bareMax, StockPages: w.h.stockPages,
	})
	w.stock, w.message = v.Server, v.Message
	return v.Bare
}

// gunzip decodes b, a gzip body or its first bytes, into w.decoded, up to
// limit+1 bytes. When whole, b must be the complete stream and decode to
// at most limit bytes. When not, it returns what b decodes to so far
// (more than limit says the body is longer), and ok false only for bytes
// that are not gzip.
func (w *writer) gunzip(b []byte, limit int, whole bool) (out []byte, ok bool) {
	if len(b) == 0 {
		return nil, true
	}
	w.br.Reset(b)
	var err error
	if w.zr == nil {
		w.zr, err = gzip.NewReader(&w.br)
	} else {
		err = w.zr.Reset(&w.br)
	}
	if err != nil {
		// a header cut short decodes to nothing yet
		return nil, !whole && (err == io.ErrUnexpectedEOF || err == io.EOF)
	}
	out = w.decoded[:0]
	for len(out) <= limit {
		if len(out) == cap(out) {
			out = slices.Grow(out, min(limit+1-len(out), 4096))
		}
		n, rerr := w.zr.Read(out[len(out):min(cap(out), limit+1)])
		out = out[:len(out)+n]
		if rerr == io.EOF {
			w.decoded = out
			return out, len(out) <= limit || !whole
		}
		if rerr != nil {
			w.decoded = out
			return out, !whole && rerr == io.ErrUnexpectedEOF
		}
	}
	w.decoded = out
	return out, !whole
}
