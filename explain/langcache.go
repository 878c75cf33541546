package explain

import (
	"container/list"
	"slices"
	"strings"
	"sync"

	"golang.org/x/text/language"
)

// Bounds on Accept-Language, applied before any parsing: a header is read
// up to MaxAcceptLanguageBytes (cut back to the last whole entry) and up
// to MaxAcceptLanguageEntries entries; an entry's tag longer than
// maxLangTagBytes is skipped unparsed. Of the entries, best weight first,
// at most maxLangParses tags are parsed, one per primary language subtag
// (the pages have one text per language, so "de-DE" and "de" cannot
// disagree), and at most maxLangMatch go to the matcher. Only a tag's
// language, script and region subtags are read: variants and extensions
// ("-u-ca-…") choose nothing among the pages' languages. Browsers send one
// to ten entries and two to five languages in well under 200 bytes.
const (
	MaxAcceptLanguageBytes   = 512
	MaxAcceptLanguageEntries = 16 // empty members count too
	maxLangTagBytes          = 35 // the longest tag RFC 5646, 4.4.1 asks implementations to keep
	maxLangParses            = 3
	maxLangMatch             = 3
)

// Cache sizes: values are admitted on probation; one that is asked for
// again moves to the protected part, which values seen only once cannot
// reach, so a stream of unique values (junk or not) never evicts the
// headers real browsers repeat.
const (
	langCacheProbation   = 256
	langCacheProtected   = 1024
	langCacheMaxKeyBytes = 256
)

// matchLanguage is MatchLanguage for a non-empty header.
func matchLanguage(acceptLanguage string) Lang {
	l, _ := matchLanguageChecked(acceptLanguage)
	return l
}

// matchLanguageChecked reads Accept-Language tolerantly: an entry whose tag or q
// is malformed, or whose tag is unknown to x/text/language, is skipped and
// the rest still count ("xy,de;q=0.5" gives German). q=0 excludes; "*"
// adds nothing the fallback does not. The preferences, best first, go to
// the matcher. wellFormed reports whether every entry parsed, as the
// cache's admission test.
func matchLanguageChecked(acceptLanguage string) (l Lang, wellFormed bool) {
	loaded()
	s, cut := boundList(acceptLanguage, MaxAcceptLanguageBytes)
	wellFormed = !cut
	type entry struct {
		tag string
		q   int
	}
	var buf [MaxAcceptLanguageEntries]entry
	entries := buf[:0]
	for n := 0; s != "" && n < MaxAcceptLanguageEntries; {
		var e string
		e, s, _ = strings.Cut(s, ",")
		n++
		e = trimOWS(e)
		if e == "" {
			continue
		}
		tag, params, _ := strings.Cut(e, ";")
		tag = trimOWS(tag)
		qv, ok := weightParam(params)
		if !ok || tag == "" || len(tag) > maxLangTagBytes || !isLangTagChars(tag) {
			wellFormed = false
			continue
		}
		if tag == "*" || qv == 0 {
			// a wildcard adds nothing the fallback does not; q=0 excludes
			continue
		}
		entries = append(entries, entry{tag, qv})
	}
	if s != "" {
		wellFormed = false
	}
	// best first; equal weights keep the header's order
	slices.SortStableFunc(entries, func(a, b entry) int { return b.q - a.q })
	var tagBuf [maxLangMatch]language.Tag
	var seen [maxLangParses]string
	tags, parses := tagBuf[:0], 0
	for _, e := range entries {
		if len(tags) == maxLangMatch || parses == maxLangParses {
			break
		}
		primary, rest, _ := strings.Cut(e.tag, "-")
		if slices.ContainsFunc(seen[:len(tags)], func(p string) bool { return strings.EqualFold(p, primary) }) {
			continue
		}
		parses++
		// the primary subtag and its core are a prefix of the tag
		t, err := language.Parse(e.tag[:len(primary)+len(langCore(rest))])
		if err != nil {
			wellFormed = false
			continue
		}
		seen[len(tags)] = primary
		tags = append(tags, t)
	}
	if len(tags) == 0 {
		return 0, wellFormed
	}
	_, idx, conf := langMatcher.Match(tags...)
	if conf == language.No {
		return 0, wellFormed
	}
	return Lang(idx), wellFormed
}

// langCore returns the script and region subtags after the primary one,
// with their leading '-': up to two subtags, stopping at a singleton that
// starts an extension or private use.
func langCore(rest string) string {
	end := 0
	for n := 0; n < 2 && end < len(rest); n++ {
		sub, _, _ := strings.Cut(rest[end:], "-")
		if len(sub) <= 1 {
			break
		}
		end += len(sub) + 1
	}
	if end == 0 {
		return ""
	}
	return "-" + rest[:min(end-1, len(rest))]
}

// boundList returns at most n bytes of a comma-separated list, cut back to
// the last comma so no entry is read half, and whether it cut.
func boundList(s string, n int) (string, bool) {
	if len(s) <= n {
		return s, false
	}
	s = s[:n]
	if i := strings.LastIndexByte(s, ','); i >= 0 {
		return s[:i], true
	}
	return "", true
}

// isLangTagChars: a language-range is "*" or ALPHA/DIGIT and '-' only
// (RFC 4647, 2.1).
func isLangTagChars(s string) bool {
	if s == "*" {
		return true
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// weightParam finds the weight among a list entry's parameters
// (";q=0.5"): 1000 when there is none, ok false when one is malformed.
func weightParam(params string) (q int, ok bool) {
	q = 1000
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		p = trimOWS(p)
		if p == "" {
			continue
		}
		k, v, found := strings.Cut(p, "=")
		if !found || !strings.EqualFold(trimOWS(k), "q") {
			continue
		}
		w, ok := parseQValue(trimOWS(v))
		if !ok {
			return 0, false
		}
		q = w
	}
	return q, true
}

// parseQValue parses a weight as RFC 9110, 12.4.2 writes it:
// "0" [ "." 0*3DIGIT ] or "1" [ "." 0*3("0") ], in thousandths.
func parseQValue(v string) (int, bool) {
	if v == "" || len(v) > 5 || (v[0] != '0' && v[0] != '1') {
		return 0, false
	}
	whole := int(v[0] - '0')
	frac := v[1:]
	if frac == "" {
		return whole * 1000, true
	}
	if frac[0] != '.' {
		return 0, false
	}
	frac = frac[1:]
	n := 0
	for i := 0; i < 3; i++ {
		n *= 10
		if i < len(frac) {
			c := frac[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			n += int(c - '0')
		}
	}
	if whole == 1 && n != 0 {
		return 0, false
	}
	return whole*1000 + n, true
}

// LangCache remembers MatchLanguage's answers for the Accept-Language
// values browsers repeat. It admits only well-formed values of at most
// 256 bytes, first on probation (256 entries, the oldest evicted); a
// value asked for a second time moves to the protected part (1024
// entries, least recently used evicted), which values seen once never
// reach. So neither junk nor a stream of unique values can push out the
// headers of real visitors. The zero value is ready; it is safe for
// concurrent use.
type LangCache struct {
	mu        sync.Mutex
	m         map[string]*list.Element
	probation list.List
	protected list.List
}

type langEntry struct {
	key       string
	l         Lang
	protected bool
}

// Match is MatchLanguage, remembered.
func (c *LangCache) Match(acceptLanguage string) Lang {
	if acceptLanguage == "" {
		return 0
	}
	cacheable := len(acceptLanguage) <= langCacheMaxKeyBytes
	if cacheable {
		c.mu.Lock()
		if e, ok := c.m[acceptLanguage]; ok {
			l := c.hit(e)
			c.mu.Unlock()
			return l
		}
		c.mu.Unlock()
	}
	l, wellFormed := matchLanguageChecked(acceptLanguage)
	if cacheable && wellFormed {
		c.mu.Lock()
		c.admit(acceptLanguage, l)
		c.mu.Unlock()
	}
	return l
}

// hit promotes an entry seen again. c.mu is held.
func (c *LangCache) hit(e *list.Element) Lang {
	le := e.Value.(*langEntry)
	if le.protected {
		c.protected.MoveToFront(e)
		return le.l
	}
	c.probation.Remove(e)
	le.protected = true
	c.m[le.key] = c.protected.PushFront(le)
	if c.protected.Len() > langCacheProtected {
		// the least recently used goes back on probation, not out
		old := c.protected.Back()
		oe := c.protected.Remove(old).(*langEntry)
		oe.protected = false
		c.m[oe.key] = c.probation.PushFront(oe)
		c.trimProbation()
	}
	return le.l
}

// admit adds a value on probation. c.mu is held.
func (c *LangCache) admit(key string, l Lang) {
	if c.m == nil {
		c.m = make(map[string]*list.Element)
	}
	if _, ok := c.m[key]; ok {
		return
	}
	key = strings.Clone(key)
	c.m[key] = c.probation.PushFront(&langEntry{key: key, l: l})
	c.trimProbation()
}

func (c *LangCache) trimProbation() {
	for c.probation.Len() > langCacheProbation {
		old := c.probation.Back()
		delete(c.m, c.probation.Remove(old).(*langEntry).key)
	}
}

// cached reports whether the cache holds acceptLanguage (for tests).
func (c *LangCache) cached(acceptLanguage string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.m[acceptLanguage]
	return ok
}
