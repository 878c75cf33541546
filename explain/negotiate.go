package explain

import (
	"strings"
)

// Format is a page format.
type Format int

// The page formats, in the order a tie between equally weighted media
// ranges is broken.
const (
	FormatText Format = iota
	FormatHTML
	FormatJSON
)

// ContentType returns the Content-Type a page of format f is served with.
func (f Format) ContentType() string {
	switch f {
	case FormatHTML:
		return "text/html; charset=utf-8"
	case FormatJSON:
		return "application/problem+json"
	}
	return "text/plain; charset=utf-8"
}

// String returns the format's short name: text, html or json.
func (f Format) String() string {
	switch f {
	case FormatHTML:
		return "html"
	case FormatJSON:
		return "json"
	}
	return "text"
}

// ParseFormat is the inverse of Format.String.
func ParseFormat(s string) (Format, bool) {
	switch s {
	case "text":
		return FormatText, true
	case "html":
		return FormatHTML, true
	case "json":
		return FormatJSON, true
	}
	return FormatText, false
}

// NegotiateFormat picks a page format for an Accept header value (RFC 9110,
// Section 12.5.1). A browser's Accept, which names text/html, gets HTML; a
// client that prefers application/json or application/problem+json gets
// problem+json; anything else, including curl's */* and a missing or
// malformed header, gets plain text. A format the client excludes with q=0
// is never chosen over one it accepts.
func NegotiateFormat(accept string) Format {
	if accept == "" {
		return FormatText
	}
	// q values in thousandths; -1 means "not mentioned"
	q := [3]int{-1, -1, -1}
	set := func(f Format, v, specificity int, spec *[3]int) {
		switch {
		case specificity > spec[f]:
			spec[f] = specificity
			q[f] = v
		case specificity == spec[f] && v > q[f]:
			// the same range twice: the kinder weight, whatever the order
			q[f] = v
		}
	}
	var spec [3]int
	for i := range spec {
		spec[i] = -1
	}
	s, cut := boundAccept(accept)
	for n := 0; s != "" && n < MaxAcceptEntries; {
		var elem string
		elem, s = nextListElement(s)
		if cut && s == "" {
			// the last member was cut at the bound: not read half
			break
		}
		n++
		elem = trimOWS(elem)
		if elem == "" {
			continue
		}
		mediaRange, params, _ := strings.Cut(elem, ";")
		mediaRange = strings.ToLower(trimOWS(mediaRange))
		v := parseQ(params)
		switch mediaRange {
		// the type a format is served as is the most specific range for
		// it, so "application/problem+json;q=0" excludes problem+json even
		// where application/json is welcome
		case "text/html":
			set(FormatHTML, v, 3, &spec)
		case "application/xhtml+xml":
			set(FormatHTML, v, 2, &spec)
		case "application/problem+json":
			set(FormatJSON, v, 3, &spec)
		case "application/json":
			set(FormatJSON, v, 2, &spec)
		case "text/plain":
			set(FormatText, v, 3, &spec)
		case "text/*":
			set(FormatHTML, v, 1, &spec)
			set(FormatText, v, 1, &spec)
		case "application/*":
			set(FormatJSON, v, 1, &spec)
		case "*/*":
			set(FormatHTML, v, 0, &spec)
			set(FormatJSON, v, 0, &spec)
			set(FormatText, v, 0, &spec)
		}
	}
	// A format only reached through a wildcard does not win over one the
	// client named: curl's */* must give text, not HTML.
	best, bestQ, bestSpec := FormatText, 0, -1
	for _, f := range [...]Format{FormatText, FormatHTML, FormatJSON} {
		if q[f] <= 0 {
			continue
		}
		if q[f] > bestQ || (q[f] == bestQ && spec[f] > bestSpec) {
			best, bestQ, bestSpec = f, q[f], spec[f]
		}
	}
	if bestQ == 0 {
		// nothing acceptable: plain text is the least surprising answer
		return FormatText
	}
	return best
}

// Bounds on Accept, applied before parsing: the header is read up to
// MaxAcceptBytes (a member cut there is dropped) and up to
// MaxAcceptEntries members, empty ones included. Browsers send under 200
// bytes and ten members.
const (
	MaxAcceptBytes   = 1024
	MaxAcceptEntries = 16
)

func boundAccept(s string) (string, bool) {
	if len(s) <= MaxAcceptBytes {
		return s, false
	}
	return s[:MaxAcceptBytes], true
}

// nextListElement returns the first member of a comma-separated list (RFC
// 9110, 5.6.1) and the rest: a comma inside a quoted string (5.6.4, with
// its backslash escapes) does not end it.
func nextListElement(s string) (elem, rest string) { return nextUnquoted(s, ',') }

// nextParam is nextListElement for the ';'-separated parameters.
func nextParam(s string) (param, rest string) { return nextUnquoted(s, ';') }

// nextUnquoted cuts s at the first sep outside a quoted string. The
// common case, no quote before sep, costs two IndexByte calls.
func nextUnquoted(s string, sep byte) (before, after string) {
	from := 0
	for {
		i := strings.IndexByte(s[from:], sep)
		if i < 0 {
			i = len(s) - from
		}
		q := strings.IndexByte(s[from:from+i], '"')
		if q < 0 {
			if from+i == len(s) {
				return s, ""
			}
			return s[:from+i], s[from+i+1:]
		}
		// skip the quoted string, with its backslash escapes
		j := from + q + 1
		for j < len(s) && s[j] != '"' {
			if s[j] == '\\' {
				j++
			}
			j++
		}
		if j >= len(s) {
			// unterminated: it runs to the end
			return s, ""
		}
		from = j + 1
	}
}

// parseQ returns the weight among a media range's parameters in
// thousandths: 1000 when absent, 0 when malformed (RFC 9110, 12.4.2
// writes it "0" [ "." 0*3DIGIT ] or "1" [ "." 0*3("0") ]). A quoted
// parameter value may hold ';' and ','.
func parseQ(params string) int {
	for params != "" {
		var p string
		p, params = nextParam(params)
		k, v, ok := strings.Cut(trimOWS(p), "=")
		if !ok || !strings.EqualFold(trimOWS(k), "q") {
			continue
		}
		q, ok := parseQValue(trimOWS(v))
		if !ok {
			return 0
		}
		return q
	}
	return 1000
}
