package explain

import "html/template"

// pageCSS is the built-in page's only style sheet, minified by hand. Its
// hash goes in the page's Content-Security-Policy, so it must reach the
// page unchanged.
//
// The root font size is the visitor's (100%); the layout uses logical
// properties only, so a dir="rtl" page mirrors; CJK text breaks strictly;
// text colours reach 7:1 (WCAG AAA) on their backgrounds in both schemes.
const pageCSS = `:root{color-scheme:light dark;--bg:#fbfbfa;--fg:#1d2125;--mu:#454e57;--ac:#a4262c;--cd:#fff;--ln:#d9dde1}` +
	`@media(prefers-color-scheme:dark){:root{--bg:#111418;--fg:#e8eaed;--mu:#a9b1ba;--ac:#ff8f87;--cd:#1a1e23;--ln:#343a41}}` +
	`*{box-sizing:border-box}` +
	`html{background:var(--bg);color:var(--fg);font:100%/1.5 system-ui,sans-serif}` +
	`body{margin:0;padding:clamp(.75rem,3vw,3rem) .75rem}` +
	`main,footer{max-width:40rem;margin-inline:auto}` +
	`main{background:var(--cd);border:1px solid var(--ln);border-radius:.75rem;padding:clamp(1rem,4vw,2rem)}` +
	`.c{margin:0;color:var(--ac);font-weight:700;font-size:.9rem}` +
	`h1{margin:.2rem 0 .6rem;font-size:clamp(1.5rem,5vw,2rem);line-height:1.2}` +
	`h2{font-size:1.05rem;margin:1.2rem 0 .3rem}` +
	`.r{font-weight:600}` +
	`ul{padding-inline-start:1.25rem;margin:.3rem 0}` +
	`li{margin:.25rem 0}` +
	`.a{display:flex;flex-wrap:wrap;gap:.5rem 1.25rem;align-items:center;margin:1rem 0 0}` +
	`.b{display:inline-block;padding:.55rem 1.1rem;border-radius:.4rem;background:var(--fg);color:var(--cd);font-weight:600;text-decoration:none}` +
	`a{color:inherit;text-underline-offset:.15em}` +
	`details{margin-top:1.2rem;border-top:1px solid var(--ln);padding-top:.8rem}` +
	`summary{cursor:pointer;font-weight:600}` +
	`footer{color:var(--mu);font-size:.9rem;padding:1rem .25rem}` +
	`footer p{margin:.3rem 0}` +
	`code{white-space:nowrap;display:inline-block;max-width:100%;overflow-wrap:anywhere}` +
	`:lang(ja),:lang(zh),:lang(ko){line-break:strict}` +
	`@media print{html,main{background:#fff;color:#000}main{border:0;padding:0}.b{background:none;color:#000;padding:0;text-decoration:underline}footer{break-inside:avoid;color:#000}a.m::after{content:" " attr(href)}}`

// builtinHTML is the built-in page. The label (code and reason) comes
// first, then what happened to the visitor in plain words, the
// reassurance, the wait, and the one primary action with the contact
// beside it, so that on a 320 px phone the action is above the fold; then
// what to do, and what happened in more words; the request id and the
// time close the page.
var builtinHTML = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="{{.Lang}}" dir="{{.Dir}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex">
<title>{{.Code}} {{.Text.Title}}{{with .SiteName}} · {{.}}{{end}}</title>
<style>` + pageCSS + `</style>
</head>
<body>
<main>
<p class="c">{{.UI.Error}} {{.Code}} · {{.Text.Title}}</p>
<h1>{{.Heading}}</h1>
{{with .Text.Reassure}}<p class="r">{{.}}</p>
{{end}}{{with .Wait}}<p class="r">{{.}}</p>
{{end}}{{if or .Action .ContactURL}}<p class="a">{{with .Action}}<a class="b" href="{{$.ActionURL}}">{{.}}</a>{{end}}{{if .ContactURL}}<a class="m" href="{{.ContactURL}}">{{.UI.Contact}}</a>{{end}}</p>
{{end}}{{with .Text.Visitor}}<h2>{{$.UI.VisitorHeading}}</h2>
<ul>{{range .}}
<li>{{.}}</li>{{end}}
</ul>
{{end}}<p>{{.Text.What}}</p>
{{with .Note}}<h2>{{$.UI.SiteNote}}</h2>
<p>{{.}}</p>
{{end}}{{if .ShowOwner}}<details>
<summary>{{.UI.OwnerHeading}}</summary>
<p>{{.Text.Where}}</p>
<ul>{{range .Text.Owner}}
<li>{{.}}</li>{{end}}
</ul>
<p>{{.UI.Spec}}: <a href="{{.SpecURL}}" rel="noreferrer">{{.Spec}}</a></p>
</details>
{{end}}</main>
<footer>
<p>{{.UI.RequestID}}: <code dir="ltr">{{.RequestID}}</code></p>
<p>{{.UI.Time}}: <time datetime="{{.Time}}">{{.Clock}}</time>{{with .SiteName}} · {{.}}{{end}}</p>
<p>{{.UI.QuoteID}}</p>
</footer>
</body>
</html>
`))
