package explain

import (
	"net/http"
	"strings"
	"unicode/utf8"
)

// MaxObservedBytes bounds each request header value ObserveRequest keeps
// for the record and the hint. A value cut there ends in CutMark, and the
// hint says it was too long to judge instead of comparing half a list.
const MaxObservedBytes = 512

// maxObservedMethod bounds the method: real ones are short tokens.
const maxObservedMethod = 32

// CutMark ends a value ObserveRequest cut at MaxObservedBytes.
const CutMark = "…"

// ObserveRequest captures what Hint needs from a request: its method, its
// precondition and WebDAV headers, and the host and scheme it reached the
// module on. A header sent on several lines is joined with ", " as RFC
// 9110, Section 5.3 allows for list headers; every value is cut at
// MaxObservedBytes (the method at 32), so neither the record nor the hint
// grows with a hostile header, and the cost is bounded by the bound, not
// by the header.
func ObserveRequest(method string, h http.Header, host string, tls bool) Observation {
	o := Observation{
		Method:            bound(method, maxObservedMethod),
		IfMatch:           joined(h, "If-Match"),
		IfNoneMatch:       joined(h, "If-None-Match"),
		IfModifiedSince:   first(h, "If-Modified-Since"),
		IfUnmodifiedSince: first(h, "If-Unmodified-Since"),
		If:                joined(h, "If"),
		LockToken:         first(h, "Lock-Token"),
		Overwrite:         first(h, "Overwrite"),
		Depth:             first(h, "Depth"),
		Destination:       first(h, "Destination"),
		Host:              bound(host, MaxObservedBytes),
		Scheme:            "http",
	}
	if tls {
		o.Scheme = "https"
	}
	return o
}

// joined returns every line of a list header joined with ", ", at most
// MaxObservedBytes of it: lines past the bound are not even looked at.
func joined(h http.Header, name string) string {
	vs := h.Values(name)
	switch len(vs) {
	case 0:
		return ""
	case 1:
		return bound(vs[0], MaxObservedBytes)
	}
	var sb strings.Builder
	for i, v := range vs {
		if i > 0 {
			sb.WriteString(", ")
		}
		if sb.Len()+len(v) > MaxObservedBytes {
			sb.WriteString(v[:min(len(v), MaxObservedBytes+1)])
			return bound(sb.String(), MaxObservedBytes)
		}
		sb.WriteString(v)
	}
	return sb.String()
}

// first returns the first line of a singleton header, bounded. A second
// line of a header that allows one value is the client's mistake; the
// server takes one of them, and the first is what Header.Get gives it.
func first(h http.Header, name string) string {
	vs := h.Values(name)
	if len(vs) == 0 {
		return ""
	}
	return bound(vs[0], MaxObservedBytes)
}

// bound cuts s to at most n bytes plus CutMark, dropping a character cut
// in half.
func bound(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for i := len(s) - 1; i >= 0 && i >= len(s)-utf8.UTFMax; i-- {
		if utf8.RuneStart(s[i]) {
			if !utf8.FullRuneInString(s[i:]) {
				s = s[:i]
			}
			break
		}
	}
	return s + CutMark
}

// wasCut reports whether ObserveRequest cut s.
func wasCut(s string) bool {
	return len(s) >= MaxObservedBytes && strings.HasSuffix(s, CutMark)
}
