package explain

import (
	"bytes"
	"mime"
	"regexp"
	"strings"
	"unicode/utf8"
)

// BodyKind is what a Content-Type says about whether an error body may be
// bare.
type BodyKind int

const (
	// KindOther is a body the module never replaces: JSON, XML, images,
	// event streams, an application's own typed content.
	KindOther BodyKind = iota
	// KindPlain is text/plain, or no Content-Type at all: bare when short.
	KindPlain
	// KindHTML is text/html: bare only when it is a known stock page.
	KindHTML
)

// KindOf classifies a response's Content-Type header value.
func KindOf(contentType string) BodyKind {
	switch contentType {
	case "text/plain; charset=utf-8", "text/plain":
		return KindPlain
	case "text/html; charset=utf-8", "text/html":
		return KindHTML
	case "application/json", "application/problem+json":
		return KindOther
	}
	if strings.TrimSpace(contentType) == "" {
		return KindPlain
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		// a value we cannot read is not ours to judge
		return KindOther
	}
	switch mt {
	case "text/plain":
		return KindPlain
	case "text/html":
		return KindHTML
	}
	return KindOther
}

// LooksStructured reports whether an untyped body looks like JSON or
// markup: its first byte other than white space is '{', '[' or '<'.
func LooksStructured(body []byte) bool {
	b := bytes.TrimLeft(body, " \t\r\n")
	return len(b) > 0 && (b[0] == '{' || b[0] == '[' || b[0] == '<')
}

// IsTextual reports whether a body of this Content-Type is text that may be
// quoted in a log excerpt.
func IsTextual(contentType string) bool {
	switch contentType {
	case "", "text/plain; charset=utf-8", "text/plain", "text/html; charset=utf-8", "text/html",
		"application/json", "application/problem+json":
		return true
	}
	if strings.TrimSpace(contentType) == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	if strings.HasPrefix(mt, "text/") {
		return true
	}
	switch mt {
	case "application/json", "application/problem+json", "application/xml",
		"application/problem+xml", "application/xhtml+xml", "application/javascript",
		"application/x-www-form-urlencoded":
		return true
	}
	return strings.HasSuffix(mt, "+json") || strings.HasSuffix(mt, "+xml")
}

// A stock page is the error page a server writes by itself when nobody
// configured one: it says no more than the status line.
type stockPage struct {
	server string
	// whole reports whether body is this server's stock page. body may be
	// the first bytes only when complete is false.
	match func(body []byte, complete bool) bool
}

var stockPages = []stockPage{
	{"nginx", func(b []byte, complete bool) bool {
		// <html>\r\n<head><title>409 Conflict</title></head>\r\n<body>\r\n<center><h1>409 Conflict</h1></center>\r\n<hr><center>nginx/1.25.3</center>\r\n</body>\r\n</html>
		return complete && bytes.HasPrefix(b, []byte("<html>")) &&
			bytes.Contains(b, []byte("<hr><center>nginx")) &&
			bytes.Count(b, []byte("<h1>")) == 1 && len(b) < 1024
	}},
	{"Apache", func(b []byte, complete bool) bool {
		// mod_core's page, with or without the ServerSignature <address>;
		// an application page with the same old doctype does not have
		// this exact head
		return complete && len(b) < 2048 && apacheHead.Match(b) &&
			!bytes.Contains(b, []byte("<form")) && !bytes.Contains(b, []byte("<script"))
	}},
	{"Tomcat", func(b []byte, complete bool) bool {
		// the title comes first and is unmistakable; the rest is a style
		// sheet and the same words again, so the first bytes decide
		i := bytes.Index(b, []byte("<title>HTTP Status "))
		return i >= 0 && i < 64 && bytes.HasPrefix(b, []byte("<!doctype html>"))
	}},
	{"IIS", func(b []byte, complete bool) bool {
		// the detailed page's title says IIS; the remote page has a plain
		// "404 - ..." title, so its "Server Error" banner must be there too
		if !bytes.HasPrefix(b, []byte(`<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN"`)) ||
			bytes.Contains(b, []byte("<form")) || bytes.Contains(b, []byte("<script")) {
			return false
		}
		m := iisTitle.FindSubmatch(b)
		return m != nil && (len(m[1]) > 0 || bytes.Contains(b, []byte(`<div id="header"><h1>Server Error</h1></div>`)))
	}},
}

var (
	apacheHead = regexp.MustCompile("^<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2\\.0//EN\">\n<html><head>\n<title>[1-5][0-9][0-9] [^<]*</title>\n</head><body>\n<h1>[^<]*</h1>")
	iisTitle   = regexp.MustCompile(`<title>(?:(IIS [0-9.]+ Detailed Error) - [1-5][0-9][0-9][^<]*|[1-5][0-9][0-9](?:\.[0-9]+)? - [^<]*)</title>`)
)

// StockServer returns the name of the server whose stock error page body
// is, or "" when it is none. complete says whether body is the whole body
// or only its first bytes; some pages are known by their first bytes.
func StockServer(body []byte, complete bool) string {
	if len(body) < 6 {
		return ""
	}
	for _, p := range stockPages {
		if p.match(body, complete) {
			return p.server
		}
	}
	return ""
}

// StockHoldMax is the most bytes of an HTML body held while they can still
// be the start of a known stock page, past bare_max.
const StockHoldMax = 4096

// MayBeStock reports whether b, the first bytes of an HTML body, can still
// grow into a known stock page. While it does, the body may be held past
// bare_max, up to StockHoldMax.
func MayBeStock(b []byte) bool {
	return StockServer(b, false) != ""
}

// Verdict is the judgement of one error body.
type Verdict struct {
	// Bare says the body says no more than the status line: it may be
	// replaced by an explanation page.
	Bare bool
	// Server names the server whose stock page the body is, or "".
	Server string
	// Message is the application's own words found inside a stock page
	// (Tomcat's "Message", an owner's customised text), plain text, or "".
	// A body that carries one is not bare.
	Message string
	// Why says in a few words why the body is or is not bare, for tests
	// and records.
	Why string
}

// JudgeInput is what Judge needs to know of a body.
type JudgeInput struct {
	Kind BodyKind
	// Typed says the response had a Content-Type header.
	Typed bool
	Body  []byte
	// Complete says Body is the whole body, not only its first bytes.
	Complete bool
	// BareMax is the longest plain body that may be bare.
	BareMax int
	// StockPages says whether stock pages count as bare.
	StockPages bool
}

// Judge decides whether a (decoded) error body is bare.
func Judge(in JudgeInput) Verdict {
	body := in.Body
	if len(body) == 0 {
		return Verdict{Bare: true, Why: "empty"}
	}
	switch in.Kind {
	case KindPlain:
		if !in.Typed && LooksStructured(body) {
			return Verdict{Why: "untyped JSON or markup"}
		}
		if len(body) <= in.BareMax && utf8.Valid(body) && bytes.IndexByte(body, 0) < 0 {
			return Verdict{Bare: true, Why: "short plain text"}
		}
		return Verdict{Why: "long or binary plain text"}
	case KindHTML:
		if !in.StockPages {
			return Verdict{Why: "HTML, stock pages off"}
		}
		if s := StockServer(body, in.Complete); s != "" {
			return Verdict{Bare: true, Server: s, Why: s + " stock page"}
		}
		return Verdict{Why: "the application's own HTML"}
	}
	return Verdict{Why: "typed body"}
}
