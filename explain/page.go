package explain

import "html/template"

// pageCSS is the built-in page's only style sheet. Its hash goes in the
// page's Content-Security-Policy, so it must reach the page unchanged.
const pageCSS = `
:root{color-scheme:light dark;--bg:#fbfbfa;--fg:#1d2125;--muted:#4f5962;--accent:#a4262c;--card:#ffffff;--line:#d9dde1;--code:#eef0f2}
@media (prefers-color-scheme:dark){:root{--bg:#111418;--fg:#e8eaed;--muted:#a9b1ba;--accent:#ff8f87;--card:#1a1e23;--line:#343a41;--code:#252a30}}
*{box-sizing:border-box}
html{background:var(--bg);color:var(--fg);font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans CJK JP","Noto Sans CJK SC","Noto Sans CJK KR",sans-serif;-webkit-text-size-adjust:100%}
body{margin:0;padding:clamp(1rem,4vw,3rem) 1rem}
main,footer{max-width:42rem;margin:0 auto}
main{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:clamp(1.25rem,4vw,2.25rem)}
.code{margin:0;color:var(--accent);font-weight:700;letter-spacing:.04em;text-transform:uppercase;font-size:.9rem}
h1{margin:.2rem 0 .6rem;font-size:clamp(1.6rem,5vw,2.2rem);line-height:1.2}
h2{font-size:1.05rem;margin:1.6rem 0 .4rem}
.summary{font-size:1.1rem;color:var(--muted);margin:0}
ul{padding-left:1.25rem;margin:.3rem 0}
li{margin:.25rem 0}
details{margin-top:1.6rem;border-top:1px solid var(--line);padding-top:1rem}
summary{cursor:pointer;font-weight:600}
a{color:inherit;text-underline-offset:.15em}
footer{color:var(--muted);font-size:.9rem;padding:1rem .25rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:0 0 .6rem}
dt{font-weight:600}
dd{margin:0;overflow-wrap:anywhere}
dd code{white-space:nowrap}
@media (max-width:30rem){dl{grid-template-columns:1fr}dd+dt{margin-top:.3rem}}
code{background:var(--code);border-radius:4px;padding:.05rem .3rem;font-size:.9em}
`

var builtinHTML = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{.Code}} {{.Text.Title}}{{with .SiteName}} · {{.}}{{end}}</title>
<style>` + pageCSS + `</style>
</head>
<body>
<main>
<header>
<p class="code">{{.UI.Error}} {{.Code}}{{with .SiteName}} · {{.}}{{end}}</p>
<h1>{{.Text.Title}}</h1>
<p class="summary">{{.Text.Summary}}</p>
</header>
<section aria-labelledby="what">
<h2 id="what">{{.UI.WhatHeading}}</h2>
<p>{{.Text.What}}</p>
</section>
<section aria-labelledby="todo">
<h2 id="todo">{{.UI.VisitorHeading}}</h2>
<ul>{{range .Text.Visitor}}
<li>{{.}}</li>{{end}}
</ul>
</section>
<section aria-labelledby="where">
<h2 id="where">{{.UI.WhereHeading}}</h2>
<p>{{.Text.Where}}</p>
</section>
<details>
<summary>{{.UI.OwnerHeading}}</summary>
<ul>{{range .Text.Owner}}
<li>{{.}}</li>{{end}}
</ul>
<p>{{.UI.Spec}}: <a href="{{.SpecURL}}" rel="noreferrer">{{.Spec}}</a></p>
</details>
</main>
<footer>
<dl>
<dt>{{.UI.RequestID}}</dt><dd><code>{{.RequestID}}</code></dd>
<dt>{{.UI.Time}}</dt><dd><time datetime="{{.Time}}">{{.Time}}</time></dd>
</dl>
<p>{{.UI.QuoteID}}{{if .ContactURL}} <a href="{{.ContactURL}}">{{.UI.Contact}}</a>{{end}}</p>
</footer>
</body>
</html>
`))
