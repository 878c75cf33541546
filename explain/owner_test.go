package explain

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/text/language"

	"github.com/explainerrors/caddy-explain-errors/explain/catalog"
)

// withTestLang serves, for one test, German made of the English texts each
// prefixed with "XX ", and returns its Lang.
// The owner's words are looked up by the page's tag, so a language of the
// test's own keeps these tests independent of which translations are
// complete.
func withTestLang(t *testing.T) Lang {
	t.Helper()
	c := &catalog.Catalog{Tag: "de", File: "test", Items: map[string]catalog.Item{}}
	for _, k := range sourceCatalog.Keys {
		it := sourceCatalog.Items[k]
		it.Text = "XX " + it.Text
		it.Hash = catalog.Hash(sourceCatalog.Items[k].Text)
		c.Keys = append(c.Keys, k)
		c.Items[k] = it
	}
	l, err := buildLang(sourceCatalog, c)
	if err != nil {
		t.Fatal(err)
	}
	old, oldTags, oldMatcher := langs, langTags, langMatcher
	langs = append(slices.Clip(old), l)
	langTags = append(slices.Clip(oldTags), l.tag)
	langMatcher = language.NewMatcher(langTags)
	t.Cleanup(func() { langs, langTags, langMatcher = old, oldTags, oldMatcher })
	return Lang(len(langs) - 1)
}

func TestOwnerNoteFollowsThePageLanguage(t *testing.T) {
	de := withTestLang(t)
	r, err := NewRenderer(Options{Notes: map[int]map[string]string{
		409: {"": "Call the shop on 555-0100.", "de": "Rufen Sie 555-0100 an."},
		503: {"": "Back at 10:00."},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		code int
		l    Lang
		want string
	}{
		{"OwnLanguage", 409, de, "Rufen Sie 555-0100 an."},
		{"EveryLanguageForEnglish", 409, 0, "Call the shop on 555-0100."},
		{"EveryLanguageForGerman", 503, de, "Back at 10:00."},
		{"NoNoteForOtherStatus", 410, de, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := r.data(tc.code, tc.l, Variant{}, testID, "", "").Note; got != tc.want {
				t.Errorf("Note for %d in %s = %q, want %q", tc.code, tc.l, got, tc.want)
			}
		})
	}
}

func TestOwnerOverridesReplaceCatalogTexts(t *testing.T) {
	de := withTestLang(t)
	r, err := NewRenderer(Options{Overrides: map[string]map[string]string{
		"":   {"409.heading": "Your order was not saved", "409.visitor.name_taken": "", "ui.home": "Back to the shop"},
		"de": {"409.heading": "Ihre Bestellung wurde nicht gespeichert", "4xx.heading": "Das ging nicht"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	en := r.data(409, 0, Variant{}, testID, "", "")
	if en.Text.Heading != "Your order was not saved" || en.UI.Home != "Back to the shop" {
		t.Errorf("English 409: heading %q, home %q", en.Text.Heading, en.UI.Home)
	}
	builtin := TextFor(409, 0)
	if len(en.Text.Visitor) != len(builtin.Visitor)-1 || slices.Contains(en.Text.Visitor, builtin.Visitor[len(builtin.Visitor)-1]) {
		t.Errorf("409.visitor.name_taken = \"\" should drop that item: %q", en.Text.Visitor)
	}
	if en.Text.What != builtin.What || en.Text.Visitor[0] != builtin.Visitor[0] {
		t.Errorf("items without an override changed: %+v", en.Text)
	}
	if TextFor(409, 0).Heading == en.Text.Heading || UIFor(0).Home == "Back to the shop" {
		t.Error("an override changed the built-in texts for every renderer")
	}
	g := r.data(409, de, Variant{}, testID, "", "")
	if g.Text.Heading != "Ihre Bestellung wurde nicht gespeichert" || g.UI.Home != "Back to the shop" || !strings.HasPrefix(g.Text.What, "XX ") {
		t.Errorf("German 409: heading %q, home %q, what %q", g.Text.Heading, g.UI.Home, g.Text.What)
	}
	// a status without a text of its own takes its class's override
	if h := r.data(419, de, Variant{}, testID, "", "").Text.Heading; h != "Das ging nicht" {
		t.Errorf("German 419 heading = %q, want the 4xx override", h)
	}
	if h := r.data(419, 0, Variant{}, testID, "", "").Text.Heading; h != TextFor(419, 0).Heading {
		t.Errorf("English 419 heading = %q, want the built-in one", h)
	}
}

// TestOwnerNoteIsEscaped: a note is plain text; a template that shows it
// gets it escaped like every other value.
func TestOwnerNoteIsEscaped(t *testing.T) {
	dir := t.TempDir()
	tmpl := filepath.Join(dir, "page.html")
	if err := os.WriteFile(tmpl, []byte(`<main><p>{{.Note}}</p><h1>{{.Text.Heading}}</h1></main>`), 0o644); err != nil {
		t.Fatal(err)
	}
	note := `<script>alert("x")</script> & "quotes"`
	r, err := NewRenderer(Options{Template: tmpl,
		Notes:     map[int]map[string]string{409: {"": note}},
		Overrides: map[string]map[string]string{"": {"409.heading": "<b>bold</b>"}}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := r.Page(409, 0, FormatHTML)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := p.Render(&buf, testID, testTime); err != nil {
		t.Fatal(err)
	}
	got := buf.String()
	if strings.Contains(got, "<script>") || strings.Contains(got, "<b>") {
		t.Errorf("markup from the owner's words reached the page: %s", got)
	}
	if !strings.Contains(got, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#34;quotes&#34;") || !strings.Contains(got, "&lt;b&gt;bold&lt;/b&gt;") {
		t.Errorf("note or heading missing or not escaped: %s", got)
	}
}

func TestOwnerWordsChecked(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"NoteForA2xx", Options{Notes: map[int]map[string]string{200: {"": "x"}}}, "status 200"},
		{"EmptyNote", Options{Notes: map[int]map[string]string{409: {"": " "}}}, "needs a text"},
		{"MalformedTag", Options{Notes: map[int]map[string]string{409: {"!!": "x"}}}, `language "!!"`},
		{"UnservedLanguage", Options{Notes: map[int]map[string]string{409: {"tlh-x-klingon": "x"}}}, `language "tlh-x-klingon"`},
		{"RegionalTagNotCanonical", Options{Notes: map[int]map[string]string{409: {"en-GB": "x"}}}, `write it as "en"`},
		{"UnknownKey", Options{Overrides: map[string]map[string]string{"": {"409.headline": "x"}}}, "409.headline: not a key"},
		{"UnknownListItem", Options{Overrides: map[string]map[string]string{"": {"409.visitor.reload": "x"}}}, "409.visitor has go_back_copy"},
		{"EmptyHeading", Options{Overrides: map[string]map[string]string{"": {"409.heading": ""}}}, "must not be empty"},
		{"BadDir", Options{Overrides: map[string]map[string]string{"": {"ui.dir": "up"}}}, "ltr or rtl"},
		{"RetryAfterWithoutWait", Options{Overrides: map[string]map[string]string{"": {"ui.retry_after": "Wait."}}}, "{wait}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewRenderer(tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("NewRenderer error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	if _, err := NewRenderer(Options{Overrides: map[string]map[string]string{"": {"409.reassure": "", "412.visitor.every_time": ""}}}); err != nil {
		t.Errorf("reassure and a list item may be emptied: %v", err)
	}
}

func TestParseOwnerCatalog(t *testing.T) {
	oc, err := ParseOwnerCatalog("/etc/caddy/shop.toml", []byte(`# the shop's own words
[409]
note = "Two people edited the same order; call the shop on 555-0100."
heading = "Your order was not saved"

[409.visitor]
name_taken = ""

[419]
note = "Session expired: sign in again."

[ui]
home = "Back to the shop"
`))
	if err != nil {
		t.Fatal(err)
	}
	if oc.Notes[409] != "Two people edited the same order; call the shop on 555-0100." || oc.Notes[419] == "" || len(oc.Notes) != 2 {
		t.Errorf("notes = %v", oc.Notes)
	}
	if oc.Overrides["409.heading"] != "Your order was not saved" || oc.Overrides["ui.home"] != "Back to the shop" || len(oc.Overrides) != 3 {
		t.Errorf("overrides = %q", oc.Overrides)
	}
	if _, ok := oc.Overrides["409.visitor.name_taken"]; !ok {
		t.Error(`409.visitor.name_taken = "" was not kept as an override`)
	}
}

func TestParseOwnerCatalogErrorsNameFileAndLine(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"BadTOML", "[409]\nnote = \"x\nheading = \"y\"\n", "shop.toml:2:"},
		{"UnknownKey", "[409]\nnote = \"x\"\n\n[409.visitor]\nreload = \"y\"\n", "shop.toml:5: 409.visitor.reload: not a key"},
		{"UnknownStatus", "[409]\nnote = \"x\"\n[299]\nnote = \"y\"\n", "shop.toml:3: [299]"},
		{"NoTextOfItsOwn", "[419]\nheading = \"x\"\n", "shop.toml:2: 419.heading: not a key of the built-in catalog (explain/catalog/en.toml); 419 has no text of its own (it uses [4xx]), only a note"},
		{"EmptyNote", "[409]\nnote = \"\"\n", "shop.toml:2: 409.note: a note needs a text"},
		{"NotAString", "[409]\nnote = 409\n", "shop.toml:2: 409.note"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseOwnerCatalog("/etc/caddy/shop.toml", []byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
