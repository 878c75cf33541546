package caddymodule

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/explainerrors/caddy-explain-errors/explain"
)

// bodyHeaders describe the body the page replaces, and go with it.
var bodyHeaders = []string{
	"Content-Length", "Content-Type", "Content-Encoding", "Content-Range",
	"Content-Disposition", "Content-Language", "Content-Location", "Content-Md5",
	"Content-Digest", "Repr-Digest", "Digest", "Etag", "Last-Modified",
	"Accept-Ranges", "Expires", "Transfer-Encoding", "Trailer",
}

// writePage answers with the explanation page, keeping the status and
// every header that is not about the old body.
//
// A built-in page goes out in the coding the client asks for (zstd, gzip
// or none) from its parts compressed once, with the per-request values
// spliced in uncompressed, so an `encode` in front, which leaves a
// response with a Content-Encoding alone, compresses nothing per request.
// An owner's template is executed per request and sent unencoded (an
// `encode` in front compresses it).
func (w *writer) writePage() {
	hdr := w.Header()
	f := explain.NegotiateFormat(w.r.Header.Get("Accept"))
	l := w.h.langs.Match(w.r.Header.Get("Accept-Language"))
	enc := explain.NegotiateEncoding(w.r.Header.Get("Accept-Encoding"))
	id := w.requestID()
	t := time.Now()
	retryAfter := hdr.Get("Retry-After")
	if w.snapshot != nil {
		// the header as it stood at the status
		retryAfter = w.snapshot.Get("Retry-After")
	}
	v := explain.MakeVariant(w.status, w.r.Method, retryAfter, t)
	page, err := w.h.renderer.PageFor(w.status, l, f, v)
	// an owner's template is executed now; built-in pages are cached
	var body []byte
	if err == nil && page.Len(id) < 0 {
		body, err = page.Execute(id, t)
	}
	if err != nil {
		// a broken owner template must not cost the visitor an answer
		w.h.logger.Error("rendering the owner's template failed; serving the built-in page",
			zap.Int("status", w.status), zap.String("uuid", id), zap.Error(err))
		body = nil
		page, err = w.h.renderer.Builtin(w.status, l, f, v)
		if err != nil {
			// the built-in pages are rendered from fixed templates and
			// data: this is a bug, and the visitor still gets a body
			page, _ = w.h.renderer.Builtin(w.status, 0, explain.FormatText, explain.Variant{})
		}
	}
	if body != nil || (enc != explain.Identity && page.EncodedLen(enc, id) >= page.Len(id)) {
		// a template's page, or one too small to gain from compression
		// (a short problem+json), goes as it is
		enc = explain.Identity
	}

	// the old body's header, trailers included, goes; the rest stays
	w.restoreHeader()
	w.oldType, w.oldETag, w.oldLastModified = hdr.Get("Content-Type"), hdr.Get("Etag"), hdr.Get("Last-Modified")
	for _, k := range bodyHeaders {
		delete(hdr, k)
	}
	for k := range hdr {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			delete(hdr, k)
		}
	}
	// one backing array for the new values; full slice expressions keep a
	// later append by another handler from writing into a neighbour
	vals := make([]string, 0, 8)
	set := func(k, v string) {
		vals = append(vals, v)
		hdr[k] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
	set("Content-Type", page.ContentType)
	set("Content-Language", page.ContentLanguage)
	set("Cache-Control", "no-store")
	set("X-Content-Type-Options", "nosniff")
	// the page varies by coding whichever it is sent in
	if v := hdr["Vary"]; len(v) > 0 {
		hdr["Vary"] = append(v, "Accept, Accept-Language, Accept-Encoding")
	} else {
		set("Vary", "Accept, Accept-Language, Accept-Encoding")
	}
	if page.CSP != "" {
		set("Content-Security-Policy", page.CSP)
	}
	if enc != explain.Identity {
		set("Content-Encoding", enc.String())
	}
	if body != nil {
		set("Content-Length", strconv.Itoa(len(body)))
	} else {
		set("Content-Length", page.EncodedLenString(enc, id))
	}

	w.explained = true
	w.state = replace
	if m := w.h.metrics; m != nil {
		m.pages.WithLabelValues(serverName(w.r), statusLabel(w.status), f.String()).Inc()
	}
	w.ResponseWriter.WriteHeader(w.status)
	if w.r.Method == http.MethodHead {
		return
	}
	if body == nil {
		w.pagebuf = page.AppendEncoded(w.pagebuf[:0], enc, id, t)
		body = w.pagebuf
	}
	_, _ = w.ResponseWriter.Write(body)
}
