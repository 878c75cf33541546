package explain

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The corpus: real servers' error responses, recorded by
// testdata/corpus/capture.sh, each with the decision a reader made of it.

const corpusDir = "../testdata/corpus"

type corpusEntry struct {
	Name     string `json:"name"`
	File     string `json:"file"`
	Server   string `json:"server"`
	Version  string `json:"version"`
	Status   int    `json:"status"`
	Expected struct {
		Bare    bool   `json:"bare"`
		Reason  string `json:"reason"`
		Message string `json:"message"`
	} `json:"expected"`
	Request struct {
		Method  string      `json:"method"`
		Path    string      `json:"path"`
		Headers [][2]string `json:"headers"`
	} `json:"request"`

	header http.Header
	body   []byte // decoded
}

func loadCorpus(t testing.TB) []corpusEntry {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(corpusDir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var es []corpusEntry
	if err := json.Unmarshal(b, &es); err != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	if len(es) < 100 {
		t.Fatalf("manifest.json has %d entries", len(es))
	}
	for i := range es {
		e := &es[i]
		raw, err := os.ReadFile(filepath.Join(corpusDir, e.File))
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(e.Request.Method, "http://corpus/", nil)
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), req)
		if err != nil {
			t.Fatalf("%s: %v", e.File, err)
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("%s: %v", e.File, err)
		}
		if resp.StatusCode != e.Status {
			t.Fatalf("%s: status %d, the manifest says %d", e.File, resp.StatusCode, e.Status)
		}
		if strings.EqualFold(resp.Header.Get("Content-Encoding"), "gzip") {
			// the writer judges decoded bytes
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Fatalf("%s: %v", e.File, err)
			}
			if body, err = io.ReadAll(zr); err != nil {
				t.Fatalf("%s: %v", e.File, err)
			}
		}
		e.header, e.body = resp.Header, body
	}
	return es
}

func (e *corpusEntry) judge() Verdict {
	_, typed := e.header["Content-Type"]
	return Judge(JudgeInput{Kind: KindOf(e.header.Get("Content-Type")), Typed: typed, Body: e.body,
		Complete: true, BareMax: 512, StockPages: true})
}

// TestCorpus judges every recorded response and compares with the
// decision the manifest states.
func TestCorpus(t *testing.T) {
	for _, e := range loadCorpus(t) {
		t.Run(e.Name, func(t *testing.T) {
			v := e.judge()
			if v.Bare != e.Expected.Bare {
				t.Fatalf("%s %s %d, %d bytes: bare %v (%s), want %v: %s\n%.300q", e.Server, e.Version, e.Status, len(e.body),
					v.Bare, v.Why, e.Expected.Bare, e.Expected.Reason, e.body)
			}
			if v.Bare && v.Message != "" {
				t.Errorf("bare, but with a message %q", v.Message)
			}
			if m := e.Expected.Message; m != "" && v.Server != "" && !strings.Contains(v.Message, m) {
				t.Errorf("a %s page carrying %q: Message %q", v.Server, m, v.Message)
			}
			if strings.HasPrefix(e.Expected.Reason, whyOwnWordsPrefix) && KindOf(e.header.Get("Content-Type")) == KindHTML &&
				!strings.Contains(e.Expected.Reason, "ErrorDocument") && !strings.Contains(v.Message, e.Expected.Message) {
				// a server's page with the application's words: the words
				// are kept for the record
				t.Errorf("the application's words %q are not in Message %q (%s)", e.Expected.Message, v.Message, v.Why)
			}
		})
	}
}

const whyOwnWordsPrefix = "carries the application's own words"

// TestCorpusStockPagesMayBeHeldWhole: every prefix of every bare stock page
// in the corpus may still be a stock page, so the writer holds it to its
// end; and the page itself is known by StockServer.
func TestCorpusStockPagesMayBeHeldWhole(t *testing.T) {
	n := 0
	for _, e := range loadCorpus(t) {
		if !e.Expected.Bare || KindOf(e.header.Get("Content-Type")) != KindHTML || len(e.body) == 0 {
			continue
		}
		n++
		for i := 0; i <= len(e.body); i++ {
			if !MayBeStock(e.body[:i]) {
				t.Errorf("%s: MayBeStock false after %d of %d bytes: %q", e.Name, i, len(e.body), e.body[max(0, i-40):i])
				break
			}
		}
		if StockServer(e.body, true) == "" {
			t.Errorf("%s: StockServer does not know the whole page", e.Name)
		}
	}
	if n < 100 {
		t.Fatalf("only %d stock pages in the corpus", n)
	}
}

// TestCorpusWordsReleaseTheHold: a server's page that carries the
// application's words stops being a possible stock page by the time those
// words have been read, so the writer releases it then.
func TestCorpusWordsReleaseTheHold(t *testing.T) {
	n := 0
	for _, e := range loadCorpus(t) {
		if e.Expected.Bare || KindOf(e.header.Get("Content-Type")) != KindHTML {
			continue
		}
		if MayBeStock(e.body) {
			t.Errorf("%s: MayBeStock true for the whole body of a page that is not bare", e.Name)
		}
		if m := e.Expected.Message; m != "" {
			i := bytes.Index(e.body, []byte(m))
			if i < 0 {
				t.Fatalf("%s: the body lacks %q", e.Name, m)
			}
			if MayBeStock(e.body[:i+len(m)]) {
				t.Errorf("%s: MayBeStock still true after the application's words %q", e.Name, m)
			}
			n++
		}
	}
	if n < 5 {
		t.Fatalf("only %d pages with the application's words", n)
	}
}

// TestMayBeStockFalseEarlyForApplicationHTML: an application's own page is
// released within its first bytes.
func TestMayBeStockFalseEarlyForApplicationHTML(t *testing.T) {
	// an application's XHTML page with a numeric title is no server's
	if MayBeStock([]byte(appXHTML404)) {
		t.Errorf("MayBeStock true for the whole of %.80q", appXHTML404)
	}
	for _, p := range []string{
		appHTML, appHTMLApache, appXHTML404,
		"<!doctype html><p>We moved from nginx to Caddy.</p><h1>Order conflict</h1>",
		"<html>\r\n<head><title>Order 42</title></head>\r\n<body>",
		"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Shop</title>",
		"<html><body><h1>Your basket</h1>\n<form>",
		"{\"error\":\"conflict\"}",
	} {
		first := -1
		for i := 0; i <= len(p); i++ {
			if !MayBeStock([]byte(p[:i])) {
				first = i
				break
			}
		}
		if first < 0 || first > 80 {
			t.Errorf("MayBeStock true for the first %d bytes of %.80q", first, p)
		}
	}
	if MayBeStock(bytes.Repeat([]byte("<!-- -->"), StockHoldMax/8+1)) {
		t.Error("MayBeStock true past StockHoldMax")
	}
}

// TestJudgeMessageIsPlainAndBounded: the words kept are plain text, without
// markup, decoded, collapsed and bounded.
func TestJudgeMessageIsPlainAndBounded(t *testing.T) {
	tomcat := func(msg string) string {
		return `<!doctype html><html lang="en"><head><title>HTTP Status 409 – Conflict</title><style type="text/css">body {}</style></head>` +
			`<body><h1>HTTP Status 409 – Conflict</h1><hr class="line" /><p><b>Type</b> Status Report</p><p><b>Message</b> ` + msg +
			`</p><p><b>Description</b> The request could not be completed.</p><hr class="line" /><h3>Apache Tomcat/10.1.60 (Debian)</h3></body></html>`
	}
	v := Judge(JudgeInput{Kind: KindHTML, Body: []byte(tomcat("Order &lt;42&gt;   is\n\tat &amp; version 7")), Complete: true, BareMax: 512, StockPages: true})
	if v.Bare || v.Server != "Tomcat" || v.Message != "Order <42> is at & version 7" {
		t.Fatalf("%+v", v)
	}
	long := strings.Repeat("é", 1000)
	v = Judge(JudgeInput{Kind: KindHTML, Body: []byte(tomcat(long)), Complete: true, BareMax: 512, StockPages: true})
	if v.Bare || len(v.Message) > 512 || !strings.HasPrefix(long, v.Message) || len(v.Message) < 500 {
		t.Fatalf("a long message: bare %v, %d bytes", v.Bare, len(v.Message))
	}
	// the reason phrase given as the message says no more than the status
	if v := Judge(JudgeInput{Kind: KindHTML, Body: []byte(tomcat("Conflict")), Complete: true, BareMax: 512, StockPages: true}); !v.Bare {
		t.Fatalf("sendError(409, \"Conflict\"): %+v", v)
	}
}

// TestJudgePlainTextThatIsAProgramsAnswer: text/plain that is JSON or XML is
// not bare, typed or not; other short text is.
func TestJudgePlainTextThatIsAProgramsAnswer(t *testing.T) {
	for body, bare := range map[string]bool{
		`{"error":"conflict","reason":"Document update conflict."}`: false,
		"[1,2]\n": false,
		`<?xml version="1.0"?><error><code>Conflict</code></error>`: false,
		"<error>conflict</error>\n":                                 false,
		"409 Conflict\n":                                            true,
		"{not json":                                                 true,
		"Order 42 is at version 7":                                  true,
	} {
		if v := Judge(JudgeInput{Kind: KindPlain, Typed: true, Body: []byte(body), Complete: true, BareMax: 512, StockPages: true}); v.Bare != bare {
			t.Errorf("text/plain %q: bare %v (%s), want %v", body, v.Bare, v.Why, bare)
		}
	}
}

// corpusTable is the table of testdata/corpus/README.md, made from the
// manifest.
func corpusTable(es []corpusEntry) string {
	var b strings.Builder
	b.WriteString("| entry | server | version | request | status | bytes | decision | why |\n|---|---|---|---|---|---|---|---|\n")
	for _, e := range es {
		decision := "passes"
		if e.Expected.Bare {
			decision = "**replaced**"
		}
		ua := ""
		for _, h := range e.Request.Headers {
			if h[0] == "User-Agent" {
				switch {
				case strings.Contains(h[1], "Chrome/"):
					ua = "Chrome"
				case strings.Contains(h[1], "Firefox/"):
					ua = "Firefox"
				default:
					ua = h[1]
				}
			}
			if h[0] == "Accept-Encoding" {
				ua += ", gzip"
			}
		}
		fmt.Fprintf(&b, "| [%s](%s) | %s | %s | `%s %s` (%s) | %d | %d | %s | %s |\n", e.Name, e.File, e.Server,
			strings.ReplaceAll(e.Version, "|", "/"), e.Request.Method, e.Request.Path, ua, e.Status, len(e.body), decision, e.Expected.Reason)
	}
	return b.String()
}

const (
	tableStart = "<!-- corpus table: made by go test ./explain -run TestCorpusREADME with CORPUS_README_UPDATE=1 -->\n"
	tableEnd   = "<!-- end of corpus table -->\n"
)

// TestCorpusREADME: the table in testdata/corpus/README.md is the
// manifest's, entry for entry (bytes are decoded bytes, as judged).
func TestCorpusREADME(t *testing.T) {
	p := filepath.Join(corpusDir, "README.md")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i, j := strings.Index(s, tableStart), strings.Index(s, tableEnd)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the table's markers", p)
	}
	want := corpusTable(loadCorpus(t))
	if got := s[i+len(tableStart) : j]; got != want {
		if os.Getenv("CORPUS_README_UPDATE") != "" {
			if err := os.WriteFile(p, []byte(s[:i+len(tableStart)]+want+s[j:]), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Fatalf("the table in %s is not the manifest's; run with CORPUS_README_UPDATE=1", p)
	}
}

// TestCorpusStockWords: for every page of the corpus in a server's layout
// that carries the application's words, StockWords reads those words (as
// the manifest states them); it reads none from a bare stock page.
func TestCorpusStockWords(t *testing.T) {
	n := 0
	for _, e := range loadCorpus(t) {
		if KindOf(e.header.Get("Content-Type")) != KindHTML {
			continue
		}
		if e.Expected.Bare {
			if s, m := StockWords(e.body); m != "" {
				t.Errorf("%s: StockWords of a bare page = %q, %q", e.Name, s, m)
			}
			continue
		}
		m := e.Expected.Message
		if m == "" || Judge(JudgeInput{Kind: KindHTML, Typed: true, Body: e.body, Complete: true, BareMax: 512, StockPages: true}).Server == "" {
			// an application's own page, not a server's layout
			continue
		}
		if _, got := StockWords(e.body); !strings.Contains(got, plainMessage([]byte(m))) {
			t.Errorf("%s: StockWords of the page = %q, want %q", e.Name, got, m)
		}
		n++
	}
	if n < 5 {
		t.Fatalf("only %d pages with the application's words", n)
	}
}
