package explain

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/explainerrors/caddy-explain-errors/explain/catalog"
	"golang.org/x/text/language"
)

// The texts live in explain/catalog/*.toml; this file turns the catalogs
// into Text and UI values once, at start-up.

// uiKeys maps the UI fields to their catalog keys under [ui].
var uiKeys = []struct {
	key string
	set func(*UI, string)
}{
	{"name", func(u *UI, s string) { u.Name = s }},
	{"error", func(u *UI, s string) { u.Error = s }},
	{"what_heading", func(u *UI, s string) { u.WhatHeading = s }},
	{"where_heading", func(u *UI, s string) { u.WhereHeading = s }},
	{"visitor_heading", func(u *UI, s string) { u.VisitorHeading = s }},
	{"owner_heading", func(u *UI, s string) { u.OwnerHeading = s }},
	{"request_id", func(u *UI, s string) { u.RequestID = s }},
	{"time", func(u *UI, s string) { u.Time = s }},
	{"contact", func(u *UI, s string) { u.Contact = s }},
	{"spec", func(u *UI, s string) { u.Spec = s }},
	{"quote_id", func(u *UI, s string) { u.QuoteID = s }},
	{"home", func(u *UI, s string) { u.Home = s }},
	{"try_again", func(u *UI, s string) { u.TryAgain = s }},
	{"retry_after", func(u *UI, s string) { u.RetryAfter = s }},
	{"site_note", func(u *UI, s string) { u.SiteNote = s }},
	{"dir", func(u *UI, s string) { u.Dir = s }},
}

// textFields maps the Text fields that hold one string to their keys in a
// status's section.
var textFields = []struct {
	key string
	set func(*Text, string)
}{
	{"title", func(t *Text, s string) { t.Title = s }},
	{"heading", func(t *Text, s string) { t.Heading = s }},
	{"reassure", func(t *Text, s string) { t.Reassure = s }},
	{"summary", func(t *Text, s string) { t.Summary = s }},
	{"what", func(t *Text, s string) { t.What = s }},
	{"where", func(t *Text, s string) { t.Where = s }},
}

// textLists maps the Text lists to their tables in a status's section.
var textLists = []struct {
	key string
	add func(*Text, string)
}{
	{"visitor", func(t *Text, s string) { t.Visitor = append(t.Visitor, s) }},
	{"owner", func(t *Text, s string) { t.Owner = append(t.Owner, s) }},
	{"help", func(t *Text, s string) { t.Help = append(t.Help, s) }},
}

// sectionCode turns a catalog section name into a text map key.
func sectionCode(s string) (int, bool) {
	switch s {
	case "4xx":
		return Class4xx, true
	case "5xx":
		return Class5xx, true
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// sectionName is sectionCode's inverse.
func sectionName(code int) string {
	switch code {
	case Class4xx:
		return "4xx"
	case Class5xx:
		return "5xx"
	}
	return strconv.Itoa(code)
}

// sourceCatalog is the English catalog, whose keys every other catalog
// (translations, an owner's) is checked against; catalogs are all the
// embedded ones, served or not.
var (
	sourceCatalog *catalog.Catalog
	catalogs      []*catalog.Catalog
)

// buildLang makes a language from a catalog. Items the catalog lacks are
// taken from the source, so a text never has a hole; a language with
// missing items is not offered (see loadLangs).
func buildLang(src, c *catalog.Catalog) (lang, error) {
	tag, err := language.Parse(c.Tag)
	if err != nil {
		return lang{}, fmt.Errorf("%s: file name %q is not a BCP 47 tag: %v", c.File, c.Tag, err)
	}
	get := func(key string) string {
		if it, ok := c.Items[key]; ok {
			return it.Text
		}
		return src.Items[key].Text
	}
	ui := new(UI)
	for _, f := range uiKeys {
		f.set(ui, get("ui."+f.key))
	}
	texts := map[int]Text{}
	for _, key := range src.Keys {
		parts := strings.Split(key, ".")
		if parts[0] == "ui" {
			continue
		}
		code, ok := sectionCode(parts[0])
		if !ok {
			return lang{}, fmt.Errorf("%s: section %q", src.File, parts[0])
		}
		if _, done := texts[code]; done {
			continue
		}
		texts[code] = buildText(src, parts[0], get)
	}
	return lang{tag: tag, ui: ui, texts: texts, cat: c}, nil
}

// buildText assembles one status's text in the source's key order.
func buildText(src *catalog.Catalog, section string, get func(string) string) Text {
	var t Text
	for _, f := range textFields {
		f.set(&t, get(section+"."+f.key))
	}
	for _, l := range textLists {
		prefix := section + "." + l.key + "."
		for _, key := range src.Keys {
			if strings.HasPrefix(key, prefix) {
				// an owner's override may drop an item with ""
				if s := get(key); s != "" {
					l.add(&t, s)
				}
			}
		}
	}
	return t
}

// loadLangs builds the languages from the embedded catalogs: the source
// first, then every translation that has all of the source's keys.
func loadLangs() []lang {
	cs, err := catalog.Embedded()
	if err != nil {
		panic("explain: " + err.Error()) // the embedded files are tested
	}
	src := cs[0]
	sourceCatalog, catalogs = src, cs
	var out []lang
	for _, c := range cs {
		if c != src && !catalog.Check(src, c).Complete() {
			continue
		}
		l, err := buildLang(src, c)
		if err != nil {
			panic("explain: " + err.Error())
		}
		out = append(out, l)
	}
	return out
}
