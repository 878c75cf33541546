package explain

import (
	"strconv"
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
	for accept != "" {
		var part string
		part, accept, _ = strings.Cut(accept, ",")
		mediaRange, params, _ := strings.Cut(part, ";")
		mediaRange = strings.ToLower(strings.TrimSpace(mediaRange))
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

// parseQ returns the q parameter of a media range's parameters in
// thousandths: 1000 when absent, 0 when malformed.
func parseQ(params string) int {
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || f < 0 || f > 1 {
			return 0
		}
		return int(f*1000 + 0.5)
	}
	return 1000
}
