package explain

import (
	"bytes"
	"html"
	"net/http"
	"strings"
	"unicode/utf8"
)

// A stock page is the error page a server writes by itself when nobody
// configured one. Each is recognised by its whole markup, as the servers
// in testdata/corpus write it: fixed text with a few slots (the status
// line, the server's signature, a message), each slot bounded in length
// and free of markup. The same scan answers for a whole body and for its
// first bytes (can they still grow into the page?), in one pass over the
// bytes with no backtracking, so its cost is linear in the bytes and
// bounded by StockHoldMax.
//
// A page of a known server whose message slot carries words the server
// did not write itself (Tomcat's sendError message, a reason given to
// Varnish's synth, an owner's paragraph in Apache's or nginx's layout) is
// that server's page but not bare: its words go into Verdict.Message.

// StockHoldMax is the most bytes of an HTML body held while they can still
// be the start of a known stock page, past bare_max. The longest bare stock
// page in the corpus is Tomcat's 405 for a JSP, 780 bytes (Apache's longest
// is its 505 with a ServerAdmin, 658; nginx pads pages for Chrome to 585);
// the cap leaves room for longer reason phrases, signatures and paths.
const StockHoldMax = 4096

// stockState is how far a body fits a stock page.
type stockState int

const (
	stockNo    stockState = iota // not this server's page
	stockMaybe                   // the bytes so far fit, and more may come
	stockBare                    // the whole page, with the server's words only
	stockWords                   // the server's page with someone else's words
)

// stockResult is one matcher's answer.
type stockResult struct {
	state   stockState
	message []byte // the words that are not the server's, still marked up
}

// stockServers are the servers whose pages matchStock knows, in the order
// it tries them.
var stockServers = [...]string{"nginx", "Apache", "Tomcat", "lighttpd", "HAProxy", "Varnish", "Python", "Express"}

// matchStock runs the matcher of stockServers[k]. A switch rather than a
// table of funcs, so that the scan stays on the stack.
func matchStock(k int, s *scan) stockResult {
	switch k {
	case 0:
		return matchNginx(s)
	case 1:
		return matchApache(s)
	case 2:
		return matchTomcat(s)
	case 3:
		return matchLighttpd(s)
	case 4:
		return matchHAProxy(s)
	case 5:
		return matchVarnish(s)
	case 6:
		return matchPython(s)
	}
	return matchExpress(s)
}

// judgeStock runs the matchers over b, the whole body when complete, and
// returns the first that is not stockNo, and its server.
func judgeStock(b []byte, complete bool) (string, stockResult) {
	if len(b) > StockHoldMax || len(b) > 0 && b[0] != '<' {
		return "", stockResult{}
	}
	for k, server := range stockServers {
		s := scan{b: b}
		r := matchStock(k, &s)
		if complete && (r.state == stockMaybe || s.out) {
			// the page stops short of its end
			r.state = stockNo
		}
		if r.state != stockNo {
			return server, r
		}
	}
	return "", stockResult{}
}

// MayBeStock reports whether b, the first bytes of an HTML body, can still
// grow into a bare stock page of a known server. While it does, the body
// may be held past bare_max, up to StockHoldMax; the moment it does not,
// the body can be released. Its cost is linear in len(b), and it answers
// false at once past StockHoldMax.
func MayBeStock(b []byte) bool {
	if len(b) > StockHoldMax {
		return false
	}
	if len(b) > 0 && b[0] != '<' {
		return false
	}
	for k := range stockServers {
		s := scan{b: b}
		if r := matchStock(k, &s); r.state == stockMaybe || r.state == stockBare {
			return true
		}
	}
	return false
}

// StockServer returns the name of the server whose bare stock page body
// is, or "" when it is none. complete says whether body is the whole body;
// first bytes alone never decide, as a page may still carry an
// application's words further on (see MayBeStock).
func StockServer(body []byte, complete bool) string {
	if !complete {
		return ""
	}
	if server, r := judgeStock(body, true); r.state == stockBare {
		return server
	}
	return ""
}

// scan reads a body against a page's markup.
type scan struct {
	b   []byte
	i   int
	out bool // the bytes ran out while they still fit
	bad bool // they do not fit
}

func (s *scan) ok() bool { return !s.out && !s.bad }

// result is stockMaybe if the bytes ran out, stockNo if they do not fit,
// and otherwise what the caller found.
func (s *scan) result(found stockState, message []byte) stockResult {
	switch {
	case s.bad:
		return stockResult{}
	case s.out:
		return stockResult{state: stockMaybe}
	case s.i != len(s.b):
		return stockResult{}
	}
	return stockResult{state: found, message: message}
}

// lit reads the fixed text t.
func (s *scan) lit(t string) bool {
	if !s.ok() {
		return false
	}
	rest := s.b[s.i:]
	if len(rest) < len(t) {
		if string(rest) == t[:len(rest)] {
			s.out = true
		} else {
			s.bad = true
		}
		return false
	}
	if string(rest[:len(t)]) != t {
		s.bad = true
		return false
	}
	s.i += len(t)
	return true
}

// next reports whether the text t comes next (all of it), without reading
// it; at the end of the bytes it says false, and sets nothing.
func (s *scan) next(t string) bool {
	return s.ok() && bytes.HasPrefix(s.b[s.i:], []byte(t))
}

// mayNext reports whether t comes next or the bytes end inside it.
func (s *scan) mayNext(t string) bool {
	if !s.ok() {
		return false
	}
	rest := s.b[s.i:]
	if len(rest) < len(t) {
		return string(rest) == t[:len(rest)]
	}
	return string(rest[:len(t)]) == t
}

// text reads a slot: at most max bytes up to the next '<', with no
// control bytes but tab, CR and LF. A slot that runs to the end of the
// bytes within max sets out and returns what there is of it.
func (s *scan) text(max int) []byte { return s.textTo('<', max) }

// textTo reads a slot as text does, up to the byte stop.
func (s *scan) textTo(stop byte, max int) []byte {
	if !s.ok() {
		return nil
	}
	rest := s.b[s.i:]
	for j := 0; j < len(rest); j++ {
		c := rest[j]
		if c == stop || c == '<' {
			s.i += j
			return rest[:j]
		}
		if j >= max || c < 0x20 && c != '\t' && c != '\r' && c != '\n' || c == 0x7f {
			s.bad = true
			return nil
		}
	}
	s.out = true
	return rest
}

// oneOf reads whichever of ts comes next and returns its index, or -1.
func (s *scan) oneOf(ts ...string) int {
	if !s.ok() {
		return -1
	}
	rest := s.b[s.i:]
	prefix := false
	for k, t := range ts {
		if len(rest) >= len(t) && string(rest[:len(t)]) == t {
			s.i += len(t)
			return k
		}
		if len(rest) < len(t) && string(rest) == t[:len(rest)] {
			prefix = true
		}
	}
	if prefix {
		s.out = true
	} else {
		s.bad = true
	}
	return -1
}

// statusLine reports whether t is a status code and a reason phrase.
func statusLine(t []byte) bool {
	return len(t) >= 5 && t[0] >= '1' && t[0] <= '5' && isDigit(t[1]) && isDigit(t[2]) && t[3] == ' '
}

// mayStatusLine reports whether t can be the start of a status line.
func mayStatusLine(t []byte) bool {
	for i, c := range t {
		switch {
		case i == 0 && (c < '1' || c > '5'), (i == 1 || i == 2) && !isDigit(c), i == 3 && c != ' ':
			return false
		case i > 3:
			return true
		}
	}
	return true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// reasonPhrases are the reason phrases servers write: the IANA registry's
// (Lookup), Go's, and the older names some servers keep.
var reasonPhrases = func() []string {
	var out []string
	seen := map[string]bool{}
	add := func(p string) {
		if p != "" && !seen[strings.ToLower(p)] {
			seen[strings.ToLower(p)] = true
			out = append(out, p)
		}
	}
	for code := 400; code < 600; code++ {
		if st, ok := Lookup(code); ok {
			add(st.Reason)
		}
		add(http.StatusText(code))
	}
	// Express's statuses and Python's HTTPStatus
	for _, p := range []string{"Payload Too Large", "Request Entity Too Large", "Request-URI Too Long", "Request URI Too Long",
		"Requested Range Not Satisfiable", "I'm a Teapot", "Unordered Collection", "Too Early"} {
		add(p)
	}
	return out
}()

// words reports whether t (plain text, complete or not) can only be words
// the server did not write: it is none of own, nor any reason phrase,
// ignoring case and a final full stop. With complete false, t is the start
// of the slot, and the answer is false while it can still grow into one.
func words(t string, complete bool, own ...string) bool {
	t = strings.TrimSpace(t)
	if complete {
		t = strings.TrimSuffix(t, ".")
	}
	fits := func(p string) bool {
		if complete {
			return strings.EqualFold(t, p)
		}
		// the start of the phrase, or all of it and a full stop
		return len(t) <= len(p) && strings.EqualFold(t, p[:len(t)]) ||
			len(t) == len(p)+1 && t[len(p)] == '.' && strings.EqualFold(t[:len(p)], p)
	}
	for _, p := range reasonPhrases {
		if fits(p) {
			return false
		}
	}
	for _, p := range own {
		if fits(p) {
			return false
		}
	}
	return true
}

// --- nginx -------------------------------------------------------------

// <html>\r\n<head><title>409 Conflict</title></head>\r\n<body>\r\n
// <center><h1>409 Conflict</h1></center>\r\n<hr><center>nginx/1.22.1</center>\r\n
// </body>\r\n</html>\r\n, then for MSIE and Chrome six lines of padding.
// An owner's copy with paragraphs of its own between the heading and the
// rule keeps the layout but says more.
func matchNginx(s *scan) stockResult {
	// nginx ends its lines with CRLF; an owner's copy may not
	eol := func() { s.oneOf("\r\n", "\n") }
	s.lit("<html>")
	eol()
	s.lit("<head><title>")
	title := s.text(100)
	s.lit("</title></head>")
	eol()
	s.lit("<body>")
	eol()
	s.lit("<center><h1>")
	h1 := s.text(100)
	s.lit("</h1></center>")
	eol()
	if !s.ok() {
		if s.out && !mayStatusLine(title) {
			return stockResult{}
		}
		return s.result(stockNo, nil)
	}
	if !statusLine(title) || !bytes.Equal(title, h1) {
		return stockResult{}
	}
	var own []byte
	if !s.mayNext("<hr><center>") {
		// an owner's paragraphs in nginx's layout, up to nginx's rule
		rest := s.b[s.i:]
		j := bytes.Index(rest, []byte("<hr><center>nginx"))
		if j < 0 || bytes.Contains(rest[:j], []byte("<script")) {
			return stockResult{}
		}
		own, s.i = rest[:j], s.i+j
	}
	s.lit("<hr><center>")
	sig := s.text(64)
	if s.out && !strings.HasPrefix("nginx", string(sig)) && !strings.HasPrefix(string(sig), "nginx") {
		return stockResult{}
	}
	s.lit("</center>")
	eol()
	s.lit("</body>")
	eol()
	s.lit("</html>")
	eol()
	if s.ok() && !(string(sig) == "nginx" || strings.HasPrefix(string(sig), "nginx/")) {
		return stockResult{}
	}
	for n := 0; n < 6 && s.ok() && s.i < len(s.b); n++ {
		s.lit("<!-- a padding to disable MSIE and Chrome friendly error page -->\r\n")
	}
	if own != nil {
		if r := s.result(stockWords, own); r.state != stockNo {
			return stockResult{state: stockWords, message: own}
		}
		return stockResult{}
	}
	return s.result(stockBare, nil)
}

// --- Apache httpd ------------------------------------------------------

// Apache 2.4's canned page (modules/http/http_protocol.c): the HTML 4.01
// doctype (HTML 2.0 in older releases, which the corpus does not hold),
// the status line as title, the reason as heading, the status's canned
// paragraphs, and with ServerSignature On an <address> line.
func matchApache(s *scan) stockResult {
	s.oneOf("<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\" \"http://www.w3.org/TR/html4/strict.dtd\">\n",
		"<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n")
	s.lit("<html><head>\n<title>")
	title := s.text(100)
	s.lit("</title>\n</head><body>\n<h1>")
	h1 := s.text(100)
	s.lit("</h1>\n")
	if !s.ok() {
		if s.out && !mayStatusLine(title) {
			return stockResult{}
		}
		return s.result(stockNo, nil)
	}
	if !statusLine(title) || string(title[4:]) != string(h1) {
		return stockResult{}
	}
	// the canned text: paragraphs, <br />, <pre> and a few tags Apache
	// writes, up to the rule before the signature or the end
	var own []byte
	for s.ok() && !s.mayNext("<hr>\n<address>") && !s.mayNext("</body></html>\n") {
		if s.b[s.i] != '<' {
			s.text(600) // the text between tags
			continue
		}
		if s.oneOf("<p>", "</p>", "<br />", "<pre>", "</pre>") == 0 {
			// a paragraph opens with one of Apache's sentences, or says more
			para := s.text(600)
			if (s.ok() || s.out) && apacheOwn(para, s.out) {
				own = append(append(own, para...), ' ')
			}
		}
	}
	if s.mayNext("<hr>\n<address>") {
		s.lit("<hr>\n<address>")
		s.text(300)
		s.lit("</address>\n")
	}
	s.lit("</body></html>\n")
	if own != nil {
		if r := s.result(stockWords, own); r.state != stockNo {
			return stockResult{state: stockWords, message: own}
		}
		return stockResult{}
	}
	return s.result(stockBare, nil)
}

// apacheSentences open the paragraphs of Apache 2.4's canned pages, as the
// corpus holds them for every status Apache knows.
var apacheSentences = []string{
	"A mandatory extension policy in the request is not", "A request of the requested method ",
	"A variant for the requested resource", "Access to this URL has been denied for legal reasons.",
	"An appropriate representation of the requested resource could not be found on this server.",
	"More information about this error may be available", "No expectation was seen, the Expect request-header",
	"None of the range-specifier values in the Range", "Only the 100-continue expectation is supported.",
	"Please contact the server administrator at", "Server timeout waiting for the HTTP request from the client.",
	"The client needs a new connection for this", "The client needs to authenticate to gain",
	"The gateway did not receive a timely response", "The method could not be performed on the resource",
	"The precondition on the request for this URL evaluated to false.", "The proxy server received an invalid",
	"The request is required to be conditional.", "The requested URL was not found on this server.",
	"The requested URL's length exceeds the capacity", "The requested method ", "The requested resource can only be retrieved",
	"The requested resource is currently locked.", "The requested resource is no longer available on this server",
	"The requested resource does not allow request data", "The server encountered an internal error or",
	"The server is temporarily unable to service your", "The server refused this request because",
	"The server terminated an operation because", "The server understands the media type of the",
	"The supplied request data is not in a format", "The user has sent too many requests",
	"This server could not verify that you", "You don't have permission to access this resource.",
	"Your browser sent a request that this server could not understand.",
}

// apacheOwn reports whether a paragraph's text (its start, when partial)
// is not one of Apache's.
func apacheOwn(p []byte, partial bool) bool {
	// 501: "GET not supported for current URL."
	m := 0
	for m < len(p) && (p[m] >= 'A' && p[m] <= 'Z' || p[m] == '-' || p[m] == '_') {
		m++
	}
	if m > 0 {
		const notSupported = " not supported for current URL."
		if rest := p[m:]; bytes.HasPrefix(rest, []byte(notSupported)) || partial && len(rest) < len(notSupported) && notSupported[:len(rest)] == string(rest) {
			return false
		}
	}
	for _, a := range apacheSentences {
		if bytes.HasPrefix(p, []byte(a)) || partial && len(p) < len(a) && a[:len(p)] == string(p) {
			return false
		}
	}
	return true
}

// --- Tomcat ------------------------------------------------------------

// Tomcat's ErrorReportValve: one line of HTML with a style sheet, the
// status as title and heading, then labelled paragraphs (Type, an optional
// Message, Description; an exception report adds the exception and its
// root cause in <pre>), and the server's name in an <h3>.
func matchTomcat(s *scan) stockResult {
	s.lit(`<!doctype html><html lang="`)
	s.textTo('"', 16)
	s.lit(`"><head><title>`)
	s.text(200)
	s.lit(`</title><style type="text/css">`)
	s.text(2048)
	s.lit(`</style></head><body><h1>`)
	s.text(200)
	s.lit(`</h1><hr class="line" />`)
	var (
		message   []byte
		exception bool
		n         int
		values    [][]byte
	)
	for s.ok() && s.mayNext("<p><b>") {
		s.lit("<p><b>")
		label := s.text(64)
		s.lit("</b>")
		if s.ok() && s.i == len(s.b) {
			s.out = true
			break
		}
		if s.mayNext("</p>") {
			// a label of a <pre> that follows: the exception, its root cause
			s.lit("</p><pre>")
			exception = true
			s.text(StockHoldMax)
			s.lit("</pre>")
			continue
		}
		s.lit(" ")
		v := s.text(StockHoldMax)
		if s.out {
			// the value so far: Tomcat's own, or can it still be?
			if n == 1 && (string(label) == "Message" || string(label) == "Mensaje") && tomcatWords(v, false) {
				return stockResult{state: stockWords, message: v}
			}
			break
		}
		s.lit("</p>")
		values = append(values, v)
		if string(label) == "Message" {
			message = v
		}
		n++
	}
	if exception {
		// the exception's message is the application's
		return stockResult{state: stockWords, message: append(append(message, ' '), tomcatRootCause(s.b)...)}
	}
	if message == nil && len(values) >= 3 {
		// labels in another language: Type, Message, Description
		message = values[1]
	}
	s.lit(`<hr class="line" />`)
	if s.oneOf("<h3>", "</body></html>") == 0 {
		s.text(200)
		s.lit("</h3></body></html>")
	}
	if message != nil && tomcatWords(message, true) {
		if r := s.result(stockWords, message); r.state != stockNo {
			return stockResult{state: stockWords, message: message}
		}
		return stockResult{}
	}
	return s.result(stockBare, nil)
}

// tomcatWords reports whether a Message value (escaped, as in the page)
// says what the application gave sendError, rather than Tomcat's own
// messages: the default servlet's 404, HttpServlet's 405.
func tomcatWords(v []byte, complete bool) bool {
	t := html.UnescapeString(string(v))
	for _, own := range tomcatOwn {
		if !complete && len(t) < len(own[0]) && own[0][:len(t)] == t {
			return false
		}
		if strings.HasPrefix(t, own[0]) && (!complete || strings.HasSuffix(t, own[1])) {
			return false
		}
	}
	return words(t, complete)
}

// tomcatOwn are Tomcat's own messages, as a start and an end.
var tomcatOwn = [][2]string{
	{"The requested resource [", "] is not available"},
	{"HTTP method ", " is not supported by this URL"},
	{"JSPs only permit GET, POST or HEAD.", ""},
}

// tomcatRootCause is the first line of the last <pre> of an exception
// report: the exception and its message.
func tomcatRootCause(b []byte) []byte {
	i := bytes.LastIndex(b, []byte("<pre>"))
	if i < 0 {
		return nil
	}
	line := b[i+len("<pre>"):]
	if j := bytes.IndexAny(line, "\n<"); j >= 0 {
		line = line[:j]
	}
	return line
}

// --- lighttpd ----------------------------------------------------------

func matchLighttpd(s *scan) stockResult {
	s.lit("<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>\n<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\"\n" +
		"         \"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd\">\n" +
		"<html xmlns=\"http://www.w3.org/1999/xhtml\" xml:lang=\"en\" lang=\"en\">\n <head>\n  <title>")
	title := s.text(100)
	s.lit("</title>\n </head>\n <body>\n  <h1>")
	h1 := s.text(100)
	s.lit("</h1>\n </body>\n</html>\n")
	if s.ok() && (!statusLine(title) || !bytes.Equal(title, h1)) {
		return stockResult{}
	}
	return s.result(stockBare, nil)
}

// --- HAProxy -----------------------------------------------------------

// HAProxy's built-in pages: <html><body><h1>503 Service Unavailable</h1>\n
// No server is available to handle this request.\n</body></html>\n
func matchHAProxy(s *scan) stockResult {
	s.lit("<html><body><h1>")
	h1 := s.text(100)
	s.lit("</h1>\n")
	if s.ok() && !statusLine(h1) || s.out && !mayStatusLine(h1) {
		return stockResult{}
	}
	line := s.text(200)
	s.lit("</body></html>\n")
	if s.ok() && (len(line) < 2 || line[len(line)-1] != '\n' || bytes.IndexByte(line[:len(line)-1], '\n') >= 0) {
		return stockResult{}
	}
	return s.result(stockBare, nil)
}

// --- Varnish -----------------------------------------------------------

// Varnish's built-in vcl_synth page; the reason in it is Varnish's own, or
// one the VCL gave synth().
func matchVarnish(s *scan) stockResult {
	s.lit("<!DOCTYPE html>\n<html>\n  <head>\n    <title>")
	title := s.text(300)
	if len(title) > 4 && mayStatusLine(title[:4]) && s.out &&
		words(html.UnescapeString(string(title[4:])), false, "Backend fetch failed") {
		// the title says the reason first: the hold can end here
		return stockResult{state: stockWords, message: title[4:]}
	}
	s.lit("</title>\n  </head>\n  <body>\n    <h1>Error ")
	s.text(300)
	s.lit("</h1>\n    <p>")
	reason := s.text(300)
	if s.out {
		if s.i > 0 && len(title) > 4 && reason != nil && words(string(reason), false, "Backend fetch failed") {
			return stockResult{state: stockWords, message: reason}
		}
		return stockResult{state: stockMaybe}
	}
	s.lit("</p>\n    <h3>Guru Meditation:</h3>\n    <p>XID: ")
	s.text(32)
	s.lit("</p>\n    <hr>\n    <p>Varnish cache server</p>\n  </body>\n</html>\n")
	if s.ok() && !statusLine(title) {
		return stockResult{}
	}
	if r := s.result(stockBare, nil); r.state == stockBare && words(html.UnescapeString(string(reason)), true, "Backend fetch failed") {
		return stockResult{state: stockWords, message: reason}
	} else {
		return r
	}
}

// --- Python http.server ------------------------------------------------

// BaseHTTPRequestHandler.send_error's page; its Message is the status's
// phrase, http.server's own, or the application's.
func matchPython(s *scan) stockResult {
	s.lit("<!DOCTYPE HTML>\n<html lang=\"en\">\n    <head>\n        <meta charset=\"utf-8\">\n        <title>Error response</title>\n" +
		"    </head>\n    <body>\n        <h1>Error response</h1>\n        <p>Error code: ")
	s.text(3)
	s.lit("</p>\n        <p>Message: ")
	msg := s.text(1024)
	if s.out {
		if m := html.UnescapeString(string(msg)); msg != nil && !strings.HasPrefix(m, "Unsupported method (") && words(m, false, pythonOwn...) {
			return stockResult{state: stockWords, message: msg}
		}
		return stockResult{state: stockMaybe}
	}
	s.lit("</p>\n        <p>Error code explanation: ")
	s.text(400)
	s.lit("</p>\n    </body>\n</html>\n")
	r := s.result(stockBare, nil)
	if m := html.UnescapeString(string(msg)); r.state == stockBare && !strings.HasPrefix(m, "Unsupported method (") && words(m, true, pythonOwn...) {
		return stockResult{state: stockWords, message: msg}
	}
	return r
}

// pythonOwn are http.server's own messages.
var pythonOwn = []string{"File not found", "No permission to list directory", "Unsupported method", "Bad request version", "Bad request syntax",
	"Bad HTTP/0.9 request type", "Line too long", "Too many headers", "Request header field is too long"}

// --- Express -----------------------------------------------------------

// Express's finalhandler: "Cannot GET /path" for a 404, the status's
// phrase for an error in production, the stack in development.
func matchExpress(s *scan) stockResult {
	s.lit("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Error</title>\n</head>\n<body>\n<pre>")
	start := s.i
	for s.ok() && !s.mayNext("</pre>") {
		if s.b[s.i] == '<' {
			// the stack in development has <br> and &nbsp;
			s.lit("<br>")
			continue
		}
		s.text(2048)
	}
	msg := s.b[start:min(s.i, len(s.b))]
	if s.out {
		if len(msg) > 0 && expressWords(msg, false) {
			return stockResult{state: stockWords, message: msg}
		}
		return stockResult{state: stockMaybe}
	}
	s.lit("</pre>\n</body>\n</html>\n")
	r := s.result(stockBare, nil)
	if r.state == stockBare && expressWords(msg, true) {
		return stockResult{state: stockWords, message: msg}
	}
	return r
}

func expressWords(msg []byte, complete bool) bool {
	t := html.UnescapeString(string(msg))
	if strings.HasPrefix(t, "Cannot ") || !complete && strings.HasPrefix("Cannot ", t) {
		// "Cannot GET /path": a method, a space, the path, one line
		return strings.ContainsAny(t, "<\n")
	}
	return words(t, complete)
}

// plainMessage turns a message slot's markup into plain text for the
// record: tags dropped, entities decoded, white space collapsed, at most
// messageMax bytes, cut at a character boundary.
func plainMessage(m []byte) string {
	var b strings.Builder
	in := false
	for _, c := range m {
		switch {
		case c == '<':
			in = true
			b.WriteByte(' ')
		case c == '>' && in:
			in = false
		case !in:
			b.WriteByte(c)
		}
	}
	t := strings.Join(strings.Fields(html.UnescapeString(b.String())), " ")
	if len(t) > messageMax {
		cut := messageMax
		for cut > 0 && !utf8.RuneStart(t[cut]) {
			cut--
		}
		t = t[:cut]
	}
	return t
}

// messageMax bounds Verdict.Message.
const messageMax = 512
