package caddymodule

import (
	"bytes"
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
func (w *writer) writePage() {
	hdr := w.Header()
	f := explain.NegotiateFormat(w.r.Header.Get("Accept"))
	l := w.h.langs.Match(w.r.Header.Get("Accept-Language"))
	id := w.requestID()
	t := time.Now()
	page, err := w.h.renderer.Page(w.status, l, f)
	// an owner's template is executed now; built-in pages are cached
	var body []byte
	if err == nil && page.Len(id) < 0 {
		var buf bytes.Buffer
		if _, err = page.Render(&buf, id, t); err == nil {
			body = buf.Bytes()
		}
	}
	if err != nil {
		// a broken owner template must not cost the visitor an answer
		w.h.logger.Error("rendering the owner's template failed; serving the built-in page",
			zap.Int("status", w.status), zap.String("uuid", id), zap.Error(err))
		page, _ = w.h.renderer.Builtin(w.status, l, f)
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
	vals := make([]string, 0, 7)
	set := func(k, v string) {
		vals = append(vals, v)
		hdr[k] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
	set("Content-Type", page.ContentType)
	set("Content-Language", page.ContentLanguage)
	set("Cache-Control", "no-store")
	set("X-Content-Type-Options", "nosniff")
	if v := hdr["Vary"]; len(v) > 0 {
		hdr["Vary"] = append(v, "Accept, Accept-Language")
	} else {
		set("Vary", "Accept, Accept-Language")
	}
	if page.CSP != "" {
		set("Content-Security-Policy", page.CSP)
	}
	if body != nil {
		set("Content-Length", strconv.Itoa(len(body)))
	} else {
		set("Content-Length", page.LenString(id))
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
		w.pagebuf = page.AppendTo(w.pagebuf[:0], id, t)
		body = w.pagebuf
	}
	_, _ = w.ResponseWriter.Write(body)
}
