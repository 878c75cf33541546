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
// or, for a handler error the module answered with a page, the error record
// Caddy would have written, so that the cause is not lost.
func (w *writer) record(err error) {
	if !w.logged {
		if err != nil && w.explained {
			w.recordHandlerError(err)
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
	// the monitor counts every record, also those log_rate leaves out;
	// the fields are built once for both, and not at all when neither
	// would read them
	if w.h.monitor == nil && !w.h.logger.Core().Enabled(zap.WarnLevel) {
		w.allow()
		return
	}
	fields, hint := w.recordFields(source, err)
	w.monitorAdd(fields, hint)
	if !w.allow() {
		return
	}
	if ce := w.h.logger.Check(zap.WarnLevel, recordMessage(w.status)); ce != nil {
		ce.Write(fields...)
	}
}

// recordMessage is the message of a record of a response with status.
func recordMessage(status int) string {
	if explain.IsConflictClass(status) {
		return "conflict response"
	}
	return "error response"
}

// recordFields builds the record's fields and its hint.
func (w *writer) recordFields(source string, err error) ([]zap.Field, string) {
	r := w.r
	errMsg := ""
	if err != nil {
		errMsg = err.Error()
	}
	w.obs = explain.ObserveRequest(r.Method, r.Header, r.Host, r.TLS != nil)
	w.obs.Status, w.obs.Source, w.obs.Err = w.status, source, errMsg
	obs := &w.obs
	// the response as the module received it, not as an outer handler
	// (encode, header) made it since
	ct := w.facts.contentType
	obs.ETag, obs.LastModified = w.facts.etag, w.facts.lastModified
	obs.ContentType = ct

	fields := make([]zap.Field, 0, 20)
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
	if ex, why := w.bodyExcerpt(ct); ex != "" {
		fields = append(fields, zap.String("body_excerpt", ex))
	} else if why != "" {
		fields = append(fields, zap.String("body_excerpt_omitted", why))
	}
	if w.stock != "" {
		fields = append(fields, zap.String("stock_page", w.stock))
	}
	if msg := w.upstreamMessage(); msg != "" {
		fields = append(fields, zap.String("upstream_message", cleanText([]byte(msg))))
	}
	hint := explain.Hint(*obs)
	fields = append(fields,
		zap.Bool("explained", w.explained),
		zap.String("hint", hint),
	)
	if err != nil {
		fields = append(fields, zap.Error(err))
	}
	return fields, hint
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

// allow asks log_rate whether the record may be written, and counts it
// as suppressed when not.
func (w *writer) allow() bool {
	if f := w.h.flood; f != nil && !f.allow(w.status) {
		if m := w.h.metrics; m != nil {
			m.suppressed.WithLabelValues(serverName(w.r), statusLabel(w.status)).Inc()
		}
		return false
	}
	return true
}

// recordHandlerError logs a handler error the module answered with a
// page as Caddy's server would have logged it had it answered: at DEBUG
// when the error's status is below 500, at ERROR from 500 (the response
// may carry another status, written before the error), and under log_rate
// like every record.
func (w *writer) recordHandlerError(err error) {
	level := zap.DebugLevel
	if errorStatus(err) >= 500 {
		level = zap.ErrorLevel
	}
	if !w.h.logger.Core().Enabled(level) {
		return // nothing to write, nothing to suppress
	}
	if !w.allow() {
		return
	}
	if ce := w.h.logger.Check(level, "handler error explained"); ce != nil {
		ce.Write(
			zap.Int("status", w.status),
			loggableRequest(w.r),
			zap.String("uuid", w.requestID()),
			zap.Error(err))
	}
}

// bodyExcerpt returns the first bytes of a text-like body as the module
// received it, decoded if gzip, cut at a character boundary and cleaned
// of control characters; or, when it has none to give for a body that
// has bytes, why.
func (w *writer) bodyExcerpt(ct string) (string, string) {
	if w.h.excerpt == 0 || w.bodyBytes == 0 {
		return "", ""
	}
	if !explain.IsTextual(ct) {
		return "", ""
	}
	b := w.excerpt
	if len(b) == 0 {
		b = w.held
	}
	switch ce := w.facts.encoding; {
	case ce == "" || strings.EqualFold(ce, "identity"):
	case strings.EqualFold(ce, "gzip"):
		decoded, ok := w.gunzip(b, w.h.excerpt, false)
		if !ok || len(decoded) == 0 {
			return "", "gzip bytes that do not decode"
		}
		b = decoded
	default:
		return "", "encoded as " + cleanText([]byte(ce[:min(len(ce), 32)]))
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
	return cleanText(b), ""
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
