package caddymodule

import (
	"errors"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/explainerrors/caddy-explain-errors/explain"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "explain",
		Usage: "<status> [--lang <tag>] [--format text|json|html] | --all --out <dir>",
		Short: "Explains an HTTP error status, or writes every explanation page",
		Long: `
Explains an HTTP error status (4xx or 5xx) for the site owner: what it means,
where in the exchange it arises, its likely causes and their fixes, and what
a visitor can do.

  caddy explain 409
  caddy explain 412 --lang de
  caddy explain 423 --format json

--lang picks the language by BCP 47 tag (default en). --format picks what is
printed: text (default) is the owner's explanation; json is the
application/problem+json page and html the HTML page that explain_errors
serves to visitors, with an all-zero request ID and the current time.

With --all, nothing is printed but a summary: every page, for every status
with its own text, in every language and format, is written to the directory
given by --out, as <dir>/<lang>/<code>.html, .json and .txt (the plain-text
page visitors get), plus <dir>/index.html linking them all.

  caddy explain --all --out ./pages
`,
		CobraFunc: func(cmd *cobra.Command) {
			cmd.Flags().StringP("lang", "l", "en", "Language of the explanation (BCP 47 tag)")
			cmd.Flags().StringP("format", "f", "text", "What to print: text (the owner's explanation), json (the problem+json page) or html (the HTML page)")
			cmd.Flags().Bool("all", false, "Write every page of every status, language and format to --out")
			cmd.Flags().StringP("out", "o", "", "The directory --all writes to")
			cmd.RunE = caddycmd.WrapCommandFuncForCobra(cmdExplain)
		},
	})
}

// nilRequestID stands in for a request's id on pages made outside a
// request.
const nilRequestID = "00000000-0000-0000-0000-000000000000"

func cmdExplain(fl caddycmd.Flags) (int, error) {
	if err := runExplain(os.Stdout, fl, time.Now()); err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	return caddy.ExitCodeSuccess, nil
}

// runExplain is `caddy explain` with its output going to w and pages
// stamped with now.
func runExplain(w io.Writer, fl caddycmd.Flags, now time.Time) error {
	args := fl.Args()
	out := fl.String("out")
	if fl.Bool("all") {
		if len(args) > 0 {
			return fmt.Errorf("explain: --all writes every status; drop the argument %q", strings.Join(args, " "))
		}
		if out == "" {
			return errors.New("explain: --all needs --out <dir>, the directory to write the pages to")
		}
		if fl.Changed("lang") || fl.Changed("format") {
			return errors.New("explain: --all writes every language and format; drop --lang and --format")
		}
		n, err := writeAllPages(out, now)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "wrote %d files to %s (open %s)\n", n, out, filepath.Join(out, "index.html"))
		return err
	}
	if out != "" {
		return errors.New("explain: --out goes with --all")
	}
	switch len(args) {
	case 0:
		return errors.New("explain: missing status code: caddy explain <status>, for example caddy explain 409")
	case 1:
	default:
		return fmt.Errorf("explain: one status code at a time, got %d arguments: %s", len(args), strings.Join(args, " "))
	}
	code, err := parseErrorStatus(args[0])
	if err != nil {
		return err
	}
	l, err := parseLanguage(fl.String("lang"))
	if err != nil {
		return err
	}
	format := fl.String("format")
	f, ok := explain.ParseFormat(format)
	if !ok {
		return fmt.Errorf("explain: unknown format %q: use text, json or html", format)
	}
	if f == explain.FormatText {
		_, err := io.WriteString(w, explain.Owner(code, l))
		return err
	}
	r, err := explain.NewRenderer(explain.Options{ShowOwner: true})
	if err != nil {
		return fmt.Errorf("explain: %w", err)
	}
	p, err := r.Page(code, l, f)
	if err != nil {
		return fmt.Errorf("explain: rendering %d: %w", code, err)
	}
	_, err = p.Render(w, nilRequestID, now)
	return err
}

// parseErrorStatus reads a 4xx or 5xx status code.
func parseErrorStatus(s string) (int, error) {
	code, err := strconv.Atoi(s)
	if err != nil || s == "" || s[0] < '0' || s[0] > '9' {
		return 0, fmt.Errorf("explain: status %q is not a number: give an HTTP status code such as 409", s)
	}
	switch {
	case code < 100 || code > 599:
		return 0, fmt.Errorf("explain: %d is not an HTTP status code: they run from 100 to 599", code)
	case code < 400:
		return 0, fmt.Errorf("explain: %d is not an error status: caddy explain covers 4xx and 5xx", code)
	}
	return code, nil
}

// parseLanguage reads a --lang value.
func parseLanguage(tag string) (explain.Lang, error) {
	l, ok := explain.ParseLang(tag)
	if !ok {
		return 0, fmt.Errorf("explain: no pages in language %q: the languages are %s", tag, strings.Join(explain.Languages(), ", "))
	}
	return l, nil
}

// pageExt maps a page format to its file extension.
var pageExt = map[explain.Format]string{
	explain.FormatHTML: "html",
	explain.FormatJSON: "json",
	explain.FormatText: "txt",
}

var pageFormats = []explain.Format{explain.FormatHTML, explain.FormatJSON, explain.FormatText}

// writeAllPages writes dir/<lang>/<code>.<ext> for every code, language and
// format, and dir/index.html. It returns the number of files written.
func writeAllPages(dir string, now time.Time) (int, error) {
	r, err := explain.NewRenderer(explain.Options{ShowOwner: true})
	if err != nil {
		return 0, fmt.Errorf("explain: %w", err)
	}
	codes := explain.Codes()
	idx := indexData{Codes: make([]indexCode, len(codes))}
	for i, tag := range explain.Languages() {
		l := explain.Lang(i)
		if l.String() != tag {
			return 0, fmt.Errorf("explain: language %d is %s, want %s", i, l, tag)
		}
		idx.Langs = append(idx.Langs, indexLang{Tag: tag, Name: explain.UIFor(l).Name})
	}
	n := 0
	for ci, code := range codes {
		s, _ := explain.Lookup(code)
		idx.Codes[ci] = indexCode{Code: code, Reason: s.Reason}
		for li, lg := range idx.Langs {
			l := explain.Lang(li)
			ldir := filepath.Join(dir, lg.Tag)
			if err := os.MkdirAll(ldir, 0o755); err != nil {
				return n, fmt.Errorf("explain: %w", err)
			}
			for _, f := range pageFormats {
				p, err := r.Page(code, l, f)
				if err != nil {
					return n, fmt.Errorf("explain: rendering %d in %s as %s: %w", code, lg.Tag, f, err)
				}
				var b strings.Builder
				if _, err := p.Render(&b, nilRequestID, now); err != nil {
					return n, fmt.Errorf("explain: rendering %d in %s as %s: %w", code, lg.Tag, f, err)
				}
				file := filepath.Join(ldir, fmt.Sprintf("%d.%s", code, pageExt[f]))
				if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
					return n, fmt.Errorf("explain: %w", err)
				}
				n++
			}
			idx.Codes[ci].Titles = append(idx.Codes[ci].Titles, explain.TextFor(code, l).Title)
		}
	}
	var b strings.Builder
	if err := indexHTML.Execute(&b, idx); err != nil {
		return n, fmt.Errorf("explain: index: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte(b.String()), 0o644); err != nil {
		return n, fmt.Errorf("explain: %w", err)
	}
	return n + 1, nil
}

type indexData struct {
	Langs []indexLang
	Codes []indexCode
}

type indexLang struct{ Tag, Name string }

type indexCode struct {
	Code   int
	Reason string
	// Titles holds the status's title in each of indexData.Langs.
	Titles []string
}

var indexHTML = template.Must(template.New("index").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>explain_errors pages</title>
</head>
<body>
<h1>explain_errors pages</h1>
<p>Every page explain_errors serves, per status and language, as HTML, problem+json and plain text.</p>
<table>
<thead><tr><th>Status</th>{{range .Langs}}<th lang="{{.Tag}}">{{.Name}} ({{.Tag}})</th>{{end}}</tr></thead>
<tbody>
{{- $langs := .Langs}}
{{- range .Codes}}{{$c := .}}
<tr><th>{{.Code}} {{.Reason}}</th>{{range $i, $l := $langs}}<td lang="{{$l.Tag}}">{{index $c.Titles $i}}<br><a href="{{$l.Tag}}/{{$c.Code}}.html">html</a> <a href="{{$l.Tag}}/{{$c.Code}}.json">json</a> <a href="{{$l.Tag}}/{{$c.Code}}.txt">txt</a></td>{{end}}</tr>
{{- end}}
</tbody>
</table>
</body>
</html>
`))
