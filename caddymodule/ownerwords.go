package caddymodule

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/explainerrors/caddy-explain-errors/explain"
)

// Catalog is one owner catalog file.
type Catalog struct {
	// The path of a TOML file with any of the keys of the built-in English
	// catalog (explain/catalog/en.toml in this module's source), each
	// replacing the built-in text, and a note per status in the status's
	// section ([409] note = "..."). Required.
	File string `json:"file"`
	// The language the file's words are for, as a BCP 47 tag; it stands
	// for the served language it matches (de-AT is German). Default: every
	// language without a file of its own.
	Lang string `json:"lang,omitempty"`
}

// ownerWords reads and checks the notes and catalog files into the
// renderer's options: notes by status and served tag, overrides by served
// tag and catalog key. A word given twice for the same status (or key) and
// language is an error, wherever the two come from.
func (h *Handler) ownerWords(opts *explain.Options) error {
	notes := map[int]map[string]string{}
	from := map[string]string{} // "409 de" -> where it was set, for errors
	addNote := func(code int, tag, text, where string) error {
		k := strconv.Itoa(code) + " " + tag
		if prev, dup := from[k]; dup {
			return fmt.Errorf("explain_errors: %s: a note for %d%s is set already in %s", where, code, langSuffix(tag), prev)
		}
		from[k] = where
		if notes[code] == nil {
			notes[code] = map[string]string{}
		}
		notes[code][tag] = text
		return nil
	}
	for status, byLang := range h.Notes {
		code, err := strconv.Atoi(status)
		if err != nil || code < 400 || code > 599 {
			return fmt.Errorf("explain_errors: notes: %q: must be a 4xx or 5xx status code", status)
		}
		for lang, text := range byLang {
			tag, err := servedTag(lang)
			if err != nil {
				return fmt.Errorf("explain_errors: notes: %d: %w", code, err)
			}
			if strings.TrimSpace(text) == "" {
				return fmt.Errorf("explain_errors: notes: %d%s: needs a text", code, langSuffix(lang))
			}
			if err := addNote(code, tag, text, "notes"); err != nil {
				return err
			}
		}
	}
	overrides := map[string]map[string]string{}
	keyFrom := map[string]string{}
	for _, c := range h.Catalogs {
		if c.File == "" {
			return fmt.Errorf("explain_errors: catalogs: an entry has no file")
		}
		tag, err := servedTag(c.Lang)
		if err != nil {
			return fmt.Errorf("explain_errors: catalog %s: %w", c.File, err)
		}
		data, err := os.ReadFile(c.File)
		if err != nil {
			return fmt.Errorf("explain_errors: catalog: %w", err)
		}
		oc, err := explain.ParseOwnerCatalog(c.File, data)
		if err != nil {
			return fmt.Errorf("explain_errors: catalog %w", err)
		}
		for code, text := range oc.Notes {
			if err := addNote(code, tag, text, c.File); err != nil {
				return err
			}
		}
		for k, text := range oc.Overrides {
			dk := tag + " " + k
			if prev, dup := keyFrom[dk]; dup {
				return fmt.Errorf("explain_errors: catalog %s: %s%s is set already in %s", c.File, k, langSuffix(tag), prev)
			}
			keyFrom[dk] = c.File
			if overrides[tag] == nil {
				overrides[tag] = map[string]string{}
			}
			overrides[tag][k] = text
		}
	}
	if len(notes) > 0 {
		opts.Notes = notes
	}
	if len(overrides) > 0 {
		opts.Overrides = overrides
	}
	return nil
}

// servedTag turns a language tag from the configuration into the served
// language's tag; "" stays "" (every language).
func servedTag(lang string) (string, error) {
	if lang == "" {
		return "", nil
	}
	tag, ok := explain.CanonicalTag(lang)
	if !ok {
		return "", fmt.Errorf("language %q: not a BCP 47 tag of a language the pages are written in (%s)", lang, strings.Join(explain.Languages(), " "))
	}
	return tag, nil
}

func langSuffix(tag string) string {
	if tag == "" {
		return ""
	}
	return " (" + tag + ")"
}
