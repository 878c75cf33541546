package explain

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/language"

	"github.com/explainerrors/caddy-explain-errors/explain/catalog"
)

// Accept values real clients send.
const (
	acceptFirefox = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	acceptChrome  = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"
	acceptSafari  = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	acceptCurl    = "*/*"
)

func TestNegotiateFormat(t *testing.T) {
	for _, tc := range []struct {
		name, accept string
		want         Format
	}{
		// the three everyday clients
		{"FirefoxGetsHTML", acceptFirefox, FormatHTML},
		{"ChromeGetsHTML", acceptChrome, FormatHTML},
		{"SafariGetsHTML", acceptSafari, FormatHTML},
		{"CurlStarSlashStarGetsText", acceptCurl, FormatText},
		{"NoAcceptGetsText", "", FormatText},
		{"ApplicationJSONGetsJSON", "application/json", FormatJSON},
		{"ProblemJSONGetsJSON", "application/problem+json", FormatJSON},
		{"JSONWithWildcardFallbackGetsJSON", "application/json, */*;q=0.5", FormatJSON},
		{"TextPlainGetsText", "text/plain", FormatText},
		{"MediaRangeIsCaseInsensitive", "TEXT/HTML", FormatHTML},
		{"SpacesAroundParametersAreIgnored", " text/html ; q=0.8 , application/json ; Q=0.9 ", FormatJSON},
		{"ApplicationWildcardGetsJSON", "application/*", FormatJSON},
		{"TextWildcardTieGoesToText", "text/*", FormatText},
		{"HigherQWinsHTML", "text/html;q=0.9, application/json;q=0.5", FormatHTML},
		{"HigherQWinsJSON", "text/html;q=0.5, application/json;q=0.9", FormatJSON},
		{"OtherParametersDoNotHideQ", "text/html;level=1;q=0.4, application/json;q=0.5", FormatJSON},
		{"NamedTypeBeatsWildcardAtSameQ", "text/html, */*", FormatHTML},
		{"WildcardBeforeNamedTypeStillLoses", "*/*;q=0.1, text/html", FormatHTML},
		// q=0 exclusions
		{"HTMLExcludedFallsToText", "text/html;q=0, */*", FormatText},
		{"JSONExcludedBrowserStillHTML", "application/json;q=0, text/html", FormatHTML},
		{"TextExcludedWildcardGivesNotText", "*/*, text/plain;q=0", FormatHTML},
		{"TextAndHTMLExcludedGivesJSON", "text/plain;q=0, text/html;q=0, application/json;q=0.1", FormatJSON},
		{"EverythingExcludedGivesText", "text/plain;q=0, text/html;q=0, application/json;q=0", FormatText},
		{"WildcardExcludedGivesText", "*/*;q=0", FormatText},
		{"ZeroWithDecimalsIsExclusion", "application/json;q=0.000, text/html;q=0.1", FormatHTML},
		// malformed values
		{"GarbageGivesText", "garbage", FormatText},
		{"SemicolonsOnlyGiveText", ";;;", FormatText},
		{"CommasOnlyGiveText", ",,,,", FormatText},
		{"NonNumericQIsNotAcceptance", "text/html;q=abc", FormatText},
		{"QAboveOneIsNotAcceptance", "application/json;q=2", FormatText},
		{"NegativeQIsNotAcceptance", "application/json;q=-1", FormatText},
		{"ControlBytesGiveText", "\x00\x01\xff", FormatText},
		{"ImagesOnlyGiveText", "image/png, image/*", FormatText},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := NegotiateFormat(tc.accept); got != tc.want {
				t.Errorf("NegotiateFormat(%q) = %v, want %v", tc.accept, got, tc.want)
			}
		})
	}
}

// TestNegotiateFormatIgnoresOrder: RFC 9110 gives the order of the members of
// Accept no meaning, so swapping two of them must not change the format.
func TestNegotiateFormatIgnoresOrder(t *testing.T) {
	for _, pair := range [][2]string{
		{"text/html;q=0.5", "application/json;q=0.9"},
		{"text/html", "*/*;q=0.1"},
		{"text/plain;q=0", "*/*"},
		// a text/html the client accepts must not be hidden by an earlier,
		// excluded media range that maps to the same format
		{"application/xhtml+xml;q=0", "text/html"},
		// the JSON page is application/problem+json: when the client
		// excludes exactly that, it must not get it because it named
		// application/json first
		{"application/json", "application/problem+json;q=0"},
	} {
		a := pair[0] + ", " + pair[1]
		b := pair[1] + ", " + pair[0]
		if fa, fb := NegotiateFormat(a), NegotiateFormat(b); fa != fb {
			t.Errorf("NegotiateFormat(%q) = %v but NegotiateFormat(%q) = %v", a, fa, b, fb)
		}
	}
}

func TestFormatNamesRoundTrip(t *testing.T) {
	for _, f := range []Format{FormatText, FormatHTML, FormatJSON} {
		g, ok := ParseFormat(f.String())
		if !ok || g != f {
			t.Errorf("ParseFormat(%q) = %v, %v; want %v, true", f.String(), g, ok, f)
		}
	}
	if _, ok := ParseFormat("xml"); ok {
		t.Error(`ParseFormat("xml") ok, want not ok`)
	}
	want := map[Format]string{
		FormatText: "text/plain; charset=utf-8",
		FormatHTML: "text/html; charset=utf-8",
		FormatJSON: "application/problem+json",
	}
	for f, ct := range want {
		if f.ContentType() != ct {
			t.Errorf("%v.ContentType() = %q, want %q", f, f.ContentType(), ct)
		}
	}
}

func hasLanguage(tag string) bool {
	for _, l := range Languages() {
		if l == tag {
			return true
		}
	}
	return false
}

func TestLanguagesList(t *testing.T) {
	tags := Languages()
	if len(tags) == 0 || tags[0] != "en" {
		t.Fatalf("Languages() = %q, want English first", tags)
	}
	seen := map[string]bool{}
	for i, tag := range tags {
		if seen[tag] {
			t.Errorf("Languages() lists %q twice", tag)
		}
		seen[tag] = true
		if Lang(i).String() != tag {
			t.Errorf("Lang(%d).String() = %q, want %q", i, Lang(i).String(), tag)
		}
		if l, ok := ParseLang(tag); !ok || l != Lang(i) {
			t.Errorf("ParseLang(%q) = %v, %v; want %d, true", tag, l, ok, i)
		}
	}
	// (not Klingon: CLDR matches tlh to English with high confidence)
	if !hasLanguage("tr") {
		if l, ok := ParseLang("tr"); ok {
			t.Errorf(`ParseLang("tr") = %v, ok; no page is written in Turkish`, l)
		}
	}
	if _, ok := ParseLang("not a tag!"); ok {
		t.Error(`ParseLang("not a tag!") ok, want not ok`)
	}
}

func TestMatchLanguage(t *testing.T) {
	for _, tc := range []struct {
		name, header string
		want         string // a tag from Languages()
		needs        string // the language the row needs, "" for English; "!xx": needs xx absent
	}{
		{"EmptyGivesEnglish", "", "en", ""},
		{"EnglishUS", "en-US,en;q=0.9", "en", ""},
		{"EnglishGB", "en-GB", "en", ""},
		{"GarbageGivesEnglish", "!!!garbage!!!", "en", ""},
		{"BadQGivesEnglish", "de;q=abc", "en", ""},
		{"UnknownLanguageGivesEnglish", "tr-TR", "en", "!tr"},
		{"UnrelatedLanguageGivesEnglish", "ka-GE", "en", ""},
		{"WildcardGivesEnglish", "*", "en", ""},
		{"GermanGermanyGivesGerman", "de-DE,de;q=0.9,en;q=0.8", "de", "de"},
		{"GermanSwissGivesGerman", "de-CH", "de", "de"},
		{"GermanPreferredOverEnglish", "en;q=0.5, de", "de", "de"},
		{"EnglishPreferredOverGerman", "de;q=0.5, en", "en", "de"},
		{"ExcludedGermanNotChosen", "de;q=0, fr", "fr", "fr"},
		{"FrenchCanadaGivesFrench", "fr-CA,fr;q=0.9", "fr", "fr"},
		{"SpanishMexicoGivesSpanish", "es-MX", "es", "es"},
		{"JapaneseGivesJapanese", "ja-JP,ja;q=0.9", "ja", "ja"},
		{"DutchBelgiumGivesDutch", "nl-BE", "nl", "nl"},
		{"PolishGivesPolish", "pl-PL", "pl", "pl"},
		{"PortugueseBrazilGivesBrazilian", "pt-BR", "pt-BR", "pt-BR"},
		{"ChineseChinaGivesSimplified", "zh-CN,zh;q=0.9", "zh-Hans", "zh-Hans"},
		{"TaiwanGivesTraditional", "zh-TW,zh;q=0.9", "zh-Hant", "zh-Hant"},
		{"PortugalGivesEuropean", "pt-PT,pt;q=0.9", "pt-PT", "pt-PT"},
		{"NorwegianGivesBokmal", "no", "nb", "nb"},
		{"HebrewGivesHebrew", "he-IL", "he", "he"},
		{"ArabicEgyptGivesArabic", "ar-EG", "ar", "ar"},
		{"ItalianGivesItalian", "it-IT,it;q=0.9,en;q=0.5", "it", "it"},
		{"KoreanGivesKorean", "ko-KR", "ko", "ko"},
		{"RussianGivesRussian", "ru-RU,ru;q=0.9", "ru", "ru"},
		{"FirstSupportedOfSeveral", "is-IS, nl;q=0.8, de;q=0.5", "nl", "nl"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if strings.HasPrefix(tc.needs, "!") && hasLanguage(tc.needs[1:]) {
				t.Skipf("%q is in Languages()", tc.needs[1:])
			}
			if tc.needs != "" && tc.needs[0] != '!' && !hasLanguage(tc.needs) {
				t.Skipf("%q is not in Languages() %q", tc.needs, Languages())
			}
			got := MatchLanguage(tc.header).String()
			// a region subtag on the match would not be one of Languages()
			if got != tc.want {
				t.Errorf("MatchLanguage(%q) = %q, want %q", tc.header, got, tc.want)
			}
		})
	}
}

// matchTable is how visitors' tags map to the languages with a catalog. A
// row is checked when its language has a catalog file, complete or not
// (TestMatchTableForEveryCatalog), so the table holds before the
// translators finish; every catalog must appear in it.
var matchTable = []struct{ header, want string }{
	{"en-US", "en"}, {"en-GB", "en"}, {"en-IN", "en"},
	{"de-DE", "de"}, {"de-AT", "de"}, {"de-CH", "de"},
	{"fr-FR", "fr"}, {"fr-CA", "fr"}, {"fr-BE", "fr"},
	{"es-ES", "es"}, {"es-419", "es"}, {"es-MX", "es"},
	{"it-IT", "it"}, {"it-CH", "it"},
	{"nl-NL", "nl"}, {"nl-BE", "nl"},
	{"pl-PL", "pl"}, {"ru-RU", "ru"}, {"ja-JP", "ja"}, {"ko-KR", "ko"},
	{"zh-TW", "zh-Hant"}, {"zh-HK", "zh-Hant"}, {"zh-MO", "zh-Hant"}, {"zh-Hant", "zh-Hant"},
	{"zh", "zh-Hans"}, {"zh-CN", "zh-Hans"}, {"zh-SG", "zh-Hans"}, {"zh-Hans", "zh-Hans"},
	{"pt-PT", "pt-PT"}, {"pt-AO", "pt-PT"}, {"pt-MZ", "pt-PT"},
	{"pt", "pt-BR"}, {"pt-BR", "pt-BR"},
	{"no", "nb"}, {"nb", "nb"}, {"nb-NO", "nb"},
	{"sv-SE", "sv"}, {"sv-FI", "sv"}, {"da-DK", "da"}, {"fi-FI", "fi"},
	{"cs-CZ", "cs"}, {"tr-TR", "tr"}, {"uk-UA", "uk"},
	{"ar", "ar"}, {"ar-EG", "ar"}, {"ar-SA", "ar"},
	{"he", "he"}, {"he-IL", "he"}, {"iw", "he"},
}

// TestMatchTableForEveryCatalog matches matchTable with a matcher over
// every catalog file, complete or not, the way langMatcher is built over
// the served ones.
func TestMatchTableForEveryCatalog(t *testing.T) {
	var tags []language.Tag
	names := map[string]bool{}
	for _, c := range catalogs {
		tag, err := language.Parse(c.Tag)
		if err != nil {
			t.Fatalf("%s: %v", c.File, err)
		}
		if tag.String() != c.Tag {
			t.Errorf("%s: name it %s.toml, the tag's canonical form", c.File, tag)
		}
		tags = append(tags, tag)
		names[c.Tag] = true
	}
	m := language.NewMatcher(tags)
	inTable := map[string]bool{}
	for _, row := range matchTable {
		inTable[row.want] = true
		if !names[row.want] {
			continue
		}
		t.Run(row.header, func(t *testing.T) {
			_, idx, conf := m.Match(language.Make(row.header))
			if got := tags[idx].String(); conf == language.No || got != row.want {
				t.Errorf("%s matches %s (%v), want %s", row.header, got, conf, row.want)
			}
		})
	}
	for name := range names {
		if !inTable[name] {
			t.Errorf("%s has a catalog but no row in matchTable", name)
		}
	}
}

// TestServedMatchesFollowTheTable: for the languages served now, the
// real matcher agrees with the table (rows of unserved languages are left
// out: their visitors get English, TestMatchLanguage checks that).
func TestServedMatchesFollowTheTable(t *testing.T) {
	for _, row := range matchTable {
		if !hasLanguage(row.want) {
			continue
		}
		if got := MatchLanguage(row.header).String(); got != row.want {
			t.Errorf("MatchLanguage(%q) = %s, want %s", row.header, got, row.want)
		}
	}
	for i, l := range langs {
		if l.cat == nil || l.cat.Tag != l.tag.String() {
			t.Errorf("langs[%d]: tag %s from catalog %v", i, l.tag, l.cat)
		}
	}
}

// TestOnlyCompleteCatalogsAreServed: a translation with a missing item is
// not offered, one with every item is.
func TestOnlyCompleteCatalogsAreServed(t *testing.T) {
	for _, c := range catalogs[1:] {
		complete := catalog.Check(sourceCatalog, c).Complete()
		if hasLanguage(c.Tag) != complete {
			t.Errorf("%s: served %v, complete %v", c.Tag, hasLanguage(c.Tag), complete)
		}
	}
	if !hasLanguage("en") {
		t.Error("English is not served")
	}
}

// Stock pages as the servers write them: bodies of the corpus of
// captured responses (testdata/corpus).
var (
	nginx409 = corpusBody("nginx-409-return-firefox")
	// server_tokens off
	nginx502NoVersion = corpusBody("nginx-tokens-off-502-firefox")
	// ServerSignature Off, which is Apache httpd's default
	apache404NoSignature = corpusBody("apache-signature-off-404-chrome")
	// mod_dav's 409, with ServerSignature On
	apache409 = corpusBody("apache-signature-on-409-dav-mkcol-chrome")
	// a status report without a message
	tomcat409 = corpusBody("tomcat-409-senderror-chrome")
	// Apache's layout with a paragraph that is not one of Apache 2.4's
	// canned sentences: the captured 409 with an owner's words in it
	apache409OtherWords = strings.Replace(apache409, apacheParagraph(apache409),
		"<p>Orders are locked during the nightly stock count, 01:00 to 01:30.</p>", 1)
)

// corpusBody is the (identity-coded) body of a captured response.
func corpusBody(name string) string {
	raw, err := os.ReadFile(filepath.Join(corpusDir, "responses", name+".http"))
	if err != nil {
		panic(err)
	}
	_, body, ok := bytes.Cut(raw, []byte("\r\n\r\n"))
	if !ok {
		panic(name + ": no end of header")
	}
	return string(body)
}

// apacheParagraph is the first paragraph of an Apache page.
func apacheParagraph(page string) string {
	i := strings.Index(page, "<p>")
	if i < 0 {
		panic("no paragraph in " + page)
	}
	j := strings.Index(page[i:], "</p>")
	if j < 0 {
		panic("no paragraph's end in " + page)
	}
	return page[i : i+j+len("</p>")]
}

const (
	// an application's own 404 page in the XHTML 1.0 Strict of its era,
	// with search and navigation
	appXHTML404 = `<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
<head><title>404 - Page not found | Acme Shop</title><link rel="stylesheet" href="/css/shop.css" /></head>
<body>
<div id="nav"><a href="/">Home</a> <a href="/catalog">Catalog</a> <a href="/cart">Cart (2)</a></div>
<h1>We could not find that page</h1>
<p>The product may have been discontinued. Try searching:</p>
<form action="/search" method="get"><input name="q" /><input type="submit" value="Search" /></form>
</body>
</html>
`
	appHTML       = `<!doctype html><html><body><h1>Somebody else saved first</h1><p>Reload to see their version.</p></body></html>`
	appHTMLApache = `<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">
<html><head><title>Order 1234</title></head><body>
<h1>Order 1234 was changed by Alice at 10:32</h1>
<form method="post" action="/orders/1234/merge"><p>Your changes: 3 items.</p><button>Merge</button></form>
</body></html>
`
)

func TestStockServer(t *testing.T) {
	for _, tc := range []struct {
		name     string
		body     string
		complete bool
		want     string
	}{
		{"Nginx409", nginx409, true, "nginx"},
		{"Nginx502WithoutVersion", nginx502NoVersion, true, "nginx"},
		{"NginxNeedsWholeBody", nginx409[:60], false, ""},
		// this page's paragraph is not one of Apache 2.4's canned sentences
		// (the corpus has them all): an owner's words in Apache's layout
		{"ApacheLayoutWithOtherWordsIsNotBare", apache409OtherWords, true, ""},
		{"Apache409DAV", apache409, true, "Apache"},
		{"Apache404DefaultServerSignatureOff", apache404NoSignature, true, "Apache"},
		{"Tomcat409Whole", tomcat409, true, "Tomcat"},
		// a Message may follow the first bytes: they do not decide (MayBeStock
		// says whether to hold on)
		{"Tomcat409FirstBytesDoNotDecide", tomcat409[:200], false, ""},
		{"ApplicationHTMLIsNotStock", appHTML, true, ""},
		{"ApplicationHTMLWithApacheDoctypeIsNotStock", appHTMLApache, true, ""},
		{"ApplicationXHTMLPageWithNumericTitleIsNotStock", appXHTML404, true, ""},
		{"ApplicationHTMLMentioningNginxIsNotStock", "<!doctype html><p>We moved from nginx to Caddy.</p><h1>Order conflict</h1>", true, ""},
		{"EmptyIsNotStock", "", true, ""},
		{"ShortIsNotStock", "<html", true, ""},
		{"PlainTextIsNotStock", "409 Conflict\n", true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := StockServer([]byte(tc.body), tc.complete); got != tc.want {
				t.Errorf("StockServer(%.60q..., complete=%v) = %q, want %q", tc.body, tc.complete, got, tc.want)
			}
		})
	}
}

func TestKindOf(t *testing.T) {
	for ct, want := range map[string]BodyKind{
		"":                          KindPlain,
		"   ":                       KindPlain,
		"text/plain":                KindPlain,
		"text/plain; charset=utf-8": KindPlain,
		"Text/Plain; charset=UTF-8": KindPlain,
		"text/html":                 KindHTML,
		"text/html; charset=utf-8":  KindHTML,
		"application/json":          KindOther,
		"application/problem+json":  KindOther,
		"text/event-stream":         KindOther,
		"image/png":                 KindOther,
		"text/plain; charset":       KindOther, // unreadable
	} {
		if got := KindOf(ct); got != want {
			t.Errorf("KindOf(%q) = %v, want %v", ct, got, want)
		}
	}
}

func TestLookupAndCodes(t *testing.T) {
	codes := Codes()
	if len(codes) != len(registry) {
		t.Fatalf("Codes() has %d codes, registry %d", len(codes), len(registry))
	}
	for i, c := range codes {
		if i > 0 && codes[i-1] >= c {
			t.Errorf("Codes() not ascending at %d: %v", i, codes)
		}
		s, ok := Lookup(c)
		if !ok || s.Code != c || s.Reason == "" || s.RFC == 0 || s.Section == "" {
			t.Errorf("Lookup(%d) = %+v, %v", c, s, ok)
		}
		if !strings.HasPrefix(s.SpecURL(), "https://www.rfc-editor.org/rfc/rfc"+strconv.Itoa(s.RFC)+"#section-") {
			t.Errorf("Lookup(%d).SpecURL() = %q", c, s.SpecURL())
		}
	}
	if s, ok := Lookup(418); ok || s.Reason != "Client Error" {
		t.Errorf("Lookup(418) = %+v, %v; want the 4xx class, false", s, ok)
	}
	if s, ok := Lookup(599); ok || s.Reason != "Server Error" {
		t.Errorf("Lookup(599) = %+v, %v; want the 5xx class, false", s, ok)
	}
}

// textCodes are the keys every language's text map must have: every
// registered status, 418 (unused in the registry, but sent in practice, so
// it has a text of its own), and the two classes.
func textCodes() []int { return append(Codes(), 418, Class4xx, Class5xx) }

// TestTextsComplete fails when any served language misses any status, or
// any field of any status or of its UI words.
func TestTextsComplete(t *testing.T) {
	for li, lg := range langs {
		tag := lg.tag.String()
		for _, code := range textCodes() {
			tx, ok := lg.texts[code]
			if !ok {
				t.Errorf("%s: no text for %d", tag, code)
				continue
			}
			checkText(t, fmt.Sprintf("%s %d", tag, code), tx)
			// TextFor must give the status's own text, not its class's
			got := TextFor(code, Lang(li))
			if !reflect.DeepEqual(got, tx) {
				t.Errorf("%s: TextFor(%d) is not the language's own text", tag, code)
			}
		}
		for code := range lg.texts {
			if code != Class4xx && code != Class5xx && code != 418 {
				if _, ok := registry[code]; !ok {
					t.Errorf("%s: text for %d, which is not in the registry", tag, code)
				}
			}
		}
		ui := UIFor(Lang(li))
		if ui == nil {
			t.Errorf("%s: no UI words", tag)
			continue
		}
		v := reflect.ValueOf(*ui)
		for i := 0; i < v.NumField(); i++ {
			if strings.TrimSpace(v.Field(i).String()) == "" {
				t.Errorf("%s: UI.%s is empty", tag, v.Type().Field(i).Name)
			}
		}
		if ui.Dir != "ltr" && ui.Dir != "rtl" {
			t.Errorf("%s: UI.Dir = %q, want ltr or rtl", tag, ui.Dir)
		}
		if strings.Count(ui.RetryAfter, "{wait}") != 1 {
			t.Errorf("%s: UI.RetryAfter = %q, want {wait} once", tag, ui.RetryAfter)
		}
		// unregistered codes fall back to their class's text
		if !reflect.DeepEqual(TextFor(419, Lang(li)), lg.texts[Class4xx]) {
			t.Errorf("%s: TextFor(419) is not the 4xx class text", tag)
		}
		if !reflect.DeepEqual(TextFor(599, Lang(li)), lg.texts[Class5xx]) {
			t.Errorf("%s: TextFor(599) is not the 5xx class text", tag)
		}
	}
}

// Reassure may be empty (where nothing true can be said); every other
// field must be there, and every list must have items.
func checkText(t *testing.T, where string, tx Text) {
	t.Helper()
	for name, s := range map[string]string{"Title": tx.Title, "Heading": tx.Heading, "Summary": tx.Summary, "What": tx.What, "Where": tx.Where} {
		if strings.TrimSpace(s) == "" {
			t.Errorf("%s: %s is empty", where, name)
		}
	}
	for name, list := range map[string][]string{"Visitor": tx.Visitor, "Owner": tx.Owner, "Help": tx.Help} {
		if len(list) == 0 {
			t.Errorf("%s: %s has no items", where, name)
		}
		for i, s := range list {
			if strings.TrimSpace(s) == "" {
				t.Errorf("%s: %s[%d] is empty", where, name, i)
			}
		}
	}
}

// TestEnglishVisitorTextsAreShort keeps the visitor's part of the English
// source within the sizes the page is designed for (the page must stay
// small and its action above the fold on a phone). Translations are held
// to the page weight instead, since lengths differ between scripts.
func TestEnglishVisitorTextsAreShort(t *testing.T) {
	for _, code := range textCodes() {
		tx := TextFor(code, 0)
		for _, f := range []struct {
			name string
			s    string
			max  int
		}{{"Heading", tx.Heading, 60}, {"Reassure", tx.Reassure, 120}, {"What", tx.What, 300}} {
			if n := len([]rune(f.s)); n > f.max {
				t.Errorf("%d: %s has %d characters, at most %d: %q", code, f.name, n, f.max, f.s)
			}
		}
		if len(tx.Visitor) > 3 {
			t.Errorf("%d: %d visitor items, at most 3", code, len(tx.Visitor))
		}
		for i, s := range tx.Visitor {
			if n := len([]rune(s)); n > 160 {
				t.Errorf("%d: Visitor[%d] has %d characters, at most 160: %q", code, i, n, s)
			}
		}
		if n := strings.Count(strings.TrimSuffix(tx.Summary, "."), ". "); n > 0 {
			t.Errorf("%d: Summary is %d sentences, want one: %q", code, n+1, tx.Summary)
		}
		for i, s := range tx.Help {
			if strings.Contains(strings.ToLower(s), "reload") {
				t.Errorf("%d: Help[%d] tells a program to reload: %q", code, i, s)
			}
		}
	}
}

// TestConflictAdviceDoesNotResendForms protects the advice for a form that
// was refused: reloading re-sends a POST, so the visitor's list must not
// tell them to reload, and must tell them to keep their text.
func TestConflictAdviceDoesNotResendForms(t *testing.T) {
	for _, code := range []int{409, 412, 428} {
		tx := TextFor(code, 0)
		all := strings.ToLower(strings.Join(tx.Visitor, " "))
		if strings.Contains(all, "reload") {
			t.Errorf("%d: visitor advice says reload: %q", code, tx.Visitor)
		}
		if !strings.Contains(all, "copy") || !strings.Contains(all, "go back") {
			t.Errorf("%d: visitor advice does not say copy first and go back: %q", code, tx.Visitor)
		}
	}
}

const testID = "0f8fad5b-d9cb-469f-a165-70867728950e"

var testTime = time.Date(2024, 5, 6, 7, 8, 9, 0, time.FixedZone("CEST", 2*3600))

// TestRenderEveryPage renders every status, language and format and checks
// what each format promises.
func TestRenderEveryPage(t *testing.T) {
	r, err := NewRenderer(Options{SiteName: "Demo shop", Contact: "ops@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	codes := append(Codes(), 418, 599)
	for li, tag := range Languages() {
		l := Lang(li)
		for _, code := range codes {
			for _, f := range []Format{FormatHTML, FormatJSON, FormatText} {
				name := fmt.Sprintf("%s/%d/%s", tag, code, f)
				p, err := r.Page(code, l, f)
				if err != nil {
					t.Errorf("%s: Page: %v", name, err)
					continue
				}
				if p.ContentType != f.ContentType() || p.ContentLanguage != tag {
					t.Errorf("%s: Content-Type %q, Content-Language %q", name, p.ContentType, p.ContentLanguage)
				}
				var buf bytes.Buffer
				n, err := p.Render(&buf, testID, testTime)
				if err != nil {
					t.Errorf("%s: Render: %v", name, err)
					continue
				}
				if int(n) != buf.Len() || p.Len(testID) != buf.Len() {
					t.Errorf("%s: Render returned %d, wrote %d bytes, Len says %d", name, n, buf.Len(), p.Len(testID))
				}
				body := buf.String()
				if !strings.Contains(body, testID) {
					t.Errorf("%s: request id missing", name)
				}
				// machines get RFC 3339 (HTML's datetime, JSON), readers
				// ISO 8601 with a space (HTML's text, text/plain), both UTC
				if f != FormatText && !strings.Contains(body, "2024-05-06T05:08:09Z") {
					t.Errorf("%s: machine-readable time missing or not in UTC", name)
				}
				if f != FormatJSON && !strings.Contains(body, "2024-05-06 05:08 UTC") {
					t.Errorf("%s: readable time missing or not in UTC", name)
				}
				tx := TextFor(code, l)
				s, _ := Lookup(code)
				switch f {
				case FormatHTML:
					checkHTML(t, name, body, tag, code, tx, p)
				case FormatJSON:
					checkProblem(t, name, buf.Bytes(), code, tx, s)
				case FormatText:
					head := fmt.Sprintf("%d %s · Demo shop\n", code, tx.Title)
					if !strings.HasPrefix(body, head) {
						t.Errorf("%s: text page starts %.80q, want %q", name, body, head)
					}
					if p.CSP != "" {
						t.Errorf("%s: text page has a CSP", name)
					}
					if !strings.Contains(body, "mailto:ops@example.com") {
						t.Errorf("%s: contact missing", name)
					}
				}
			}
		}
	}
}

func checkHTML(t *testing.T, name, body, tag string, code int, tx Text, p *Page) {
	t.Helper()
	for _, want := range []string{
		"<!doctype html>\n",
		`<html lang="` + tag + `" dir="`,
		fmt.Sprintf("<title>%d ", code),
		fmt.Sprintf(" %d · %s</p>", code, template.HTMLEscapeString(tx.Title)),
		" · Demo shop</p>",
		`<a class="m" href="mailto:ops@example.com">`,
		`<code dir="ltr">` + testID + "</code>",
		`<time datetime="2024-05-06T05:08:09Z">2024-05-06 05:08 UTC</time>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("%s: HTML lacks %q", name, want)
		}
	}
	if strings.Count(body, "<html") != 1 || !strings.HasSuffix(body, "</html>\n") {
		t.Errorf("%s: HTML is not one whole document", name)
	}
	if p.CSP == "" {
		t.Errorf("%s: HTML page without CSP", name)
	}
	// the CSP allows exactly the page's style sheet
	i, j := strings.Index(body, "<style>"), strings.Index(body, "</style>")
	if i < 0 || j < i {
		t.Errorf("%s: no style sheet", name)
		return
	}
	sum := sha256.Sum256([]byte(body[i+len("<style>") : j]))
	if h := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(p.CSP, h) {
		t.Errorf("%s: CSP %q does not allow the page's style sheet %s", name, p.CSP, h)
	}
	if strings.Contains(strings.ToLower(body), "<script") {
		t.Errorf("%s: built-in page has a script", name)
	}
}

func checkProblem(t *testing.T, name string, body []byte, code int, tx Text, s Status) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Errorf("%s: problem+json does not parse: %v\n%s", name, err, body)
		return
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Errorf("%s: more than one JSON value in the page", name)
	}
	want := map[string]any{
		"type":     s.SpecURL(),
		"title":    tx.Title,
		"status":   float64(code),
		"detail":   tx.Summary,
		"instance": "urn:uuid:" + testID,
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s: %s = %#v, want %#v", name, k, m[k], v)
		}
		if s, ok := m[k].(string); ok && s == "" {
			t.Errorf("%s: %s is empty", name, k)
		}
	}
	if m["contact"] != "mailto:ops@example.com" {
		t.Errorf("%s: contact = %#v", name, m["contact"])
	}
}

// TestLenMatchesRenderForAnyID: an id that is not hex and dashes is dropped
// from the page, and Len knows it.
func TestLenMatchesRenderForAnyID(t *testing.T) {
	r, err := NewRenderer(Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"", testID, "ABCDEF-0123", `<script>alert(1)</script>`, `"},"x":"`, strings.Repeat("a", 65), "é"} {
		for _, f := range []Format{FormatHTML, FormatJSON, FormatText} {
			p, err := r.Page(409, 0, f)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if _, err := p.Render(&buf, id, testTime); err != nil {
				t.Fatal(err)
			}
			if p.Len(id) != buf.Len() {
				t.Errorf("%s id %q: Len %d, Render wrote %d", f, id, p.Len(id), buf.Len())
			}
			if !safeID(id) && id != "" && strings.Contains(buf.String(), id) {
				t.Errorf("%s: unsafe id %q reached the page", f, id)
			}
			if f == FormatJSON && !json.Valid(buf.Bytes()) {
				t.Errorf("id %q breaks the JSON page", id)
			}
		}
	}
}

const payload = `</title></p><script>alert(1)</script><img src=x onerror="alert(2)">'"&`

// TestSiteNameAndContactAreEscaped puts script and attribute payloads in
// the owner's settings.
func TestSiteNameAndContactAreEscaped(t *testing.T) {
	for _, contact := range []string{
		`https://example.com/help"><script>alert(3)</script>`,
		`"<script>alert(4)</script>"@example.com`,
		"ops@example.com",
	} {
		r, err := NewRenderer(Options{SiteName: payload, Contact: contact})
		if err != nil {
			// refusing the contact is a fine answer too
			t.Logf("contact %q refused: %v", contact, err)
			continue
		}
		for li := range Languages() {
			html := render(t, r, 409, Lang(li), FormatHTML)
			low := strings.ToLower(html)
			for _, bad := range []string{"<script", "<img", `onerror="`, "</title></p>"} {
				if strings.Contains(low, bad) {
					t.Errorf("contact %q: HTML page contains %q unescaped", contact, bad)
				}
			}
			if !strings.Contains(html, "&lt;script&gt;alert(1)&lt;/script&gt;") {
				t.Errorf("site name not shown escaped in the HTML page")
			}
			js := render(t, r, 409, Lang(li), FormatJSON)
			var m map[string]any
			if err := json.Unmarshal([]byte(js), &m); err != nil {
				t.Fatalf("JSON page does not parse with payloads: %v\n%s", err, js)
			}
			// the site name's payload; the contact's own payloads are the
			// owner's address, checked in the HTML page above
			if strings.Contains(js, "<script>alert(1)") || strings.Contains(js, "<img") {
				t.Errorf("JSON page carries the site name's markup raw: %s", js)
			}
			for k, v := range m {
				if s, ok := v.(string); ok && strings.Contains(s, "alert(1)") && s != payload && !strings.Contains(s, payload) {
					t.Errorf("JSON %s mangles the site name: %q", k, s)
				}
			}
		}
	}
}

func render(t *testing.T, r *Renderer, code int, l Lang, f Format) string {
	t.Helper()
	p, err := r.Page(code, l, f)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := p.Render(&buf, testID, testTime); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestContactChecked(t *testing.T) {
	for c, ok := range map[string]bool{
		"ops@example.com":          true,
		"mailto:ops@example.com":   true,
		"https://example.com/help": true,
		"http://example.com":       true,
		"javascript:alert(1)":      false,
		"https://":                 false,
		"ftp://example.com":        false,
		"Ops <ops@example.com>":    false,
		"not an address":           false,
		"data:text/html,<script>":  false,
	} {
		_, err := NewRenderer(Options{Contact: c})
		if (err == nil) != ok {
			t.Errorf("NewRenderer(Contact %q): err %v, want ok=%v", c, err, ok)
		}
		if err != nil && !strings.Contains(err.Error(), c) {
			t.Errorf("error for contact %q does not name it: %v", c, err)
		}
	}
}

func TestOwnerTemplate(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.html")
	if err := os.WriteFile(good, []byte(`<p>{{.Code}} {{.Text.Title}} {{.SiteName}} {{.RequestID}} {{.Lang}}</p>`), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.html")
	if err := os.WriteFile(bad, []byte("<p>\n{{.NoSuchField}}</p>"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := NewRenderer(Options{Template: good, SiteName: payload})
	if err != nil {
		t.Fatal(err)
	}
	p, err := r.Page(409, 0, FormatHTML)
	if err != nil {
		t.Fatal(err)
	}
	if p.Len(testID) != -1 {
		t.Errorf("owner template: Len = %d, want -1 (unknown before rendering)", p.Len(testID))
	}
	if p.CSP == "" {
		t.Error("owner template page has no CSP")
	}
	var buf bytes.Buffer
	n, err := p.Render(&buf, testID, testTime)
	if err != nil || int(n) != buf.Len() {
		t.Fatalf("Render: %d, %v (wrote %d)", n, err, buf.Len())
	}
	if strings.Contains(buf.String(), "<script") || !strings.Contains(buf.String(), "409 Conflict") || !strings.Contains(buf.String(), testID) {
		t.Errorf("owner template page: %s", buf.String())
	}
	// the JSON and text pages stay built in
	if p, _ := r.Page(409, 0, FormatJSON); p.Len(testID) < 0 {
		t.Error("owner template changed the JSON page")
	}

	_, err = NewRenderer(Options{Template: bad})
	if err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "NoSuchField") {
		t.Errorf("bad template: err %v, want it to name %s and the field", err, bad)
	}
	_, err = NewRenderer(Options{Pages: map[int]string{409: filepath.Join(dir, "missing.html")}})
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing page file: err %v, want a not-exist error", err)
	}
	_, err = NewRenderer(Options{Pages: map[int]string{302: good}})
	if err == nil || !strings.Contains(err.Error(), "302") {
		t.Errorf("page for 302: err %v, want it refused by status", err)
	}
}

func TestPageCacheIsBounded(t *testing.T) {
	r, err := NewRenderer(Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := r.Page(409, 0, FormatText)
	b, _ := r.Page(409, 0, FormatText)
	if a != b {
		t.Error("a 4xx page is not cached")
	}
	c, _ := r.Page(999, 0, FormatText)
	d, _ := r.Page(999, 0, FormatText)
	if c == d {
		t.Error("a page for 999 is cached; the cache must stay bounded to 4xx and 5xx")
	}
}
