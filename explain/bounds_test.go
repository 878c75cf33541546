package explain

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// Accept-Language values browsers send (as copied from their requests).
const (
	alChromeDE  = "de-DE,de;q=0.9,en-US;q=0.8,en;q=0.7"
	alFirefoxFR = "fr,fr-FR;q=0.8,en-US;q=0.5,en;q=0.3"
	alSafariJA  = "ja-JP,ja;q=0.9"
)

// TestMatchLanguageSkipsBadEntries: a malformed or unknown entry is
// skipped, the rest of the header still counts.
func TestMatchLanguageSkipsBadEntries(t *testing.T) {
	for _, tc := range []struct{ name, header, want string }{
		{"UnknownTagThenGerman", "xy,de;q=0.5", "de"},
		{"JunkTagThenFrench", "!!!,fr", "fr"},
		{"BadQSkipsOnlyThatEntry", "de;q=abc, fr;q=0.5", "fr"},
		{"QAboveOneSkipped", "de;q=2, it;q=0.1", "it"},
		{"QWithFourDecimalsSkipped", "de;q=0.5000, nl;q=0.1", "nl"},
		{"OverlongTagSkipped", strings.Repeat("a", 60) + ",pl", "pl"},
		{"UnderscoreTagSkipped", "pt_BR,es;q=0.2", "es"},
		{"ExclusionStillExcludes", "de;q=0, ru", "ru"},
		{"WildcardAddsNothing", "*, ko;q=0.1", "ko"},
		{"EmptyMembersIgnored", ",,  ,ja", "ja"},
		{"OnlyJunkGivesEnglish", "xy, !!, de;q=x", "en"},
		{"WeightOrderNotHeaderOrder", "en;q=0.2, zh;q=0.9", "zh-Hans"},
		{"ExtensionsIgnored", "zh-Hant-TW-u-ca-chinese-co-pinyin", "zh-Hant"},
		{"VariantKept", "de-CH-1996", "de"},
		{"GrandfatheredKlingonLikeBefore", "i-klingon", "en"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := MatchLanguage(tc.header).String(); got != tc.want {
				t.Errorf("MatchLanguage(%q) = %q, want %q", tc.header, got, tc.want)
			}
		})
	}
}

// TestMatchLanguageBounded: only the first MaxAcceptLanguageBytes and
// MaxAcceptLanguageEntries count; a tag past them is not read.
func TestMatchLanguageBounded(t *testing.T) {
	// entries that are plainly not tags cost no parse, but count
	pad := strings.Repeat("x_x,", MaxAcceptLanguageEntries)
	if got := MatchLanguage(pad + "de").String(); got != "en" {
		t.Errorf("German as entry %d gave %q; only %d entries are read", MaxAcceptLanguageEntries+1, got, MaxAcceptLanguageEntries)
	}
	if got := MatchLanguage(strings.Repeat("x_x,", MaxAcceptLanguageEntries-1) + "de").String(); got != "de" {
		t.Errorf("German as entry %d gave %q", MaxAcceptLanguageEntries, got)
	}
	// tags that look right but do not parse spend the parse budget
	if got := MatchLanguage(strings.Repeat("qq-ZZ1,", maxLangParses) + "de").String(); got != "en" {
		t.Errorf("German after %d unparsable tags gave %q; at most %d tags are parsed", maxLangParses, got, maxLangParses)
	}
	if got := MatchLanguage(strings.Repeat("qq-ZZ1,", maxLangParses-1) + "de").String(); got != "de" {
		t.Errorf("German after %d unparsable tags gave %q", maxLangParses-1, got)
	}
	// one language named in many regions is one language: the budget is
	// per language, so German in four regions after two other
	// languages the pages are not written in still counts
	if got := MatchLanguage("is,ga,de-AT;q=0.1,de-CH;q=0.1,de-LI;q=0.1,de-LU;q=0.1"); got.String() != "de" {
		t.Errorf("got %q, want de", got)
	}
	long := "fr," + strings.Repeat(" ", MaxAcceptLanguageBytes) + ",de;q=1"
	if got := MatchLanguage(long).String(); got != "fr" {
		t.Errorf("a 1 KiB header gave %q, want fr from its first bytes", got)
	}
	// an entry cut at the bound is dropped, not read half ("de" of "de-XX")
	cutAt := strings.Repeat(" ", MaxAcceptLanguageBytes-3) + ",ja-JP"
	if got := MatchLanguage(cutAt).String(); got != "en" {
		t.Errorf("an entry cut by the bound gave %q, want en", got)
	}
}

// TestLangCacheKeepsBrowsersUnderJunk: after 10,000 unique values, junk and
// well-formed alike, the headers real browsers repeat are still cached.
func TestLangCacheKeepsBrowsersUnderJunk(t *testing.T) {
	var c LangCache
	browsers := []string{alChromeDE, alFirefoxFR, alSafariJA}
	for _, b := range browsers {
		c.Match(b)
		c.Match(b) // a second visit promotes it
	}
	for i := range 10000 {
		switch i % 3 {
		case 0:
			c.Match(fmt.Sprintf("xy-%d,!!%d", i, i)) // junk
		case 1:
			c.Match(fmt.Sprintf("de;q=0.%03d,en;q=0.%03d", i%1000, (i/1000)%10)) // well-formed, unique
		default:
			c.Match(strings.Repeat("a", 300) + fmt.Sprint(i)) // too long to cache
		}
	}
	for _, b := range browsers {
		if !c.cached(b) {
			t.Errorf("%q was evicted by 10,000 unique values", b)
		}
	}
	if got := c.Match(alChromeDE).String(); got != "de" {
		t.Errorf("cached %q gives %q", alChromeDE, got)
	}
	c.mu.Lock()
	n, p, q := len(c.m), c.probation.Len(), c.protected.Len()
	c.mu.Unlock()
	if n != p+q || p > langCacheProbation || q > langCacheProtected {
		t.Errorf("cache holds %d keys, %d on probation (max %d), %d protected (max %d)", n, p, langCacheProbation, q, langCacheProtected)
	}
	if c.cached("xy-0,!!0") {
		t.Error("a malformed value was cached")
	}
}

// TestLangCacheAgreesWithMatchLanguage, also under concurrent use.
func TestLangCacheAgreesWithMatchLanguage(t *testing.T) {
	var c LangCache
	headers := []string{alChromeDE, alFirefoxFR, alSafariJA, "xy,de;q=0.5", "", "*", "pt-BR", "sw"}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				h := headers[(i+g)%len(headers)]
				if i%7 == 0 {
					h = fmt.Sprintf("de;q=0.%03d", i%1000)
				}
				if got, want := c.Match(h), MatchLanguage(h); got != want {
					t.Errorf("LangCache.Match(%q) = %v, MatchLanguage = %v", h, got, want)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestNegotiateFormatQuotedParameters: commas and semicolons inside quoted
// parameter values do not split members (RFC 9110, 5.6.4, 12.5.1).
func TestNegotiateFormatQuotedParameters(t *testing.T) {
	for _, tc := range []struct {
		name, accept string
		want         Format
	}{
		{"CommaInQuotedProfile", `text/html;profile="a,b";q=0, text/plain;q=0.5`, FormatText},
		{"SemicolonInQuotedValue", `text/html;x="a;q=1";q=0, application/json;q=0.1`, FormatJSON},
		{"EscapedQuoteInValue", `text/html;x="a\",text/html";q=0, text/plain`, FormatText},
		{"QuotedHTMLIsNotAMember", `application/json;p="x, text/html"`, FormatJSON},
		{"QuotedQIsMalformed", `text/html;q="1", text/plain;q=0.1`, FormatText},
		{"UpperCaseQ", `application/json;Q=0.9, text/html;Q=0.8`, FormatJSON},
		{"ThreeDecimals", `text/html;q=0.001, application/json;q=0.002`, FormatJSON},
		{"FourDecimalsMalformed", `application/json;q=0.0001, text/html;q=0.001`, FormatHTML},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := NegotiateFormat(tc.accept); got != tc.want {
				t.Errorf("NegotiateFormat(%q) = %v, want %v", tc.accept, got, tc.want)
			}
		})
	}
}

// TestNegotiateFormatBounded: members past MaxAcceptEntries or
// MaxAcceptBytes are not read; a member cut by the byte bound is dropped.
func TestNegotiateFormatBounded(t *testing.T) {
	pad := strings.Repeat("image/png,", MaxAcceptEntries)
	if got := NegotiateFormat(pad + "text/html"); got != FormatText {
		t.Errorf("text/html as member %d gave %v", MaxAcceptEntries+1, got)
	}
	if got := NegotiateFormat(strings.Repeat("image/png,", MaxAcceptEntries-1) + "text/html"); got != FormatHTML {
		t.Errorf("text/html as member %d gave %v", MaxAcceptEntries, got)
	}
	if got := NegotiateFormat("application/json," + strings.Repeat(" ", MaxAcceptBytes) + ",text/html;q=1"); got != FormatJSON {
		t.Errorf("a long header gave %v, want json from its first bytes", got)
	}
	// "text/html;q=0" cut to "text/html" by the bound must not count as q=1
	at := strings.Repeat(" ", MaxAcceptBytes-len("text/html;q")) + "text/html;q=0"
	if got := NegotiateFormat(at); got == FormatHTML {
		t.Errorf("a member cut at the bound counted: %v", got)
	}
}

func TestParseQValue(t *testing.T) {
	for in, want := range map[string]int{"0": 0, "1": 1000, "0.5": 500, "0.123": 123, "1.000": 1000, "1.": 1000, "0.": 0, "0.05": 50} {
		if got, ok := parseQValue(in); !ok || got != want {
			t.Errorf("parseQValue(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "2", "1.5", "0.1234", "-0", ".5", "0,5", "1e0", "NaN", "0.a"} {
		if _, ok := parseQValue(in); ok {
			t.Errorf("parseQValue(%q) ok, want malformed", in)
		}
	}
}
