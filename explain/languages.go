package explain

import (
	"sync"

	"golang.org/x/text/language"

	"github.com/explainerrors/caddy-explain-errors/explain/catalog"
)

// lang is one language the pages are written in.
type lang struct {
	tag   language.Tag
	ui    *UI
	texts map[int]Text
	// cat is the language's catalog, for the owner's overrides
	cat *catalog.Catalog
}

// langs lists the languages in the order the matcher prefers them when a
// visitor's Accept-Language names none of them: English first. They come
// from the catalogs in explain/catalog (see texts.go), read on first use by
// loaded: parsing 23 catalogs takes a few hundred milliseconds and some
// megabytes, which a caddy command that serves no page (caddy version,
// caddy reload) should not pay.
var (
	langs       []lang
	langTags    []language.Tag
	langMatcher language.Matcher
	langsOnce   sync.Once
)

// loaded reads the catalogs, once. Every function that reaches langs,
// langTags, langMatcher or the catalogs calls it first.
func loaded() {
	langsOnce.Do(func() {
		langs = loadLangs()
		langTags = make([]language.Tag, len(langs))
		for i, l := range langs {
			langTags[i] = l.tag
		}
		langMatcher = language.NewMatcher(langTags)
	})
}

// Languages returns the BCP 47 tags of every language the pages are
// written in, English first.
func Languages() []string {
	loaded()
	out := make([]string, len(langs))
	for i, l := range langs {
		out[i] = l.tag.String()
	}
	return out
}

// Lang identifies one of the languages in Languages. The zero value is
// English.
type Lang int

// String returns the language's BCP 47 tag.
func (l Lang) String() string { loaded(); return langs[l].tag.String() }

// MatchLanguage picks the best of Languages for an Accept-Language header
// value with golang.org/x/text/language. A missing, malformed or
// unmatched header gives English.
func MatchLanguage(acceptLanguage string) Lang {
	if acceptLanguage == "" {
		return 0
	}
	return matchLanguage(acceptLanguage)
}

// ParseLang returns the Lang for a BCP 47 tag such as "de" or "pt-BR",
// matched the same way as an Accept-Language header. ok is false when the
// tag names no language the pages are written in.
func ParseLang(tag string) (l Lang, ok bool) {
	loaded()
	t, err := language.Parse(tag)
	if err != nil {
		return 0, false
	}
	_, idx, conf := langMatcher.Match(t)
	if conf == language.No {
		return 0, false
	}
	return Lang(idx), true
}

// TextFor returns the text for code in language l: the status's own text,
// or its class's when the code has none of its own.
func TextFor(code int, l Lang) Text {
	loaded()
	texts := langs[l].texts
	if t, ok := texts[code]; ok {
		return t
	}
	if code >= 500 {
		return texts[Class5xx]
	}
	return texts[Class4xx]
}

// UIFor returns the page words in language l.
func UIFor(l Lang) *UI { loaded(); return langs[l].ui }
