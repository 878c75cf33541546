package caddymodule

import (
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/explainerrors/caddy-explain-errors/explain"
)

// requestID is the request's {http.request.uuid}: the id Caddy's access log
// carries once anything asked for it, as this does.
func requestID(r *http.Request) string {
	repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if !ok {
		return ""
	}
	id, _ := repl.GetString("http.request.uuid")
	return id
}

func upstream(r *http.Request) string {
	repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if !ok {
		return ""
	}
	up, _ := repl.GetString("http.reverse_proxy.upstream.hostport")
	return up
}

func serverName(r *http.Request) string {
	if srv, ok := r.Context().Value(caddyhttp.ServerCtxKey).(*caddyhttp.Server); ok {
		return srv.Name()
	}
	return ""
}

// loggableRequest is Caddy's loggable request, with the values of query
// parameters named like secrets redacted unless the server logs
// credentials (Caddy already redacts Cookie and Authorization headers).
func loggableRequest(r *http.Request) zap.Field {
	slc := shouldLogCredentials(r)
	if !slc && r.URL != nil && r.URL.RawQuery != "" {
		if uri, changed := redactQuery(r.RequestURI); changed {
			r2 := *r
			r2.RequestURI = uri
			r = &r2
		}
	}
	return zap.Object("request", caddyhttp.LoggableHTTPRequest{Request: r, ShouldLogCredentials: slc})
}

// secretWords mark query parameters whose values are not logged.
var secretWords = []string{"token", "key", "password", "passwd", "secret", "signature"}

// redactQuery replaces the values of secret-looking query parameters in a
// request URI with REDACTED, keeping everything else byte for byte.
func redactQuery(uri string) (string, bool) {
	path, query, ok := strings.Cut(uri, "?")
	if !ok {
		return uri, false
	}
	parts := strings.Split(query, "&")
	changed := false
	for i, p := range parts {
		name, _, hasValue := strings.Cut(p, "=")
		if !hasValue {
			continue
		}
		low := strings.ToLower(name)
		if unescaped, err := url.QueryUnescape(low); err == nil {
			low = unescaped
		}
		for _, w := range secretWords {
			if strings.Contains(low, w) {
				parts[i] = name + "=REDACTED"
				changed = true
				break
			}
		}
	}
	if !changed {
		return uri, false
	}
	return path + "?" + strings.Join(parts, "&"), true
}

func shouldLogCredentials(r *http.Request) bool {
	srv, ok := r.Context().Value(caddyhttp.ServerCtxKey).(*caddyhttp.Server)
	return ok && srv.Logs != nil && srv.Logs.ShouldLogCredentials
}

// record writes the response's log record, if its status is in the log set,
// or, for a handler error the module answered with a page, an error record
// so that the cause Caddy would have logged is not lost.
func (w *writer) record(err error) {
	if !w.logged {
		if err != nil && w.explained {
			w.h.logger.Error("handler error explained",
				zap.Int("status", w.status),
				loggableRequest(w.r),
				zap.String("uuid", w.requestID()),
				zap.Error(err))
		}
		return
	}
	source := "upstream"
	if w.fromError {
		source = "handler"
	}
	if m := w.h.metrics; m != nil {
		m.conflicts.WithLabelValues(serverName(w.r), statusLabel(w.status), source).Inc()
	}
	w.monitorAdd(source, err)
	if f := w.h.flood; f != nil && !f.allow(w.status) {
		if m := w.h.metrics; m != nil {
			m.suppressed.WithLabelValues(serverName(w.r), statusLabel(w.status)).Inc()
		}
		return
	}
	msg := "error response"
	if explain.IsConflictClass(w.status) {
		msg = "conflict response"
	}
	// nothing is built for a logger that would drop the record
	ce := w.h.logger.Check(zap.WarnLevel, msg)
	if ce == nil {
		return
	}
	r := w.r
	hdr := w.Header()
	errMsg := ""
	if err != nil {
		errMsg = err.Error()
	}
	w.obs = explain.ObserveRequest(r.Method, r.Header, r.Host, r.TLS != nil)
	w.obs.Status, w.obs.Source, w.obs.Err = w.status, source, errMsg
	obs := &w.obs
	ct := ""
	if w.explained {
		// the old body's headers are gone; the record describes the old
		// body, which the module saw
		ct = w.oldType
		obs.ETag, obs.LastModified = w.oldETag, w.oldLastModified
	} else {
		ct = hdr.Get("Content-Type")
		obs.ETag, obs.LastModified = hdr.Get("Etag"), hdr.Get("Last-Modified")
	}
	obs.ContentType = ct

	fields := make([]zap.Field, 0, 16)
	fields = append(fields,
		zap.Int("status", w.status),
		loggableRequest(r),
		zap.String("uuid", w.requestID()),
		zap.String("source", source),
	)
	if up := upstream(r); up != "" {
		fields = append(fields, zap.String("upstream", up))
	}
	// Caddy's own start of the request, as its access log counts it
	if start, ok := caddyhttp.GetVar(r.Context(), "start_time").(time.Time); ok {
		fields = append(fields, zap.Duration("duration", time.Since(start)))
	}
	fields = append(fields, zap.Object("preconditions", (*preconditions)(obs)))
	fields = append(fields, zap.Object("validators", (*validators)(obs)))
	fields = append(fields,
		zap.String("content_type", ct),
		zap.Int64("body_bytes", w.bodyBytes),
	)
	// an encoded body's bytes are not text; a replaced gzip body has lost
	// its header, so the writer's own flag says it
	coding := hdr.Get("Content-Encoding")
	encoded := w.gzipped || coding != "" && !strings.EqualFold(coding, "identity")
	if ex := w.bodyExcerpt(ct, encoded); ex != "" {
		fields = append(fields, zap.String("body_excerpt", ex))
	}
	if w.stock != "" {
		fields = append(fields, zap.String("stock_page", w.stock))
	}
	fields = append(fields,
		zap.Bool("explained", w.explained),
		zap.String("hint", explain.Hint(*obs)),
	)
	if err != nil {
		fields = append(fields, zap.Error(err))
	}
	ce.Write(fields...)
}

type preconditions explain.Observation

func (o *preconditions) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	addNonEmpty(enc, "If-Match", o.IfMatch)
	addNonEmpty(enc, "If-None-Match", o.IfNoneMatch)
	addNonEmpty(enc, "If-Modified-Since", o.IfModifiedSince)
	addNonEmpty(enc, "If-Unmodified-Since", o.IfUnmodifiedSince)
	addNonEmpty(enc, "If", o.If)
	addNonEmpty(enc, "Lock-Token", o.LockToken)
	addNonEmpty(enc, "Overwrite", o.Overwrite)
	addNonEmpty(enc, "Depth", o.Depth)
	addNonEmpty(enc, "Destination", o.Destination)
	return nil
}

type validators explain.Observation

func (o *validators) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	addNonEmpty(enc, "ETag", o.ETag)
	addNonEmpty(enc, "Last-Modified", o.LastModified)
	return nil
}

func addNonEmpty(enc zapcore.ObjectEncoder, k, v string) {
	if v != "" {
		enc.AddString(k, v)
	}
}

// bodyExcerpt returns the first bytes of a text-like body, cut at a
// character boundary and cleaned of control characters.
func (w *writer) bodyExcerpt(ct string, encoded bool) string {
	if w.h.excerpt == 0 || !explain.IsTextual(ct) || encoded {
		return ""
	}
	b := w.excerpt
	if len(b) == 0 {
		b = w.held
	}
	if len(b) > w.h.excerpt {
		b = b[:w.h.excerpt]
	}
	// drop a character cut in half at the end
	for len(b) > 0 && !utf8.Valid(b) {
		r, size := utf8.DecodeLastRune(b)
		if r != utf8.RuneError || size != 1 {
			break
		}
		b = b[:len(b)-1]
	}
	return cleanText(b)
}

// cleanText makes text safe to read in a terminal or a log viewer: control
// and bidirectional-override characters become spaces, invalid UTF-8 the
// replacement character.
func cleanText(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b))
	for _, r := range strings.ToValidUTF8(string(b), "\uFFFD") {
		switch {
		case r == '\n' || r == '\t':
			sb.WriteRune(r)
		case unicode.IsControl(r), r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069:
			sb.WriteByte(' ')
		default:
			sb.WriteRune(r)
		}
	}
	return sb.String()
}

// headerPairs marshals name, value pairs, leaving out empty values.
type headerPairs []string

func (p headerPairs) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	for i := 0; i+1 < len(p); i += 2 {
		if p[i+1] != "" {
			enc.AddString(p[i], p[i+1])
		}
	}
	return nil
}
