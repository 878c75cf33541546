package caddymodule

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/explainerrors/caddy-explain-errors/explain"
)

var explainCmdNow = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// runExplainCmd parses args with the flags the registered command defines
// and runs the command's function, returning what it printed.
func runExplainCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	c, ok := caddycmd.Commands()["explain"]
	if !ok {
		t.Fatal(`the "explain" command is not registered`)
	}
	cmd := &cobra.Command{Use: "explain"}
	c.CobraFunc(cmd)
	if err := cmd.ParseFlags(args); err != nil {
		return "", err
	}
	var b bytes.Buffer
	err := runExplain(&b, caddycmd.Flags{FlagSet: cmd.Flags()}, explainCmdNow)
	return b.String(), err
}

func TestExplainCommandRegistered(t *testing.T) {
	c, ok := caddycmd.Commands()["explain"]
	if !ok {
		t.Fatal(`the "explain" command is not registered`)
	}
	if c.Short == "" || c.Usage == "" || c.CobraFunc == nil {
		t.Fatalf("command incomplete: %+v", c)
	}
	cmd := &cobra.Command{Use: "explain"}
	c.CobraFunc(cmd)
	if cmd.RunE == nil {
		t.Fatal("CobraFunc set no RunE")
	}
	for name, def := range map[string]string{"lang": "en", "format": "text", "all": "false", "out": ""} {
		f := cmd.Flags().Lookup(name)
		if f == nil {
			t.Errorf("no --%s flag", name)
			continue
		}
		if f.DefValue != def {
			t.Errorf("--%s defaults to %q, want %q", name, f.DefValue, def)
		}
	}
}

func TestExplainCommandOwnerText(t *testing.T) {
	out, err := runExplainCmd(t, "409")
	if err != nil {
		t.Fatal(err)
	}
	if want := explain.Owner(409, 0); out != want {
		t.Errorf("output is not explain.Owner(409, en):\n got: %q\nwant: %q", out, want)
	}
	for _, s := range []string{"409 ", "Conflict", "RFC 9110, Section 15.5.10", explain.UIFor(0).OwnerHeading} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
	// the format flag's default is the owner's text
	explicit, err := runExplainCmd(t, "--format", "text", "409")
	if err != nil {
		t.Fatal(err)
	}
	if explicit != out {
		t.Error("--format text differs from the default")
	}
	// a region subtag matches its language
	us, err := runExplainCmd(t, "409", "--lang", "en-US")
	if err != nil {
		t.Fatal(err)
	}
	if us != out {
		t.Error("--lang en-US differs from --lang en")
	}
	other, err := runExplainCmd(t, "412")
	if err != nil {
		t.Fatal(err)
	}
	if other == out || !strings.HasPrefix(other, "412 ") {
		t.Errorf("412 output does not start with 412 or equals 409's:\n%s", other)
	}
}

func TestExplainCommandEveryLanguage(t *testing.T) {
	for i, tag := range explain.Languages() {
		out, err := runExplainCmd(t, "--lang", tag, "423")
		if err != nil {
			t.Errorf("--lang %s: %v", tag, err)
			continue
		}
		if want := explain.Owner(423, explain.Lang(i)); out != want {
			t.Errorf("--lang %s: output is not explain.Owner(423, %s)", tag, tag)
		}
	}
}

func TestExplainCommandJSON(t *testing.T) {
	out, err := runExplainCmd(t, "409", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Type     string   `json:"type"`
		Title    string   `json:"title"`
		Status   int      `json:"status"`
		Instance string   `json:"instance"`
		Time     string   `json:"time"`
		Help     []string `json:"help"`
	}
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	s, _ := explain.Lookup(409)
	if p.Status != 409 || p.Title != explain.TextFor(409, 0).Title || p.Type != s.SpecURL() {
		t.Errorf("problem = %+v", p)
	}
	if p.Instance != "urn:uuid:"+nilRequestID {
		t.Errorf("instance %q: want the all-zero id", p.Instance)
	}
	if want := explainCmdNow.Format(explain.TimeFormat); p.Time != want {
		t.Errorf("time %q, want %q", p.Time, want)
	}
	// help is for programs: the catalog's Help, never the visitor's steps
	if want := explain.TextFor(409, 0).Help; !reflect.DeepEqual(p.Help, want) && (len(p.Help) > 0 || len(want) > 0) {
		t.Errorf("help %q, want the catalog's %q", p.Help, want)
	}
}

func TestExplainCommandHTML(t *testing.T) {
	out, err := runExplainCmd(t, "502", "--format", "html")
	if err != nil {
		t.Fatal(err)
	}
	// caddy explain is for the owner: their notes are on its pages
	r, err := explain.NewRenderer(explain.Options{ShowOwner: true})
	if err != nil {
		t.Fatal(err)
	}
	p, err := r.Page(502, 0, explain.FormatHTML)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if _, err := p.Render(&want, nilRequestID, explainCmdNow); err != nil {
		t.Fatal(err)
	}
	if out != want.String() {
		t.Errorf("output is not the built-in HTML page")
	}
	for _, s := range []string{"<!doctype html>", `<html lang="en" dir="ltr">`, "<h1>" + template.HTMLEscapeString(heading(502, 0)) + "</h1>", template.HTMLEscapeString(explain.TextFor(502, 0).Owner[0]), nilRequestID, "2026-03-04T05:06:07Z"} {
		if !strings.Contains(out, s) {
			t.Errorf("page lacks %q", s)
		}
	}
}

func TestExplainCommandBadInput(t *testing.T) {
	langs := explain.Languages()
	for _, tc := range []struct {
		args []string
		want []string // all in the error
	}{
		{[]string{"abc"}, []string{`"abc"`, "not a number"}},
		{[]string{"4O9"}, []string{`"4O9"`, "not a number"}},
		{[]string{"+409"}, []string{`"+409"`, "not a number"}},
		{[]string{"99"}, []string{"99", "100 to 599"}},
		{[]string{"600"}, []string{"600", "100 to 599"}},
		{[]string{"302"}, []string{"302", "not an error status"}},
		{[]string{"200"}, []string{"200", "not an error status"}},
		{[]string{}, []string{"missing status code"}},
		{[]string{"409", "412"}, []string{"one status code at a time", "409 412"}},
		{[]string{"409", "--lang", "xx"}, append([]string{`"xx"`}, langs...)},
		{[]string{"409", "--lang", "not a tag!"}, append([]string{`"not a tag!"`}, langs...)},
		{[]string{"409", "--format", "xml"}, []string{`"xml"`, "text, json or html"}},
		{[]string{"--all"}, []string{"--out"}},
		{[]string{"--all", "--out", t.TempDir(), "409"}, []string{"drop the argument", "409"}},
		{[]string{"--all", "--out", t.TempDir(), "--lang", "en"}, []string{"--lang"}},
		{[]string{"--all", "--out", t.TempDir(), "--format", "json"}, []string{"--format"}},
		{[]string{"409", "--out", t.TempDir()}, []string{"--out goes with --all"}},
	} {
		out, err := runExplainCmd(t, tc.args...)
		if err == nil {
			t.Errorf("%q: no error; output:\n%s", tc.args, out)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q: error %q lacks %q", tc.args, err, w)
			}
		}
		if out != "" {
			t.Errorf("%q: printed %q along with the error", tc.args, out)
		}
	}
}

func TestExplainCommandUnregisteredErrorStatus(t *testing.T) {
	// a 4xx the registry does not know still has its class's explanation
	out, err := runExplainCmd(t, "499")
	if err != nil {
		t.Fatal(err)
	}
	if want := explain.Owner(499, 0); out != want || !strings.HasPrefix(out, "499 ") {
		t.Errorf("499: got %q", out)
	}
}

func TestExplainCommandAll(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pages") // does not exist yet
	out, err := runExplainCmd(t, "--all", "--out", dir)
	if err != nil {
		t.Fatal(err)
	}
	codes, langs := explain.Codes(), explain.Languages()
	want := len(codes)*len(langs)*3 + 1
	if !strings.Contains(out, fmt.Sprintf("wrote %d files to %s", want, dir)) {
		t.Errorf("summary %q does not say %d files", out, want)
	}
	var files []string
	err = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, path)
			files = append(files, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != want {
		t.Errorf("%d files, want %d (%d codes × %d languages × 3 formats + index)", len(files), want, len(codes), len(langs))
	}
	index, err := os.ReadFile(filepath.Join(dir, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	for i, tag := range langs {
		l := explain.Lang(i)
		for _, code := range codes {
			for _, ext := range []string{"html", "json", "txt"} {
				rel := fmt.Sprintf("%s/%d.%s", tag, code, ext)
				b, err := os.ReadFile(filepath.Join(dir, rel))
				if err != nil {
					t.Errorf("%s: %v", rel, err)
					continue
				}
				if !bytes.Contains(index, []byte(`href="`+rel+`"`)) {
					t.Errorf("index.html does not link %s", rel)
				}
				title := explain.TextFor(code, l).Title
				switch ext {
				case "html":
					if !bytes.Contains(b, []byte(`<html lang="`+tag+`" dir="`)) || !bytes.Contains(b, []byte("<h1>")) {
						t.Errorf("%s is not the HTML page", rel)
					}
				case "json":
					var p struct {
						Status int    `json:"status"`
						Title  string `json:"title"`
						Time   string `json:"time"`
					}
					if err := json.Unmarshal(b, &p); err != nil || p.Status != code || p.Title != title || p.Time != "2026-03-04T05:06:07Z" {
						t.Errorf("%s: %v %+v", rel, err, p)
					}
				case "txt":
					if !bytes.HasPrefix(b, []byte(fmt.Sprintf("%d %s", code, title))) {
						t.Errorf("%s does not start with %d %s: %.60q", rel, code, title, b)
					}
				}
			}
		}
	}
	// a second run over the same directory overwrites, and still succeeds
	if _, err := runExplainCmd(t, "--all", "--out", dir); err != nil {
		t.Errorf("second run: %v", err)
	}
}

func TestExplainCommandAllUnwritable(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := runExplainCmd(t, "--all", "--out", file); err == nil {
		t.Error("--out naming a file: no error")
	}
}

// heading is the page's h1 for code in l: the status's heading, or its
// title where the language has none.
func heading(code int, l explain.Lang) string {
	if h := explain.TextFor(code, l).Heading; h != "" {
		return h
	}
	return explain.TextFor(code, l).Title
}
