package caddymodule

import (
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func TestUnmarshalCaddyfileNotesAndCatalogs(t *testing.T) {
	input := `explain_errors {
	note 409 "Two people edited the same order; call the shop on 555-0100"
	note 409 en-GB "Ring the shop on 555-0100"
	note 503 "Back at 10:00 UTC"
	catalog /etc/caddy/shop.toml
	catalog /etc/caddy/shop.en.toml en
}`
	var h Handler
	if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(input)); err != nil {
		t.Fatal(err)
	}
	want := Handler{
		Notes: map[string]map[string]string{
			"409": {"": "Two people edited the same order; call the shop on 555-0100", "en-GB": "Ring the shop on 555-0100"},
			"503": {"": "Back at 10:00 UTC"},
		},
		Catalogs: []Catalog{{File: "/etc/caddy/shop.toml"}, {File: "/etc/caddy/shop.en.toml", Lang: "en"}},
	}
	if !reflect.DeepEqual(h, want) {
		t.Errorf("got  %+v\nwant %+v", h, want)
	}
}

func TestUnmarshalCaddyfileNoteErrors(t *testing.T) {
	for _, tc := range []struct {
		name, input string
		want        []string
	}{
		{"NoteWithoutText", "explain_errors {\n\tlog 409\n\tnote 409\n}", []string{"note", "Testfile:3"}},
		{"NoteFor200", "explain_errors {\n\tlog 409\n\tnote 200 \"x\"\n}", []string{"note", "200", "Testfile:3"}},
		{"NoteForClass", "explain_errors {\n\tlog 409\n\tnote 4xx \"x\"\n}", []string{"note", "4xx", "Testfile:3"}},
		{"NoteBadTag", "explain_errors {\n\tlog 409\n\tnote 409 !! \"x\"\n}", []string{"note", `"!!"`, "Testfile:3"}},
		{"NoteEmptyText", "explain_errors {\n\tlog 409\n\tnote 409 \" \"\n}", []string{"note", "needs a text", "Testfile:3"}},
		{"NoteTwice", "explain_errors {\n\tnote 409 \"a\"\n\tnote 409 \"b\"\n}", []string{"note", "409", "already", "Testfile:3"}},
		{"NoteTooManyArgs", "explain_errors {\n\tlog 409\n\tnote 409 en two words\n}", []string{"note", "Testfile:3"}},
		{"CatalogWithoutFile", "explain_errors {\n\tlog 409\n\tcatalog\n}", []string{"catalog", "Testfile:3"}},
		{"CatalogBadTag", "explain_errors {\n\tlog 409\n\tcatalog /x.toml !!\n}", []string{"catalog", `"!!"`, "Testfile:3"}},
		{"CatalogTooManyArgs", "explain_errors {\n\tlog 409\n\tcatalog /x.toml en de\n}", []string{"catalog", "Testfile:3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h Handler
			err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tc.input))
			if err == nil {
				t.Fatalf("no error for:\n%s\ngot %+v", tc.input, h)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestOwnerWordsRejectedAtProvision: what the Caddyfile cannot check (the
// files) and what JSON skips, Provision checks, naming the file and line.
func TestOwnerWordsRejectedAtProvision(t *testing.T) {
	dir := t.TempDir()
	unknownKey := writeFile(t, dir, "unknown.toml", "[409]\nnote = \"x\"\n\n[409.visitor]\nreload = \"y\"\n")
	badTOML := writeFile(t, dir, "bad.toml", "[409]\nnote = \"x\"\nheading = \n")
	withNote := writeFile(t, dir, "note.toml", "[409]\nnote = \"from the file\"\n")
	same := writeFile(t, dir, "same.toml", "[409]\nheading = \"Order not saved\"\n")
	for _, tc := range []struct {
		name string
		h    Handler
		want []string
	}{
		{"UnknownKey", Handler{Catalogs: []Catalog{{File: unknownKey}}}, []string{unknownKey + ":5", "409.visitor.reload"}},
		{"BadTOML", Handler{Catalogs: []Catalog{{File: badTOML}}}, []string{badTOML + ":3"}},
		{"MissingFile", Handler{Catalogs: []Catalog{{File: filepath.Join(dir, "none.toml")}}}, []string{"none.toml"}},
		{"NoFile", Handler{Catalogs: []Catalog{{Lang: "en"}}}, []string{"catalogs", "no file"}},
		{"CatalogBadTag", Handler{Catalogs: []Catalog{{File: withNote, Lang: "xx-!!"}}}, []string{withNote, `"xx-!!"`}},
		{"NoteInFileAndInline", Handler{Notes: map[string]map[string]string{"409": {"": "inline"}}, Catalogs: []Catalog{{File: withNote}}}, []string{withNote, "409", "already"}},
		{"SameKeyTwoFiles", Handler{Catalogs: []Catalog{{File: same, Lang: "en"}, {File: same, Lang: "en-US"}}}, []string{same, "409.heading", "already"}},
		{"NoteFor200", Handler{Notes: map[string]map[string]string{"200": {"": "x"}}}, []string{"notes", "200"}},
		{"NoteBadTag", Handler{Notes: map[string]map[string]string{"409": {"!!": "x"}}}, []string{"notes", `"!!"`}},
		{"EmptyNote", Handler{Notes: map[string]map[string]string{"409": {"en": ""}}}, []string{"notes", "409", "needs a text"}},
		{"RegionalTwiceIsTwice", Handler{Notes: map[string]map[string]string{"409": {"en": "a", "en-GB": "b"}}}, []string{"409 (en)", "already"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.h
			err := h.compile()
			if err == nil {
				t.Fatalf("compile accepted %+v", tc.h)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestOwnerWordsReachThePage: a note and an override from the Caddyfile
// and from a catalog file end up on the page for a bare 409, escaped.
func TestOwnerWordsReachThePage(t *testing.T) {
	dir := t.TempDir()
	// an owner template, so the test sees PageData as a template does
	tmpl := writeFile(t, dir, "page.html", `<main><h1>{{.Text.Heading}}</h1><p class="note">{{.Note}}</p><a href="/">{{.UI.Home}}</a></main>`)
	cat := writeFile(t, dir, "shop.toml", "[409]\nheading = \"Your <order> was not saved\"\n\n[ui]\nhome = \"Back to the shop\"\n")
	input := `explain_errors {
	template ` + tmpl + `
	note 409 "Two people edited the same order; call the shop on 555-0100 <script>alert(1)</script>"
	catalog ` + cat + `
}`
	var h Handler
	if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(input)); err != nil {
		t.Fatal(err)
	}
	newTestHandler(t, &h)
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		w.WriteHeader(http.StatusConflict)
		return nil
	})
	rec := newRecorder()
	r, _ := newRequest(t, http.MethodPost, "text/html", rec)
	r.Header.Set("Accept-Language", "en-GB")
	if err := h.ServeHTTP(rec, r, next); err != nil {
		t.Fatal(err)
	}
	body := rec.Body.String()
	if rec.Code != 409 || rec.Header().Get("Content-Language") != "en" {
		t.Fatalf("status %d, Content-Language %q", rec.Code, rec.Header().Get("Content-Language"))
	}
	for _, want := range []string{
		"<h1>Your &lt;order&gt; was not saved</h1>",
		"call the shop on 555-0100 &lt;script&gt;alert(1)&lt;/script&gt;</p>",
		">Back to the shop</a>",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "<script>") {
		t.Errorf("the note's markup reached the page:\n%s", body)
	}
}

func TestAdaptedJSONNotesAndCatalogs(t *testing.T) {
	cfg, err := adapt(t, ":8080 {\n\texplain_errors {\n\t\tnote 409 \"Call us\"\n\t\tnote 409 en \"Call us, please\"\n\t\tcatalog /etc/caddy/shop.toml en\n\t}\n\trespond 409\n}")
	if err != nil {
		t.Fatal(err)
	}
	h := findHandler(t, cfg, "explain_errors")
	notes, _ := h["notes"].(map[string]any)
	n409, _ := notes["409"].(map[string]any)
	if n409[""] != "Call us" || n409["en"] != "Call us, please" {
		t.Errorf("notes = %v", h["notes"])
	}
	cats, _ := h["catalogs"].([]any)
	if len(cats) != 1 || !reflect.DeepEqual(cats[0], map[string]any{"file": "/etc/caddy/shop.toml", "lang": "en"}) {
		t.Errorf("catalogs = %v", h["catalogs"])
	}
}

func TestAdaptNoteErrorNamesTheLine(t *testing.T) {
	_, err := adapt(t, ":8080 {\n\texplain_errors {\n\t\tlog 409\n\t\tnote 299 \"x\"\n\t}\n}")
	if err == nil || !strings.Contains(err.Error(), "Caddyfile:4") || !strings.Contains(err.Error(), "299") {
		t.Errorf("error = %v, want it to name 299 and Caddyfile:4", err)
	}
}
