package explain

import (
	"bytes"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
)

// Fuzz targets of the parsers that see request and response bytes: Accept,
// Accept-Language, Content-Type and error bodies. Each one must take any
// input without panicking and answer within its documented range. Seed
// corpora are in testdata/fuzz/<FuzzName>/; .ci/fuzz.sh runs the targets.

// fuzzAccepts are Accept values real clients send, and a few odd ones.
var fuzzAccepts = []string{
	"",
	"*/*",
	"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
	"text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7",
	"application/json",
	"application/problem+json",
	"application/json;q=0.5, text/html;q=0.6",
	"text/*;q=0.3, application/*",
	"application/xhtml+xml",
	"TEXT/HTML ; Q=0.001",
	"text/plain; q=1.0000, application/json; q=NaN",
	"text/html;q=Inf,application/json;q=-1",
	";;;,,,",
	"text/html;q=0",
	`text/html;profile="a,b";q=0, text/plain;q=0.5`,
	`application/json;p="x\",text/html"`,
}

// FuzzNegotiateFormat: any Accept value gives one of the three formats; a
// value whose only mentions of text/html carry q=0 never gives HTML, even
// when application/xhtml+xml, text/* or */* are welcome; and anything
// inside a quoted parameter value names no media range.
func FuzzNegotiateFormat(f *testing.F) {
	for i, a := range fuzzAccepts {
		f.Add(a, uint8(i), uint8(i))
	}
	f.Fuzz(func(t *testing.T, accept string, pos, qform uint8) {
		got := NegotiateFormat(accept)
		if got != FormatText && got != FormatHTML && got != FormatJSON {
			t.Fatalf("NegotiateFormat(%q) = %d, not a format", accept, got)
		}
		if again := NegotiateFormat(accept); again != got {
			t.Fatalf("NegotiateFormat(%q) = %v, then %v", accept, got, again)
		}
		if _, ok := ParseFormat(got.String()); !ok {
			t.Fatalf("format %d has no name", got)
		}

		// Take every text/html range out of the header (as the header's
		// grammar delimits them), then put exactly one back, excluded.
		var kept []string
		for _, part := range strings.Split(accept, ",") {
			mediaRange, _, _ := strings.Cut(part, ";")
			if strings.ToLower(strings.TrimSpace(mediaRange)) == "text/html" {
				continue
			}
			kept = append(kept, part)
		}
		excluded := []string{"text/html;q=0", " TEXT/HTML ; Q=0.000", "text/html;level=1;q=0", "text/html;q=0.0", "text/html ;q=0.0004"}[int(qform)%5]
		at := int(pos) % (len(kept) + 1)
		header := strings.Join(slices.Insert(kept, at, excluded), ",")
		if got := NegotiateFormat(header); got == FormatHTML {
			t.Fatalf("NegotiateFormat(%q) = html, but text/html is only mentioned with q=0", header)
		}

		// The whole input as one quoted parameter value (RFC 9110,
		// 5.6.4): its commas and media ranges are data, not members.
		inner := strings.NewReplacer(`\`, "", `"`, "").Replace(accept)
		quoted := `image/png;p="` + inner + `"`
		if got := NegotiateFormat(quoted); got != FormatText {
			t.Fatalf("NegotiateFormat(%q) = %v; only image/png is a member", quoted, got)
		}
	})
}

// FuzzMatchLanguage: any Accept-Language value gives one of Languages, and
// an entry that cannot be a language range (RFC 4647, 2.1: letters,
// digits and '-', or "*") is skipped, not fatal to the entry after it.
func FuzzMatchLanguage(f *testing.F) {
	for _, s := range []string{
		"", "en", "de-DE,de;q=0.9", "fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5",
		"pt-BR", "zh-Hant-TW", "zh-Hans", "ja-JP", "ko", "ru;q=0.1,pl;q=0.2",
		"xx", "*", "nl;q=0", "es-419", "i-klingon", "en-US-u-va-posix", "de;q=abc",
		"sr-Latn-RS, en;q=0.001", strings.Repeat("en,", 50), "x-private",
		"xy", "pt_BR", "!!", " zh ", "de-DE-u-co-phonebk",
	} {
		f.Add(s)
	}
	names := Languages()
	f.Fuzz(func(t *testing.T, s string) {
		l := MatchLanguage(s)
		if int(l) < 0 || int(l) >= len(names) {
			t.Fatalf("MatchLanguage(%q) = %d, not an index of the %d languages", s, l, len(names))
		}
		if !slices.Contains(names, l.String()) {
			t.Fatalf("MatchLanguage(%q) = %q, not one of %v", s, l.String(), names)
		}
		if l2, ok := ParseLang(s); ok && (int(l2) < 0 || int(l2) >= len(names)) {
			t.Fatalf("ParseLang(%q) = %d, ok", s, l2)
		}
		entry := strings.Trim(s, " \t")
		notRange := strings.IndexFunc(entry, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-')
		}) >= 0
		if notRange && entry != "*" && len(s) < 64 && !strings.ContainsAny(s, ",;") && slices.Contains(names, "de") {
			if got := MatchLanguage(s + ",de").String(); got != "de" {
				t.Fatalf("MatchLanguage(%q) = %q: the malformed first entry was not skipped", s+",de", got)
			}
		}
	})
}

// FuzzStockServer: any body is judged without panicking, with a known
// server or none; a body that does not start with '<' is never a stock
// page; first bytes alone are never known as one; MayBeStock holds for
// every prefix of a whole stock page (so the writer never releases one it
// would have replaced) and, once false, stays false as bytes are added (so
// releasing is never premature); a bare verdict keeps no message, and a
// message is bounded.
//
// Since the corpus came, the target also checks MayBeStock, which the
// writer calls on every write while it holds, and seeds with the corpus's
// real pages; the hand-written ones it began with have gone for the
// corpus's bytes.
func FuzzStockServer(f *testing.F) {
	for _, p := range []string{nginx409, apache409, tomcat409, appXHTML404} {
		f.Add([]byte(p), true)
		f.Add([]byte(p), false)
		f.Add([]byte(p[:len(p)/2]), false)
	}
	for _, name := range []string{"nginx-409-return-chrome", "apache-signature-on-500-redirect-curl", "tomcat-409-senderror-message-chrome",
		"tomcat-404-curl", "lighttpd-404-chrome", "haproxy-503-no-server-chrome", "varnish-409-synth-reason-chrome",
		"python-409-send_error-chrome", "express-404-default-chrome", "nginx-409-customised-chrome"} {
		raw, err := os.ReadFile("../testdata/corpus/responses/" + name + ".http")
		if err != nil {
			f.Fatal(err)
		}
		if i := bytes.Index(raw, []byte("\r\n\r\n")); i >= 0 {
			f.Add(raw[i+4:], true)
		}
	}
	f.Add([]byte("<!doctype html><html><body><h1>Somebody else saved first</h1></body></html>"), true)
	f.Add([]byte("409 Conflict\n"), true)
	f.Add([]byte("<html"), true)
	f.Add([]byte{}, false)
	servers := []string{"", "nginx", "Apache", "Tomcat", "lighttpd", "HAProxy", "Varnish", "Python", "Express"}
	f.Fuzz(func(t *testing.T, body []byte, complete bool) {
		orig := bytes.Clone(body)
		got := StockServer(body, complete)
		may := MayBeStock(body)
		v := Judge(JudgeInput{Kind: KindHTML, Body: body, Complete: complete, BareMax: 512, StockPages: true})
		if !bytes.Equal(body, orig) {
			t.Fatalf("StockServer, MayBeStock or Judge changed its input")
		}
		if !slices.Contains(servers, got) || !slices.Contains(servers, v.Server) {
			t.Fatalf("StockServer(%.80q, %v) = %q, Judge's server %q: not a known server", body, complete, got, v.Server)
		}
		if got != "" && body[0] != '<' {
			t.Fatalf("StockServer(%.80q, %v) = %q, but the body does not start with '<'", body, complete, got)
		}
		if prefix := StockServer(body, false); prefix != "" {
			t.Fatalf("StockServer(%.80q, false) = %q, but first bytes alone are never known as a stock page", body, prefix)
		}
		if v.Bare && v.Message != "" || len(v.Message) > 512 {
			t.Fatalf("Judge(%.80q) = %+v: a bare body with a message, or a message past 512 bytes", body, v)
		}
		if whole := StockServer(body, true); whole != "" && len(body) <= 1024 {
			for i := 0; i <= len(body); i++ {
				if !MayBeStock(body[:i]) {
					t.Fatalf("a whole %s page %.80q, but MayBeStock is false after %d bytes", whole, body, i)
				}
			}
		}
		if k := len(body) / 2; !MayBeStock(body[:k]) && may {
			t.Fatalf("MayBeStock false after %d bytes of %.80q, then true after %d", k, body, len(body))
		}
	})
}

// FuzzKindOf: any Content-Type value is classified without panicking, and
// a value the module may call bare is one it may also quote in a record.
func FuzzKindOf(f *testing.F) {
	for _, ct := range []string{
		"", "   ", "text/plain", "text/plain; charset=utf-8", "Text/Plain; charset=UTF-8",
		"text/html", "text/html;charset=utf-8", "application/json", "application/problem+json",
		"text/event-stream", "image/png", "text/plain; charset", "multipart/form-data; boundary=\"a b\"",
		"text/html; charset*=utf-8''%e2%82%ac", "application/vnd.api+json", "text/plain;;", "/", "text/",
	} {
		f.Add(ct)
	}
	f.Fuzz(func(t *testing.T, ct string) {
		k := KindOf(ct)
		textual := IsTextual(ct)
		switch k {
		case KindOther:
		case KindPlain:
			if strings.TrimSpace(ct) != "" && !textual {
				t.Fatalf("KindOf(%q) = plain, but IsTextual = false", ct)
			}
		case KindHTML:
			if !textual {
				t.Fatalf("KindOf(%q) = html, but IsTextual = false", ct)
			}
		default:
			t.Fatalf("KindOf(%q) = %d, not a kind", ct, k)
		}
	})
}

// FuzzHint: any request headers and validators give one diagnosis from the
// table, said in one bounded line; ParseETagList never accepts a list its
// own String form would not parse back to the same tags.
func FuzzHint(f *testing.F) {
	f.Add("PUT", uint16(412), `"v1"`, "", `"v2"`, "", "", "")
	f.Add("PUT", uint16(412), `W/"a", "b-gzip"`, "*", `"b"`, "(<urn:uuid:1>)", "F", "https://x/y")
	f.Add("LOCK", uint16(423), "", "", "", "<a> (Not <b> [\"c\"])", "T", "")
	f.Add("GET", uint16(412), "", `"x"`, `"x"`, "", "", "")
	rules := HintRules()
	f.Fuzz(func(t *testing.T, method string, status uint16, ifMatch, ifNoneMatch, etag, ifHdr, overwrite, dest string) {
		h := http.Header{}
		for k, v := range map[string]string{"If-Match": ifMatch, "If-None-Match": ifNoneMatch, "If": ifHdr, "Overwrite": overwrite, "Destination": dest, "Lock-Token": ifHdr} {
			if v != "" {
				h.Add(k, v)
			}
		}
		o := ObserveRequest(method, h, "site.example", status%2 == 0)
		o.Status = 400 + int(status)%200
		o.ETag = etag
		d := Diagnose(o)
		if !slices.Contains(rules, d.ID) || d.What == "" || d.Do == "" {
			t.Fatalf("Diagnose(%+v) = %+v", o, d)
		}
		hint := d.Hint()
		if strings.ContainsAny(hint, "\r\n") || len(hint) > 2000 {
			t.Fatalf("hint of %d bytes or not one line: %.300q", len(hint), hint)
		}
		if l, err := ParseETagList(ifMatch); err == nil && !l.Any {
			parts := make([]string, len(l.Tags))
			for i, tg := range l.Tags {
				parts[i] = tg.String()
			}
			again, err := ParseETagList(strings.Join(parts, ", "))
			if err != nil || !slices.Equal(again.Tags, l.Tags) {
				t.Fatalf("ParseETagList(%q) = %v, but its String form %q gives %v, %v", ifMatch, l.Tags, strings.Join(parts, ", "), again.Tags, err)
			}
		}
	})
}
