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
	"strconv"
	"strings"
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
	// holding up to bare_max bytes while deciding whether the body is bare
	hold
	// the body is bare: it is dropped and a page goes out at the end
	replace
)

// holdWindow bounds how long a body may trickle in while it is held: a
// write or flush that comes later releases it, so a slow stream is never
// kept from the client until its end.
const holdWindow = time.Second

// writer is the response writer of one request. It is pooled; reset
// prepares it for the next.
type writer struct {
	http.ResponseWriter
	h *Handler
	r *http.Request

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
	explained bool
	// fromError says the response is a handler's returned error, not
	// something it wrote
	fromError bool
	// flushedEarly says the handler flushed its held status before any
	// body byte
	flushedEarly bool

	// the replaced body's headers, for the record
	oldType, oldETag, oldLastModified string

	id      string
	idDone  bool
	pagebuf []byte
	obs     explain.Observation
}

// requestID is the request's id, asked of Caddy once per response.
func (w *writer) requestID() string {
	if !w.idDone {
		w.id, w.idDone = requestID(w.r), true
	}
	return w.id
}

func (w *writer) reset(h *Handler, rw http.ResponseWriter, r *http.Request) {
	*w = writer{
		ResponseWriter: rw,
		h:              h,
		r:              r,
		held:           w.held[:0],
		excerpt:        w.excerpt[:0],
		pagebuf:        w.pagebuf[:0],
	}
}

// release drops the references of a finished response before the writer
// goes back to the pool.
func (w *writer) release() {
	if cap(w.held) > w.h.bareMax+1 || cap(w.excerpt) > w.h.excerpt {
		w.held, w.excerpt = nil, nil
	}
	if cap(w.pagebuf) > 64<<10 {
		w.pagebuf = nil
	}
	w.ResponseWriter, w.r, w.h = nil, nil, nil
}

// Unwrap lets http.ResponseController reach the writer below, for
// Hijack, SetReadDeadline and the like.
func (w *writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// WriteHeader decides, once, at the final status.
func (w *writer) WriteHeader(code int) {
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
	// a typed body is held too, with a budget of no bytes (see budget): it
	// is bare only when empty, and goes out at its first byte
	w.kind = explain.KindOf(hdr.Get("Content-Type"))
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
		// an HTML stock page may be known by its first bytes, so a longer
		// one is still held; a long plain or gzip body cannot be bare
		if n > int64(w.budget()) && (w.kind != explain.KindHTML || w.gzipped) {
			return false
		}
	}
	return true
}

// budget is how many body bytes may be held: bare_max, or none for a
// typed body (HTML too, when stock pages are off), which is bare only when
// empty.
func (w *writer) budget() int {
	if w.kind == explain.KindOther || w.kind == explain.KindHTML && !w.h.stockPages {
		return 0
	}
	return w.h.bareMax
}

// upgradeless says the request is neither a CONNECT nor a protocol
// upgrade, whose responses belong to the tunnel and are never rewritten.
func (w *writer) upgradeless() bool {
	return w.r.Method != http.MethodConnect && w.r.Header.Get("Upgrade") == ""
}

// Write sends, counts, holds or drops p, as the state says.
func (w *writer) Write(p []byte) (int, error) {
	if w.state == undecided {
		w.WriteHeader(http.StatusOK)
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
	if len(w.held)+len(p) <= w.budget() && time.Since(w.holdStart) < holdWindow {
		w.held = append(w.held, p...)
		w.bodyBytes += int64(len(p))
		return len(p), nil
	}
	if len(w.held)+len(p) > w.h.bareMax && w.kind == explain.KindHTML && w.h.stockPages && !w.gzipped {
		// past bare_max only a stock page known by its first bytes is bare
		room := w.h.bareMax + 1 - len(w.held)
		w.held = append(w.held, p[:min(room, len(p))]...)
		if w.stock = explain.StockServer(w.held, false); w.stock != "" {
			w.state = replace
			w.bodyBytes += int64(len(p))
			return len(p), nil
		}
		w.held = w.held[:len(w.held)-min(room, len(p))]
	}
	if err := w.releaseHeld(); err != nil {
		return 0, err
	}
	w.observe(p)
	return w.ResponseWriter.Write(p)
}

// observe counts p and keeps the excerpt's bytes of it.
func (w *writer) observe(p []byte) {
	if w.logged && len(w.excerpt) < w.h.excerpt {
		w.excerpt = append(w.excerpt, p[:min(len(p), w.h.excerpt-len(w.excerpt))]...)
	}
	w.bodyBytes += int64(len(p))
}

// releaseHeld gives up holding: the status and what was held go out as
// they came, and the rest streams on.
func (w *writer) releaseHeld() error {
	w.state = watch
	if w.logged && len(w.excerpt) == 0 && !w.gzipped {
		w.excerpt = append(w.excerpt, w.held[:min(len(w.held), w.h.excerpt)]...)
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
	if w.state == undecided {
		// as Write would; net/http still sniffs the Content-Type from the
		// first bytes, since the header goes out with them
		w.WriteHeader(http.StatusOK)
	}
	if w.state == pass {
		if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
			return rf.ReadFrom(src)
		}
	}
	return io.Copy(writerOnly{w}, src)
}

// writerOnly hides ReadFrom from io.Copy, which would call it again.
type writerOnly struct{ io.Writer }

// FlushError flushes what has passed. A held body is not flushed, unless it
// has trickled in for longer than holdWindow.
func (w *writer) FlushError() error {
	switch w.state {
	case undecided:
		// flushing commits the status, as it would without this module
		w.WriteHeader(http.StatusOK)
	case hold:
		if time.Since(w.holdStart) < holdWindow {
			if len(w.held) == 0 {
				w.flushedEarly = true
			}
			return nil
		}
		if err := w.releaseHeld(); err != nil {
			return err
		}
	case replace:
		return nil
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
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
	if err != nil && w.state == undecided {
		// nothing was written: the error is the response
		w.fromError = true
		w.status = errorStatus(err)
		w.logged = w.h.logSet.has(w.status)
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

// abandon writes the record of a response whose handler panicked.
func (w *writer) abandon() {
	if w.state == undecided {
		return // nothing was decided; Caddy will log the panic
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
		// no body came (a handler may write one for HEAD, as http.Error
		// does, and then it is judged), so the headers decide as GET's
		// body would: an
		// announced empty body is bare, and so is a plain one that
		// explainable let through (Content-Length at most bare_max, or
		// none); an HTML page of unknown content is not
		return w.snapshot.Get("Content-Length") == "0" || w.kind == explain.KindPlain
	}
	if w.gzipped {
		if !complete {
			return false
		}
		decoded, ok := gunzip(body, w.h.bareMax)
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
	w.stock = v.Server
	return v.Bare
}

// gunzip decodes a whole gzip body of at most limit decoded bytes.
func gunzip(b []byte, limit int) ([]byte, bool) {
	if len(b) == 0 {
		return nil, true
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, false
	}
	out, err := io.ReadAll(io.LimitReader(zr, int64(limit)+1))
	if err != nil || len(out) > limit {
		return nil, false
	}
	return out, true
}
