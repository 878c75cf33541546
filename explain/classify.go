package explain

import (
	"bytes"
	"encoding/json"
	"mime"
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

// Verdict is the judgement of one error body.
type Verdict struct {
	// Bare says the body says no more than the status line: it may be
	// replaced by an explanation page.
	Bare bool
	// Server names the server whose stock page the body is, or "". It is
	// set also for a server's page that carries someone else's words.
	Server string
	// Message is the application's own words found inside a stock page
	// (Tomcat's "Message", an owner's customised text), as plain text
	// (tags dropped, entities decoded, white space collapsed, at most 512
	// bytes), or "". A body that carries one is not bare.
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

// programAnswer reports whether a short text/plain body is JSON (an object
// or an array) or XML: an answer a program wrote for programs, such as
// CouchDB's {"error":"conflict",...}, whatever its Content-Type says.
func programAnswer(body []byte) bool {
	b := bytes.TrimSpace(body)
	if len(b) < 2 {
		return false
	}
	switch b[0] {
	case '{', '[':
		return json.Valid(b)
	case '<':
		return b[len(b)-1] == '>'
	}
	return false
}

// Judge decides whether a (decoded) error body is bare: empty; short
// plain text that is not JSON or XML; or a stock page of a known server
// that carries only the server's words (see StockServer and MayBeStock).
// A stock page with someone else's words is not bare; Message has them.
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
		if len(body) > in.BareMax || !utf8.Valid(body) || bytes.IndexByte(body, 0) >= 0 {
			return Verdict{Why: "long or binary plain text"}
		}
		if programAnswer(body) {
			return Verdict{Why: "plain text that is JSON or XML"}
		}
		return Verdict{Bare: true, Why: "short plain text"}
	case KindHTML:
		if !in.StockPages {
			return Verdict{Why: "HTML, stock pages off"}
		}
		if !in.Complete {
			// the rest may carry the application's words
			return Verdict{Why: "HTML cut short"}
		}
		server, r := judgeStock(body, true)
		switch r.state {
		case stockBare:
			return Verdict{Bare: true, Server: server, Why: server + " stock page"}
		case stockWords:
			return Verdict{Server: server, Message: plainMessage(r.message), Why: server + " page with the application's own words"}
		}
		return Verdict{Why: "the application's own HTML"}
	}
	return Verdict{Why: "typed body"}
}

// StockWords returns the server and the application's own words (plain
// text, bounded as Verdict.Message) of b, the first bytes of an HTML body
// laid out as a known server's stock page that carries someone else's
// words: the bytes at which MayBeStock turned false for it. It returns
// "", "" for anything else. Only the first StockHoldMax bytes are read.
func StockWords(b []byte) (server, message string) {
	if len(b) > StockHoldMax {
		b = b[:StockHoldMax]
	}
	server, r := judgeStock(b, false)
	if r.state != stockWords {
		return "", ""
	}
	return server, plainMessage(r.message)
}
