package explain

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/explainerrors/caddy-explain-errors/explain/catalog"
)

// The owner's own words: a note per status (Options.Notes) and overrides of
// catalog items (Options.Overrides), each per language or for every
// language. They are applied when a page is first built, so they cost
// nothing per request.

// OwnerCatalog is what an owner's catalog file says: notes by status code,
// and overrides by catalog key ("409.heading", "409.visitor.go_back_copy",
// "ui.home").
type OwnerCatalog struct {
	Notes     map[int]string
	Overrides map[string]string
}

// ParseOwnerCatalog reads an owner's catalog file: TOML with any subset of
// the keys of the built-in English catalog (explain/catalog/en.toml), each
// replacing the built-in text, and a note in any status's section
// ([409] note = "..."). file names the file in errors, which give its line.
// An override may be "" only for reassure (no reassurance) and for a list
// item (the item is left out).
func ParseOwnerCatalog(file string, data []byte) (*OwnerCatalog, error) {
	loaded()
	c, err := catalog.Parse(file, data)
	if err != nil {
		return nil, err
	}
	oc := &OwnerCatalog{Notes: map[int]string{}, Overrides: map[string]string{}}
	for _, k := range c.Keys {
		it := c.Items[k]
		if code, ok := noteKey(k); ok {
			if strings.TrimSpace(it.Text) == "" {
				return nil, fmt.Errorf("%s:%d: %s: a note needs a text", file, it.Line, k)
			}
			oc.Notes[code] = it.Text
			continue
		}
		if err := checkOverride(k, it.Text); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", file, it.Line, err)
		}
		oc.Overrides[k] = it.Text
	}
	return oc, nil
}

// noteKey reports whether k is "<code>.note" for a 4xx or 5xx code.
func noteKey(k string) (int, bool) {
	sec, ok := strings.CutSuffix(k, ".note")
	if !ok {
		return 0, false
	}
	code, err := strconv.Atoi(sec)
	return code, err == nil && code >= 400 && code <= 599
}

// checkOverride checks one override against the source catalog.
func checkOverride(key, text string) error {
	loaded()
	if _, ok := sourceCatalog.Items[key]; !ok {
		return fmt.Errorf("%s: not a key of the built-in catalog (explain/catalog/en.toml)%s", key, hintKey(key))
	}
	if strings.TrimSpace(text) == "" {
		parts := strings.Split(key, ".")
		isList := len(parts) == 3 && parts[0] != "ui"
		if !isList && !strings.HasSuffix(key, ".reassure") {
			return fmt.Errorf("%s: must not be empty (only reassure and list items may be \"\")", key)
		}
	}
	if key == "ui.dir" && text != "ltr" && text != "rtl" {
		return fmt.Errorf("ui.dir: %q: must be ltr or rtl", text)
	}
	if key == "ui.retry_after" && strings.Count(text, "{wait}") != 1 {
		return fmt.Errorf("ui.retry_after: %q: must hold {wait} once", text)
	}
	return nil
}

// hintKey names the keys of a section when a key in it is unknown.
func hintKey(key string) string {
	sec := key
	if i := strings.LastIndexByte(key, '.'); i > 0 {
		sec = key[:i]
	}
	var keys []string
	for _, k := range sourceCatalog.Keys {
		if strings.HasPrefix(k, sec+".") && strings.Count(k, ".") == strings.Count(key, ".") {
			keys = append(keys, k[len(sec)+1:])
		}
	}
	if len(keys) == 0 {
		if code, err := strconv.Atoi(strings.SplitN(key, ".", 2)[0]); err == nil && code >= 400 && code <= 599 {
			if _, own := sourceCatalog.Items[strconv.Itoa(code)+".title"]; !own {
				return fmt.Sprintf("; %d has no text of its own (it uses [%s]), only a note", code, sectionName(classOf(code)))
			}
		}
		return ""
	}
	sort.Strings(keys)
	if len(keys) > 12 {
		keys = append(keys[:12], "...")
	}
	return "; " + sec + " has " + strings.Join(keys, ", ")
}

func classOf(code int) int {
	if code >= 500 {
		return Class5xx
	}
	return Class4xx
}

// checkOwnerWords checks Options.Notes and Options.Overrides: status codes,
// language tags and catalog keys.
func checkOwnerWords(o Options) error {
	for code, byLang := range o.Notes {
		if code < 400 || code > 599 {
			return fmt.Errorf("note for status %d: only 4xx and 5xx statuses have pages", code)
		}
		for tag, note := range byLang {
			if err := checkTag(tag); err != nil {
				return fmt.Errorf("note for status %d: %w", code, err)
			}
			if strings.TrimSpace(note) == "" {
				return fmt.Errorf("note for status %d (%q): needs a text", code, tag)
			}
		}
	}
	for tag, items := range o.Overrides {
		if err := checkTag(tag); err != nil {
			return fmt.Errorf("texts: %w", err)
		}
		for k, v := range items {
			if err := checkOverride(k, v); err != nil {
				return fmt.Errorf("texts (%q): %w", tag, err)
			}
		}
	}
	return nil
}

// checkTag accepts "" (every language) and the served tags as
// CanonicalTag gives them.
func checkTag(tag string) error {
	loaded()
	if tag == "" {
		return nil
	}
	if c, ok := CanonicalTag(tag); !ok || c != tag {
		if ok {
			return fmt.Errorf("language %q: write it as %q, the language it is served as", tag, c)
		}
		return fmt.Errorf("language %q: not a BCP 47 tag of a language the pages are written in (%s)", tag, strings.Join(Languages(), " "))
	}
	return nil
}

// CanonicalTag returns the served language a BCP 47 tag stands for, as
// Languages lists it ("de-AT" gives "de", "zh-TW" "zh-Hant"); ok is false
// when the tag is malformed or names no served language.
func CanonicalTag(tag string) (string, bool) {
	loaded()
	l, ok := ParseLang(tag)
	if !ok {
		return "", false
	}
	return l.String(), true
}

// pageText is TextFor with the owner's overrides for l applied.
func (r *Renderer) pageText(code int, l Lang) Text {
	t := TextFor(code, l)
	if len(r.opts.Overrides) == 0 {
		return t
	}
	own, all := r.opts.Overrides[l.String()], r.opts.Overrides[""]
	if len(own) == 0 && len(all) == 0 {
		return t
	}
	sec := sectionName(code)
	if _, ok := sourceCatalog.Items[sec+".title"]; !ok {
		sec = sectionName(classOf(code))
	}
	return buildText(sourceCatalog, sec, r.getter(l, own, all))
}

// pageUI is UIFor with the owner's overrides for l applied.
func (r *Renderer) pageUI(l Lang) *UI {
	own, all := r.opts.Overrides[l.String()], r.opts.Overrides[""]
	if len(own) == 0 && len(all) == 0 {
		return UIFor(l)
	}
	get := r.getter(l, own, all)
	ui := new(UI)
	for _, f := range uiKeys {
		f.set(ui, get("ui."+f.key))
	}
	return ui
}

// getter looks a key up in the owner's words for the language, then in
// those for every language, then in the language's catalog.
func (r *Renderer) getter(l Lang, own, all map[string]string) func(string) string {
	c := langs[l].cat
	return func(k string) string {
		if s, ok := own[k]; ok {
			return s
		}
		if s, ok := all[k]; ok {
			return s
		}
		if it, ok := c.Items[k]; ok {
			return it.Text
		}
		return sourceCatalog.Items[k].Text
	}
}

// pageNote is the owner's note for code in l: the one for l's tag, else the
// one for every language, else "".
func (r *Renderer) pageNote(code int, l Lang) string {
	byLang := r.opts.Notes[code]
	if n, ok := byLang[l.String()]; ok {
		return n
	}
	return byLang[""]
}
