// Command catalogcheck prints, for translators, how far each translation
// in explain/catalog is from the English source: the items missing, stale
// (translated from an older English text) and extra (keys English no
// longer has).
//
//	go run ./explain/internal/catalogcheck            # a line per language
//	go run ./explain/internal/catalogcheck -lang de   # de's items, with the English
//	go run ./explain/internal/catalogcheck -dir DIR   # check files in DIR instead
//
// With -lang, each missing or stale item is printed as a TOML line to fill
// in, with the hash of the current English text already set, and the
// English text as a comment above it; for a language without a file yet,
// that is every item, ready to save as the new file. It exits 1 when anything is missing,
// stale or extra.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/explainerrors/caddy-explain-errors/explain/catalog"
)

func main() {
	lang := flag.String("lang", "", "print the items of this language (a file name without .toml)")
	dir := flag.String("dir", "", "read the catalogs from this directory instead of the ones built in")
	flag.Parse()
	cs, err := load(*dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "catalogcheck:", err)
		os.Exit(2)
	}
	src := cs[0]
	bad := false
	found := false
	for _, c := range cs[1:] {
		st := catalog.Check(src, c)
		if !st.OK() {
			bad = true
		}
		if *lang != "" {
			if c.Tag != *lang {
				continue
			}
			found = true
			details(src, c, st)
			continue
		}
		state := "complete"
		if !st.Complete() {
			state = "not served (missing items)"
		} else if !st.OK() {
			state = "served, needs work"
		}
		fmt.Printf("%-8s %4d missing %4d stale %4d extra  of %d  %s\n", c.Tag, len(st.Missing), len(st.Stale), len(st.Extra), len(src.Keys), state)
	}
	if *lang != "" && !found {
		// a new language: its whole work list, to start the file with
		if *lang == catalog.Source {
			fmt.Fprintf(os.Stderr, "catalogcheck: %s is the source\n", *lang)
			os.Exit(2)
		}
		c := &catalog.Catalog{Tag: *lang, File: *lang + ".toml (new)", Items: map[string]catalog.Item{}}
		details(src, c, catalog.Check(src, c))
		os.Exit(1)
	}
	if bad {
		os.Exit(1)
	}
}

func load(dir string) ([]*catalog.Catalog, error) {
	if dir == "" {
		return catalog.Embedded()
	}
	names, err := filepath.Glob(filepath.Join(dir, "*.toml"))
	if err != nil {
		return nil, err
	}
	var out []*catalog.Catalog
	var src *catalog.Catalog
	for _, n := range names {
		data, err := os.ReadFile(n)
		if err != nil {
			return nil, err
		}
		c, err := catalog.Parse(n, data)
		if err != nil {
			return nil, err
		}
		if c.Tag == catalog.Source {
			src = c
			continue
		}
		out = append(out, c)
	}
	if src == nil {
		return nil, fmt.Errorf("no %s.toml in %s", catalog.Source, dir)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Tag < out[j].Tag })
	return append([]*catalog.Catalog{src}, out...), nil
}

// details prints a language's work list as TOML to paste, in the source's
// order, under the table headers the items belong in.
func details(src, c *catalog.Catalog, st catalog.Status) {
	fmt.Printf("# %s: %d missing, %d stale, %d extra of %d items\n", c.File, len(st.Missing), len(st.Stale), len(st.Extra), len(src.Keys))
	todo := map[string]string{}
	for _, k := range st.Missing {
		todo[k] = "missing"
	}
	for _, k := range st.Stale {
		todo[k] = "stale"
	}
	table := ""
	for _, k := range src.Keys {
		why, ok := todo[k]
		if !ok {
			continue
		}
		i := strings.LastIndexByte(k, '.')
		if t := k[:i]; t != table {
			table = t
			fmt.Printf("\n[%s]\n", table)
		}
		en := src.Items[k].Text
		fmt.Printf("# %s; English: %s\n", why, en)
		if why == "stale" {
			old := c.Items[k]
			fmt.Printf("# now (line %d): %s\n", old.Line, old.Text)
		}
		fmt.Printf("%s = { text = %s, hash = %q }\n", k[i+1:], strconv.Quote(""), catalog.Hash(en))
	}
	if len(st.Extra) > 0 {
		fmt.Printf("\n# extra: remove these keys, English no longer has them\n")
		for _, k := range st.Extra {
			fmt.Printf("# %s (line %d)\n", k, c.Items[k].Line)
		}
	}
}
