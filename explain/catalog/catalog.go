// Package catalog holds the page texts as data: one TOML file per language
// in this directory, named by its BCP 47 tag (en.toml, de.toml,
// zh-Hant.toml, ...), embedded in the binary. en.toml is the source; every
// other file translates it item by item and records, for each item, a hash
// of the English text it was written against, so that a changed English
// item shows as stale. README.md in this directory is the translators'
// guide; the format is described at the top of en.toml.
//
// The package only reads and checks files. Package explain turns them into
// its Text and UI values.
package catalog

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/BurntSushi/toml"
)

//go:embed *.toml
var embedded embed.FS

// Source is the tag of the source language.
const Source = "en"

// Lists are the section keys whose values are tables of items, in the order
// a page shows them.
var Lists = []string{"visitor", "owner", "help"}

// Item is one translatable text.
type Item struct {
	// Key is the item's path, e.g. "409.visitor.copy_first" or "ui.home".
	Key string
	// Text is the item's text in the file's language.
	Text string
	// Hash is, in a translation, the Hash of the English text the item
	// was translated from; "" in the source file and in plain values.
	Hash string
	// Line is the line of the file the item starts on (0 if unknown).
	Line int
}

// Catalog is one parsed file.
type Catalog struct {
	// Tag is the language's BCP 47 tag, from the file name.
	Tag string
	// File names the file in errors.
	File string
	// Keys lists every item's key in the order of the file.
	Keys  []string
	Items map[string]Item
}

// Hash returns the short hash a translation records of the English text it
// translates: the first 8 hex digits of the text's SHA-256.
func Hash(english string) string {
	h := sha256.Sum256([]byte(english))
	return hex.EncodeToString(h[:])[:8]
}

func isList(k string) bool {
	for _, l := range Lists {
		if k == l {
			return true
		}
	}
	return false
}

// Parse reads one catalog file. file names it in errors; the tag is taken
// from its base name without ".toml". Parse checks the file's shape (a
// section per status, "4xx", "5xx" and "ui"; fields and lists in a section;
// items as strings or {text, hash} tables) but not its keys against the
// source: see Check and Validate.
func Parse(file string, data []byte) (*Catalog, error) {
	base := file
	if i := strings.LastIndexByte(base, '/'); i >= 0 {
		base = base[i+1:]
	}
	c := &Catalog{Tag: strings.TrimSuffix(base, ".toml"), File: file, Items: map[string]Item{}}
	var raw map[string]any
	md, err := toml.Decode(string(data), &raw)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("%s:%d: %s", file, pe.Position.Line, pe.Message)
		}
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	lines := newLineIndex(data)
	for _, k := range md.Keys() {
		path := []string(k)
		for _, p := range path {
			if p == "" || strings.ContainsAny(p, ". \t\r\n") {
				return nil, fmt.Errorf("%s:%d: key %q: keys are bare words (letters, digits, _ and -)", file, lines.find(path), k.String())
			}
		}
		isItem := false
		switch {
		case len(path) == 1:
			if !isSection(path[0]) {
				return nil, fmt.Errorf("%s:%d: [%s]: a section is a status code (409), a class (4xx, 5xx) or ui", file, lines.find(path), path[0])
			}
		case len(path) == 2:
			isItem = !isList(path[1]) || path[0] == "ui"
		case len(path) == 3:
			if isList(path[1]) && path[0] != "ui" {
				isItem = true
			} else if path[2] != "text" && path[2] != "hash" {
				return nil, fmt.Errorf("%s:%d: %s: an item is a string or { text = \"...\", hash = \"...\" }", file, lines.find(path), k.String())
			}
		case len(path) == 4 && isList(path[1]):
			if path[3] != "text" && path[3] != "hash" {
				return nil, fmt.Errorf("%s:%d: %s: an item is a string or { text = \"...\", hash = \"...\" }", file, lines.find(path), k.String())
			}
		default:
			return nil, fmt.Errorf("%s:%d: %s: too deep", file, lines.find(path), k.String())
		}
		if !isItem {
			if len(path) <= 2 {
				if _, ok := lookup(raw, path).(map[string]any); !ok {
					return nil, fmt.Errorf("%s:%d: %s must be a table", file, lines.find(path), k.String())
				}
			}
			continue
		}
		it := Item{Key: k.String(), Line: lines.find(path)}
		switch v := lookup(raw, path).(type) {
		case string:
			it.Text = v
		case map[string]any:
			t, ok1 := v["text"].(string)
			h, ok2 := v["hash"].(string)
			if !ok1 || (v["hash"] != nil && !ok2) || len(v) > 2 || (len(v) == 2 && !ok2) {
				return nil, fmt.Errorf("%s:%d: %s: an item is a string or { text = \"...\", hash = \"...\" }", file, it.Line, it.Key)
			}
			it.Text, it.Hash = t, h
		default:
			return nil, fmt.Errorf("%s:%d: %s: an item is a string or { text = \"...\", hash = \"...\" }, not a %s", file, it.Line, it.Key, md.Type(path...))
		}
		c.Keys = append(c.Keys, it.Key)
		c.Items[it.Key] = it
	}
	return c, nil
}

func isSection(s string) bool {
	if s == "ui" || s == "4xx" || s == "5xx" {
		return true
	}
	n, err := strconv.Atoi(s)
	return err == nil && n >= 400 && n <= 599 && strconv.Itoa(n) == s
}

func lookup(m map[string]any, path []string) any {
	var v any = m
	for _, p := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[p]
	}
	return v
}

// lineIndex finds the line a key is defined on, for error messages. It
// knows the shapes catalogs use: [a] and [a.b] headers, key = value lines,
// and dotted keys (a.b = ...) under a header. One pass over the file fills
// it, so finding a line costs a map lookup.
type lineIndex map[string]int

func newLineIndex(data []byte) lineIndex {
	li := lineIndex{}
	table := ""
	for n, raw := range bytes.Split(data, []byte("\n")) {
		l := strings.TrimSpace(string(raw))
		if strings.HasPrefix(l, "[") {
			h := strings.TrimLeft(l, "[ \t")
			if i := strings.IndexByte(h, ']'); i >= 0 {
				h = h[:i]
			}
			table = strings.Join(splitKey(h), ".")
			if _, ok := li[table]; !ok {
				li[table] = n + 1
			}
			continue
		}
		eq := strings.IndexByte(l, '=')
		if eq <= 0 || strings.HasPrefix(l, "#") {
			continue
		}
		k := strings.Join(splitKey(l[:eq]), ".")
		if table != "" {
			k = table + "." + k
		}
		if _, ok := li[k]; !ok {
			li[k] = n + 1
		}
	}
	return li
}

// find returns the line of path, or of the nearest enclosing key that has
// one (a key inside an inline table: its item's line); 0 if none.
func (li lineIndex) find(path []string) int {
	for n := len(path); n > 0; n-- {
		if line, ok := li[strings.Join(path[:n], ".")]; ok {
			return line
		}
	}
	return 0
}

func splitKey(s string) []string {
	parts := strings.Split(s, ".")
	for i, p := range parts {
		parts[i] = strings.Trim(strings.TrimSpace(p), `"'`)
	}
	return parts
}

// Embedded returns the catalogs built into the binary: the source first,
// then the translations ordered by tag.
func Embedded() ([]*Catalog, error) {
	names, err := fs.Glob(embedded, "*.toml")
	if err != nil {
		return nil, err
	}
	// TOML parsing costs milliseconds a file and runs at start-up: one
	// goroutine a file
	out := make([]*Catalog, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, n := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			data, err := embedded.ReadFile(n)
			if err == nil {
				out[i], err = Parse("explain/catalog/"+n, data)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool {
		if (out[i].Tag == Source) != (out[j].Tag == Source) {
			return out[i].Tag == Source
		}
		return out[i].Tag < out[j].Tag
	})
	if len(out) == 0 || out[0].Tag != Source {
		return nil, fmt.Errorf("explain/catalog: no %s.toml", Source)
	}
	return out, nil
}

// Status is how far one translation is from the source.
type Status struct {
	Tag string
	// Missing are the source's keys the translation lacks, or has with
	// an empty text, in the source's order.
	Missing []string
	// Stale are the translation's items whose hash is not that of the
	// source's current text (or that record no hash), in the source's
	// order.
	Stale []string
	// Extra are the translation's keys the source does not have.
	Extra []string
}

// Complete reports whether the translation has every key of the source
// (stale items still count: they are served until retranslated).
func (s Status) Complete() bool { return len(s.Missing) == 0 }

// OK reports whether nothing is missing, stale or extra.
func (s Status) OK() bool { return len(s.Missing)+len(s.Stale)+len(s.Extra) == 0 }

// Check compares a translation with the source.
func Check(src, tr *Catalog) Status {
	st := Status{Tag: tr.Tag}
	for _, k := range src.Keys {
		it, ok := tr.Items[k]
		if !ok || strings.TrimSpace(it.Text) == "" {
			// an empty text is a line pasted from catalogcheck and not
			// filled in yet
			st.Missing = append(st.Missing, k)
			continue
		}
		if it.Hash != Hash(src.Items[k].Text) {
			st.Stale = append(st.Stale, k)
		}
	}
	for _, k := range tr.Keys {
		if _, ok := src.Items[k]; !ok {
			st.Extra = append(st.Extra, k)
		}
	}
	return st
}
