package catalog

import (
	"strings"
	"testing"
)

// TestParity fails, per language, when a translation lacks a key of the
// source, has a key the source does not, or translates an older version
// of an item (its hash is not that of the current English). While
// translators are at work this fails for the languages not yet redone;
// `go run ./explain/internal/catalogcheck` lists the items.
func TestParity(t *testing.T) {
	cs, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	src := cs[0]
	if len(cs) < 2 {
		t.Fatalf("only %d catalog(s)", len(cs))
	}
	for _, c := range cs[1:] {
		t.Run(c.Tag, func(t *testing.T) {
			st := Check(src, c)
			for _, l := range []struct {
				what string
				keys []string
			}{{"missing", st.Missing}, {"stale", st.Stale}, {"extra", st.Extra}} {
				if len(l.keys) > 0 {
					t.Errorf("%s: %d of %d items %s, first: %s", c.File, len(l.keys), len(src.Keys), l.what, strings.Join(first(l.keys, 5), ", "))
				}
			}
		})
	}
}

func first(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], "...")
	}
	return s
}

// TestSourceHasNoHashes: the source's items are plain strings; a hash in
// en.toml would mean a translation was saved over it.
func TestSourceHasNoHashes(t *testing.T) {
	cs, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range cs[0].Keys {
		if it := cs[0].Items[k]; it.Hash != "" || strings.TrimSpace(it.Text) == "" {
			t.Errorf("%s:%d: %s: want a plain non-empty string", cs[0].File, it.Line, k)
		}
	}
}

func TestCheckFindsMissingStaleAndExtra(t *testing.T) {
	src, err := Parse("en.toml", []byte("[ui]\nname = \"English\"\n\n[409]\ntitle = \"Conflict\"\n\n[409.visitor]\ncopy = \"Copy it.\"\nback = \"Go back.\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := Parse("xx.toml", []byte(`[ui]
name = { text = "Xx", hash = "`+Hash("English")+`" }
[409]
title = { text = "Konflikt", hash = "`+Hash("Conflict (old)")+`" }
[409.visitor]
copy = { text = "Kopieren.", hash = "`+Hash("Copy it.")+`" }
gone = { text = "Weg.", hash = "00000000" }
back = { text = " ", hash = "`+Hash("Go back.")+`" }
`))
	if err != nil {
		t.Fatal(err)
	}
	st := Check(src, tr)
	if strings.Join(st.Missing, ",") != "409.visitor.back" || strings.Join(st.Stale, ",") != "409.title" || strings.Join(st.Extra, ",") != "409.visitor.gone" {
		t.Errorf("Check = %+v", st)
	}
	if st.Complete() || st.OK() {
		t.Errorf("Complete/OK true for %+v", st)
	}
	if got := strings.Join(src.Keys, ","); got != "ui.name,409.title,409.visitor.copy,409.visitor.back" {
		t.Errorf("source keys in file order = %s", got)
	}
}

func TestParseErrorsNameFileAndLine(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"BadTOML", "[409]\ntitle = \"x\"\nwhat = \n", "o.toml:3:"},
		{"UnknownSection", "[ui]\nname = \"x\"\n\n[hello]\ntitle = \"x\"\n", "o.toml:4: [hello]"},
		{"NumberItem", "[409]\ntitle = 3\n", "o.toml:2: 409.title"},
		{"ListItemNotString", "[409.visitor]\na = \"x\"\nb = [1]\n", "o.toml:3: 409.visitor.b"},
		{"InlineTableWithOtherKeys", "[409]\ntitle = { text = \"x\", note = \"y\" }\n", "o.toml:2: 409.title"},
		{"SectionNotATable", "ui = \"x\"\n", "o.toml:1: ui must be a table"},
		{"CodeOutOfRange", "[200]\ntitle = \"OK\"\n", "o.toml:1: [200]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("dir/o.toml", []byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestHashIsShortSHA256(t *testing.T) {
	// printf 'Conflict' | sha256sum gives 014659ab9d98c8fe...
	if got := Hash("Conflict"); got != "014659ab" {
		t.Errorf("Hash(\"Conflict\") = %q, want 014659ab", got)
	}
}
